"""Whose comments EdgeGate may edit: only the ones its own token wrote.

The sticky comment is found by a marker on its first line, and anyone can post a comment
starting with that marker. Editing the first marked comment would overwrite a person's words,
or adopt a comment the PR author controls (and can edit back after each run). So a marked
comment is EdgeGate's only when its author is the token's own account:

1. ``EDGEGATE_COMMENT_AUTHOR``, when set, names that account (a GitHub App's
   ``my-app[bot]`` whose installation token the workflow passes).
2. Else ``GET /user``: it answers for personal access tokens and user tokens, with the login.
3. It refuses installation tokens (403 "Resource not accessible by integration"), and the
   Actions ``GITHUB_TOKEN`` is one: on a runner, its comments are ``github-actions[bot]``'s.
4. Otherwise the author is unknown and no comment is adopted: EdgeGate posts its own each run,
   a duplicate rather than someone else's comment rewritten.

A login ending in ``[bot]`` belongs to a GitHub App (people cannot use brackets), and the
comment's ``user.type`` must then say ``Bot`` as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgegate.github.client import GitHubClient
from edgegate.github.environment import GitHubEnvironment
from edgegate.github.interface import READ_ONLY_MESSAGE, Comment, GitHubApiError

ACTIONS_BOT = "github-actions[bot]"  # the author of everything the Actions GITHUB_TOKEN posts


@dataclass(frozen=True)
class CommentAuthor:
    """The account EdgeGate comments as, and how that was learned (for the log)."""

    login: str | None  # None: unknown, so no existing comment is EdgeGate's
    source: str

    def wrote(self, comment: Comment) -> bool:
        if self.login is None or comment.author is None:
            return False
        if comment.author.lower() != self.login.lower():  # logins are case-insensitive
            return False
        return comment.author_is_bot or not self.login.lower().endswith("[bot]")


@dataclass(frozen=True)
class AuthorRule:
    """What decides the author: a configured login, and whether this runs on an Actions runner."""

    actions: bool = False  # GITHUB_ACTIONS=true: a token GET /user refuses is the GITHUB_TOKEN
    login: str | None = None  # EDGEGATE_COMMENT_AUTHOR

    @classmethod
    def from_environment(cls, github: GitHubEnvironment) -> AuthorRule:
        return cls(actions=github.actions, login=github.comment_author)

    def resolve(self, client: GitHubClient) -> CommentAuthor:
        if self.login:
            return CommentAuthor(self.login, "EDGEGATE_COMMENT_AUTHOR")
        try:
            user = client.get_authenticated_user()
        except GitHubApiError as e:
            installation = e.status == 403 and READ_ONLY_MESSAGE.lower() in e.message.lower()
            if installation and self.actions:
                return CommentAuthor(ACTIONS_BOT, "the Actions GITHUB_TOKEN (GET /user refuses app tokens)")
            return CommentAuthor(None, f"unknown ({e}); set EDGEGATE_COMMENT_AUTHOR to the token's login")
        return CommentAuthor(user.login, "GET /user")
