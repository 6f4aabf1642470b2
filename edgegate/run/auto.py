"""``recipes: auto``: LiteRT's optimization decision path, run as a search over candidates.

The guide's advice, in order: post-training quantization first (the conversions declaring
``AutoStep.PTQ``); where the full-integer one (int8) loses too much accuracy, 16-bit activations
(those declaring ``AutoStep.MORE_ACCURATE``: int16x8) if the Edge TPU does not rule them out by
what they produce, then quantization-aware training; where the file is still too big, pruning and clustering before quantizing. The
parent asks ``next_recipes`` for a batch, builds, measures and gates it, and asks again with
every result so far; an empty batch means stop. The search stops at the first batch with a
passing candidate, and ``decision`` explains the path taken in a few lines. What ships is
decided by the one chooser, ``verdicts.deploy.choose``, as for every other model.

No TensorFlow here: this runs in the parent process.
"""

from __future__ import annotations

from typing import Sequence

from edgegate.conversions import produced_by, tried_by_auto
from edgegate.conversions.interface import AutoStep
from edgegate.targets.edgetpu.select import why_never_compiles
from edgegate.policy.sections import ModelPolicy, Recipe, conversion_of
from edgegate.results import CandidateResult
from edgegate.verdicts.deploy import choose
from edgegate.checks import Check

INT16X8_CAVEAT = (
    "note: int16x8 has no optimized CPU kernels (expect it slower than int8) and does not map to the Edge TPU"
)


def passes(candidate: CandidateResult) -> bool:
    """Built, and no check failed (warnings and skips do not stop a candidate)."""
    return candidate.error is None and not any(c.status.fails for c in candidate.checks)


def failed_on(candidate: CandidateResult) -> set[str]:
    """Why a candidate failed: accuracy, size or latency (its model budgets), the names of the
    targets whose checks failed ("edgetpu"), or other — from what each check is about, not its name."""
    return {_about(check) for check in candidate.checks if check.status.fails}


def _about(check: Check) -> str:
    if check.topic is not None:
        return check.topic.value
    return check.target or "other"


def _describe(label: str, candidate: CandidateResult | None) -> str:
    if candidate is None:
        return f"{label} was not built"
    if candidate.error:
        return f"{label} could not be built ({candidate.error})"
    if passes(candidate):
        drop = next((c for c in candidate.checks if c.name == "accuracy_drop" and c.value), None)
        return f"{label} passes" + (f" (accuracy {drop.value})" if drop else "")
    failed = candidate.failed_checks
    return f"{label}: {_check_text(failed[0])}" + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else "")


def _check_text(check: Check) -> str:
    if check.value and check.limit:
        return f"{check.name} {check.value}, limit {check.limit}"
    return check.message.rstrip(".")


