"""The check type every gate produces, and the status algebra that combines checks.

A ``Check`` is one budget or threshold applied to one candidate: its limit, the measured
value, and one sentence saying why it passed or failed. Budgets, base comparisons and the
Edge TPU gate all yield ``Check`` values; the report and the publishers read only these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


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


@dataclass(frozen=True)
class Check:
    """One budget applied to one candidate.

    ``limit`` and ``value`` are display strings ("≤ 120 KB", "98.2 KB"); ``key`` is the
    policy key path ("models[0].budgets.size") and ``line`` its line in the policy file, so
    CI annotations can point at the budget that broke.
    """

    name: str
    status: Status
    message: str
    limit: str | None = None
    value: str | None = None
    key: str | None = None
    line: int | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "status": self.status.value,
            "limit": self.limit,
            "value": self.value,
            "message": self.message,
            "key": self.key,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Check":
        return cls(
            name=d["name"],
            status=Status(d["status"]),
            message=d.get("message", ""),
            limit=d.get("limit"),
            value=d.get("value"),
            key=d.get("key"),
            line=d.get("line"),
        )
