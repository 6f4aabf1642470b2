"""The report as a pull-request comment: one comment per PR, edited on every run.

``sticky`` finds the comment again by a hidden marker on its first line (across all pages of
comments) and edits it, but only a comment the token's own account wrote
(``edgegate.github.identity``): anyone can post the marker, and a person's comment is never
edited or adopted. ``new`` posts a fresh comment per run (still marked, so a later ``sticky``
run adopts the oldest); ``off`` posts nothing. Bodies stay under GitHub's 65,536-character
limit: the renderer folds details (cutting only at line ends) and links the run.

A PR that changes no model gets no comment (one posted earlier is still updated, so it never
shows stale failures after the models are reverted).

A token that cannot write (pull requests from forks get a read-only ``GITHUB_TOKEN``) is
reported with what to do, never raised: the gate's verdict does not depend on the comment.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from edgegate.errors import UsageError
from edgegate.github.client import GitHubClient
from edgegate.github.identity import AuthorRule, CommentAuthor
from edgegate.github.interface import Comment, GitHubApiError
from edgegate.publishers.interface import CommentMode, Outcome, Publication, Publisher
from edgegate.untrusted_text import md_code_block, md_text, md_url

MARKER = "<!-- edgegate-report -->"
_HEADER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}")


def marker(header: str = "") -> str:
    """The hidden first line that finds a job's sticky comment: one per ``comment-header``, so two
    EdgeGate jobs on one PR keep two comments. ``UsageError`` for a header outside [A-Za-z0-9 _.-]."""
    if not header:
        return MARKER
    if not _HEADER.fullmatch(header):
        raise UsageError(
            f"comment header {header[:70]!r} (EDGEGATE_COMMENT_HEADER, the action's comment-header input): "
            "use 1-64 letters, digits, spaces, '_', '.' or '-', e.g. mobile"
        )
    return f"<!-- edgegate-report: {header} -->"


COMMENT_LIMIT = 65_536  # characters GitHub accepts in a comment body
SAFETY_MARGIN = 200  # GitHub's count and Python's may differ on line endings


def _footer(commit: str | None, details_url: str | None) -> str:
    parts = []
    if commit:  # from a results file in `edgegate publish`: escaped like the report
        parts.append(f"commit {md_text(commit[:7])}")
    url = md_url(details_url) if details_url else None
    if url:
        parts.append(f"[job summary and artifacts]({url})")
    # A per-run nonce makes every body unique, so a retried POST can recognise its own comment.
    shown = f"\n\n<sub>{' · '.join(parts)}</sub>" if parts else ""
    return f"{shown}\n<!-- edgegate-run: {uuid.uuid4().hex} -->\n"


def comment_body(publication: Publication, header: str = "") -> str:
    """Marker, report (folded to fit), and a footer naming the commit and linking the run.

    The report's own footer names the EdgeGate version; this one says which push it describes.
    """
    from edgegate.report.markdown import cut_at_line, render_markdown

    footer = _footer(publication.commit, publication.details_url)
    head = marker(header) + "\n"
    room = COMMENT_LIMIT - SAFETY_MARGIN - len(head) - len(footer)
    report = render_markdown(publication.run, max_chars=room, details_url=publication.details_url)
    return head + cut_at_line(report, room).rstrip("\n") + footer


def could_not_run_body(message: str, commit: str | None, details_url: str | None, header: str = "") -> str:
    """The comment when EdgeGate could not gate this push: the reason, verbatim in a code block
    (a fence longer than any backtick run in it, so the message cannot close it and nothing in it
    renders: no @mentions, no links, no HTML)."""
    room = COMMENT_LIMIT - SAFETY_MARGIN - 1000
    text = message if len(message) <= room else message[:room] + "\n… (cut; the job log has all of it)"
    return (
        f"{marker(header)}\n## 💥 EdgeGate could not run\n\n"
        "No model was gated for this push, so no earlier verdict applies to it.\n\n"
        + md_code_block(text, "text")
        + _footer(commit, details_url)
    )


def is_edgegate_comment(comment: Comment, header: str = "") -> bool:
    """A comment carrying this job's marker (the first line, exactly: another header's is not it)."""
    return comment.body.lstrip().split("\n", 1)[0].strip() == marker(header)


class PrCommentPublisher(Publisher):
    def __init__(
        self,
        client: GitHubClient,
        repo: str,
        number: int,
        mode: CommentMode,
        *,
        fork: bool = False,
        author: AuthorRule = AuthorRule(),
        header: str = "",
    ):
        self.client = client
        self.repo = repo
        self.number = number
        self.mode = mode
        self.fork = fork
        self.author_rule = author
        self.header = header
        marker(header)  # refuse a bad header before any request
        self._author: CommentAuthor | None = None  # learned once, when a marked comment is found

    def publish(self, publication: Publication) -> Outcome:
        if self.mode is CommentMode.OFF:
            return Outcome(True, "PR comment is off (comment: off)")
        body = comment_body(publication, self.header)
        return self._post(body, publication.results_path, new_allowed=bool(publication.run.models))

    def publish_could_not_run(self, message: str, commit: str | None, details_url: str | None) -> Outcome:
        """Say on the PR that this push was not gated: a green comment from an earlier push must
        never stay under a red check."""
        if self.mode is CommentMode.OFF:
            return Outcome(True, "PR comment is off (comment: off)")
        body = could_not_run_body(message, commit, details_url, self.header)
        return self._post(body, None, new_allowed=True)

    def _post(self, body: str, results_path: Path | None, *, new_allowed: bool) -> Outcome:
        try:
            if self.mode is CommentMode.STICKY:
                existing = self.find()
                if existing:
                    try:
                        comment = self.client.update_issue_comment(self.repo, existing.id, body)
                        return Outcome(
                            True, f"updated the EdgeGate comment on PR #{self.number}", comment.html_url
                        )
                    except GitHubApiError as e:
                        # 404: deleted since we listed it. 403 with a token that can write: GitHub
                        # will not let it edit that comment after all. Either way, post our own.
                        if e.read_only or e.status not in (403, 404):
                            raise
            if not new_allowed:
                return Outcome(True, f"no model changed: no comment posted on PR #{self.number}")
            comment = self.client.create_issue_comment(self.repo, self.number, body)
            posted = f"posted the EdgeGate comment on PR #{self.number}"
            if self._author is not None and self._author.login is None:
                # Marked comments exist, but whose is whose cannot be told: say why there is a new one.
                posted += f" (a new one: the token's account is {self._author.source})"
            return Outcome(True, posted, comment.html_url)
        except GitHubApiError as e:
            return Outcome(False, self._explain(e, results_path))

    def find(self) -> Comment | None:
        """The comment every run edits: the oldest marked one the token's own account wrote.

        A marked comment by anyone else (pasted, or posted to hijack the thread) is left alone;
        the token's identity is only asked for when there is a marked comment to judge.
        """
        marked = [
            c
            for c in self.client.list_issue_comments(self.repo, self.number)
            if is_edgegate_comment(c, self.header)
        ]
        if not marked:
            return None
        author = self.author()
        return next((c for c in marked if author.wrote(c)), None)

    def author(self) -> CommentAuthor:
        if self._author is None:
            self._author = self.author_rule.resolve(self.client)
        return self._author

    def _explain(self, error: GitHubApiError, results_path: Path | None) -> str:
        where = f"no comment posted on PR #{self.number} of {self.repo}"
        results = results_path or "the results file"
        if error.read_only and self.fork:
            return (
                f"{where}: this pull request comes from a fork, and GitHub gives its workflows a read-only "
                f"token ({error.status} {error.message}). The gate's verdict above stands. To comment on "
                f"fork PRs, add the trusted workflow_run workflow that runs `edgegate publish "
                f'{results} --pr {self.number}` (docs/github-action.md, "Pull requests from forks").'
            )
        if error.read_only:
            return (
                f"{where}: the token cannot write to pull requests ({error.status} {error.message}). "
                "Give the job `permissions: pull-requests: write` (and `contents: read`), or pass a token "
                "that can."
            )
        if error.status == 401:
            return (
                f"{where}: GitHub refused the token ({error.status} {error.message}); "
                "check the github-token input."
            )
        if error.status == 404:
            return (
                f"{where}: GitHub answered 404 for {error.method} {error.path}: the repository or PR "
                "does not exist, or the token cannot see it."
            )
        return f"{where}: {error}"
