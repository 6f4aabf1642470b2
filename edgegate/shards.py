"""Splitting the changed models across a matrix of jobs, and joining their results.

``select_shard`` orders the model names by the SHA-256 of each name and deals them out
round-robin: shard ``I`` of ``N`` (1-based) takes positions ``I-1, I-1+N, ...``. The split
depends only on the set of names, never on their order or on the machine, so every job of a
matrix agrees on it without talking to the others; shard sizes differ by at most one, and
hashing (rather than sorting by name) keeps families of similarly named models spread out.

``merge_results`` joins the shards' results files back into one run for a single report.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from edgegate.errors import UsageError
from edgegate.results import NO_CHANGE_NOTE, RunResult
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
    return hashlib.sha256(name.encode("utf-8")).hexdigest(), name


def select_shard(names: list[str], index: int, count: int) -> list[str]:
    """The names shard ``index`` of ``count`` (1-based) gates, in their given order."""
    if not 1 <= index <= count:
        raise UsageError(f"shard {index}/{count}: the index must be between 1 and {count}")
    ordered = sorted(set(names), key=_key)
    mine = set(ordered[index - 1 :: count])
    return [n for n in names if n in mine]


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
        notes=tuple(notes),
        duration_s=max(durations) if durations else None,
        missing_shards=tuple(missing),
    )
    return merged.with_models(models)
