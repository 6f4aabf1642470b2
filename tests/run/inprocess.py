"""An in-process ``Runner`` for the schedule's tests: it serves each job the way the worker pool
would (an exception becomes an outcome with ``error``) and records every job it ran. Subclasses
say what each job returns (``serve``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from edgegate.run.jobs import Job, JobOutcome


@dataclass
class InProcessRunner:
    ran: list[Job] = field(default_factory=list)
    expected: int = 0  # the jobs announced, corrections included
    announced_before_each_job: list[int] = field(default_factory=list)

    def expect(self, jobs: int) -> None:
        self.expected += jobs

    def run(self, jobs: Sequence[Job], on_outcome: Callable[[JobOutcome], Iterable[Job]]) -> None:
        queue = list(jobs)
        while queue:
            job = queue.pop(0)
            self.ran.append(job)
            self.announced_before_each_job.append(self.expected)
            try:
                outcome = JobOutcome(job, self.serve(job))
            except Exception as e:  # as the pool reports a failed task
                outcome = JobOutcome(job, error=str(e))
            queue += list(on_outcome(outcome))

    def serve(self, job: Job) -> Any:
        raise NotImplementedError

    def of(self, kind: type) -> list[Any]:
        return [j for j in self.ran if isinstance(j, kind)]
