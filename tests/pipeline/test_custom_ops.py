"""A model the stock interpreter cannot run (a custom op) is still gated on everything it can be."""

from __future__ import annotations

import numpy as np

from edgegate.cli.real_run import real_run

from edgegate.run import CheckOptions
from edgegate.status import Status

POLICY = """\
version: 1
models:
  - name: landmarks
    path: models/landmarks.tflite
    eval: {data: data/eval.npz}
    budgets:
      size: 1 MB
      latency: 5 ms
      accuracy: {min: 10%}
    edgetpu: {level: warn, compiler: static}
"""


def custom_op_model() -> bytes:
    """A real converted model with a TensorFlow op TFLite has no builtin for (left as a custom op)."""
    import tensorflow as tf

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def f(self, x):
            return tf.nn.softmax(tf.math.igamma(x + 2.0, x + 1.0) + tf.nn.relu(x))

    m = Module()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([m.f.get_concrete_function()], m)
    converter.allow_custom_ops = True
    return converter.convert()


def test_a_custom_op_model_gets_size_and_static_checks_and_says_why_the_rest_skips(repo):
    (repo.root / "models").mkdir()
    (repo.root / "models/landmarks.tflite").write_bytes(custom_op_model())
    (repo.root / "data").mkdir()
    np.savez(repo.root / "data/eval.npz", x=np.ones((8, 4), np.float32), y=np.zeros((8,), np.int64))
    repo.write("edgegate.yml", POLICY)
    repo.commit("add the model")
    run = real_run(CheckOptions(repo=repo.root, all_models=True))
    (m,) = run.models
    assert m.error is None  # not an input error: the run does not exit 2
    (c,) = m.candidates
    assert c.size_bytes and c.gzip_bytes and c.not_runnable and "custom op Igamma" in c.not_runnable
    checks = {ch.name: ch for ch in c.checks}
    assert checks["size"].status == Status.PASS
    for name in ("latency", "accuracy"):
        assert checks[name].status == Status.SKIP and "Igamma" in checks[name].message
    assert c.report("edgetpu") is not None and checks["edgetpu.compiles"].status != Status.SKIP
    assert c.latency_ms is None and c.accuracy is None
    assert m.status != Status.ERROR
