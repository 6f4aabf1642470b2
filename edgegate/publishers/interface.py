"""The publisher contract: a ``Publication`` in, an ``Outcome`` (what happened, in one line) out.

Publishers never raise for a failure to publish: they report it in the ``Outcome`` so the
caller can say why (a fork's read-only token, a missing permission) without it changing the
gate's verdict.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from pathlib import Path

from edgegate.errors import UsageError
from edgegate.results import RunResult


class CommentMode(str, enum.Enum):
    STICKY = "sticky"  # one comment per PR, edited on every run
    NEW = "new"  # a new comment per run
    OFF = "off"

    @classmethod
    def parse(cls, value: str) -> CommentMode:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise UsageError(f"--comment {value!r}: use one of {', '.join(m.value for m in cls)}") from None


@dataclass(frozen=True)
class Publication:
    run: RunResult
    results_path: Path | None = None  # the results file written for this run
    report_path: Path | None = None  # the markdown report written for this run
    details_url: str | None = None  # the workflow run's page: the job summary and the artifact
    commit: str | None = None  # the commit the report is about (the PR's head), for the comment footer


@dataclass(frozen=True)
class Outcome:
    ok: bool  # False: it should have been published and was not
    message: str  # one line for the log and the job summary
    url: str | None = None


class Publisher(abc.ABC):
    @abc.abstractmethod
    def publish(self, publication: Publication) -> Outcome:
        """Publish; report a failure in the returned ``Outcome`` rather than raising."""
