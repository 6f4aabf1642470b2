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


def _best(objective: str, passing: list[CandidateResult]) -> CandidateResult:
    """The best passing candidate by ``objective``; by size when the objective was not measured on all."""

    def size(c: CandidateResult) -> float:
        return c.size_bytes if c.size_bytes is not None else float("inf")

    if objective == "fastest" and all(c.latency_ms is not None for c in passing):
        return min(passing, key=lambda c: (c.latency_ms, size(c)))
    if objective == "most_accurate" and all(c.accuracy and c.accuracy.value is not None for c in passing):

        def worse(c: CandidateResult) -> float:
            assert c.accuracy is not None and c.accuracy.value is not None
            return -c.accuracy.value if c.accuracy.higher_is_better else c.accuracy.value

        return min(passing, key=lambda c: (worse(c), size(c)))
    return min(passing, key=lambda c: (size(c), c.latency_ms or 0))


def choose(deploy: str, objective: str, candidates: tuple[CandidateResult, ...]) -> DeployDecision:
    built = [c for c in candidates if not c.error and not c.skip_reason]
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
    best = _best(objective, passing)
    word = {"smallest": "smallest", "fastest": "fastest", "most_accurate": "most accurate"}[objective]
    return DeployDecision(best.recipe, best.status, f"{best.recipe} is the {word} candidate that passes")
