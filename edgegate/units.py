"""Units, both ways: parsing the quantities a policy writes, and formatting figures for people.

Parsing: sizes, durations, changes, accuracy values.

Units are explicit so a typo is an error, not a silent misreading:
sizes ``B, KB, MB, GB`` (powers of 1000) and ``KiB, MiB, GiB`` (powers of 1024); durations
``us, ms, s``; changes either relative (``5%``) or absolute in the quantity's unit
(``10 KB``, ``0.5 ms``, ``1pt`` = one percentage point of a 0..1 metric).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_DURATION_UNITS = {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}
_NUMBER = r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
_QUANTITY = re.compile(rf"^\s*{_NUMBER}\s*([A-Za-zµ%]*)\s*$")


def _split(text: str | int | float, what: str) -> tuple[float, str]:
    if isinstance(text, bool):
        raise ValueError(f"expected a {what}, got {text!r}")
    if isinstance(text, (int, float)):
        return float(text), ""
    m = _QUANTITY.match(str(text))
    if not m:
        raise ValueError(f"cannot read {text!r} as a {what}")
    return float(m.group(1)), m.group(2)


def parse_size(text: str | int | float) -> int:
    """``"120 KB"`` → 120000 bytes; a bare number is bytes."""
    value, unit = _split(text, "size")
    if unit == "":
        return int(value)
    factor = _SIZE_UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(f"unknown size unit {unit!r} in {text!r}; use B, KB, MB, GB, KiB, MiB or GiB")
    return int(round(value * factor))


def parse_duration_ms(text: str | int | float) -> float:
    """``"2.5 ms"`` → 2.5; ``"800 us"`` → 0.8; a bare number is milliseconds."""
    value, unit = _split(text, "duration")
    if unit == "":
        return value
    factor = _DURATION_UNITS.get(unit.lower() if unit != "µs" else unit)
    if factor is None:
        raise ValueError(f"unknown duration unit {unit!r} in {text!r}; use us, ms or s")
    return value * factor


def parse_accuracy(text: str | int | float) -> float:
    """An absolute metric value: ``0.95``, or ``95%`` for a 0..1 metric (same thing)."""
    value, unit = _split(text, "metric value")
    if unit == "":
        return value
    if unit == "%":
        return value / 100.0
    raise ValueError(f"unknown unit {unit!r} in {text!r}; write 0.95 or 95%")


@dataclass(frozen=True)
class Change:
    """An allowed change: relative (``fraction`` of the reference) or absolute (in units)."""

    amount: float
    relative: bool
    text: str

    def allowed(self, reference: float) -> float:
        """The largest allowed change, in the quantity's units, for this reference value."""
        return abs(reference) * self.amount if self.relative else self.amount

    def __str__(self) -> str:
        return self.text


def parse_change(text: str | int | float, quantity: str) -> Change:
    """A change limit for ``quantity`` in {"size", "latency", "accuracy"}.

    ``5%`` is relative to the reference; otherwise absolute in the quantity's unit:
    sizes take size units, latencies duration units, accuracy a bare number or ``pt``
    (percentage points of a 0..1 metric).
    """
    value, unit = _split(text, f"{quantity} change")
    shown = str(text).strip() if isinstance(text, str) else f"{text:g}"
    if value < 0:
        raise ValueError(f"a change limit must not be negative: {text!r}")
    if unit == "%":
        return Change(value / 100.0, True, shown)
    if quantity == "size":
        return Change(float(parse_size(text)), False, shown)
    if quantity == "latency":
        return Change(parse_duration_ms(text), False, shown)
    if quantity == "accuracy":
        if unit == "":
            return Change(value, False, shown)
        if unit.lower() in ("pt", "pts", "pp"):
            return Change(value / 100.0, False, shown)
        raise ValueError(
            f"unknown unit {unit!r} in {text!r}; use 1pt (percentage points), 2% (relative) "
            "or a bare number in the metric's units"
        )
    raise ValueError(f"unknown quantity {quantity!r}")


def format_bytes(n: float | int | None) -> str:
    if n is None:
        return "–"
    n = float(n)
    for unit, factor in (("MB", 1000**2), ("KB", 1000)):
        if abs(n) >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n:.0f} B"


def format_ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    return f"{ms:.2f} ms"


def format_accuracy(value: float | None, metric: str | None) -> str:
    if value is None:
        return "–"
    if metric in ("top1", "fidelity") or (metric or "").startswith("top"):
        return f"{value * 100:.2f}%"
    return f"{value:.4g}"


def _is_fraction(metric: str | None) -> bool:
    """A 0..1 metric, whose changes are shown in percentage points."""
    return metric in ("top1", "fidelity") or (metric or "").startswith("top")


def format_accuracy_change(delta: float | None, metric: str | None) -> str:
    """A change of a metric: percentage points for 0..1 metrics, metric units otherwise."""
    if delta is None:
        return "–"
    fraction = _is_fraction(metric)
    text = f"{abs(delta) * 100:.2f} pt" if fraction else f"{abs(delta):.4g}"
    if text.startswith("0.00 ") or text == "0":
        return "±" + text
    return ("+" if delta > 0 else "−") + text


def format_accuracy_interval(low: float, high: float, metric: str | None) -> str:
    """Both ends of an interval of a metric's change, as ``format_accuracy_change`` shows one change
    but unsigned unless negative (an interval usually spans 0): ``−0.20 … 1.41 pt``, ``−0.0012 … 0.0031``."""

    def end(v: float) -> str:
        text = f"{abs(v) * 100:.2f}" if _is_fraction(metric) else f"{abs(v):.4g}"
        return ("−" if v < 0 and text.strip("0.") else "") + text

    return f"{end(low)} … {end(high)}{' pt' if _is_fraction(metric) else ''}"


def format_percent_interval(low: float, high: float) -> str:
    """An interval of a relative change (0.05 = +5 %), each end as ``format_percent_change``: ``−2.0% … +3.1%``."""
    return f"{format_percent_change(low, 1.0)} … {format_percent_change(high, 1.0)}"


def format_percent_change(delta: float, base: float) -> str:
    """``+4.2%`` / ``−0.4%`` (a real minus sign, as every change EdgeGate writes); ``±0.0%`` when it rounds to zero."""
    text = f"{abs(delta) / abs(base) * 100:.1f}%"
    if text == "0.0%":
        return "±" + text
    return ("+" if delta > 0 else "−") + text
