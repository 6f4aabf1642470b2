"""Budget checks: each policy ``Budget`` applied to one measured candidate.

Every check says, in one sentence, what was measured against what. A budget that cannot be
evaluated (no base version, latency not measured, no eval data) is ``skip`` with the reason,
never a silent pass; a memory budget whose measurement failed is broken (at its level), with
why. An accuracy change (vs the float model, vs base) and a latency change vs base say their
95 % paired interval too, and ``judge: significant`` holds the interval, not the point, to the
limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from edgegate.units import (
    format_accuracy,
    format_accuracy_change,
    format_accuracy_interval,
    format_bytes,
    format_ms,
    format_percent_change,
    format_percent_interval,
)
from edgegate.policy.sections import Budget
from edgegate.results import CandidateResult
from edgegate.checks import Check, Place, Topic, budget, growth, no_base, signed, within
from edgegate.results.model import LatencyChanges, PairedInterval
from edgegate.status import Level, Status


def _fmt(metric: str, value: float | None, accuracy_metric: str | None = None) -> str:
    if value is None:
        return "–"
    if metric in ("size", "gzip_size", "memory"):
        return format_bytes(value)
    if metric == "latency":
        return format_ms(value)
    return format_accuracy(value, accuracy_metric)


_NAMES = {
    "size": "size",
    "gzip_size": "gzip size",
    "latency": "latency",
    "memory": "memory",
    "accuracy": "accuracy",
}


def _value(c: CandidateResult, metric: str) -> float | None:
    if metric == "size":
        return c.size_bytes
    if metric == "gzip_size":
        return c.gzip_bytes
    if metric == "latency":
        return c.latency_ms
    if metric == "memory":
        return c.memory_bytes
    return c.accuracy.value if c.accuracy else None


def _base_value(c: CandidateResult, metric: str) -> float | None:
    b = c.base
    if b is None:
        return None
    return {
        "size": b.size_bytes,
        "gzip_size": b.gzip_bytes,
        "latency": b.latency_ms,
        "memory": b.memory_bytes,
        "accuracy": b.accuracy,
    }[metric]


def _interval_text(interval: PairedInterval, metric: str | None, *, as_change: bool) -> str:
    """``95% CI −0.20 … 1.41 pt, 497 paired samples``: of the worsening, or (``as_change``) of the change."""
    low, high = (-interval.high, -interval.low) if as_change else (interval.low, interval.high)
    return f"95% CI {format_accuracy_interval(low, high, metric)}, {interval.samples} paired samples"


def _uncertainty(
    interval: PairedInterval | None, unpaired: str | None, metric: str | None, as_change: bool
) -> str:
    """The parenthesis after a change: its interval, or why there is none."""
    if interval is not None:
        return f" ({_interval_text(interval, metric, as_change=as_change)})"
    return f" (no paired interval: {unpaired})" if unpaired else ""


def _judged(b: Budget, worsening: float, allowed: float, interval: PairedInterval | None) -> tuple[bool, str]:
    """Whether a change (accuracy, latency) keeps to its limit, and the verdict's words.

    ``judge: point`` holds the measured worsening to the limit. ``judge: significant`` fails only
    when the whole interval is beyond it (its low end above the limit): a one-sided test at
    2.5 % that the true worsening exceeds the limit. Without an interval it falls back to the
    point, and says so, rather than pass a change it could not test.
    """
    point_ok = within(worsening, allowed)
    kept = f"within the {b.written} allowed"
    beyond = f"more than the {b.written} allowed"
    if b.judge == "point":
        return point_ok, kept if point_ok else beyond
    if interval is None:
        return (
            point_ok,
            f"{kept if point_ok else beyond} (judge: significant, but without an interval: on the point)",
        )
    ok = within(interval.low, allowed)
    if ok and point_ok:
        return ok, f"{kept} (judge: significant)"
    if ok:
        return ok, f"{beyond}, but not significantly: the interval reaches below it (judge: significant)"
    if point_ok:  # a skewed bootstrap can leave its estimate outside the percentile interval
        return ok, f"{kept} at the point, but the whole interval is beyond it (judge: significant)"
    return ok, f"{beyond}, and so is the whole interval (judge: significant)"


_TOPICS = {
    "size": Topic.SIZE,
    "gzip_size": Topic.SIZE,
    "latency": Topic.LATENCY,
    "memory": Topic.MEMORY,
    "accuracy": Topic.ACCURACY,
}


def _check_name(b: Budget) -> str:
    if b.against == "base":
        return f"vs_base.{b.metric}"
    if b.against == "float":
        return "accuracy_drop"
    return b.metric


def _missing_reason(b: Budget, c: CandidateResult, latency_measured: bool) -> str | None:
    if b.metric in ("latency", "memory", "accuracy") and c.not_runnable:
        return c.not_runnable
    if b.metric == "latency" and not latency_measured:
        return "latency was not measured (--no-latency)"
    if b.metric == "accuracy" and c.accuracy is None:
        return "no accuracy: the model has no eval: data in the policy"
    return None


def _memory_failure(b: Budget, c: CandidateResult) -> str | None:
    """Why a memory budget's figure (the candidate's, or its base version's) could not be measured."""
    if b.metric != "memory":
        return None
    if c.memory_error:
        return f"the measurement failed ({c.memory_error.rstrip('.')})"
    if b.against == "base" and c.base is not None and c.base.memory_error:
        return f"the base version's measurement failed ({c.base.memory_error.rstrip('.')})"
    return None


