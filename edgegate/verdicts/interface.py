"""The check type every gate produces, and the status algebra that combines checks.

A ``Check`` is one budget or threshold applied to one candidate: its limit, the measured
value, and one sentence saying why it passed or failed. Budgets, base comparisons and the
Edge TPU gate all yield ``Check`` values; the report and the publishers read only these.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgegate.status import Status


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
