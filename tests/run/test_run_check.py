"""``run_check`` with its parts injected: a change source that is not git, a runner that is not the
worker pool, no cache. End to end on a real .tflite: policy read, change found, job scheduled,
served in this process by the real worker functions, figures checked against the budgets."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from edgegate.changes.interface import ChangeSource, PathChange
from edgegate.run import CheckOptions, run_check
from edgegate.run.jobs import BuildJob, Job, LatencyJob, MemoryJob, TargetJob
from edgegate.status import Status
from tests.run.inprocess import InProcessRunner

POLICY = """\
version: 1
models:
  - name: dense
    path: models/dense.tflite
    budgets: {size: 2 KB}
    latency: {runs: 3, warmup: 1}
    targets:
      compute: {macs: {max: 20}}
"""


class NewFolder(ChangeSource):
    """A folder with no history: its base commit is empty, so every file in it is new."""

    BASE = "0" * 40
    HEAD = "1" * 40

    def __init__(self, root: Path):
        self.root = root
        self.asked: list[str] = []  # what the run asked of version control

    def resolve(self, ref: str) -> str:
        self.asked.append(f"resolve {ref}")
        return self.BASE

    def default_base(self) -> str:
        return "main"

    def merge_base(self, a: str, b: str) -> str:
        return self.BASE

    def head_sha(self) -> str | None:
        return self.HEAD

    def changed_paths(self, base_sha: str) -> list[PathChange]:
        self.asked.append(f"changed_paths {base_sha}")
        files = sorted(p for p in self.root.rglob("*") if p.is_file())
        return [PathChange("A", p.relative_to(self.root).as_posix()) for p in files]

    def exists_at(self, sha: str, path: str) -> bool:
        return False

    def paths_at(self, sha: str) -> tuple[str, ...]:
        return ()

    def resolve_at(self, sha: str, path: str) -> str | None:
        return None

    def links_at(self, sha: str) -> dict[str, str]:
        return {}

    def export(self, sha: str, path: str, dest: Path) -> Path:
        raise AssertionError(f"the empty base has no {path} to export")


@dataclass
class WorkerFunctions(InProcessRunner):
    """Serves each job with the worker function it names, in this process."""

    opened: list[Path] = field(default_factory=list)  # the log folders it was opened with

    def serve(self, job: Job[Any]) -> Any:
        module, name = job.func.split(":")
        return getattr(importlib.import_module(module), name)(job)

    @contextlib.contextmanager
    def __call__(self, log_dir: Path) -> Iterator[WorkerFunctions]:
        self.opened.append(log_dir)
        yield self


@pytest.fixture(scope="module")
def dense_tflite() -> bytes:
    """A real .tflite of one dense layer, 8 inputs → 4 outputs: 32 multiply-accumulates."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    class Dense(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.random.stateless_normal([8, 4], seed=[1, 2]))

        @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
        def __call__(self, x):
            return tf.matmul(x, self.w)

    m = Dense()
    return tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m).convert()


def test_run_check_gates_a_tflite_over_an_injected_change_source_and_runner(tmp_path, dense_tflite):
    root = tmp_path / "project"  # not a git repository: git would refuse it
    (root / "models").mkdir(parents=True)
    (root / "edgegate.yml").write_text(POLICY)
    (root / "models" / "dense.tflite").write_bytes(dense_tflite)
    source, runner = NewFolder(root), WorkerFunctions()
    out = tmp_path / "out"

    run = run_check(CheckOptions(repo=root, out_dir=out), changes=source, runner=runner, cache=None)

    assert "changed_paths " + NewFolder.BASE in source.asked
    assert runner.opened == [out / "logs"]
    assert [type(j) for j in runner.ran] == [BuildJob, TargetJob, MemoryJob, LatencyJob]
    assert runner.expected == len(runner.ran)  # the progress total the loop announced came true
    (model,) = run.models
    assert model.name == "dense" and model.error is None
    (candidate,) = model.candidates
    assert candidate.size_bytes == len(dense_tflite)
    compute = candidate.report("compute")
    assert compute is not None and compute.total == 32
    assert candidate.latency_ms is not None and candidate.latency_ms > 0
    checks = {c.name: c.status for c in candidate.checks}
    assert checks["size"] == Status.PASS and checks["compute.macs"] == Status.FAIL
    assert run.status == Status.FAIL
    assert (run.base.sha, run.head.sha) == (NewFolder.BASE, NewFolder.HEAD)


def test_run_check_with_nothing_changed_opens_no_runner(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "edgegate.yml").write_text(POLICY.replace("path: models/dense.tflite", "path: 'models/*.tflite'"))
    runner = WorkerFunctions()

    run = run_check(CheckOptions(repo=root), changes=NewFolder(root), runner=runner, cache=None)

    assert run.models == () and run.status == Status.PASS
    assert runner.opened == [] and runner.ran == []
