"""Progress as plain log lines, for CI logs where a redrawn progress bar cannot work.

A long run of conversions would otherwise leave the job log silent for minutes.
"""

from __future__ import annotations

import sys
import time

from edgegate.progress import Progress


class LogProgress(Progress):
    def __init__(self, stream=None):
        self.stream = stream
        self.started_at = time.monotonic()
        self.total = 0
        self.done = 0

    def _print(self, text: str) -> None:
        elapsed = int(time.monotonic() - self.started_at)
        print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}", file=self.stream or sys.stdout, flush=True)

    def plan(self, added: int) -> None:
        self.total += added

    def finished(self, label: str, ok: bool) -> None:
        self.done += 1
        self._print(f"{'done' if ok else 'FAILED'} {label} ({self.done}/{self.total})")

    def message(self, text: str) -> None:
        self._print(text)
