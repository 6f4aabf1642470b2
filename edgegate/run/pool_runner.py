"""The ``Runner`` of a real run: jobs go to the worker pool, progress goes to the terminal."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence

from edgegate.progress import Progress
from edgegate.run.jobs import Job, JobOutcome
from edgegate.workers.interface import Task, TaskOutcome
from edgegate.workers.pool import WorkerPool


class PoolRunner:
    def __init__(self, pool: WorkerPool, progress: Progress):
        self.pool = pool
        self.progress = progress
        self._ids = itertools.count()

    def expect(self, jobs: int) -> None:
        self.progress.plan(jobs)

    def run(self, jobs: Sequence[Job], on_outcome: Callable[[JobOutcome], Iterable[Job]]) -> None:
        running: dict[str, Job] = {}

        def task(job: Job) -> Task:
            key = str(next(self._ids))
            running[key] = job
            return Task(key, job.func, (job,), job.label, exclusive=job.exclusive, timeout_s=job.timeout_s)

        def finished(outcome: TaskOutcome) -> list[Task]:
            job = running.pop(outcome.task.key)
            follow = list(on_outcome(JobOutcome(job, outcome.value, outcome.error)))
            self.progress.finished(job.label, outcome.ok)  # after the loop's correction of the total
            return [task(j) for j in follow]

        if not jobs:
            return
        self.pool.run([task(j) for j in jobs], finished, on_start=lambda t: self.progress.started(t.label))
