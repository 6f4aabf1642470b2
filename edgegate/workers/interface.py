"""Tasks sent to worker processes and the outcomes that come back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Task:
    key: str  # unique within a run
    func: str  # "package.module:function", called in the worker with *args
    args: tuple
    label: str  # what the terminal shows: "digits · int8 · convert"
    exclusive: bool = False  # run with no other task at the same time (latency timing)
    timeout_s: float | None = None


@dataclass(frozen=True)
class TaskOutcome:
    task: Task
    value: Any = None
    error: str | None = None  # the exception's message, or how the worker died

    @property
    def ok(self) -> bool:
        return self.error is None
