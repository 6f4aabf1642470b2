"""The run: policy → changed models → jobs on workers → figures → verdicts → ``RunResult``.

``run_check(options, progress)`` is the one entry point the commands call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgegate.run.options import CheckOptions

if TYPE_CHECKING:
    from edgegate.progress import Progress
    from edgegate.results import RunResult

__all__ = ["CheckOptions", "run_check"]


def run_check(options: CheckOptions, progress: Progress | None = None) -> RunResult:
    """Run the gate. ``UsageError``/``PolicyError`` before any work for bad options or policy;
    a problem with one model is recorded on that model and the others are still gated."""
    from edgegate.pipeline import run

    return run(options, progress)
