"""The gpu target's report: which ops the GPU delegate takes, and the fp16 risks seen.

A light module: ``results`` stores this report, so reading a results file imports it and
nothing of the analyzer that made it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuFallback:
    """An op the delegate leaves to the CPU, with the checker's (or the rule's) reason."""

    index: int  # operator index in the first subgraph, execution order
    op: str  # builtin name, or the custom code of a custom op
    reason: str


@dataclass(frozen=True)
class Fp16Risk:
    """An op whose output was seen beyond (or near) float16's range."""

    index: int
    op: str
    tensor: str  # the output tensor's name
    max_abs: float  # largest magnitude seen over the samples; inf when the float run itself overflowed


@dataclass(frozen=True)
class GpuReport:
    ops_total: int
    ops_delegated: int
    fallbacks: tuple[GpuFallback, ...]
    fp16_overflows: tuple[Fp16Risk, ...]  # max_abs > 65,504
    fp16_near: tuple[Fp16Risk, ...]  # 32,752 < max_abs <= 65,504
    samples_used: int  # 0 when the fp16 observation did not run
    data_source: str  # what the fp16 observation ran on, for messages
    checker: str  # which compatibility rules spoke, and their version

    @property
    def delegated_fraction(self) -> float:
        return self.ops_delegated / self.ops_total if self.ops_total else 0.0
