"""The ethos-u target's report: what Arm's Vela placed on the NPU and the CPU, and its figures.

A light module: ``results`` stores this report, so reading a results file imports it and
nothing of the analyzer that made it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CpuOp:
    """An op Vela left for the CPU (TFLite Micro runs it, between the NPU's command streams)."""

    index: int | None  # in the source model's first subgraph; None: Vela's output has it, the source not
    op: str  # TFLite builtin name, "COS"
    tensor: str  # its output tensor
    reason: str | None  # Vela's "Reason:" line; None when Vela printed none for this op
    detail: str = ""  # the constraint Vela quoted after the reason


@dataclass(frozen=True)
class EthosUReport:
    accelerator: str  # "ethos-u55-128"
    system_config: str
    memory_mode: str
    optimise: str
    vela_version: str
    ops_total: int  # operators of the source model's first subgraph
    ops_on_npu: int
    cpu_ops: tuple[CpuOp, ...]
    npu_partitions: int  # ethos-u custom ops: each boundary with a CPU op is a hand-over
    sram_bytes: int  # Vela: "Total SRAM used" (feature maps, or the cache in Dedicated_Sram modes)
    flash_bytes: int  # the compiled model's size: what the device stores
    weights_area: str  # where Vela keeps weights and command streams ("Off-chip Flash", "DRAM", ...)
    # Vela's figure for that area: the NPU's weights and command streams, plus the feature maps
    # when the memory mode keeps them there too (Dedicated_Sram: both in DRAM).
    weights_area_bytes: int
    memory_used: tuple[tuple[str, int], ...]  # every area Vela reports, bytes
    cycles_total: int  # Vela's estimate, NPU part only
    cycles_npu: int
    core_clock_hz: float
    inference_ms: float  # Vela's estimate: cycles_total / core clock; CPU ops not included
    macs: int
    notes: tuple[str, ...] = ()

    @property
    def ops_on_cpu(self) -> int:
        return len(self.cpu_ops)

    @property
    def npu_fraction(self) -> float:
        return self.ops_on_npu / self.ops_total if self.ops_total else 0.0
