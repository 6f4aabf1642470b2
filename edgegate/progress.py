"""How the pipeline tells the user what it is doing (model · recipe · step).

The pipeline calls a ``Progress``: the silent base in tests and with ``--quiet``, a rich bar
in an interactive terminal, plain log lines in CI.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

from edgegate.log_output import say
from edgegate.untrusted_text import one_line

if TYPE_CHECKING:
    from types import TracebackType

    from rich.console import Console


class Progress:
    """Silent base; subclasses draw."""

    def plan(self, added: int) -> None:
        """``added`` more tasks are expected (negative: fewer than announced, when a failure
        cancelled some or the cache answered them)."""

    def started(self, label: str) -> None:
        pass

    def finished(self, label: str, ok: bool) -> None:
        pass


class RichProgress(Progress):
    """A rich progress bar with the running tasks named, for interactive terminals."""

    def __init__(self, console: Console):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress as Bar,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.bar = Bar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task("starting", total=0)
        self.running: list[str] = []

    def __enter__(self) -> RichProgress:
        self.bar.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bar.__exit__(exc_type, exc, tb)

    def _describe(self) -> None:
        from rich.markup import escape

        # Labels name models and recipes from the pull request: text, never rich markup.
        text = ", ".join(self.running[:2]) + (f" +{len(self.running) - 2}" if len(self.running) > 2 else "")
        self.bar.update(self.task, description=escape(one_line(text)) or "finishing")

    def plan(self, added: int) -> None:
        total = (self.bar.tasks[0].total or 0) + added
        self.bar.update(self.task, total=total)

    def started(self, label: str) -> None:
        self.running.append(label)
        self._describe()

    def finished(self, label: str, ok: bool) -> None:
        if label in self.running:
            self.running.remove(label)
        self.bar.advance(self.task)
        if not ok:
            from rich.markup import escape

            self.console.print(f"[red]✗[/red] {escape(one_line(label))}")
        self._describe()


class LogProgress(Progress):
    """One line per finished task, for CI logs: a redrawn bar cannot work there, and a long run
    of conversions would otherwise leave the job log silent for minutes."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self.started_at = time.monotonic()
        self.total = 0
        self.done = 0

    def _print(self, text: str) -> None:
        elapsed = int(time.monotonic() - self.started_at)
        # Labels name models and recipes from the pull request: one line (``say`` keeps it from
        # starting a workflow command in the CI log).
        say(one_line(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {text}"), stream=self.stream)

    def plan(self, added: int) -> None:
        self.total += added

    def finished(self, label: str, ok: bool) -> None:
        self.done += 1
        self._print(f"{'done' if ok else 'FAILED'} {label} ({self.done}/{self.total})")
