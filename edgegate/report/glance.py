"""What a model's report says at a glance, each reason once.

A model's candidates often share a reason (the same Edge TPU rejection, the same skip); the
report and the terminal table list each distinct reason once, with the candidates it is about,
instead of once per candidate. ``headline`` is what gates (the shipped candidate's broken
checks, every candidate that could not be built); ``details`` the rest, for the collapsed part.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from edgegate.results import CandidateResult, ModelResult
from edgegate.status import Status


@dataclass(frozen=True)
class Reason:
    """One thing the report says about one or more candidates: a check's verdict, an error, a note."""

    status: Status
    who: tuple[str, ...]  # the candidates' labels
    name: str | None  # the check's name; None for an error, a skip or a note
    message: str
    limit: str | None = None


def _grouped(items: Iterable[tuple[Status, str, str | None, str, str | None]]) -> tuple[Reason, ...]:
    """Items with the same status, name and message joined into one reason naming each candidate."""
    found: dict[tuple[Status, str | None, str], list[str]] = {}
    limits: dict[tuple[Status, str | None, str], str | None] = {}
    for status, who, name, message, limit in items:
        key = (status, name, message)
        if who not in found.setdefault(key, []):
            found[key].append(who)
        limits.setdefault(key, limit)
    return tuple(
        Reason(status, tuple(who), name, message, limits[(status, name, message)])
        for (status, name, message), who in found.items()
    )


def gating(m: ModelResult) -> tuple[CandidateResult, ...]:
    """The candidates whose checks gate the model: the one that ships, else every candidate."""
    return tuple(c for c in m.candidates if c.deploy) or m.candidates


def _broken(c: CandidateResult) -> Iterator[tuple[Status, str, str | None, str, str | None]]:
    for ch in c.checks:
        if ch.status.fails or ch.status == Status.WARN:
            yield ch.status, c.recipe, ch.name, ch.message, ch.limit


def headline(m: ModelResult) -> tuple[Reason, ...]:
    """One line per failing (or warning) check of the gating candidates and per candidate error,
    worst first: what a reviewer must read."""
    items = [i for c in gating(m) for i in _broken(c)]
    items += [(Status.ERROR, c.recipe, None, c.error, None) for c in m.candidates if c.error]
    return tuple(sorted(_grouped(items), key=lambda r: -r.status.rank))


def details(m: ModelResult) -> tuple[Reason, ...]:
    """Everything else the candidates say (other checks, skips, notes), each once, for the details."""
    shown = {(r.status, r.name, r.message) for r in headline(m)}
    items: list[tuple[Status, str, str | None, str, str | None]] = []
    for c in m.candidates:
        if c.skip_reason:
            items.append((Status.SKIP, c.recipe, None, f"skipped: {c.skip_reason}", None))
        if c.not_runnable:
            items.append((Status.SKIP, c.recipe, None, f"not run: {c.not_runnable}", None))
        items += [(ch.status, c.recipe, ch.name, ch.message, ch.limit) for ch in c.checks]
    reasons = [r for r in _grouped(items) if (r.status, r.name, r.message) not in shown]
    return tuple(sorted(reasons, key=lambda r: -r.status.rank))


def notes(m: ModelResult) -> tuple[Reason, ...]:
    """The candidates' notes, each once."""
    return _grouped((Status.SKIP, c.recipe, None, n, None) for c in m.candidates for n in c.notes)


def failed_checks(c: CandidateResult) -> tuple[str, ...]:
    """The names of the candidate's broken checks (why its status is what it is)."""
    return tuple(dict.fromkeys(ch.name for ch in c.checks if ch.status.fails or ch.status == Status.WARN))


def status_text(c: CandidateResult) -> str:
    """A candidate's status with why: ``fail: size, edgetpu.compiles``, ``error``, ``skipped``."""
    if c.skip_reason:
        return "skipped"
    if c.error:
        return f"{c.status.value}: not built/measured"
    why = failed_checks(c)
    return f"{c.status.value}: {', '.join(why)}" if why else c.status.value
