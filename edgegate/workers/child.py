"""The loop a worker process runs: receive a task, call it, send back the value or the error.

Output of native code (TensorFlow's C++ logging, the converter's prints) goes to the worker's
log file, not the user's terminal; the parent quotes its tail when a worker dies.

The parent starts the worker with an allow-listed environment (``workers/environment.py``);
the worker moves into its private working folder before serving, so a relative path in a
model resolves there, never in the repository.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys

from edgegate.workers.lifetime import die_with_parent


def serve(conn, log_path: str, work_dir: str | None = None) -> None:
    parent = multiprocessing.parent_process()
    # Never outlive the parent (a cancelled job), and take what this worker starts along.
    die_with_parent(parent.pid if parent is not None else None, own_group=True)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # decided before TF loads; tfmot needs it
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if work_dir is not None:  # after the log is open: its path may be relative to the parent's folder
        sys.path[:] = [os.path.abspath(p) for p in sys.path]  # "" meant the parent's folder
        os.chdir(work_dir)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    from edgegate.errors import EdgeGateError
    from edgegate.exception_text import first_line_with_type

    while True:
        try:
            msg = conn.recv()
        except EOFError:
            msg = None
        if msg is None:
            # Leave without Python's finalization: with TensorFlow loaded it takes a second or
            # more, and there is nothing to keep (the parent removes the private folders).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        key, func, args = msg
        try:
            module, name = func.split(":")
            value = getattr(importlib.import_module(module), name)(*args)
            conn.send((key, None, value))
        except EdgeGateError as e:
            conn.send((key, str(e), None))
        except BaseException as e:  # report anything; the parent decides what it means
            import traceback

            traceback.print_exc()
            conn.send((key, first_line_with_type(e, 400), None))
