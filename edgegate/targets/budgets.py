"""The two budget shapes every target shares: a maximum, and an allowed increase vs the base version.

Both targets in this family (``compute``, ``mcu``) gate integer quantities (MACs, bytes) the
same way, so the wording is written once: a broken budget is broken at the target's level
(``Level.status_when_broken``), and a budget that cannot be evaluated is SKIP with the reason,
never a silent pass.
"""

from __future__ import annotations

from typing import Callable

from edgegate.status import Level, Status
from edgegate.units import Change, format_percent_change
from edgegate.checks import Check

Format = Callable[[int], str]


def max_check(
    name: str, what: str, value: int, limit: int, show: Format, level: Level, key: str, line: int | None
) -> Check:
    """``value`` against the budget ``≤ limit``."""
    limit_text = f"≤ {show(limit)}"
    ok = value <= limit
    message = (
        f"{what} {show(value)} is within the {limit_text} budget."
        if ok
        else f"{what} {show(value)} is over the {limit_text} budget by {show(value - limit)}."
    )
    status = Status.PASS if ok else level.status_when_broken()
    return Check(name, status, message, limit_text, show(value), key, line)


def increase_check(
    name: str,
    what: str,
    value: int,
    base: int,
    change: Change,
    show: Format,
    level: Level,
    key: str,
    line: int | None,
) -> Check:
    """``value`` against ``base``: the growth must stay within ``change`` (a decrease always passes)."""
    delta = value - base
    allowed = change.allowed(base)
    ok = delta <= allowed + 1e-9  # relative limits are floats: 5% of 200 must allow exactly 10
    pct = f" ({format_percent_change(delta, base)})" if base else ""
    shown = ("+" if delta >= 0 else "−") + show(abs(delta)) + pct
    verb = "grew" if delta > 0 else "shrank" if delta < 0 else "did not change"
    message = (
        f"{what} {verb} {shown} vs base ({show(base)} → {show(value)}); "
        f"{'within' if ok else 'more than'} the {change.text} allowed."
    )
    return Check(
        name,
        Status.PASS if ok else level.status_when_broken(),
        message,
        f"max +{change.text}",
        shown,
        key,
        line,
    )


def skip_check(name: str, message: str, key: str, line: int | None) -> Check:
    return Check(name, Status.SKIP, message, key=key, line=line)


def broken_check(name: str, message: str, level: Level, key: str, line: int | None) -> Check:
    return Check(name, level.status_when_broken(), message, key=key, line=line)
