"""The keep-float search in a run: an integer candidate that breaks an accuracy budget is rebuilt
with its worst layers kept float (issue 17 ★).

When a candidate fails an accuracy (or fidelity) budget and the stage that made it can keep
layers float (it declares ``keeps_float``: int8 through the TensorFlow converter's
QuantizationDebugger denylist; every LiteRT Quantizer transform, a no-quantize rule per layer),
the loop takes its per-layer ranking (worst first): for a converter candidate the debugger's
(``layer_errors``: the layers whose int8 error stands out, a job of its own), for a quantizer
candidate the quantizer's own per-layer SNR, computed as it was built (``BuiltCandidate.ranking``:
the ops that lost the most dB themselves). Each
later round then builds the recipe again with the worst 1, 2, 4 … layers in its ``keep_float``
(``recipes.keep_float_loop``: ``counts``, ``keep_for``), up to the policy's
``keep_float_search.max_layers``, and the search stops at the first step within its accuracy
budgets. Each step is a candidate like any other (built, evaluated, gated, cached: its recipe,
``keep_float`` included, is in its cache key); whether the chooser may ship one is the policy's
``keep_float_search.ship`` (by default: under ``recipes: auto`` only). ``lines`` is what the
report says: what each step bought (``describe``), which engine kept the layers float, why the
search stopped, and for listed recipes the recipe to write.

No TensorFlow here: this runs in the parent, over the results the loop judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

from edgegate.conversions import CONVERSIONS
from edgegate.policy.sections import KeepFloatSearch, Recipe, keeps_float_by, why_not_kept_float
from edgegate.recipes.keep_float_loop import Judged, LoopResult, LoopStep, counts, describe, keep_for
from edgegate.recipes.layer_errors import layer_name
from edgegate.results import CandidateResult
from edgegate.results.model import KeptFloat
from edgegate.units import format_accuracy_change

ACCURACY_CHECKS = ("accuracy", "accuracy_drop")
SHORT_LABEL_LAYERS = 2  # a step keeping more layers float is labelled by their number


def breaks_accuracy(result: CandidateResult) -> bool:
    """Whether a candidate fails an accuracy (or fidelity) budget."""
    return any(ch.name in ACCURACY_CHECKS and ch.status.fails for ch in result.checks)


def listed_kept_float(recipe: Recipe | None) -> KeptFloat | None:
    """What a listed recipe's own ``keep_float`` leaves float, as the results say it."""
    if recipe is None or not recipe.keep_float:
        return None
    return KeptFloat(recipe.keep_float, recipe.keep_float, keeps_float_by(recipe) or "")


@dataclass
class _Search:
    """One candidate's search: its recipe, its ranking, the counts still to try, the steps built."""

    parent: Recipe
    ranking: tuple[str, ...]  # op output tensor names, worst first
    todo: list[int]
    steps: list[str] = field(default_factory=list)  # the labels built, fewest layers first
    kept: dict[str, KeptFloat] = field(default_factory=dict)  # label → what it keeps float
    done: bool = False


