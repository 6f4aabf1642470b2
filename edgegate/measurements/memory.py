"""The memory a candidate needs at inference: its peak resident memory, measured in a fresh process.

The interpreter runs in a child (``memory_child.py``) so that nothing this worker loaded before
counts, and so that a pull request's model that crashes a kernel or allocates without end takes
down only that child (``child_process.run_child``: a private folder, an allow-listed environment,
a time and a memory limit). The child uses the latency measurement's interpreter settings
(``open_interpreter``: the thread count, LiteRT's default XNNPACK delegate) and its seeded inputs.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from edgegate.errors import InputError
from edgegate.exception_text import bounded
from edgegate.measurements.interface import MemoryFigures
from edgegate.targets.child_process import death, run_script_child

CHILD = Path(__file__).with_name("memory_child.py")
CHILD_MEMORY_BYTES, CHILD_MEMORY_SHOWN = 8 << 30, "8 GiB"  # what the child may write: a bound, not a budget
TIMEOUT_S = 600  # MAX_INVOKES invocations of a slow model, and the interpreter's start


def measure_memory(path: Path, *, name: str, threads: int, timeout_s: float = TIMEOUT_S) -> MemoryFigures:
    """The peak resident memory the interpreter needs to load, allocate and run ``path`` above the
    child's baseline; ``InputError`` naming ``name`` when it cannot be measured."""
    with tempfile.TemporaryDirectory(prefix="edgegate-memory-") as tmp:
        job = {"model": str(Path(path).resolve()), "name": name, "threads": threads}
        done = run_script_child(CHILD, job, Path(tmp), timeout_s=timeout_s, memory_bytes=CHILD_MEMORY_BYTES)
    if done.returncode is None:
        raise InputError(f"model {name}: the memory measurement timed out after {timeout_s:g} s")
    if done.returncode < 0:
        raise InputError(
            f"model {name}: the memory measurement's process ended with {death(done.returncode)} "
            f"(a kernel crashed, or an allocation went past its {CHILD_MEMORY_SHOWN} limit)"
        )
    try:
        answer = json.loads(done.stdout.decode("utf-8", "replace")) if done.returncode == 0 else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise InputError(
            f"model {name}: the memory measurement's process failed ({death(done.returncode)}): "
            f"{bounded(tail[0])}"
        )
    if "failure" in answer:
        limit = (
            f"; it may have needed more than the {CHILD_MEMORY_SHOWN} it may use"
            if answer.get("running")
            else ""
        )
        raise InputError(f"{answer['failure']}{limit}")
    return MemoryFigures(
        peak_bytes=int(answer["peak_bytes"]), invokes=int(answer["invokes"]), stable=bool(answer["stable"])
    )
