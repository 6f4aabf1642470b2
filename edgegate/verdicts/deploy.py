"""Choosing the candidate that ships, and what the model's status therefore is.

``deploy: <recipe>`` gates that candidate; ``deploy: all`` gates every candidate;
``smallest`` / ``fastest`` / ``most_accurate`` / ``best`` ship the best candidate that
passes every error-level budget, and fail the model only when none does. The other
candidates' checks are still reported, as information.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgegate.results import CandidateResult
from edgegate.status import Status


@dataclass(frozen=True)
class DeployDecision:
    label: str | None
    status: Status
    note: str


def _key(objective: str, c: CandidateResult):
    if objective == "fastest" and c.latency_ms is not None:
        return (c.latency_ms, c.size_bytes or 0)
    if objective == "most_accurate" and c.accuracy and c.accuracy.value is not None:
        v = c.accuracy.value
        return (-v if c.accuracy.higher_is_better else v, c.size_bytes or 0)
    return (c.size_bytes if c.size_bytes is not None else float("inf"), c.latency_ms or 0)


def choose(deploy: str, objective: str, candidates: tuple[CandidateResult, ...]) -> DeployDecision:
    built = [c for c in candidates if not c.error]
    if deploy == "all":
        status = Status.worst(c.status for c in candidates) if candidates else Status.ERROR
        return DeployDecision(None, status, "every candidate is gated (deploy: all)")
    if deploy not in ("best", "smallest", "fastest", "most_accurate"):
        chosen = next((c for c in candidates if c.recipe == deploy), None)
        if chosen is None:
            return DeployDecision(deploy, Status.ERROR, f"the deploy candidate {deploy!r} was not built")
        return DeployDecision(deploy, chosen.status, f"deploy: {deploy}")
    objective = objective if deploy == "best" else deploy
    passing = [c for c in built if not c.status.fails]
    if not passing:
        if not built:
            return DeployDecision(None, Status.ERROR, "no candidate could be built")
        return DeployDecision(None, Status.FAIL, f"no candidate passes every budget (deploy: {deploy})")
    best = min(passing, key=lambda c: _key(objective, c))
    word = {"smallest": "smallest", "fastest": "fastest", "most_accurate": "most accurate"}[objective]
    return DeployDecision(best.recipe, best.status, f"{best.recipe} is the {word} candidate that passes")
