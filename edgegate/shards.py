"""Splitting the changed models across a matrix of jobs, and joining their results.

``plan_shards`` decides which shard gates which model. Without costs it orders the model names
by the SHA-256 of each name and deals them out round-robin: shard ``I`` of ``N`` (1-based) takes
positions ``I-1, I-1+N, ...`` (sizes differ by at most one; hashing rather than sorting by name
keeps families of similarly named models spread out). With costs (the seconds each model's jobs
took in an earlier run: ``RunResult.model_seconds`` of a results file, ``read_costs``) it packs
them so the shards finish together: the costliest first, each onto the least-loaded shard (LPT);
a model without a known cost counts as the median known cost, ties broken by the name's hash.
Either way the plan depends only on the set of names and the costs, never on their order or on
the machine, so every job of a matrix given the same costs file agrees on it without talking to
the others; each shard's results carry the plan's digest and ``merge_results`` refuses shards
of different plans (a model gated twice, or by none).

``merge_results`` joins the shards' results files back into one run for a single report.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import os
import re
import stat
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from edgegate.errors import UsageError
from edgegate.exception_text import first_line
from edgegate.file_digest import read_regular
from edgegate.policy.names import printable
from edgegate.results import NO_CHANGE_NOTE, RunResult
from edgegate.results.codec import MAX_BYTES, decode_run
from edgegate.results.model import MAX_SHARDS

# A shard spec also comes from a results file (``edgegate merge``), written by an untrusted job:
# a count of 10**11 would make the merge list that many missing shards (MAX_SHARDS bounds it).
_SHARD = re.compile(r"^\s*([0-9]{1,12})\s*/\s*([0-9]{1,12})\s*$")


def parse_shard(text: str, what: str = "--shard") -> tuple[int, int]:
    """``"2/4"`` → ``(2, 4)``; a clear usage error otherwise (``what``: where the spec was written)."""
    match = _SHARD.match(text or "")
    index, count = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    shown = repr(text if len(text or "") <= 40 else text[:40] + "…")
    if not match or not 1 <= index <= count:
        raise UsageError(
            f"{what} {shown}: expected I/N with 1 ≤ I ≤ N, e.g. --shard 2/4 "
            "(with a matrix: shard: ${{ matrix.shard }}/4)"
        )
    if count > MAX_SHARDS:
        raise UsageError(
            f"{what} {shown}: at most {MAX_SHARDS} shards (the most jobs a GitHub Actions matrix runs)"
        )
    return index, count


def _key(name: str) -> tuple[str, str]:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest(), name


# A cost above a week is no model's: a value from an untrusted file, ignored (as NaN, ∞, ≤ 0).
MAX_COST_S = 7 * 24 * 3600.0
SHOWN_IGNORED = 3  # ignored costs named in the note before "and N more"


@dataclass(frozen=True)
class ShardCosts:
    """What each model cost in an earlier run (seconds), as read from ``source``."""

    seconds: Mapping[str, float] = field(default_factory=dict)
    source: str | None = None  # the file, for notes
    notes: tuple[str, ...] = ()  # what was ignored, or why nothing was read


@dataclass(frozen=True)
class ShardPlan:
    """Which models each shard gates (``shards[0]``: shard 1) and the seconds it is predicted to take."""

    by: Literal["hash", "cost"]
    shards: tuple[tuple[str, ...], ...]
    seconds: tuple[float | None, ...]  # None: nothing known (the hash split)
    known: int = 0  # models whose cost was known
    unknown_cost: float | None = None  # what a model of unknown cost counted as (the median)

    @property
    def digest(self) -> str:
        """Names the split: shards of one matrix must show the same (``merge_results`` checks)."""
        return hashlib.sha256(json.dumps(self.shards, ensure_ascii=True).encode()).hexdigest()[:16]

    def shard_of(self, index: int) -> tuple[str, ...]:
        return self.shards[index - 1]


def plan_shards(names: Sequence[str], count: int, costs: ShardCosts | None = None) -> ShardPlan:
    """The split of ``names`` over ``count`` shards: by cost when ``costs`` knows any of them
    (largest first onto the least-loaded shard), else by the names' hashes."""
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"{count} shards: a split has between 1 and {MAX_SHARDS} shards")
    ordered = sorted(set(names), key=_key)
    known = {n: costs.seconds[n] for n in ordered if costs is not None and n in costs.seconds}
    if not known:
        return ShardPlan("hash", tuple(tuple(ordered[i::count]) for i in range(count)), (None,) * count)
    fill = statistics.median(known.values())
    cost = {n: known.get(n, fill) for n in ordered}
    loads = [(0.0, i) for i in range(count)]  # a heap: the least-loaded shard, then the lowest index
    taken: list[list[str]] = [[] for _ in range(count)]
    for name in sorted(ordered, key=lambda n: -cost[n]):  # stable: the hash order among equals
        load, i = heapq.heappop(loads)
        taken[i].append(name)
        heapq.heappush(loads, (load + cost[name], i))
    seconds = [0.0] * count
    for load, i in loads:
        seconds[i] = round(load, 3)
    return ShardPlan("cost", tuple(map(tuple, taken)), tuple(seconds), len(known), round(fill, 3))