def budget_check(b: Budget, c: CandidateResult, *, latency_measured: bool) -> Check:
    p = Place(_check_name(b), b.key, b.line, b.level.status_when_broken(), _TOPICS[b.metric])
    what = _NAMES[b.metric]
    reason = _missing_reason(b, c, latency_measured)
    if reason:
        return p.skip(f"{what} not checked: {reason}.")
    failed = _memory_failure(b, c)
    if failed:
        # Not a skip: a model whose run crashed or outgrew the child's limit must not pass unseen.
        return p.broke(f"{what} not checked: {failed.rstrip('.')}.")
    if b.against == "absolute":
        return _absolute(b, c, p, what)
    if b.against == "float":
        return _vs_float(b, c, p)
    return _vs_base(b, c, p, what)


def _absolute(b: Budget, c: CandidateResult, p: Place, what: str) -> Check:
    value = _value(c, b.metric)
    if value is None:
        return p.skip(f"{what} not checked: not measured.")
    assert b.value is not None  # an absolute budget always has its limit
    metric = c.accuracy.metric if c.accuracy else None

    def show(v: float) -> str:
        return _fmt(b.metric, v, metric)

    def by(d: float) -> str:  # how far an accuracy is off reads as a change ("2.0 pt")
        return format_accuracy_change(d, metric).lstrip("+")

    by_change = by if b.metric == "accuracy" else None
    return budget(p, what, value, b.value, show, floor=b.bound == "min", show_by=by_change, written=b.written)


def _vs_float(b: Budget, c: CandidateResult, p: Place) -> Check:
    assert c.accuracy is not None  # _missing_reason returned for a model without accuracy
    metric = c.accuracy.metric
    drop = c.accuracy.drop
    if drop is None:
        return p.skip(
            "accuracy drop not checked: there is no float reference (a .tflite source is measured as it is)."
        )
    assert b.change is not None  # a 'float' budget always has a change
    reference = (c.accuracy.value or 0.0) + drop
    shown = format_accuracy_change(-drop, metric)
    interval = c.accuracy.drop_interval
    ok, verdict = _judged(b, drop, b.change.allowed(reference), interval)
    fell = drop > 0
    # The interval reads the way the sentence does: of the fall, or of the change ("changed +0.40 pt").
    said = _uncertainty(interval, c.accuracy.drop_unpaired, metric, as_change=not fell)
    msg = (
        f"accuracy {'fell ' + shown.lstrip('−') if fell else 'changed ' + shown}{said} "
        f"vs the float model; {verdict}."
    )
    return p.verdict(ok, msg, f"drop ≤ {b.written}", shown)


