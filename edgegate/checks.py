"""``Check``: one budget or target check applied to one candidate — what every verdict is made of.

A leaf (it imports only ``status``), so the targets that produce checks, the verdicts, the
results that store them and the report that shows them can all use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgegate.status import Status


@dataclass(frozen=True)
class Check:
    """One budget or target check applied to one candidate: what the verdicts are made of.

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
