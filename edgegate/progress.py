"""How the pipeline tells the terminal what it is doing (model · recipe · step).

The pipeline calls a ``Progress``; the CLI passes a rich implementation, tests and CI the
silent one.
"""

from __future__ import annotations


class Progress:
    """Silent base; subclasses draw."""

    def plan(self, added: int) -> None:
        """``added`` more tasks are known."""

    def started(self, label: str) -> None:
        pass

    def finished(self, label: str, ok: bool) -> None:
        pass

    def message(self, text: str) -> None:
        pass


class RichProgress(Progress):
    """A rich progress bar with the running tasks named, for interactive terminals."""

    def __init__(self, console):
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

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def _describe(self):
        text = ", ".join(self.running[:2]) + (f" +{len(self.running) - 2}" if len(self.running) > 2 else "")
        self.bar.update(self.task, description=text or "finishing")

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
            self.console.print(f"[red]✗[/red] {label}")
        self._describe()

    def message(self, text: str) -> None:
        self.console.print(text)
