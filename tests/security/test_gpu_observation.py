"""A pull request's models and eval data against the GPU target's fp16 observation, through the real CLI.

The pull request (a commit on a branch of a real repository) adds a model whose WHILE loop never
ends, a 1 KB model declaring a [1, 500000000] input, an eval ``.npz`` of 2 MB that inflates to
2 GiB, an eval file that is a symlink out of the repository (to a FIFO: a process opening it is
seen), and an ``.npz`` whose samples are its second array (``x_key``). ``edgegate check`` runs as
a user would; the test bounds it from outside (a time limit, and an ``RLIMIT_DATA`` of 3 GiB its
processes inherit), so a version without the bounds fails here instead of hanging or exhausting
the runner. Each model's GPU checks then say what happened to it, and none hides another's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edgegate.datasets.limits import MAX_DATASET_BYTES
from tests.security.test_hostile_inputs import npy_header, write_zip_bomb

pytest.importorskip("tensorflow")

RUN_LIMIT_S = 900  # the test's own bound: the unbounded version holds a worker for the job's hour
MEMORY_LIMIT = 3 << 30  # the run's own bound (soft): the unbounded version allocated ~6 GB
PEAK_BOUND = 1 << 30  # no process of the run holds a gigabyte: nothing declared or inflated was allocated

POLICY = """\
version: 1
models:
  - name: loop
    path: models/loop.tflite
    targets: {gpu: {timeout_s: 5, fp16_overflow: error}}
  - name: wide
    path: models/wide.tflite
    targets: {gpu: {fp16_overflow: error}}
  - name: bomb
    path: models/bomb.tflite
    targets: {gpu: {fp16_overflow: error}}
    eval: {data: data/bomb.npz}
    calibration: {synthetic: true}  # the build does not read the eval data: the GPU target runs
  - name: outside
    path: models/outside.tflite
    targets: {gpu: {fp16_overflow: error}}
    eval: {data: data/outside.npz}
    calibration: {synthetic: true}
  - name: second
    path: models/second.tflite
    targets: {gpu: {fp16_overflow: error}}
    eval: {data: {path: data/two.npz, x_key: b, y_key: labels}}
"""


def _models() -> dict[str, bytes]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    def convert(fn, shape: list[int]) -> bytes:
        concrete = tf.function(fn).get_concrete_function(tf.TensorSpec(shape, tf.float32))
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete]).convert()

    def forever(x):  # the condition is always true: |v| summed is never negative
        return tf.while_loop(lambda v: tf.reduce_sum(tf.abs(v)) >= 0.0, lambda v: v * 0.5, [x])[0]

    dense = tf.constant(np.full((8, 4), 0.5, np.float32))  # on ones, each output is 4
    small = convert(lambda x: tf.matmul(x, dense), [1, 8])
    return {
        "loop": convert(forever, [1, 4]),
        "wide": convert(lambda x: x * 2.0, [1, 500_000_000]),
        "bomb": small,
        "outside": small,
        "second": small,
    }


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    from tests.gitrepo import GitRepo

    tmp = tmp_path_factory.mktemp("gpu-observation")
    repo = GitRepo(tmp / "repo")
    repo.root.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.write("README.md", "models\n")
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    for name, data in _models().items():
        repo.write(f"models/{name}.tflite", data)
    (repo.root / "data").mkdir()
    write_zip_bomb(repo.root / "data/bomb.npz", "x.npy", npy_header(((2 << 30) // 32, 8)), 2 << 30)
    outside = tmp / "outside"
    outside.mkdir()
    os.mkfifo(outside / "eval.npz")  # opening it to read is seen (the marker): nothing may
    watch = _Watch(outside / "eval.npz")
    (repo.root / "data/outside.npz").symlink_to(outside / "eval.npz")
    np.savez(
        repo.root / "data/two.npz",
        x=np.ones((2, 8), np.float32),  # the default x_key: 4 per output, far from float16's limit
        b=np.full((2, 8), 20000.0, np.float32),  # the samples x_key names: 80,000 per output
        labels=np.zeros(2, np.int64),
    )
    repo.write("edgegate.yml", POLICY)
    repo.commit("add models")
    results, peak = tmp / "results.json", tmp / "peak"
    done = subprocess.run(
        [sys.executable, "-c", CLI, str(MEMORY_LIMIT), str(peak)]
        + ["check", "--base", "main", "--no-latency", "--json", str(results), "-q"],
        cwd=repo.root,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_S,
    )
    opened = watch.release()
    assert results.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    models = {m["name"]: m for m in json.loads(results.read_text())["models"]}
    return Gated(models, int(peak.read_text()), opened)


@dataclass(frozen=True)
class Gated:
    models: dict[str, dict]  # by name, as the results file holds them
    peak: int  # bytes: the largest resident size of any process the run started
    outside_opened: bool  # a process of the run opened the file outside the repository


class _Watch:
    """Whether a process opens ``fifo`` to read it: a writer's open waits for a reader."""

    def __init__(self, fifo: Path):
        self.fifo, self.released, self.opened = fifo, False, False
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self) -> None:
        fd = os.open(self.fifo, os.O_WRONLY)
        self.opened = not self.released  # a reader of the run, not release() below
        os.close(fd)

    def release(self) -> bool:
        """End the watch; whether a reader came."""
        self.released = True
        if self.thread.is_alive():
            os.close(os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK))  # wakes the writer's open
        self.thread.join()
        return self.opened


