"""A target's child process with bounds: how Vela and the GPU target's children are run.

What a child reads is a pull request's model: it may crash the C++ that reads it, loop forever
(a WHILE whose condition is always true) or declare tensors of gigabytes. So the child

- starts in a private folder with an allow-listed environment (``child_env``: no tokens, no
  user site-packages);
- runs in its own process group, killed as a whole when ``timeout_s`` runs out (a tool that
  forks leaves nothing behind), and dies with the worker that started it
  (``workers.lifetime.child_options``);
- may be given ``memory_bytes``: a launcher sets ``RLIMIT_DATA`` (the memory a process can
  write: heap and anonymous mappings) and then ``exec``s the command, so the limit holds from
  its first instruction and an allocation past it fails inside the child, not on the runner.

``mcu.py`` keeps its own long-lived TFLite Micro child (one JSON line per attempt, each timed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgegate.workers.lifetime import child_options

# Seconds to wait for a killed child's pipes to close (its grandchildren died with it).
_READ_AFTER_KILL_S = 10

# Run as ``python -I -S -c _LIMITED BYTES COMMAND...``: the limit (never looser than the one it
# inherits), then the command in its place.
_LIMITED = (
    "import os, resource as r, sys; n = int(sys.argv[1]); "
    "n = min([n] + [v for v in r.getrlimit(r.RLIMIT_DATA) if v != r.RLIM_INFINITY]); "
    "r.setrlimit(r.RLIMIT_DATA, (n, n)); os.execv(sys.argv[2], sys.argv[2:])"
)


@dataclass(frozen=True)
class ChildRun:
    returncode: int | None  # None: stopped at the time limit
    stdout: bytes
    stderr: bytes


def child_env(home: Path) -> dict[str, str]:
    """The child's whole environment: no tokens, no user site-packages, unbuffered output."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        # Vela's C++ core and its Python wrapper both write to stdout; unbuffered keeps their order.
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
    }


def run_child(
    cmd: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float, memory_bytes: int | None = None
) -> ChildRun:
    """Run ``cmd`` (its first item an absolute path) to its end or its time limit; ``OSError``
    when it cannot start."""
    if memory_bytes is not None:
        cmd = [sys.executable, "-I", "-S", "-c", _LIMITED, str(memory_bytes), *cmd]
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so a timeout ends all it started
        **child_options(),  # killed when its worker ends
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
        return ChildRun(proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        try:
            out, err = proc.communicate(timeout=_READ_AFTER_KILL_S)
        except subprocess.TimeoutExpired:
            # Something outside the group still holds its pipes: give up on the output, not the verdict.
            proc.kill()
            proc.wait()
            out, err = b"", b""
        return ChildRun(None, out, err)


def run_script_child(
    script: Path, job: dict[str, Any], work: Path, *, timeout_s: float, memory_bytes: int | None = None
) -> ChildRun:
    """Run ``python -I SCRIPT work/job.json`` in ``work`` (a private folder; its ``home`` the
    child's HOME): how a child script that reads one JSON job is started."""
    (work / "home").mkdir(exist_ok=True)
    (work / "job.json").write_text(json.dumps(job), encoding="utf-8")
    return run_child(
        [sys.executable, "-I", str(script), str(work / "job.json")],
        cwd=work,
        env=child_env(work / "home"),
        timeout_s=timeout_s,
        memory_bytes=memory_bytes,
    )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it ended between the timeout and the kill


def death(returncode: int) -> str:
    """How a child ended, for messages: ``SIGSEGV`` for a signal, ``exit status 1`` otherwise."""
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"
