"""Processes as ``/proc`` shows them (Linux): a process's tree, and whether a process still runs."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def stat(pid: int) -> tuple[str, int, int, int, int] | None:
    """(state, ppid, session, cpu ticks, start time) of ``pid``; None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    f = raw[raw.rindex(b")") + 2 :].split()  # after "(comm)", which may hold spaces
    return f[0].decode(), int(f[1]), int(f[3]), int(f[11]) + int(f[12]), int(f[19])


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def all_pids() -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def tree(pid: int) -> dict[int, int]:
    """Every live process below ``pid``: pid → its start time (a reused pid is another process)."""
    below: dict[int, list[tuple[int, int]]] = {}
    for p in all_pids():
        s = stat(p)
        if s is not None and s[0] != "Z":
            below.setdefault(s[1], []).append((p, s[4]))
    found, todo = {}, [pid]
    while todo:
        for child, start in below.get(todo.pop(), []):
            found[child] = start
            todo.append(child)
    return found


def in_session(sid: int) -> list[int]:
    """Live processes of session ``sid`` (zombies left out)."""
    return [p for p in all_pids() if (s := stat(p)) is not None and s[2] == sid and s[0] != "Z"]


def alive(procs: dict[int, int]) -> list[int]:
    """Those of ``procs`` (pid → start time) still running."""
    return [p for p, start in procs.items() if (s := stat(p)) is not None and s[4] == start and s[0] != "Z"]


def wait_until(condition, timeout_s: float, what):
    """Poll ``condition`` until it returns something true; fail naming ``what`` (text, or a
    function giving it then) after ``timeout_s`` (a bound against a hang, not a speed requirement)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what() if callable(what) else what}")


def kill_all(procs: dict[int, int]) -> None:
    """Clean up after a failed test: no spinning process is left on the shared machine."""
    for p in alive(procs):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
