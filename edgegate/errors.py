"""The errors EdgeGate raises on purpose; the CLI's one error handler (``edgegate.cli.errors``)
prints the message and exits with ``exit_code``.

A ``UsageError`` or ``PolicyError`` stops the run before any work (exit 2). An ``InputError``
belongs to one model: the pipeline records it on that model and goes on with the others. An
``OutputError`` means the run finished but its results or report could not be written (exit 2).
"""

from __future__ import annotations


class EdgeGateError(Exception):
    """Base class; ``str(err)`` is the complete, user-facing message."""

    exit_code = 2


class UsageError(EdgeGateError):
    """Bad command line, not a git repository, unknown base ref, ..."""


class PolicyError(EdgeGateError):
    """The policy file is invalid. ``problems`` holds one ``file:line: key: message`` each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid policy:\n" + "\n".join(f"  {p}" for p in self.problems))


class InputError(EdgeGateError):
    """A model, dataset or other input of one model is unusable (names the file and the fix)."""


class OutputError(EdgeGateError):
    """A results file, report or other output cannot be written (names the path and why)."""
