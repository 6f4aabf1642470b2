"""The webhook event that started the workflow, as typed values.

``read_event`` loads ``GITHUB_EVENT_PATH`` and keeps what EdgeGate needs from the events it
acts on: ``pull_request`` / ``pull_request_target`` (number, base and head commits, whether
the head lives in a fork), ``push`` (the commit before the push), ``merge_group`` (the queue's
base commit) and ``workflow_run`` (the run whose results a trusted workflow publishes).
Other events give ``None``: EdgeGate then compares with the default branch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgegate.errors import UsageError

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
NULL_SHA = "0" * 40  # `before` of a push that created the branch


@dataclass(frozen=True)
class PullRequestEvent:
    number: int
    action: str | None  # opened, synchronize, reopened, ...
    base_sha: str  # the base branch's tip when the event fired
    base_ref: str  # the base branch name
    head_sha: str  # the PR's last commit (not the merge commit actions/checkout checks out)
    head_ref: str
    base_repo: str  # owner/name of the repository the PR targets
    head_repo: str | None  # owner/name of the head's repository; None when the fork was deleted
    draft: bool = False
    html_url: str | None = None
    target: bool = False  # pull_request_target: runs with the base repository's token and secrets

    @property
    def is_fork(self) -> bool:
        """The head lives in another repository; its workflow gets a read-only token."""
        return self.head_repo != self.base_repo


@dataclass(frozen=True)
class PushEvent:
    ref: str
    before: str | None  # None for a push that created the branch
    after: str


@dataclass(frozen=True)
class MergeGroupEvent:
    base_sha: str
    base_ref: str
    head_sha: str


@dataclass(frozen=True)
class WorkflowRunEvent:
    """A ``workflow_run`` event: another workflow's run finished (the trusted half of the fork pair)."""

    run_id: int
    event: str  # what triggered that run: pull_request, push, ...
    conclusion: str | None
    head_sha: str  # the commit that run tested; trusted, unlike anything in its artifacts
    head_repo: str | None
    pull_requests: tuple[int, ...]  # empty for PRs from forks: GitHub lists only same-repository PRs


Event = PullRequestEvent | PushEvent | MergeGroupEvent | WorkflowRunEvent


class _Payload:
    """Dotted access into a payload that reports a missing key by its path, not a KeyError."""

    def __init__(self, data: dict, source: str):
        self.data = data
        self.source = source

    def get(self, dotted: str, required: bool = True):
        value: Any = self.data
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                if required:
                    raise UsageError(
                        f"{self.source}: the event payload has no `{dotted}`; is this the event "
                        "GitHub sent for this workflow run?"
                    )
                return None
        return value


def parse_event(name: str | None, data: dict, source: str = "event payload") -> Event | None:
    """The event ``name`` (``GITHUB_EVENT_NAME``) from its payload; ``None`` for events EdgeGate ignores."""
    p = _Payload(data, source)
    if name in PULL_REQUEST_EVENTS:
        head_repo = p.get("pull_request.head.repo.full_name", required=False)
        return PullRequestEvent(
            number=int(p.get("pull_request.number")),
            action=p.get("action", required=False),
            base_sha=p.get("pull_request.base.sha"),
            base_ref=p.get("pull_request.base.ref"),
            head_sha=p.get("pull_request.head.sha"),
            head_ref=p.get("pull_request.head.ref"),
            base_repo=p.get("pull_request.base.repo.full_name"),
            head_repo=head_repo,
            draft=bool(p.get("pull_request.draft", required=False)),
            html_url=p.get("pull_request.html_url", required=False),
            target=name == "pull_request_target",
        )
    if name == "push":
        before = p.get("before", required=False)
        return PushEvent(
            ref=p.get("ref"),
            before=None if not before or before == NULL_SHA else before,
            after=p.get("after"),
        )
    if name == "merge_group":
        return MergeGroupEvent(
            base_sha=p.get("merge_group.base_sha"),
            base_ref=p.get("merge_group.base_ref"),
            head_sha=p.get("merge_group.head_sha"),
        )
    if name == "workflow_run":
        prs = p.get("workflow_run.pull_requests", required=False) or []
        return WorkflowRunEvent(
            run_id=int(p.get("workflow_run.id")),
            event=p.get("workflow_run.event"),
            conclusion=p.get("workflow_run.conclusion", required=False),
            head_sha=p.get("workflow_run.head_sha"),
            head_repo=p.get("workflow_run.head_repository.full_name", required=False),
            pull_requests=tuple(int(pr["number"]) for pr in prs if isinstance(pr, dict) and "number" in pr),
        )
    return None


def read_event(name: str | None, path: Path | None) -> Event | None:
    """Parse the payload file GitHub wrote for this run; ``None`` outside Actions or for other events."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"GITHUB_EVENT_PATH={path}: cannot read the event payload ({e})") from None
    if not isinstance(data, dict):
        raise UsageError(f"GITHUB_EVENT_PATH={path}: the event payload is not a JSON object")
    return parse_event(name, data, f"GITHUB_EVENT_PATH={path}")