class KeepFloatSearches:
    """One model's searches. The loop asks ``wants_ranking`` of each judged candidate, hands the
    rankings to ``start``, and ``next_recipes`` until it returns none."""

    def __init__(self, settings: KeepFloatSearch, *, auto: bool):
        self.settings = settings
        self.auto = auto
        self._searches: dict[str, _Search] = {}  # the repaired candidate's label → its search
        self._empty: dict[str, str] = {}  # a candidate whose ranking named no layer → why

    @property
    def ships(self) -> bool:
        """Whether the chooser may ship a step (``keep_float_search.ship``)."""
        return self.settings.ships(self.auto)

    def wants_ranking(self, result: CandidateResult, recipe: Recipe | None) -> bool:
        """A candidate that breaks an accuracy budget, not searched yet, whose stage keeps layers float."""
        return (
            self.settings.max_layers > 0
            and recipe is not None
            and not recipe.keep_float
            and result.error is None
            and result.recipe not in self._searches
            and result.recipe not in self._empty
            and why_not_kept_float(recipe) is None
            # The ranking: the quantizer's per-layer SNR (built with it), or the converter's debugger (calibrates).
            and bool(recipe.transforms or CONVERSIONS[recipe.conversion].needs_calibration)
            and breaks_accuracy(result)
        )

    def start(self, parent: Recipe, ranking: Sequence[str], why_none: str | None = None) -> None:
        """Search ``parent`` with its ranking (op output tensor names, worst first: the converter's
        per-layer analysis, or the quantizer's per-layer SNR); ``why_none``: why there is none."""
        named = tuple(node for node in ranking if node)
        if not named:
            self._empty[parent.label] = why_none or "no layer's int8 error stands out"
            return
        self._searches[parent.label] = _Search(parent, named, counts(len(named), self.settings.max_layers))

    def kept(self, label: str) -> KeptFloat | None:
        """What the step ``label`` keeps float, when the search made it."""
        return next((s.kept[label] for s in self._searches.values() if label in s.kept), None)

    def next_recipes(self, results: dict[str, CandidateResult]) -> list[Recipe]:
        """The next step of every search that has not found a candidate within budget."""
        asked = []
        for search in self._searches.values():
            last = results.get(search.steps[-1]) if search.steps else None
            if search.done or (last is not None and (last.error or not breaks_accuracy(last))):
                search.done = True  # within budget, or a step that could not be built: stop
            elif not search.todo:
                search.done = True
            else:
                asked.append(self._step(search, search.todo.pop(0)))
        return asked

    def _step(self, search: _Search, n: int) -> Recipe:
        nodes = search.ranking[:n]
        names = tuple(layer_name(node) for node in nodes)
        shown = ", ".join(names) if n <= SHORT_LABEL_LAYERS else f"{n} layers"
        label = f"{search.parent.label} except {shown}"
        recipe = replace(search.parent, name=label, keep_float=keep_for(nodes))
        search.steps.append(label)
        engine = keeps_float_by(recipe) or ""
        search.kept[label] = KeptFloat(names, recipe.keep_float, engine, of=search.parent.label)
        return recipe

    def lines(self, results: dict[str, CandidateResult]) -> tuple[str, ...]:
        """What the report says of each search: one line each, then what to write or why it stopped."""
        out: list[str] = [f"{label}: {why}; nothing to keep float" for label, why in self._empty.items()]
        for label, search in self._searches.items():
            plain = results.get(label)
            if plain is None:
                continue
            steps = [LoopStep((), _judged(plain), label)]
            steps += [
                LoopStep(search.kept[s].layers, _judged(results[s]), s)
                for s in search.steps
                if s in results and results[s].error is None
            ]
            loop = LoopResult(label, tuple(steps))
            engine = next(iter(search.kept.values())).engine if search.kept else ""
            out.append(f"{describe(loop)} (kept float by the {engine})")
            out += self._outcome(search, loop, results)
        return tuple(out)

    def _outcome(
        self, search: _Search, loop: LoopResult[str], results: dict[str, CandidateResult]
    ) -> list[str]:
        failed = [results[s] for s in search.steps if s in results and results[s].error]
        if failed:
            return [f"{failed[0].recipe} could not be built: {failed[0].error}"]
        shipped = loop.shipped
        if shipped is None or not shipped.kept_float:
            tried = len(loop.steps[-1].kept_float)
            if tried >= self.settings.max_layers:
                why = f"the bound, keep_float_search.max_layers: {self.settings.max_layers}"
            else:
                why = f"the {len(search.ranking)} layer(s) whose int8 error stands out"
            return [f"{search.parent.label}: no step within the accuracy budget up to {why}; not shipped"]
        kept = search.kept[shipped.built]
        if self.ships:
            return []
        return [
            f"{shipped.built} is within budget but not shipped (keep_float_search.ship is off for "
            f"listed recipes); to ship it, list the recipe {{recipe: {search.parent.recipe}, keep_float: "
            f"[{', '.join(repr(p) for p in kept.patterns)}]}}"
        ]


def _judged(result: CandidateResult) -> Judged:
    accuracy = result.accuracy
    drop = accuracy.drop if accuracy is not None and accuracy.drop is not None else 0.0
    metric = accuracy.metric if accuracy is not None else None
    text = format_accuracy_change(-drop, metric) if accuracy is not None else "accuracy not measured"
    return Judged(drop * 100, not breaks_accuracy(result), result.size_bytes or 0, drop_text=text)