def select_shard(names: list[str], index: int, count: int, costs: ShardCosts | None = None) -> list[str]:
    """The names shard ``index`` of ``count`` (1-based) gates, in their given order."""
    if not 1 <= index <= count:
        raise UsageError(f"shard {index}/{count}: the index must be between 1 and {count}")
    mine = set(plan_shards(names, count, costs).shard_of(index))
    return [n for n in names if n in mine]


def shard_notes(plan: ShardPlan, costs: ShardCosts | None) -> tuple[str, ...]:
    """What a sharded run says of its split: the same words in every shard (the merge keeps one)."""
    if costs is None:
        return ()
    source = printable(costs.source or "")
    if plan.by == "hash":
        return (
            *costs.notes,
            f"shard costs: no changed model's cost is in {source}; the shards are split by hash",
        )
    predicted = ", ".join(f"{s:.0f}" for s in plan.seconds if s is not None)
    total = sum(map(len, plan.shards))
    said = (
        f"shards split by cost: {plan.known} of {total} models' costs known from {source} (a model of "
        f"unknown cost counts as {plan.unknown_cost:.1f} s); predicted seconds per shard: {predicted}"
    )
    return (*costs.notes, said)


def read_costs(path: Path) -> ShardCosts:
    """Each model's cost from a results file (its ``model_seconds``: the base branch's last
    results), or from every ``*.json`` in a folder and its subfolders one level down (the shards'
    results of a sharded run, as downloaded: ``shards/edgegate-shard-1-of-4/results.json``).

    Untrusted data (a cache or an artifact a pull request could have written): regular files
    only, never through a symlink, at most ``MAX_SHARDS`` files and ``MAX_BYTES`` in all; a file
    that cannot be read, or a value that is not a finite number of seconds in (0, a week], is
    ignored with a note, never an error (with nothing usable the split falls back to the hash)."""
    shown = printable(str(path))
    try:
        files = _costs_files(path)
    except OSError as e:
        return ShardCosts(source=str(path), notes=(_unread(shown, e),))
    seconds: dict[str, float] = {}
    ignored: list[str] = []
    notes: list[str] = []
    budget = MAX_BYTES
    for file in files:
        try:
            raw = read_regular(file, budget)
            run = decode_run(raw)
        except (OSError, ValueError, RecursionError) as e:
            notes.append(_unread(printable(str(file)), e))
            continue
        budget -= len(raw)
        for name, value in run.model_seconds.items():
            if isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= MAX_COST_S:
                seconds[name] = float(value)
            else:
                ignored.append(name)
    if ignored:
        more = len(ignored) - SHOWN_IGNORED
        listed = ", ".join(printable(n[:80]) for n in ignored[:SHOWN_IGNORED])
        notes.append(
            f"shard costs: {shown}: ignored the cost of {listed}{f' and {more} more' if more > 0 else ''} "
            f"(not a number of seconds between 0 and {MAX_COST_S:.0f}); those count as unknown"
        )
    return ShardCosts(seconds, str(path), tuple(notes))


