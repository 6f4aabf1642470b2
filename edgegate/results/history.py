"""The default branch's history: the shipped candidate's figures of its last runs, and where a
pull request's figures sit among them (docs/github-action.md, "History of the default branch").

The action keeps the file in the Actions cache. Only a push to the default branch records a run
(``edgegate history``); a pull request's run only reads the file (``edgegate ci --history``),
and reads it as untrusted data: a regular file of at most ``MAX_BYTES``, at most ``KEEP`` runs,
every field validated against the types below, names and labels bounded. A file that fails any
of that is not used, and the report says why in a note: never a crash, never a silent skip.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from edgegate.exception_text import first_line
from edgegate.file_digest import read_regular
from edgegate.results.codec import decode, encode, write_text_atomic
from edgegate.results.model import ModelResult, RunResult, Trend, TrendFigure

SCHEMA = "edgegate.history/1"
KEEP = 50  # runs kept, newest last
MAX_BYTES = 1024 * 1024  # 50 runs of a large zoo stay far below it
MAX_TEXT = 300  # characters of a name, a label or a commit
Figure = Literal["size", "latency", "accuracy"]


@dataclass(frozen=True)
class ShippedFigures:
    """One model's shipped candidate in one default-branch run."""

    model: str
    candidate: str
    size_bytes: int | None = None
    latency_ms: float | None = None
    accuracy: float | None = None


@dataclass(frozen=True)
class HistoryRun:
    sha: str
    models: tuple[ShippedFigures, ...] = ()


@dataclass(frozen=True)
class History:
    runs: tuple[HistoryRun, ...] = ()
    note: str | None = None  # why the file was not used (it stays out of every figure)


def figures_of(run: RunResult) -> HistoryRun:
    """What a default-branch run adds: each gated model's shipped candidate's figures."""
    shipped = []
    for m in run.models:
        c = next((c for c in m.candidates if c.deploy), None)
        if m.error or c is None:
            continue
        accuracy = c.accuracy.value if c.accuracy else None
        shipped.append(ShippedFigures(m.name, c.recipe, c.size_bytes, c.latency_ms, accuracy))
    return HistoryRun(run.head.sha or "", tuple(shipped))


def read_history(path: Path) -> History:
    """The history file at ``path``; an empty history without a note when there is none yet, and
    with a note saying why when the file cannot be used. Never raises for what the file holds."""
    shown = path.name
    try:
        raw = read_regular(path, MAX_BYTES)
    except FileNotFoundError:
        return History()
    except OSError as e:
        return History(note=f"the default branch's history ({shown}) was not read: {e.strerror or e}")
    try:
        return History(_runs(raw))
    except (ValueError, RecursionError) as e:
        return History(note=f"the default branch's history ({shown}) was not used: {first_line(e, 200)}")


def _runs(raw: bytes) -> tuple[HistoryRun, ...]:
    data = json.loads(raw, parse_constant=_no_constant)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not an EdgeGate history file (schema {SCHEMA} expected)")
    runs: tuple[HistoryRun, ...] = decode(tuple[HistoryRun, ...], data.get("runs"), "runs")
    if len(runs) > KEEP:
        raise ValueError(f"{len(runs)} runs, more than the {KEEP} a history keeps")
    for i, run in enumerate(runs):
        _check_text(run.sha, f"runs[{i}].sha")
        for j, f in enumerate(run.models):
            where = f"runs[{i}].models[{j}]"
            _check_text(f.model, f"{where}.model")
            _check_text(f.candidate, f"{where}.candidate")
            for name in ("size_bytes", "latency_ms", "accuracy"):
                value = getattr(f, name)
                if value is not None and (not math.isfinite(value) or value < 0):
                    raise ValueError(f"{where}.{name}: {value!r} is not a figure")
    return runs


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a history holds")


def _check_text(text: str, where: str) -> None:
    if len(text) > MAX_TEXT:
        raise ValueError(f"{where}: longer than {MAX_TEXT} characters")


def record(run: RunResult, path: Path) -> str:
    """Add ``run`` (a default-branch run's results) to the history at ``path``, keeping the last
    ``KEEP`` runs; written atomically. Returns what it did, in one line. A history that cannot be
    used is started afresh, and the line says so."""
    history = read_history(path)
    runs = (*history.runs, figures_of(run))[-KEEP:]
    text = json.dumps({"schema": SCHEMA, "runs": encode(runs)}, indent=1, allow_nan=False, ensure_ascii=False)
    write_text_atomic(path, text + "\n")
    kept = f"{path}: {len(runs)} default-branch run(s) kept (at most {KEEP})"
    return kept + (f"; started afresh: {history.note}" if history.note else "")


def with_trends(run: RunResult, history: History) -> RunResult:
    """``run`` with each model's ``trend`` (where its shipped candidate's figures sit among the
    history's), and the history's note when it could not be used."""
    if history.note:
        return replace(run, notes=(*run.notes, history.note))
    if not history.runs:
        return run
    return replace(run, models=tuple(_with_trend(m, history) for m in run.models))


def _with_trend(m: ModelResult, history: History) -> ModelResult:
    past = [f for r in history.runs for f in r.models if f.model == m.name]
    shipped = next((c for c in m.candidates if c.deploy), None)
    # No candidate ships: the one the default branch shipped last, if this change built it.
    label = shipped.recipe if shipped else (past[-1].candidate if past else None)
    c = next((c for c in m.candidates if c.recipe == label), None)
    same = [f for f in past if f.candidate == label]
    if m.error or c is None or not same:
        return m
    accuracy = c.accuracy.value if c.accuracy else None
    pairs: tuple[tuple[Figure, float | None, list[float | None]], ...] = (
        ("size", c.size_bytes, [f.size_bytes for f in same]),
        ("latency", c.latency_ms, [f.latency_ms for f in same]),
        ("accuracy", accuracy, [f.accuracy for f in same]),
    )
    figures = []
    for what, value, then in pairs:
        seen = [float(v) for v in then if v is not None]
        if value is None or not seen:
            continue
        figures.append(
            TrendFigure(
                what,
                float(value),
                min(seen),
                statistics.median(seen),
                max(seen),
                sum(v < value for v in seen),
                sum(v > value for v in seen),
                len(seen),
            )
        )
    return replace(m, trend=Trend(c.recipe, len(same), tuple(figures))) if figures else m
