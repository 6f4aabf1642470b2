"""The run's real parts, built where the commands start it: git for the changes, the worker pool
for the jobs, the ``--cache`` folders. ``run_check`` gets them injected (tests give it fakes)."""

from __future__ import annotations

from edgegate.progress import Progress
from edgegate.results import RunResult
from edgegate.run import CheckOptions, run_check


def real_run(options: CheckOptions, progress: Progress | None = None) -> RunResult:
    """``run_check`` on the git repository at ``options.repo``, over a worker pool, with the
    cache the options name. ``UsageError`` for a folder that is not in a repository or a cache
    folder that cannot be used."""
    from edgegate.changes.git import GitRepo
    from edgegate.run.cache import run_cache
    from edgegate.run.pool_runner import WorkerPoolRunners

    changes = GitRepo(options.repo)
    return run_check(
        options,
        changes=changes,
        runner=WorkerPoolRunners(progress or Progress(), options.jobs),
        cache=run_cache(options),
    )
