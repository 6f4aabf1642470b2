"""The Edge TPU's report: what every Edge TPU analyzer (static rules, the compiler, a compiled model) returns.

A light module: ``results`` stores this report, so reading a results file imports it and
nothing of the analyzer that made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OpMapping:
    """One operator in execution order and what the Edge TPU does with it."""

    index: int
    op: str  # builtin name, e.g. CONV_2D; CUSTOM ops as CUSTOM
    tensor: str  # name of its first output tensor
    status: str  # one of the compiler's status strings above
    mapped: bool
    reason: str = ""  # why not mapped (or why uncertain), in plain words
    uncertain: bool = False  # a rule that cannot be decided statically


@dataclass(frozen=True)
class EdgeTpuResult:
    analyzer: str  # "static" | "compiler" | "compiled-model"
    compiler_version: str  # "16.0.384591198" (real) or "16 (static rules)"
    runtime_version: int
    compiles: bool  # False: the whole model is rejected (see rejection)
    ops_total: int
    ops_on_tpu: int
    ops_on_cpu: int
    partitions: int  # Edge TPU subgraphs (edgetpu-custom-op count)
    rejection: str | None = None  # whole-model failure message
    first_unmapped: OpMapping | None = None
    hint: str | None = None  # one-line fix for the first blocking op / rejection
    ops: tuple[OpMapping, ...] = ()
    uncertain: int = 0
    log: str = ""  # the per-op table in the compiler's own layout
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def mapped_fraction(self) -> float:
        return self.ops_on_tpu / self.ops_total if self.ops_total else 0.0
