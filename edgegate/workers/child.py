"""The loop a worker process runs: receive a task, call it, send back the value or the error.

The parent (``workers/pool.py``) starts ``python -I -c "...; main()" FD PARENT [PATH ...]`` in
the worker's private folder, with an allow-listed environment (``workers/environment.py``) and
fds 1 and 2 on the worker's log: output of native code (TensorFlow's C++ logging, the
converter's prints) goes there, not to the user's terminal, and the parent quotes its tail
when a worker dies. ``FD`` is the worker's end of the connection to the parent, ``PARENT`` the
parent's pid (the worker dies with it: ``workers/lifetime.py``); each ``PATH`` (tests only)
goes at the end of ``sys.path``.
"""

from __future__ import annotations

import importlib
import os
import sys
from multiprocessing.connection import Connection

from edgegate.workers.lifetime import die_with_parent


def main() -> None:
    fd, parent, *paths = sys.argv[1:]
    # Never outlive the parent (a cancelled job), and take what this worker starts along.
    die_with_parent(int(parent), own_group=True)
    sys.path.extend(paths)
    serve(Connection(int(fd)))


def serve(conn: Connection) -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # decided before TF loads; tfmot needs it
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # the log, line by line
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
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
