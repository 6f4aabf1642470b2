"""How every command ends: the one error handler and the one exit-code rule for a finished run.

Exit codes, for every command: 0 nothing fails; 1 a gate fails; 2 usage, policy, input or
output errors (a model that could not be gated at all counts here, after the others are
reported); 128 + the signal when cancelled (143 for SIGTERM, 130 for SIGINT). An error is one
line, ``edgegate: <message>``, on stderr: never a traceback, which would bury the message (and,
in CI, could show values from the environment).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edgegate.errors import EdgeGateError, UsageError
from edgegate.status import Status

if TYPE_CHECKING:
    from edgegate.results import RunResult


# Every command's errors start with it, whichever part of the program says them (a person or a log
# filter finds them with one pattern).
ERROR_PREFIX = "edgegate: "


class FailOn(str, enum.Enum):
    """What makes a finished run fail: a failing model (``error``), also a warning, or nothing."""

    ERROR = "error"
    WARN = "warn"
    NEVER = "never"

    @classmethod
    def parse(cls, value: str) -> FailOn:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise UsageError(f"--fail-on {value!r}: use one of {', '.join(m.value for m in cls)}") from None


def exit_code(run: RunResult, fail_on: FailOn = FailOn.ERROR) -> int:
    """2 when a model could not be gated at all, 1 when the gate fails by ``fail_on``, else 0."""
    if fail_on is FailOn.NEVER:
        return 0
    if any(m.error for m in run.models):
        return 2
    if run.status.fails or (fail_on is FailOn.WARN and run.status == Status.WARN):
        return 1
    return 0


def guarded(command: Callable[..., int], *args: Any, **kwargs: Any) -> int:
    """``command(*args, **kwargs)``'s exit code; an ``EdgeGateError`` or ``OSError`` it lets
    through is printed as ``edgegate: <message>`` (``ERROR_PREFIX``) on stderr and exits with its code (2). SIGTERM
    or SIGINT stops every process the command started, removes its temp folders and exits
    with 128 + the signal (``workers/lifetime.py``)."""
    from edgegate.workers.lifetime import Cancelled, cancellable

    try:
        with cancellable():
            return command(*args, **kwargs)
    except Cancelled as e:
        _print_error(
            f"cancelled by {e.signal_name}: stopped every process it started, removed its temp folders"
        )
        return e.exit_code
    except EdgeGateError as e:
        _print_error(str(e))
        return e.exit_code
    except OSError as e:  # a disk or permission problem nobody closer could name better
        _print_error(f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e))
        return 2


def _print_error(message: str) -> None:
    from edgegate.log_output import say
    from edgegate.policy.names import encodable

    # A path from the disk may hold bytes that are not UTF-8: escaped, or stderr refuses the line.
    # say: the Actions runner reads workflow commands from stderr too.
    say(ERROR_PREFIX + encodable(message), stderr=True)
