"""Measurements of one ``.tflite`` file: its size, its latency, its memory, and its accuracy on the eval set.

Each function here runs on numpy and ai_edge_litert alone (no TensorFlow), so measuring a
candidate is cheap for any worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgegate.metrics.interface import SampleScores
from edgegate.results import Accuracy


@dataclass(frozen=True)
class SizeFigures:
    bytes: int
    gzip_bytes: int  # gzip level 9, no file name or time stamp in the header


@dataclass(frozen=True)
class LatencyFigures:
    median_ms: float
    p90_ms: float
    runs: int  # timed invocations (after warm-up)
    # Each round's time in round order: the rounds pair up with the other models timed in the same
    # session (the paired latency intervals, metrics/paired_latency.py; never in the results).
    rounds_ms: tuple[float, ...] = ()
    session: int = 0  # which measure_latency call timed it (the loop numbers them): rounds pair within one


@dataclass(frozen=True)
class MemoryFigures:
    """The peak resident memory of a fresh process loading, allocating and running the model,
    above that process's baseline just before loading (``measurements/memory.py``)."""

    peak_bytes: int
    invokes: int  # invocations until one no longer raised the peak (or the most tried)
    stable: bool  # False: the peak still grew at the last invocation, so the figure is a lower bound


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to a single bool
class Evaluation:
    accuracy: Accuracy
    outputs: np.ndarray  # dequantized outputs, one row per sample (the reference for fidelity)
    scores: SampleScores | None = None  # each sample's score, for paired intervals (never in the results)
