"""The check kernel: ``Check`` (one budget or target check applied to one candidate) and the few
rules every check is one of — a budget (at most, or at least), a share of ops, all ops on,
growth vs base.

Each rule is written once, with one float margin (``MARGIN``) and one wording, so a model
budget, a target's budget and an accelerator's op share read the same in every report. A check
that cannot be evaluated is SKIP with the reason, never a silent pass.

A leaf (it imports only ``status`` and ``units``), so the targets that produce checks, the
verdicts, the results that store them and the report that shows them can all use it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Callable, TypeVar

from edgegate.status import Status
from edgegate.units import Change, format_percent_change

# Relative to the limit: a value exactly at its limit passes whatever the float rounding
# (5 % of 200 must allow exactly 10; a 3/4 share meets a 75 % minimum).
MARGIN = 1e-9

N = TypeVar("N", int, float)  # a quantity: bytes and MACs are whole, times and shares are not
Show = Callable[[N], str]  # a value as the report writes it ("98.2 KB")


def within(value: float, limit: float) -> bool:
    """``value ≤ limit``, give or take ``MARGIN``: the one comparison every rule makes."""
    return value <= limit + MARGIN * max(1.0, abs(limit))


class Topic(str, enum.Enum):
    """What a model budget is about, so the auto search asks what failed without parsing names."""

    SIZE = "size"  # the .tflite file: size, gzip size
    LATENCY = "latency"
    MEMORY = "memory"  # the peak resident memory at inference
    ACCURACY = "accuracy"


@dataclass(frozen=True)
class Check:
    """One budget or target check applied to one candidate: what the verdicts are made of.

    ``limit`` and ``value`` are display strings ("≤ 120 KB", "98.2 KB"); ``key`` is the
    policy key path ("models[0].budgets.size") and ``line`` its line in the policy file, so
    CI annotations can point at the budget that broke. ``topic`` (a model budget's) or
    ``target`` (the target that made it, "edgetpu") say what it is about.
    """

    name: str
    status: Status
    message: str
    limit: str | None = None
    value: str | None = None
    key: str | None = None
    line: int | None = None
    topic: Topic | None = None
    target: str | None = None


@dataclass(frozen=True)
class Place:
    """Who a check is: its name, the policy key and line it points at, and what breaking it does."""

    name: str
    key: str | None
    line: int | None
    broken: Status = Status.FAIL  # FAIL at level error, WARN at level warn
    topic: Topic | None = None
    target: str | None = None

    def check(
        self, status: Status, message: str, limit: str | None = None, value: str | None = None
    ) -> Check:
        return Check(self.name, status, message, limit, value, self.key, self.line, self.topic, self.target)

    def verdict(self, ok: bool, message: str, limit: str | None, value: str | None) -> Check:
        return self.check(Status.PASS if ok else self.broken, message, limit, value)

    def skip(self, message: str, limit: str | None = None, value: str | None = None) -> Check:
        return self.check(Status.SKIP, message, limit, value)

    def broke(self, message: str, limit: str | None = None, value: str | None = None) -> Check:
        return self.check(self.broken, message, limit, value)


def _because(cause: str) -> str:
    return f"; {cause}" if cause else ""


def budget(
    p: Place,
    what: str,
    value: N,
    limit: N,
    show: Show[N],
    *,
    floor: bool = False,
    detail: str = "",
    cause: str = "",
    show_by: Show[N] | None = None,
    written: str | None = None,
) -> Check:
    """At most ``limit`` (or, a ``floor``, at least): ``what value is within the ≤ limit budget.`` /
    ``… is over the ≤ limit budget by d.`` (``… is under the ≥ limit budget by d.``).

    ``detail`` follows the value ("(Shared_Sram)"); ``cause`` follows a broken verdict;
    ``show_by`` writes the excess when it reads differently from a value (an accuracy change);
    ``written`` is the limit as the policy wrote it ("1 MiB"), shown instead of ``show(limit)``
    when it carries its unit, so a budget reads in the unit and precision its author chose.
    """
    limit_text = f"{'≥' if floor else '≤'} {written_limit(written) or show(limit)}"
    ok = within(limit, value) if floor else within(value, limit)
    shown = show(value)
    if ok:
        message = f"{what} {shown}{detail} is within the {limit_text} budget."
    else:
        by = (show_by or show)(abs(value - limit))
        side = "under" if floor else "over"
        message = f"{what} {shown}{detail} is {side} the {limit_text} budget by {by}{_because(cause)}."
    return p.verdict(ok, message, limit_text, shown)


def written_limit(written: str | None) -> str | None:
    """A limit as the policy wrote it, when it says its unit ("1 MiB", "95%"); a bare number
    ("80000") is left to the quantity's own formatting, which names the unit."""
    if written is None or not re.search(r"[^\d.\s+-]", written):
        return None
    return " ".join(written.split())


def percent(part: int, total: int) -> str:
    """``62.5%``: a share of ops, as every target writes it."""
    return f"{part / total * 100:.1f}%" if total else "0%"


def share_text(part: int, total: int) -> str:
    """``62.5% (5/8)``: a share of ops with its counts."""
    return f"{percent(part, total)} ({part}/{total})"


def share(
    p: Place, part: int, total: int, minimum: float, written: str, on: str, *, cause: str = ""
) -> Check:
    """At least ``minimum`` (a fraction, the policy wrote ``written``) of the ops run ``on`` the accelerator.

    A model with no op has no share to meet: broken, whatever the minimum.
    """
    shown = share_text(part, total)
    ok = total > 0 and within(minimum, part / total)
    if ok:
        message = f"{shown} of ops run on the {on}, at least {written}."
    else:
        message = f"{shown} of ops run on the {on}, below the {written} minimum{_because(cause)}."
    return p.verdict(ok, message, f"≥ {written}", shown)


def all_on(p: Place, off: int, total: int, on: str, *, limit: str, value: str, cause: str = "") -> Check:
    """Every op runs ``on`` the accelerator: ``off`` of ``total`` ops run on the CPU instead."""
    ok = off == 0 and total > 0
    if ok:
        message = f"all {total} ops run on the {on}."
    else:
        message = f"{off} of {total} ops run on the CPU{_because(cause or ('the model has no op' if not total else ''))}."
    return p.verdict(ok, message, limit, value)


def signed(delta: N, show: Show[N]) -> str:
    """``+1.2 KB`` / ``−1.2 KB``: a change, with a real minus sign."""
    return ("+" if delta >= 0 else "−") + show(abs(delta))


def no_base(p: Place, what: str, why: str, limit: str | None = None) -> Check:
    """SKIP: there is no base figure to compare with, and ``why``."""
    return p.skip(f"{what} vs base not checked: {why}.", limit)


def growth(
    p: Place,
    what: str,
    value: N,
    base: N | None,
    change: Change,
    show: Show[N],
    *,
    missing: str,
    detail: str = "",
) -> Check:
    """``value`` against the base version's: it may grow by ``change`` at most (a decrease always passes).

    ``base`` None: SKIP, saying ``missing`` (why there is no base figure); ``detail`` follows
    the ``(base → value)`` figures.
    """
    limit = f"max +{change.text}"
    if base is None:
        return no_base(p, what, missing, limit)
    delta = value - base
    ok = within(delta, change.allowed(base))
    pct = f" ({format_percent_change(delta, base)})" if base else ""
    shown = signed(delta, show) + pct
    verb = "grew" if delta > 0 else "shrank" if delta < 0 else "did not change"
    message = (
        f"{what} {verb} {shown} vs base ({show(base)} → {show(value)}){detail}; "
        f"{'within' if ok else 'more than'} the {change.text} allowed."
    )
    return p.verdict(ok, message, limit, shown)