def _costs_files(path: Path) -> list[Path]:
    """``path`` itself, or the ``*.json`` files of the folder ``path`` (not a link) and of its
    subfolders (not links), sorted, at most ``MAX_SHARDS``; ``OSError`` when there are none."""
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        return [path]
    found = []
    with os.scandir(path) as top:
        for entry in sorted(top, key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as inner:
                    found += sorted(Path(e.path) for e in inner if e.name.endswith(".json"))
            elif entry.name.endswith(".json"):
                found.append(Path(entry.path))
            if len(found) > MAX_SHARDS:
                raise OSError(f"more than {MAX_SHARDS} results files in the folder")
    if not found:
        raise OSError("no results file (*.json) in the folder or its subfolders")
    return found


def _unread(shown: str, e: BaseException) -> str:
    return f"shard costs: {shown} not read ({first_line(e, 200)}); its models' costs are unknown"


def merge_results(runs: Sequence[RunResult], sources: Sequence[str] = ()) -> RunResult:
    """One run holding every shard's models; the shards must come from the same commits and policy.

    Missing shards (when the inputs are numbered ``I/N``) are noted in the result, so a report
    never looks complete when a shard's job failed before writing its results. ``sources``
    names each run's file in errors. What the merge builds is bounded by its inputs: at most
    ``MAX_SHARDS`` files and shards (the results codec bounds each file and what is written).
    """
    if not runs:
        raise UsageError("nothing to merge: give at least one results file")
    if len(runs) > MAX_SHARDS:
        raise UsageError(f"{len(runs)} results files: a split has at most {MAX_SHARDS} shards")
    names = list(sources) or [f"results file {i + 1}" for i in range(len(runs))]
    first = runs[0]
    for other in runs[1:]:
        for what, a, b in (
            ("base commit", first.base.sha, other.base.sha),
            ("head commit", first.head.sha, other.head.sha),
            ("policy", first.policy, other.policy),
        ):
            if a != b:
                raise UsageError(f"cannot merge results of different runs: {what} {a} vs {b}")
    plans = sorted({r.shard_plan for r in runs if r.shard_plan})
    if len(plans) > 1:
        raise UsageError(
            f"cannot merge shards of different plans ({', '.join(printable(p[:16]) for p in plans)}): give every shard "
            "of the matrix the same --costs file (or none), or a model is gated twice or by no shard"
        )
    shards = [r.shard for r in runs if r.shard]
    notes: list[str] = []
    missing: list[str] = []
    if shards:
        parsed = [parse_shard(r.shard, f"{name}: shard") for r, name in zip(runs, names) if r.shard]
        counts = {n for _, n in parsed}
        if len(counts) > 1 or len(shards) != len(runs):
            raise UsageError(
                f"cannot merge shards of different splits: {', '.join(r.shard or 'unsharded' for r in runs)}"
            )
        (count,) = counts
        seen = [i for i, _ in parsed]
        repeated = sorted(i for i, n in Counter(seen).items() if n > 1)
        if repeated:
            raise UsageError(f"shard {', '.join(f'{i}/{count}' for i in repeated)} given more than once")
        missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
        if missing:
            notes.append(
                f"shard {', '.join(missing)} missing: the models of those shards are not in this report "
                "(did their jobs fail before writing results?)"
            )
    models = [
        m for r in sorted(runs, key=lambda r: parse_shard(r.shard)[0] if r.shard else 0) for m in r.models
    ]
    twice = sorted(n for n, k in Counter(m.name for m in models).items() if k > 1)
    if twice:
        raise UsageError(f"model {', '.join(twice)} appears in more than one results file")
    notes = list(dict.fromkeys(n for r in runs for n in r.notes if n != NO_CHANGE_NOTE)) + notes
    if not models:
        notes.append(NO_CHANGE_NOTE)
    durations = [r.duration_s for r in runs if r.duration_s is not None]
    merged = replace(
        first,
        shard=None,
        shard_plan=None,
        model_seconds={name: s for r in runs for name, s in r.model_seconds.items()},
        notes=tuple(notes),
        duration_s=max(durations) if durations else None,
        missing_shards=tuple(missing),
    )
    return merged.with_models(models)
