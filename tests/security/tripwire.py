"""A file that tells whether anything opened it: a named pipe watched by a writer thread.

Opening a FIFO for writing without blocking fails (ENXIO) until a reader has it open, so the
thread's first successful open proves that something, TensorFlow's C++ file system included
(which Python's audit hooks never see), opened the path to read it.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path


class Tripwire:
    def __init__(self, path: Path, content: bytes = b"") -> None:
        self.path = path
        self.content = content
        if path.exists():
            path.unlink()
        os.mkfifo(path)
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno != errno.ENXIO:
                    raise
                time.sleep(0.005)
                continue
            self.opened.set()
            try:
                os.write(fd, self.content)
            except OSError:
                pass  # the reader went away (TensorFlow preads, which a pipe refuses)
            finally:
                os.close(fd)

    def close(self) -> bool:
        """Stop watching; whether the file was opened for reading at any time."""
        time.sleep(0.05)  # an open racing the stop is still seen
        self._stop.set()
        self._thread.join(timeout=5)
        return self.opened.is_set()

    def __enter__(self) -> "Tripwire":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
