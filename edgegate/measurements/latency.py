"""Latency of several models measured side by side, so their ratios come from the same moments.

Every model gets its own interpreter (fixed thread count) and fixed pseudo-random inputs.
After warm-up, each timed round invokes every model once, in an order that rotates from
round to round, so drift on a shared CI machine (frequency scaling, a noisy neighbour)
lands on all models alike. Only ``invoke()`` is timed.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from edgegate.errors import InputError
from edgegate.exception_text import first_line
from edgegate.measurements.interface import LatencyFigures
from edgegate.measurements.interpreter import open_interpreter


def measure_latency(
    models: dict[str, Path], *, runs: int, warmup: int, threads: int, seed: int = 0
) -> dict[str, LatencyFigures]:
    """Median and p90 of ``runs`` timed invocations of each model (keyed like ``models``), and each
    round's time: round ``r`` of every model was timed back to back, so the rounds pair up."""
    if not models:
        return {}
    interpreters = {name: _prepared(path, name, threads, seed) for name, path in models.items()}
    names = list(interpreters)
    timings: dict[str, list[int]] = {name: [] for name in names}
    name = ""
    try:
        for _ in range(warmup):
            for name in names:
                interpreters[name].invoke()
        for run in range(runs):
            turn = run % len(names)
            for name in names[turn:] + names[:turn]:
                interpreter = interpreters[name]
                start = time.perf_counter_ns()
                interpreter.invoke()
                timings[name].append(time.perf_counter_ns() - start)
    except (RuntimeError, ValueError) as e:
        raise InputError(f"model {name} failed to run ({first_line(e)})") from None
    return {
        name: LatencyFigures(
            median_ms=float(np.median(ns)) / 1e6,
            p90_ms=float(np.percentile(ns, 90)) / 1e6,
            runs=runs,
            rounds_ms=tuple(t / 1e6 for t in ns),
        )
        for name, ns in timings.items()
    }


def _prepared(path: Path, name: str, threads: int, seed: int) -> Interpreter:
    interpreter = open_interpreter(path, name=name, threads=threads)
    rng = np.random.default_rng(seed)  # same seed per model: models with equal inputs get equal data
    try:
        interpreter.allocate_tensors()
        for detail in interpreter.get_input_details():
            interpreter.set_tensor(
                detail["index"], random_input(detail["shape"], np.dtype(detail["dtype"]), rng)
            )
    except (RuntimeError, ValueError) as e:
        raise InputError(f"model {name} cannot be prepared to run ({first_line(e)})") from None
    return interpreter


def random_input(shape, dtype: np.dtype, rng: np.random.Generator) -> np.ndarray:
    """Deterministic values across ``dtype``'s range (integers wider than 16 bits, usually indices, are 0)."""
    if dtype.kind == "f":
        return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    if dtype.kind in "iu" and dtype.itemsize <= 2:
        limits = np.iinfo(dtype)
        return rng.integers(limits.min, limits.max, size=shape, endpoint=True).astype(dtype)
    return np.zeros(shape, dtype)
