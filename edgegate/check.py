"""The `edgegate check` run as a function: options in, ``RunResult`` out.

The CLI (`check`) and CI (`ci`) commands both call ``run_check``; it owns nothing but the
order of the pipeline: policy → changed models → candidates → measurements → verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CheckOptions:
    repo: Path  # the repository root (or a folder inside it)
    policy: Path | None = None  # default: <repo root>/edgegate.yml
    base: str | None = None  # ref to compare with; default: remote default branch, else main
    all_models: bool = False  # gate every model in the policy, changed or not
    paths: tuple[str, ...] = ()  # gate the models at these paths, changed or not
    recipes: tuple[str, ...] = ()  # only these recipe labels (default: the policy's)
    latency: bool = True
    threads: int | None = None  # interpreter threads (default: the policy's, else 1)
    jobs: int | None = None  # parallel worker processes (default: core count)
    out_dir: Path | None = None  # where candidates are written (default: a temp dir, removed)
    shard: tuple[int, int] | None = None  # (index, count), 1-based index: gate this share of models
    extra_notes: tuple[str, ...] = field(default_factory=tuple)


def run_check(options: CheckOptions, progress=None):
    """Run the gate; return ``edgegate.results.RunResult``.

    Raises ``UsageError``/``PolicyError`` before any work for bad options or policy; problems
    with one model are recorded on that model. ``progress`` is an optional
    ``edgegate.progress.Progress`` the terminal uses.
    """
    from edgegate.pipeline import run

    return run(options, progress)
