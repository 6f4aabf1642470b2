"""The two small enums every stage shares: a verdict's ``Status`` and a budget's ``Level``.

A leaf: it imports nothing from EdgeGate, so the policy, the verdicts, the results and the
report can all use it without importing each other.
"""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"  # not applicable here (no base version, no labels, ...); message says why
    ERROR = "error"  # could not be measured (build or input failure); fails like FAIL

    @property
    def rank(self) -> int:
        return _RANK[self]

    @staticmethod
    def worst(statuses) -> "Status":
        """The most severe status; PASS for an empty collection (SKIP alone counts as PASS)."""
        worst = Status.PASS
        for s in statuses:
            s = Status(s)
            if s.rank > worst.rank:
                worst = s
        return worst

    @property
    def fails(self) -> bool:
        return self in (Status.FAIL, Status.ERROR)


_RANK = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3, Status.ERROR: 4}


class Level(str, enum.Enum):
    """What a broken budget does: ``error`` fails the build, ``warn`` only reports."""

    ERROR = "error"
    WARN = "warn"

    def status_when_broken(self) -> Status:
        return Status.FAIL if self is Level.ERROR else Status.WARN
