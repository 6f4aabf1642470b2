"""`vs_base.latency` with `judge: significant` through the real command line: a git repository
with two `.tflite` models changed in a PR, timed by the real worker in interleaved rounds."""

from __future__ import annotations

import json
import os

import numpy as np

from tests.gitrepo import edgegate_cli

POLICY = """\
version: 1
defaults:
  latency: {runs: 20, warmup: 2}
  budgets:
    vs_base:
      latency: {max_increase: 5%, judge: significant}
models:
  - {name: slower, path: models/slower.tflite}
  - {name: same, path: models/same.tflite}
"""


def conv_stack(blocks: int, seed: int) -> bytes:
    """A float32 ``.tflite`` of ``blocks`` conv 3×3 + ReLU layers (8 channels) on a 16×16 input."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    kernels = [tf.constant(rng.normal(0, 0.2, (3, 3, 8, 8)).astype(np.float32)) for _ in range(blocks)]

    @tf.function(input_signature=[tf.TensorSpec([1, 16, 16, 8], tf.float32)])
    def f(x):
        for k in kernels:
            x = tf.nn.relu(tf.nn.conv2d(x, k, 1, "SAME"))
        return x

    return tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f).convert()


def test_significant_fails_a_many_times_slower_model_and_judges_the_other_on_its_interval(repo, tmp_path):
    repo.write("edgegate.yml", POLICY)
    repo.write("models/slower.tflite", conv_stack(2, seed=0))
    repo.write("models/same.tflite", conv_stack(2, seed=1))
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("models/slower.tflite", conv_stack(16, seed=0))  # eight times the work
    repo.write("models/same.tflite", conv_stack(2, seed=2))  # other weights, the same work
    repo.commit("a PR")

    out = tmp_path / "out"
    proc = edgegate_cli(
        "check", "--base", "main", "--json", str(out / "r.json"), "--report", str(out / "r.md"), cwd=repo.root
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    results = json.loads((out / "r.json").read_text())
    assert results["schema"] == "edgegate.results/4"
    models = {m["name"]: m["candidates"][0] for m in results["models"]}

    slower = models["slower"]
    interval = slower["latency_changes"]["vs_base"]
    assert interval["samples"] == 20 and interval["method"] == "sign-test"
    assert interval["low"] > 1.0  # several times the base's time, whatever the machine's load
    (check,) = (c for c in slower["checks"] if c["name"] == "vs_base.latency")
    assert check["status"] == "fail" and check["line"] == 6
    assert check["message"].endswith(
        "more than the 5% allowed, and so is the whole interval (judge: significant)."
    )

    # The same work with other weights: whatever the noise, the verdict is the interval's low end
    # against the 5 % (the judge's rule), and the report shows the spread.
    same = models["same"]
    interval = same["latency_changes"]["vs_base"]
    assert interval["low"] <= interval["high"] and interval["samples"] == 20
    (check,) = (c for c in same["checks"] if c["name"] == "vs_base.latency")
    assert (check["status"] == "fail") == (interval["low"] > 0.05), check
    assert "paired rounds) vs base (" in check["message"] and "(judge: significant)" in check["message"]

    report = (out / "r.md").read_text()
    assert "Latency changes: of the median and, in parentheses, their 95% interval" in report
    assert report.count("; latency changes (medians): vs base ") == 2
    assert "on 20 paired rounds" in report
