"""The memory a candidate needs at inference, measured in a fresh process of its own, run as a script.

``measurements/memory.py`` starts ``python -I memory_child.py JOB`` in a private folder (under
``child_process.run_child``'s time and memory limits) and reads one JSON object. Everything the
measurement needs is imported first (numpy, the LiteRT interpreter, EdgeGate's ``open_interpreter``
and ``random_input``, the ones the latency measurement uses); then the process's peak resident
memory is reset to what is resident now (Linux: ``/proc/self/clear_refs``, ``5``), which is the
baseline. The model is loaded, its tensors allocated, seeded random inputs set and invoked until an
invocation no longer raises the peak (at least ``MIN_INVOKES``, at most ``MAX_INVOKES``); the figure
is the peak (``VmHWM``) above the baseline.

JOB is a JSON file: ``{"model": path, "name": "how messages name it", "threads": n}``.

Answer (stdout): ``{"peak_bytes": n, "baseline_bytes": n, "invokes": n, "stable": bool}``, or
``{"failure": "why", "running": true}`` (``running``: it failed while allocating or invoking, where
a model that needs more than the child's memory limit fails).
"""

from __future__ import annotations

import json
import sys
from typing import Any

MIN_INVOKES = 2  # the first invocation may still pack weights or size scratch buffers
MAX_INVOKES = 20  # a peak still growing after this many is reported as not stable
_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_bytes(field: str) -> int:
    """``VmRSS``/``VmHWM`` of this process, in bytes (the kernel writes kB)."""
    with open(_STATUS, encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"{_STATUS} has no {field}")


def _reset_peak() -> int:
    """Reset the peak resident memory to the current one (Linux 4.0+); the baseline, in bytes."""
    with open(_CLEAR_REFS, "w", encoding="ascii") as f:
        f.write("5")
    return _status_bytes("VmRSS")


def measure(job: dict[str, Any]) -> dict[str, Any]:
    import gc

    import numpy as np

    from edgegate.errors import InputError
    from edgegate.exception_text import first_line
    from edgegate.measurements.interpreter import open_interpreter
    from edgegate.measurements.latency import random_input

    rng = np.random.default_rng(0)  # the latency measurement's seed: the same inputs
    gc.collect()
    try:
        baseline = _reset_peak()
    except OSError:
        return {
            "failure": "this system cannot reset a process's peak resident memory "
            "(/proc/self/clear_refs, Linux 4.0 or later): memory is measured on Linux only"
        }
    try:
        interpreter = open_interpreter(job["model"], name=job["name"], threads=int(job["threads"]))
        interpreter.allocate_tensors()
        for detail in interpreter.get_input_details():
            value = random_input(detail["shape"], np.dtype(detail["dtype"]), rng)
            interpreter.set_tensor(detail["index"], value)
            del value
        peak, invokes = _status_bytes("VmHWM"), 0
        while invokes < MAX_INVOKES:
            interpreter.invoke()
            invokes += 1
            now = _status_bytes("VmHWM")
            if invokes >= MIN_INVOKES and now == peak:
                return _answer(now, baseline, invokes, stable=True)
            peak = now
    except InputError as e:
        return {"failure": str(e)}
    except (RuntimeError, ValueError, MemoryError) as e:  # an allocation past the limit lands here too
        return {"failure": f"model {job['name']} failed to run ({first_line(e)})", "running": True}
    return _answer(peak, baseline, invokes, stable=False)


def _answer(peak: int, baseline: int, invokes: int, *, stable: bool) -> dict[str, Any]:
    return {
        "peak_bytes": max(0, peak - baseline),
        "baseline_bytes": baseline,
        "invokes": invokes,
        "stable": stable,
    }


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    print(json.dumps(measure(job)))


if __name__ == "__main__":
    main()
