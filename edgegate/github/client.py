"""A small GitHub REST client for the endpoints EdgeGate uses, over ``requests.Session``.

What it does beyond a bare request, following GitHub's REST guidance:

- retries server errors (5xx) and unanswered requests with exponential backoff;
- waits out rate limits: ``Retry-After`` when given, else ``x-ratelimit-reset`` when
  ``x-ratelimit-remaining`` is 0, else (a secondary rate limit, told by its message) at least
  a minute, doubling; a wait longer than ``RetryPolicy.max_wait_s`` fails at once instead;
- creating a comment is not blindly repeated after a 5xx (the first request may have
  succeeded): the comments are searched for the body first, so a retry never posts twice;
- follows ``Link: rel="next"`` pagination, only on the API's own host (the token goes with it);
- sends the API version and a user agent, and never writes the token anywhere: it is sent by
  a ``requests`` auth hook (dropped on redirects to other hosts) and redacted from errors.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import requests

from edgegate import __version__
from edgegate.github.interface import Comment, GitHubApiError, PullRequest, User
from edgegate.log_output import say

API_VERSION = "2022-11-28"
USER_AGENT = f"edgegate/{__version__}"
PAGE_SIZE = 100  # the API's maximum per_page
TIMEOUT_S = (10, 60)  # connect, read


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # requests in all, the first included
    backoff_s: float = 1.0  # first wait after a server error; doubles each time
    secondary_wait_s: float = 60.0  # secondary rate limit without headers: "wait at least one minute"
    max_wait_s: float = 300.0  # a longer demanded wait fails instead of stalling the job


class _BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def _stderr(message: str) -> None:
    # The runner reads workflow commands from stderr too; the message quotes GitHub's answer.
    say(message, stderr=True)


class GitHubClient:
    def __init__(
        self,
        api_url: str,
        token: str | None,
        *,
        retry: RetryPolicy = RetryPolicy(),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        log: Callable[[str], None] = _stderr,
    ):
        self.api_url = api_url.rstrip("/")
        self._origin = urlsplit(self.api_url)[:2]
        self._token = token
        self.retry = retry
        self.session = session or requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._log = log

    # --- endpoints ----------------------------------------------------------------------------

    def list_issue_comments(self, repo: str, number: int) -> Iterator[Comment]:
        """Every comment on an issue or pull request, oldest first, across all pages."""
        path = f"/repos/{_repo(repo)}/issues/{int(number)}/comments"
        for item in self._paginate(path):
            yield self._parse(Comment.from_api, item, "GET", path)

    def create_issue_comment(self, repo: str, number: int, body: str) -> Comment:
        path = f"/repos/{_repo(repo)}/issues/{int(number)}/comments"
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self._request("POST", path, json={"body": body}, retry_server_errors=False)
                return self._parse(Comment.from_api, response, "POST", path)
            except GitHubApiError as e:
                if not e.server_error or attempt == self.retry.attempts:
                    raise
                # The POST may have gone through before the error: look before posting again.
                posted = next((c for c in self.list_issue_comments(repo, number) if c.body == body), None)
                if posted:
                    return posted
                self._wait(self._backoff(attempt), f"POST {path}: {e.message}", attempt)
        raise AssertionError("unreachable")  # the loop returns or raises

    def update_issue_comment(self, repo: str, comment_id: int, body: str) -> Comment:
        path = f"/repos/{_repo(repo)}/issues/comments/{int(comment_id)}"
        return self._parse(Comment.from_api, self._request("PATCH", path, json={"body": body}), "PATCH", path)

    def get_authenticated_user(self) -> User:
        """Who the token acts as. GitHub refuses it (403 "Resource not accessible by
        integration") for installation tokens, the Actions ``GITHUB_TOKEN`` among them."""
        return self._parse(User.from_api, self._request("GET", "/user"), "GET", "/user")

    def get_pull_request(self, repo: str, number: int) -> PullRequest:
        path = f"/repos/{_repo(repo)}/pulls/{int(number)}"
        return self._parse(PullRequest.from_api, self._request("GET", path), "GET", path)

    # --- transport ----------------------------------------------------------------------------

    def _paginate(self, path: str) -> Iterator[dict]:
        url: str | None = path
        params: dict | None = {"per_page": PAGE_SIZE}
        seen: set[str] = set()
        while url:
            response = self._request("GET", url, params=params)
            items = _json(response, "GET", _display(url))
            if not isinstance(items, list):
                raise GitHubApiError("GET", _display(url), response.status_code, "expected a JSON list")
            yield from items
            url, params = response.links.get("next", {}).get("url"), None
            if url and urlsplit(url)[:2] != self._origin:
                raise GitHubApiError(
                    "GET",
                    path,
                    None,
                    f"the next page is on another host ({urlsplit(url).netloc}); not sending the token there",
                )
            if url in seen:  # a server repeating a page would loop forever
                break
            if url:
                seen.add(url)

    def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        json: dict | None = None,
        params: dict | None = None,
        retry_server_errors: bool = True,
    ) -> requests.Response:
        url = path_or_url if "://" in path_or_url else self.api_url + path_or_url
        shown = _display(url)
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        auth = _BearerAuth(self._token) if self._token else None
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                response = self.session.request(
                    method, url, headers=headers, json=json, params=params, auth=auth, timeout=TIMEOUT_S
                )
            except requests.RequestException as e:
                message = self._redact(f"no answer from {urlsplit(url).netloc} ({type(e).__name__})")
                if last or not retry_server_errors:
                    raise GitHubApiError(method, shown, None, message) from None
                self._wait(self._backoff(attempt), f"{method} {shown}: {message}", attempt)
                continue
            if response.status_code < 400:
                return response
            message = self._redact(_message(response))
            wait = self._retry_wait(response, message, attempt)
            if wait is None or last or (response.status_code >= 500 and not retry_server_errors):
                raise GitHubApiError(method, shown, response.status_code, message)
            if wait > self.retry.max_wait_s:
                raise GitHubApiError(
                    method,
                    shown,
                    response.status_code,
                    f"{message} (GitHub asks to wait {wait:.0f} s; EdgeGate waits at most "
                    f"{self.retry.max_wait_s:.0f} s)",
                )
            self._wait(wait, f"{method} {shown}: {response.status_code} {message}", attempt)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _retry_wait(self, response: requests.Response, message: str, attempt: int) -> float | None:
        """Seconds to wait before trying again, or None when trying again cannot help."""
        status = response.status_code
        retry_after = _retry_after(response.headers.get("retry-after"), self._clock())
        if status >= 500:
            return retry_after if retry_after is not None else self._backoff(attempt)
        if status not in (403, 429):
            return None
        if retry_after is not None:
            return retry_after
        reset = response.headers.get("x-ratelimit-reset")
        if response.headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
            return max(0.0, int(reset) - self._clock()) + 1  # +1: the reset second itself
        lowered = message.lower()
        if status == 429 or "secondary rate limit" in lowered or "abuse" in lowered:
            return self.retry.secondary_wait_s * 2 ** (attempt - 1)
        return None  # a 403 about permissions

    def _backoff(self, attempt: int) -> float:
        return self.retry.backoff_s * 2 ** (attempt - 1)

    def _wait(self, seconds: float, why: str, attempt: int) -> None:
        self._log(
            f"GitHub API {why}; retrying in {seconds:.0f} s (attempt {attempt + 1} of {self.retry.attempts})"
        )
        self._sleep(seconds)

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    @staticmethod
    def _parse(make, answer: requests.Response | dict, method: str, path: str):
        """``make`` applied to a response's JSON (or one item of it); a malformed answer is an API error."""
        data = _json(answer, method, path) if isinstance(answer, requests.Response) else answer
        try:
            return make(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise GitHubApiError(method, path, None, "unexpected answer: fields missing") from None


def _repo(repo: str) -> str:
    owner, _, name = repo.partition("/")
    return f"{quote(owner, safe='')}/{quote(name, safe='')}"


def _display(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _json(response: requests.Response, method: str, path: str):
    try:
        return response.json()
    except ValueError:
        raise GitHubApiError(method, path, response.status_code, "the answer is not JSON") from None


def _message(response: requests.Response) -> str:
    """GitHub's error message, with a validation error's details."""
    try:
        data = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:300]
    if not isinstance(data, dict):
        return str(data)[:300]
    message = str(data.get("message") or response.reason or "")
    details = [e.get("message") or e.get("code") for e in data.get("errors") or () if isinstance(e, dict)]
    return message + (f": {'; '.join(str(d) for d in details if d)}" if any(details) else "")


def _retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None