def _vs_base(b: Budget, c: CandidateResult, p: Place, what: str) -> Check:
    if c.base is None:
        return no_base(p, what, "the model is new in this change")
    if c.base.error is not None:
        # The model existed at base but its base version gave no figures: not "new", and not
        # silently passed either.
        then = (
            "this fails the gate (on_missing_base: error)"
            if b.on_missing_base is Level.ERROR
            else "set vs_base.on_missing_base: error to fail instead of warn"
        )
        p = replace(p, broken=b.on_missing_base.status_when_broken())
        return p.broke(
            f"{what} vs base not checked: the base version could not be measured ({c.base.error.rstrip('.')}); {then}."
        )
    value, base = _value(c, b.metric), _base_value(c, b.metric)
    if base is None or value is None:
        return p.skip(f"{what} vs base not checked: not measured on one side.")
    assert b.change is not None  # a 'base' budget always has a change
    if b.metric == "accuracy":
        return _accuracy_vs_base(b, c, p, value, base)
    if b.metric == "latency":
        return _latency_vs_base(b, c, p, value, base)

    def show(v: float) -> str:
        return _fmt(b.metric, v)

    return growth(p, what, value, base, b.change, show, missing="")


def _accuracy_vs_base(b: Budget, c: CandidateResult, p: Place, value: float, base: float) -> Check:
    """The accuracy change vs base, judged (with its paired interval) by ``judge``."""
    assert c.accuracy is not None and b.change is not None  # _missing_reason / a 'base' budget
    metric = c.accuracy.metric
    higher_is_better = c.accuracy.higher_is_better
    worsening = (base - value) if higher_is_better else (value - base)
    shown = format_accuracy_change(value - base, metric)
    interval = c.accuracy.base_interval
    ok, verdict = _judged(b, worsening, b.change.allowed(base), interval)
    # Shown as the change (value − base): for a higher-is-better metric, the worsening reversed.
    said = _uncertainty(interval, c.accuracy.base_unpaired, metric, as_change=higher_is_better)
    msg = (
        f"accuracy changed {shown}{said} vs base "
        f"({_fmt(b.metric, base, metric)} → {_fmt(b.metric, value, metric)}); {verdict}."
    )
    return p.verdict(ok, msg, f"drop ≤ {b.written}", shown)


def _latency_vs_base(b: Budget, c: CandidateResult, p: Place, value: float, base: float) -> Check:
    """The latency change vs base (medians), judged by ``judge``: ``point`` holds the change of the
    medians to the limit, ``significant`` the low end of its paired interval (docs/latency.md)."""
    assert b.change is not None  # a 'base' budget always has a change
    changes = c.latency_changes or LatencyChanges()
    ratio = changes.vs_base
    # The interval is of the ratio; in ms of the base's median it meets a limit in % or in ms alike.
    in_ms = replace(ratio, low=ratio.low * base, high=ratio.high * base) if ratio else None
    ok, verdict = _judged(b, value - base, b.change.allowed(base), in_ms)
    shown = signed(value - base, format_ms)
    pct = format_percent_change(value - base, base) if base else ""
    spread = (
        f"95% CI {format_percent_interval(ratio.low, ratio.high)} on {ratio.samples} paired rounds"
        if ratio
        else f"no paired interval: {changes.base_unpaired}"
        if changes.base_unpaired
        else ""
    )
    said = "; ".join(part for part in (pct, spread) if part)
    said = f" ({said})" if said else ""
    verb = "grew" if value > base else "shrank" if value < base else "did not change"
    msg = f"latency {verb} {shown}{said} vs base ({format_ms(base)} → {format_ms(value)}); {verdict}."
    return p.verdict(ok, msg, f"max +{b.change.text}", f"{shown} ({pct})" if pct else shown)


def candidate_checks(
    c: CandidateResult, budgets: Iterable[Budget], *, latency_measured: bool
) -> tuple[Check, ...]:
    return tuple(budget_check(b, c, latency_measured=latency_measured) for b in budgets)


def candidate_status(c: CandidateResult) -> Status:
    if c.skip_reason:
        return Status.SKIP
    if c.error:
        return Status.ERROR
    return Status.worst(ch.status for ch in c.checks)
