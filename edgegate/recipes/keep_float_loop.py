"""When an integer candidate breaks its accuracy or fidelity budget: keep its worst layers float.

The loop (issue 17 ★) takes the candidate's per-layer ranking (``LayerNoise``, the most lost
first), rebuilds the recipe with the worst 1, 2, 4 … layers kept float (up to ``bound``),
judges each, and stops at the first within budget. Building and judging are injected
(``build``: layers kept float → a built candidate; ``judge``: candidate → its ``Judged``), so
the same loop serves the LiteRT Quantizer here and could serve another engine; the tests run
it on real models. ``describe`` is the report's line: what each step bought. In a run the steps
are rounds of the schedule instead (``run/keep_float.py`` takes ``counts``, ``keep_for`` and
``describe`` from here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Generic, Sequence, TypeVar

from edgegate.recipes.litert_quantize import LayerNoise, NothingQuantized
from edgegate.units import format_bytes

Built = TypeVar("Built")


@dataclass(frozen=True)
class Judged:
    drop_pt: float  # accuracy (or fidelity) lost against the float model, in points
    within_budget: bool
    size_bytes: int
    drop_text: str = ""  # the drop as the report shows it ("−2.10 pt", "+0.013" for an error metric)

    @property
    def drop(self) -> str:
        return self.drop_text or f"−{self.drop_pt:.1f} pt"


@dataclass(frozen=True)
class LoopStep(Generic[Built]):
    kept_float: tuple[str, ...]  # the layers (output tensor names) kept float; () = the plain recipe
    judged: Judged
    built: Built


@dataclass(frozen=True)
class LoopResult(Generic[Built]):
    recipe: str
    steps: tuple[LoopStep[Built], ...]  # the plain recipe first

    @property
    def shipped(self) -> LoopStep[Built] | None:
        """The first step within budget (the plain recipe when it already is), else None."""
        return next((s for s in self.steps if s.judged.within_budget), None)


def counts(available: int, bound: int) -> list[int]:
    """1, 2, 4 … layers, never more than ``bound`` or than there are, the last one included."""
    top = min(bound, available)
    out, n = [], 1
    while n < top:
        out.append(n)
        n *= 2
    if top >= 1:
        out.append(top)
    return out


def keep_for(layers: Sequence[str]) -> tuple[str, ...]:
    """The recipe's ``keep_float`` keeping exactly these output tensors float (names escaped, anchored)."""
    # The quantizer searches a regex in an op's scope (its output tensor names joined by ";"),
    # the converter's denylist in each output name; a converter's fused name is itself
    # ";"-joined, and its first part names the layer. Anchored: "dense/MatMul" is not "dense/MatMul_1".
    return tuple(f"^{re.escape(name.split(';')[0])}(;|$)" for name in layers)


def run_loop(
    recipe: str,
    plain: Built,
    ranking: Sequence[LayerNoise],
    build: Callable[[tuple[str, ...]], Built],
    judge: Callable[[Built], Judged],
    bound: int,
) -> LoopResult[Built]:
    steps = [LoopStep((), judge(plain), plain)]
    if steps[0].judged.within_budget:
        return LoopResult(recipe, tuple(steps))
    names = [layer.tensor for layer in ranking]
    for n in counts(len(names), bound):
        kept = tuple(names[:n])
        try:
            built = build(kept)
        except NothingQuantized:
            break  # every layer that takes weights is float now: no integer candidate left
        steps.append(LoopStep(kept, judge(built), built))
        if steps[-1].judged.within_budget:
            break
    return LoopResult(recipe, tuple(steps))


def describe(result: LoopResult) -> str:
    """ "int8 except conv_12, dense_3: −0.3 pt at +14 KB; plain int8: −2.1 pt" (then the others)."""
    plain = result.steps[0]
    shipped = result.shipped
    parts = []
    if shipped is not None and shipped.kept_float:
        grew = shipped.judged.size_bytes - plain.judged.size_bytes
        parts.append(
            f"{result.recipe} except {', '.join(shipped.kept_float)}: {shipped.judged.drop} "
            f"at +{format_bytes(grew)}"
        )
    parts.append(f"plain {result.recipe}: {plain.judged.drop}")
    for step in result.steps[1:]:
        if step is not shipped:
            parts.append(f"{len(step.kept_float)} float: {step.judged.drop}")
    if shipped is None:
        parts.append(f"no step within budget (up to {len(result.steps[-1].kept_float)} layers float)")
    return "; ".join(parts)
