"""What one ``edgegate check`` run is asked to do: the command line (or the action's inputs) as a value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


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
    # A results file whose models' ``duration_s`` balance the shards by cost (shards.py); every
    # shard of a matrix must be given the same file. None: the split by the names' hashes.
    costs: Path | None = None
    extra_notes: tuple[str, ...] = field(default_factory=tuple)
    # A results cache (docs/cache.md): figures of jobs whose inputs are unchanged are reused from
    # here; None runs every job, as without a cache.
    cache_dir: Path | None = None
    cache_max_bytes: int | None = None  # bound of the cache (default 2 GB), least recently used out first
    # Read-only entries (the base branch's, in a pull request's run). With it, cache_dir is only
    # where this run writes: of its entries only those this run stored are read back.
    cache_base_dir: Path | None = None
    # Read back only the entries of cache_dir this run stored (a pull request's run: what an
    # earlier push wrote there must not decide this verdict). Implied by cache_base_dir.
    cache_fresh_only: bool = False
    # Who may switch on settings that run code (trust_code, hooks, a compiler path): the working
    # tree (a local run: your own files), or only the base branch's policy (a pull-request run).
    trust: Literal["working-tree", "base"] = "working-tree"
