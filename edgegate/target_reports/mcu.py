"""The mcu target's report: what TFLite Micro needs (arena, flash) and what it cannot run.

A light module: ``results`` stores this report, so reading a results file imports it and
nothing of the analyzer that made it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TflmRefusal:
    """One operator TFLite Micro cannot run."""

    index: int
    op: str
    output: str  # its first output tensor's name
    message: str  # TFLM's own words (or how it crashed)


@dataclass(frozen=True)
class ArenaPart:
    """One line of the recording allocator's printout."""

    name: str  # "TfLiteEvalTensor data", "Persistent buffer data", ...
    used: int  # bytes, alignment included
    requested: int
    count: int


@dataclass(frozen=True)
class ArenaSplit:
    """Where the arena goes, as TFLM's ``RecordingMicroAllocator`` recorded it."""

    total: int
    head: int  # non-persistent: the planned activation buffers and kernels' scratch buffers
    tail: int  # persistent: TFLM's structs, per-op data, quantization params, the allocator itself
    parts: tuple[ArenaPart, ...]  # the tail's recorded categories (not every tail byte is in one)


@dataclass(frozen=True)
class McuReport:
    tflm_version: str
    pointer_bits: int  # of the host that measured: the tail depends on it (docs/targets.md)
    flash: int  # the model's bytes
    ops: int  # operators in the first subgraph, all checked
    arena: int | None  # smallest arena TFLM accepts; None when it cannot run the model at all
    split: ArenaSplit | None
    unsupported: tuple[TflmRefusal, ...]
    refusal: str | None  # TFLM's words when the model as a whole is refused (no single op to blame)
    attempts: int  # interpreters built
    crashes: int  # attempts that killed TFLM (too-small arenas, aborting kernels)

    @property
    def runs(self) -> bool:
        return self.arena is not None and not self.unsupported and self.refusal is None
