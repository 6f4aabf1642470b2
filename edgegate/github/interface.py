"""The values the REST client returns and the error it raises.

Only the fields EdgeGate reads are kept; a payload missing one is reported as a protocol
error naming the endpoint, never as a ``KeyError``.
"""

from __future__ import annotations

from dataclasses import dataclass

READ_ONLY_MESSAGE = "Resource not accessible by integration"  # GitHub's 403 for a token without write access


@dataclass(frozen=True)
class Comment:
    """An issue (pull-request conversation) comment."""

    id: int
    body: str
    author: str | None  # login; None when the account was deleted
    author_is_bot: bool  # GitHub Apps (github-actions[bot]) post as bots; people and PATs as users
    html_url: str | None

    @classmethod
    def from_api(cls, d: dict) -> Comment:
        return cls(
            id=int(d["id"]),
            body=d.get("body") or "",
            author=(d.get("user") or {}).get("login"),
            author_is_bot=(d.get("user") or {}).get("type") == "Bot",
            html_url=d.get("html_url"),
        )


@dataclass(frozen=True)
class User:
    """The account a token acts as (``GET /user``)."""

    login: str
    is_bot: bool

    @classmethod
    def from_api(cls, d: dict) -> User:
        login = d["login"]
        if not isinstance(login, str) or not login:
            raise ValueError("login")
        return cls(login=login, is_bot=d.get("type") == "Bot")


@dataclass(frozen=True)
class PullRequest:
    number: int
    state: str  # open | closed
    head_sha: str
    head_repo: str | None  # owner/name; None when the fork was deleted

    @classmethod
    def from_api(cls, d: dict) -> PullRequest:
        head = d["head"]
        return cls(
            number=int(d["number"]),
            state=d.get("state", ""),
            head_sha=head["sha"],
            head_repo=(head.get("repo") or {}).get("full_name"),
        )


class GitHubApiError(Exception):
    """A request GitHub refused or that never got an answer; ``str()`` is the user-facing message.

    ``status`` is the HTTP status (None when no response came back). The message never holds
    the token: the client redacts it before raising.
    """

    def __init__(self, method: str, path: str, status: int | None, message: str):
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        where = f"{method} {path}"
        super().__init__(
            f"GitHub API {where}: {status} {message}" if status else f"GitHub API {where}: {message}"
        )

    @property
    def read_only(self) -> bool:
        """The token may read but not write (pull requests from forks, missing ``permissions:``)."""
        return self.status == 403 and READ_ONLY_MESSAGE.lower() in self.message.lower()

    @property
    def server_error(self) -> bool:
        """GitHub failed (5xx) or did not answer: the request may or may not have taken effect."""
        return self.status is None or self.status >= 500