# The real command line under a memory limit its processes inherit; on the way out it writes the
# largest resident size any process it started reached (workers and their children). Not its own:
# Linux keeps a process's peak across exec, so it would be this test process's, TensorFlow and all.
CLI = """
import resource as r, sys
limit, peak = int(sys.argv.pop(1)), sys.argv.pop(1)
r.setrlimit(r.RLIMIT_DATA, (limit, r.RLIM_INFINITY))
from edgegate.cli.main import main
try:
    main()
finally:
    open(peak, "w").write(str(r.getrusage(r.RUSAGE_CHILDREN).ru_maxrss * 1024))
"""


def gpu_checks(model: dict) -> dict[str, dict]:
    (candidate,) = model["candidates"]
    return {c["name"]: c for c in candidate["checks"] if c["name"].startswith("gpu.")}


def test_a_while_loop_that_never_ends_is_stopped_at_timeout_s(gated):
    models = gated.models
    checks = gpu_checks(models["loop"])
    fp16 = checks["gpu.fp16_overflow"]
    assert fp16["status"] == "warn"
    assert "could not run: timed out after 5 s" in fp16["message"], fp16
    assert "#0 WHILE: Not supported op WHILE" in checks["gpu.delegated"]["message"]  # still reported


def test_a_model_declaring_a_2_gb_input_is_refused_before_anything_is_allocated(gated):
    models, peak = gated.models, gated.peak
    fp16 = gpu_checks(models["wide"])["gpu.fp16_overflow"]
    assert fp16["status"] == "warn"
    assert "could not run: the model's inputs declare 2,000,000,000 bytes for one sample" in fp16["message"]
    assert peak < PEAK_BOUND, peak


def test_x_key_chooses_the_samples_the_observation_runs_on(gated):
    models = gated.models
    fp16 = gpu_checks(models["second"])["gpu.fp16_overflow"]
    assert fp16["status"] == "fail"
    assert "2 of 2 samples from models[4].eval.data (data/two.npz), array 'b'" in fp16["message"]
    assert fp16["value"] == "8e+04"  # 20,000 x 8 x 0.5: the second array, not the default x


def test_bad_eval_data_is_refused_with_the_datasets_message_for_its_model_alone(gated):
    """Evaluation reads the same data and refuses it too (the model's error); that no process of
    the run inflated the 2 GiB is the peak below (the GPU target's own refusal: tests/targets)."""
    models, peak = gated.models, gated.peak
    size = len(npy_header(((2 << 30) // 32, 8))) + (2 << 30)
    assert size > MAX_DATASET_BYTES
    assert models["bomb"]["error"].startswith(
        f"models[2].eval.data: array 'x' in data/bomb.npz inflates to {size} bytes"
    )
    assert models["outside"]["error"].startswith(
        "models[3].eval.data: 'data/outside.npz' resolves outside the repository"
    )
    assert not gated.outside_opened
    assert peak < PEAK_BOUND, peak
    assert {name for name, m in models.items() if m["candidates"]} == {"loop", "wide", "second"}
