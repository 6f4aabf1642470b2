"""The ``Runner`` of a real run: jobs go to the worker pool, progress goes to the terminal."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgegate.progress import Progress
from edgegate.run.jobs import Job, JobOutcome
from edgegate.workers.interface import Task, TaskOutcome
from edgegate.workers.pool import WorkerPool

MAX_WORKERS = 8


class PoolRunner:
    def __init__(self, pool: WorkerPool, progress: Progress):
        self.pool = pool
        self.progress = progress
        self._ids = itertools.count()

    def expect(self, jobs: int) -> None:
        self.progress.plan(jobs)

    def run(
        self, jobs: Sequence[Job[Any]], on_outcome: Callable[[JobOutcome[Any]], Iterable[Job[Any]]]
    ) -> None:
        running: dict[str, Job[Any]] = {}
        started: dict[str, float] = {}  # task key → when a worker took it

        def start(t: Task) -> None:
            started[t.key] = time.monotonic()
            self.progress.started(t.label)

        def task(job: Job[Any]) -> Task:
            key = str(next(self._ids))
            running[key] = job
            return Task(key, job.func, (job,), job.label, exclusive=job.exclusive, timeout_s=job.timeout_s)

        def finished(outcome: TaskOutcome) -> list[Task]:
            job = running.pop(outcome.task.key)
            since = started.pop(outcome.task.key, None)
            seconds = round(time.monotonic() - since, 3) if since is not None else None
            follow = list(on_outcome(JobOutcome(job, outcome.value, outcome.error, seconds)))
            self.progress.finished(job.label, outcome.ok)  # after the loop's correction of the total
            return [task(j) for j in follow]

        if not jobs:
            return
        self.pool.run([task(j) for j in jobs], finished, on_start=start)


@dataclass(frozen=True)
class WorkerPoolRunners:
    """Opens a ``PoolRunner`` over a new worker pool of ``jobs`` processes (default: one per core,
    at most ``MAX_WORKERS``) for the length of a run: what ``run_check`` is given as ``runner``."""

    progress: Progress
    jobs: int | None = None

    @contextmanager
    def __call__(self, log_dir: Path) -> Iterator[PoolRunner]:
        size = max(1, min(self.jobs or os.cpu_count() or 1, MAX_WORKERS))
        with WorkerPool(size=size, log_dir=log_dir) as pool:
            yield PoolRunner(pool, self.progress)
