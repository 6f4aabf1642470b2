"""Edge TPU compilability: the result type every analyzer produces, and their base class.

Three analyzers answer the same question — how much of this ``.tflite`` runs on the Edge
TPU — and all return ``EdgeTpuResult``: the static check (``static.py``, everywhere), the real
``edgetpu_compiler`` (``compiler.py``, where installed), and the reader of an already
compiled ``*_edgetpu.tflite`` (``compiled.py``). ``analyzer`` says which one answered.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

# Status strings exactly as edgetpu_compiler writes them in its operation log.
MAPPED = "Mapped to Edge TPU"
AFTER_CUT = "More than one subgraph is not supported"
UNSPECIFIED = "Operation is otherwise supported, but not mapped due to some unspecified limitation"
BAD_TYPE = "Operation is working on an unsupported data type"
BAD_VERSION = "Operation version not supported"
UNSUPPORTED = "Operation not supported"
BAD_RANK = "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"
NOT_CONSTANT = "Filter, bias, or other param is not constant at compile-time"


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


class EdgeTpuAnalyzer(abc.ABC):
    """Answers "how much of this model runs on the Edge TPU"."""

    name: str

    @abc.abstractmethod
    def analyze(self, model: Path) -> EdgeTpuResult:
        """Analyze one ``.tflite``; raise ``edgegate.errors.InputError`` for unreadable input."""
