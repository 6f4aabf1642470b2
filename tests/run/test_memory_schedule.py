"""Where the memory measurement runs in the schedule, and its cache: a job per candidate that a
memory budget asks for, queued when the candidate is built, beside its other measurements; reused
from the cache like an evaluation (keyed by the candidate's bytes and the thread count)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgegate.measurements.interface import MemoryFigures
from edgegate.run.cache_keys import CacheKeys
from edgegate.run.jobs import CandidateRef, Job, MemoryJob, ModelRef
from edgegate.status import Status
from edgegate.run import loop
from tests.run.test_cache import POLICY, FileRunner, _digest, cached, gate, plans, write_repo

MEMORY_POLICY = POLICY.replace(
    "    budgets: {accuracy: {max_drop: 5pt}}\n",
    "    budgets: {accuracy: {max_drop: 5pt}, memory: 10 MB, vs_base: {memory: 10%}}\n",
)


@dataclass
class MemoryRunner(FileRunner):
    """``FileRunner`` that also serves memory jobs: a figure from the candidate's bytes."""

    memory_fails: set[str] = field(default_factory=set)  # labels whose measurement fails

    def serve(self, job: Job) -> Any:
        if not isinstance(job, MemoryJob):
            return super().serve(job)
        if job.candidate.label in self.memory_fails:
            raise RuntimeError(f"model {job.shown}: the memory measurement's process ended with SIGKILL")
        blob = _digest(job.model_path.read_bytes(), str(job.threads).encode())
        return MemoryFigures(peak_bytes=4_000_000 + blob[0] * 20_000, invokes=2, stable=True)

    def measured(self) -> list[tuple[str, str, str]]:
        return sorted(
            (j.candidate.model.name, j.candidate.side, j.candidate.label) for j in self.of(MemoryJob)
        )


def test_memory_is_measured_for_the_judged_candidates_a_budget_asks_for(tmp_path):
    root = tmp_path / "repo"
    write_repo(root, MEMORY_POLICY)
    runner = MemoryRunner()
    a, b = gate(root, tmp_path / "w", runner)
    # Model a's judged candidates, and their base versions (vs_base); not the float reference (not
    # judged); model b's judged candidates too, to be seen (a run that measures latency), but not
    # its base versions (no vs_base memory budget).
    assert runner.measured() == [
        ("a", "base", "float16"),
        ("a", "base", "int8"),
        ("a", "head", "float16"),
        ("a", "head", "int8"),
        ("b", "head", "float16"),
        ("b", "head", "int8"),
    ]
    assert runner.expected == len(runner.ran)  # announced up front, like every measurement
    for c in a.candidates:
        assert c.memory_bytes is not None and c.base is not None and c.base.memory_bytes == c.memory_bytes
        checks = {ch.name: ch for ch in c.checks}
        assert checks["memory"].status == Status.PASS and checks["vs_base.memory"].status == Status.PASS
    assert all(
        c.memory_bytes is not None and not any("memory" in ch.name for ch in c.checks) for c in b.candidates
    )
    # Without latency (--no-latency), only what a budget asks for.
    quiet = MemoryRunner()
    loop.run(plans(root, tmp_path / "w0"), quiet, loop.Settings(root=root, latency=False))
    assert [m for m in quiet.measured() if m[0] == "b"] == [] and len(quiet.measured()) == 4
    # Not exclusive: it runs beside the evaluations and target analyses, never with the timing.
    assert not MemoryJob.exclusive


def test_a_failed_measurement_is_reported_on_the_candidate(tmp_path):
    root = tmp_path / "repo"
    write_repo(root, MEMORY_POLICY)
    a, _ = gate(root, tmp_path / "w", MemoryRunner(memory_fails={"int8"}))
    int8 = next(c for c in a.candidates if c.recipe == "int8")
    assert int8.memory_bytes is None and "SIGKILL" in (int8.memory_error or "")
    check = next(ch for ch in int8.checks if ch.name == "memory")
    assert check.status == Status.FAIL and "the measurement failed" in check.message


def test_a_warm_run_reuses_every_memory_figure(tmp_path):
    root = tmp_path / "repo"
    write_repo(root, MEMORY_POLICY)
    cold_inner = MemoryRunner()
    cold = cached(tmp_path / "cache", cold_inner)
    gate(root, tmp_path / "w1", cold)
    warm_inner = MemoryRunner()
    warm = cached(tmp_path / "cache", warm_inner)
    results = gate(root, tmp_path / "w2", warm)
    assert len(cold_inner.measured()) == 6 and warm_inner.measured() == []
    assert warm.summary().reused["memory"] == 6
    assert "memory measurements 6/6" in warm.summary().note()
    assert results == gate(root, tmp_path / "w2", MemoryRunner())  # the same figures as measured


def test_the_key_is_the_candidates_bytes_and_the_threads(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3 model " * 10)
    ref = CandidateRef(ModelRef(0, "m"), "head", "int8")
    keys = CacheKeys()
    key = keys.key(MemoryJob(ref, model, "m (int8)", 1))
    elsewhere = tmp_path / "other" / "int8.tflite"  # another work folder, side and name: the same key
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(model.read_bytes())
    assert keys.key(MemoryJob(CandidateRef(ModelRef(3, "n"), "base", "x"), elsewhere, "n (x)", 1)) == key
    assert keys.key(MemoryJob(ref, model, "m (int8)", 2)) != key
    model.write_bytes(b"TFL3 model " * 11)
    assert CacheKeys().key(MemoryJob(ref, model, "m (int8)", 1)) != key


def test_memory_is_measured_as_builds_finish_before_the_latency_round(tmp_path):
    """Each is a follow-up of the build that made its candidate, queued before the latency round."""
    root = tmp_path / "repo"
    write_repo(root, MEMORY_POLICY)
    runner = MemoryRunner()
    gate(root, tmp_path / "w", runner)
    kinds = [type(j).__name__ for j in runner.ran]
    assert kinds.index("MemoryJob") < kinds.index("LatencyJob")