class AutoSearch:
    """One model's search. Call ``next_recipes`` until it returns an empty list."""

    def __init__(self, model: ModelPolicy, *, has_training_data: bool, edgetpu_required: bool):
        self.objective = model.objective
        self._has_training_data = has_training_data
        self._edgetpu_required = edgetpu_required
        self._asked: tuple[str, ...] = ()  # the batch the parent is measuring
        self._step = "start"  # start → ptq → more_accurate → qat → compress → done
        self._lines: list[str] = []

    def next_recipes(self, results: Sequence[CandidateResult]) -> list[Recipe]:
        if self._step == "start":
            return self._ask("ptq", tried_by_auto(AutoStep.PTQ))
        if self._step == "done":
            return []
        by_label = {r.recipe: r for r in results if r.kept_float is None or r.kept_float.of is None}
        self._lines.append("; ".join(_describe(label, by_label.get(label)) for label in self._asked))
        # A keep-float step within budget repairs the candidate it was made of (run/keep_float.py).
        repaired = {r.kept_float.of for r in results if r.kept_float and r.kept_float.of and passes(r)}
        if any(label in repaired or (label in by_label and passes(by_label[label])) for label in self._asked):
            return self._finish(results)
        return self._escalate(by_label)

    def decision(self) -> tuple[str, ...]:
        return tuple(self._lines)

    # --- steps ------------------------------------------------------------------------

    def _ask(self, step: str, labels: Sequence[str]) -> list[Recipe]:
        self._step = step
        self._asked = tuple(labels)
        return [Recipe(recipe=label) for label in labels]

    def _finish(self, results: Sequence[CandidateResult], reason: str | None = None) -> list[Recipe]:
        self._step = "done"
        if reason:
            self._lines.append(reason)
        chosen = choose("best", self.objective, tuple(results)).label
        if chosen is not None:
            word = {"fastest": "fastest", "most_accurate": "most accurate"}.get(self.objective, "smallest")
            self._lines.append(f"→ ship {chosen} (the {word} passing candidate)")
        else:
            self._lines.append("→ no candidate meets every budget")
        if any(produced_by(conversion_of(r.spec.split("+"))).int16_activations for r in results):
            self._lines.append(INT16X8_CAVEAT)
        return []

    def _escalate(self, by_label: dict[str, CandidateResult]) -> list[Recipe]:
        results = list(by_label.values())
        if self._step == "compress":
            return self._finish(results)
        # What the later steps build on: the full-integer PTQ candidate, else the one step asked for.
        current_label = _full_integer(self._asked) if self._step == "ptq" else self._asked[0]
        current = by_label.get(current_label)
        if current is None or current.error:
            return self._finish(results, f"the search stops: {current_label} is the base of every later step")
        kinds = failed_on(current)
        # int16x8 failing on speed is what QAT fixes too: int8 kernels with trained ranges.
        wants_accuracy = "accuracy" in kinds or (self._step == "more_accurate" and "latency" in kinds)
        if wants_accuracy and self._step in ("ptq", "more_accurate"):
            return self._more_accurate(results, current_label)
        if "accuracy" in kinds:
            return self._finish(
                results,
                "QAT still loses too much accuracy: keep the worst layers in float "
                "or revisit the accuracy budget",
            )
        if "size" in kinds:
            return self._compress(results, current_label)
        what = " and ".join(sorted(kinds - {"other"})) or "other checks"
        return self._finish(
            results,
            f"{current_label} fails on {what} only: no later step on the path "
            "(16-bit activations, QAT, pruning, clustering) improves that",
        )

    def _more_accurate(self, results: list[CandidateResult], current: str) -> list[Recipe]:
        if self._step == "ptq":
            wanted = tried_by_auto(AutoStep.MORE_ACCURATE)
            # Asked of what each produces: the Edge TPU never compiles 16-bit activations.
            ruled_out = [c for c in wanted if self._edgetpu_required and why_never_compiles(c)]
            runnable = tuple(c for c in wanted if c not in ruled_out)
            if runnable:
                self._lines.append(
                    f"→ {', '.join(runnable)}: {current} loses too much accuracy and the target allows "
                    "16-bit activations"
                )
                return self._ask("more_accurate", runnable)
            if ruled_out:
                self._lines.append(f"{', '.join(ruled_out)} skipped: the Edge TPU runs only full-int8 models")
        if not self._has_training_data:
            return self._finish(results, "qat skipped: no training data (add `training: data:` to the model)")
        self._lines.append(f"→ qat: {current} loses too much; quantization-aware training learns int8 ranges")
        return self._ask("qat", ("qat",))

    def _compress(self, results: list[CandidateResult], base: str) -> list[Recipe]:
        if not self._has_training_data:
            return self._finish(
                results, "prune/cluster skipped: no training data (add `training: data:` to the model)"
            )
        labels = (f"prune+{base}", f"cluster+{base}", f"prune+cluster+{base}")
        self._lines.append(f"→ {', '.join(labels)}: {base} is still over its size budget")
        return self._ask("compress", labels)


def _full_integer(labels: Sequence[str]) -> str:
    """The integer-only conversion among the PTQ batch (int8): the base of every later step."""
    return next(label for label in labels if produced_by(label).integer_only)
