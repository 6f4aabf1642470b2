"""The run's real parts, built where the commands start it: git for the changes, the worker pool
for the jobs, the ``--cache`` folders. ``run_check`` gets them injected (tests give it fakes)."""

from __future__ import annotations

from pathlib import Path

from edgegate.changes.interface import ChangeSource
from edgegate.progress import Progress
from edgegate.results import RunResult
from edgegate.run import CheckOptions, run_check


def real_run(options: CheckOptions, progress: Progress | None = None) -> RunResult:
    """``run_check`` on the repository at ``options.repo``, over a worker pool, with the cache
    the options name. ``UsageError`` for a folder that is not in a repository (but for
    ``--all``) or a cache folder that cannot be used."""
    from edgegate.run.cache import run_cache
    from edgegate.run.pool_runner import WorkerPoolRunners

    changes = change_source(options)
    return run_check(
        options,
        changes=changes,
        runner=WorkerPoolRunners(progress or Progress(), options.jobs),
        cache=run_cache(options),
    )


def change_source(options: CheckOptions) -> ChangeSource:
    """The git repository; with ``--all`` and no ``--base``, a folder without git or without a
    base branch is gated without comparisons (``changes/no_base.py``) instead of refused."""
    from edgegate.changes.git import GitRepo
    from edgegate.changes.no_base import NoBase
    from edgegate.errors import UsageError

    without_base_allowed = options.all_models and options.base is None and not options.paths
    try:
        repo = GitRepo(options.repo)
    except UsageError:
        if not without_base_allowed or not Path(options.repo).is_dir():
            raise
        return NoBase(Path(options.repo), f"{Path(options.repo).resolve()} is not a git repository")
    if without_base_allowed:
        try:
            repo.default_base()
        except UsageError:
            return NoBase(repo.root, "no base branch (origin/HEAD, main or master) in this repository")
    return repo
