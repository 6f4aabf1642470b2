"""The compute target's report: multiply-accumulates per operator.

A light module: ``results`` stores this report, so reading a results file imports it and
nothing of the analyzer that made it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpMacs:
    """One operator of the first subgraph, in execution order."""

    index: int
    op: str  # builtin name; CUSTOM ops as "CUSTOM(name)"
    output: str  # its first output tensor's name: how people find the layer
    macs: int | None  # None: not counted, ``uncounted`` says why
    uncounted: str | None = None


@dataclass(frozen=True)
class ComputeReport:
    total: int  # sum of the counted ops: a lower bound when ``uncounted_ops`` is not empty
    ops: tuple[OpMacs, ...]  # every operator; 0 for ops without MACs
    dynamic_shapes: bool  # some shape is dynamic (-1 in shape_signature): counted at the stored shape
    subgraphs: int
    shapes_recomputed: int = 0  # tensors whose stored shape differs from the interpreter's (counted at its)
    shapes_unchecked: str | None = None  # why the interpreter's shapes are not known (stored ones counted)

    @property
    def uncounted_ops(self) -> tuple[OpMacs, ...]:
        return tuple(o for o in self.ops if o.macs is None)

    @property
    def exact(self) -> bool:
        return not self.uncounted_ops and self.shapes_unchecked is None

    def top(self, n: int = 5) -> tuple[OpMacs, ...]:
        """The ``n`` ops with the most MACs (ties in execution order); zero-MAC ops never appear."""
        counted = [o for o in self.ops if o.macs]
        return tuple(sorted(counted, key=lambda o: (-(o.macs or 0), o.index))[:n])

    def by_op(self) -> tuple[tuple[str, int], ...]:
        """MACs per builtin, largest first."""
        sums: dict[str, int] = {}
        for o in self.ops:
            if o.macs:
                sums[o.op] = sums.get(o.op, 0) + o.macs
        return tuple(sorted(sums.items(), key=lambda kv: (-kv[1], kv[0])))
