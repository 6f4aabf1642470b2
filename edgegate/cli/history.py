"""``edgegate history RESULTS --into FILE``: add a default-branch run to the history file.

The action runs it only after a push to the default branch (docs/github-action.md, "History of
the default branch"); a pull request's run never does, it only reads the file (``ci --history``).
"""

from __future__ import annotations

from pathlib import Path

from edgegate.log_output import say
from edgegate.results import read_results
from edgegate.results.history import record


def history(results: Path, into: Path) -> int:
    """Record ``results`` in the history at ``into`` (the last 50 runs kept); an unreadable results
    file is a usage error naming it (exit 2)."""
    say(f"EdgeGate history: {record(read_results(Path(results)), Path(into))}")
    return 0
