"""Every process EdgeGate starts ends with it, and its temp folders go too.

A cancelled CI job or an outer timeout sends ``edgegate`` SIGTERM (Ctrl-C: SIGINT). A worker in
the middle of a model that loops forever would otherwise keep running at 100 % CPU, re-parented
to init, its private folders left behind. So:

- every child gets a **parent-death signal** (Linux ``PR_SET_PDEATHSIG``, SIGKILL): when the
  process that started it ends, however it ends (SIGKILL included), the kernel kills the child.
  Workers set it on themselves first thing (``die_with_parent`` in ``workers/child.main``, with
  the parent's pid they are started with); what a worker starts (TFLite Micro's child, Vela, the GPU target's child,
  the Edge TPU compiler) gets it from ``child_options()`` passed to ``Popen``;
- each worker leads a **process group** of its own (``die_with_parent``), so ending it ends what
  it started in its group, and a terminal's Ctrl-C reaches only the parent, which stops the rest;
- the commands run inside ``cancellable()`` (``cli/errors.guarded``): SIGTERM and SIGINT **kill
  every descendant** at once (the registered workers' groups, then every process below the
  parent in ``/proc``), then raise ``Cancelled``, which unwinds the run so that its ``finally``
  blocks and context managers remove the temp folders (those registered with ``temp_folder``
  are removed again at the end, should a second signal have cut a cleanup short). The command
  ends with one line and exit code 128 + the signal (143 for SIGTERM, 130 for SIGINT).

A leaf: it imports nothing from EdgeGate.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

SIGNALS = (signal.SIGTERM, signal.SIGINT)
_PR_SET_PDEATHSIG = 1
_KILL_ROUNDS = 5  # a process forking while its tree is being killed: look again, a few times


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


# Looked up once, here: in a forked child (``preexec_fn``) only the call itself is left to do.
_PRCTL = _load_prctl()

_children: set[int] = set()  # the parent's own children (workers), each leading its process group
_folders: set[Path] = set()


class Cancelled(BaseException):
    """SIGTERM or SIGINT arrived; every child was killed. A ``BaseException``: no ``except
    Exception`` on the way may take it for an error of its own."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


def die_with_parent(parent: int | None = None, *, own_group: bool = False) -> None:
    """Make the kernel kill this process when its parent ends; at once if ``parent`` (its pid,
    known before this process started) already has. ``own_group``: lead a process group."""
    if own_group and hasattr(os, "setpgid"):  # (not on Windows)
        try:
            os.setpgid(0, 0)
        except OSError:  # already a session leader: its group is its own
            pass
    if _PRCTL is None:
        return
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)  # orphaned before the setting took hold


def child_options() -> dict[str, Any]:
    """``Popen`` keyword arguments for a child that must not outlive the process starting it."""
    if _PRCTL is None:
        return {}
    return {"preexec_fn": functools.partial(die_with_parent, os.getpid())}


def started(pid: int | None) -> None:
    """A child of this process (a worker) that ``cancellable`` must end (None: it never started)."""
    if pid is not None:
        _children.add(pid)


def ended(pid: int | None) -> None:
    if pid is not None:
        _children.discard(pid)


def temp_folder(path: Path) -> Path:
    """Register a temp folder to be removed, if still there, after a cancelled command."""
    _folders.add(path)
    return path


def removed(path: Path) -> None:
    _folders.discard(path)


def _live_descendants(pid: int) -> list[int]:
    """Every process below ``pid`` in ``/proc`` that has not exited (zombies left out); [] off Linux."""
    below: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rindex(b")") + 2 :].split()  # after "(comm)", which may hold spaces
        if fields[0] != b"Z":
            below.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in below.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pid: int, group: bool) -> None:
    try:
        if group and hasattr(os, "killpg") and os.getpgid(pid) == pid and pid != os.getpgid(0):
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass  # already gone


def kill_children() -> None:
    """SIGKILL every worker with its process group, then every other descendant of this process."""
    for pid in list(_children):
        _kill(pid, group=True)
    for _ in range(_KILL_ROUNDS):
        alive = _live_descendants(os.getpid())
        if not alive:
            return
        for pid in alive:
            _kill(pid, group=False)


def remove_folders() -> None:
    for path in list(_folders):
        shutil.rmtree(path, ignore_errors=True)
        _folders.discard(path)


@contextlib.contextmanager
def cancellable() -> Iterator[None]:
    """Run the body with SIGTERM and SIGINT raising ``Cancelled`` once every child is killed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread: a caller's embedding
        return

    def on_signal(signum: int, frame: Any) -> None:
        for s in SIGNALS:  # a second signal must not cut the cleanup short
            signal.signal(s, lambda *_: None)
        kill_children()
        raise Cancelled(signum)

    previous = {s: signal.signal(s, on_signal) for s in SIGNALS}
    try:
        yield
    except Cancelled:
        remove_folders()
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
