"""Edge TPU compilability: the result type every analyzer produces, and their base class.

Three analyzers answer the same question — how much of this ``.tflite`` runs on the Edge
TPU — and all return ``EdgeTpuResult``: the static check (``static.py``, everywhere), the real
``edgetpu_compiler`` (``compiler.py``, where installed), and the reader of an already
compiled ``*_edgetpu.tflite`` (``compiled.py``). ``analyzer`` says which one answered.
"""

from __future__ import annotations

import abc
from pathlib import Path
from edgegate.target_reports.edgetpu import (
    EdgeTpuResult as EdgeTpuResult,
)  # re-exported: the analyzers return it

# Status strings exactly as edgetpu_compiler writes them in its operation log.
MAPPED = "Mapped to Edge TPU"
AFTER_CUT = "More than one subgraph is not supported"
UNSPECIFIED = "Operation is otherwise supported, but not mapped due to some unspecified limitation"
BAD_TYPE = "Operation is working on an unsupported data type"
BAD_VERSION = "Operation version not supported"
UNSUPPORTED = "Operation not supported"
BAD_RANK = "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"
NOT_CONSTANT = "Filter, bias, or other param is not constant at compile-time"


class EdgeTpuAnalyzer(abc.ABC):
    """Answers "how much of this model runs on the Edge TPU"."""

    name: str

    @abc.abstractmethod
    def analyze(self, model: Path) -> EdgeTpuResult:
        """Analyze one ``.tflite``; raise ``edgegate.errors.InputError`` for unreadable input."""
