"""The LiteRT Quantizer child runs a pull request's model: nothing of the repository runs in it.

The attack: the pull request commits, beside its float .tflite, ``numpy.py``,
``litert_quantizer.py`` and ``sitecustomize.py`` that write a marker file when imported, and a
``.pth``-style ``usercustomize.py``. The quantizer child starts with ``python -I`` in a private
temporary folder: the model's folder (the repository) is neither its working folder nor on its
import path, and its environment is allow-listed (a ``GITHUB_TOKEN`` of the parent is not there).
It also never imports TensorFlow: the stage runs in the light install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("litert_quantizer")

from edgegate.recipes import litert_quantize as lq  # noqa: E402
from edgegate.recipes.quantizer_recipes import RECIPES, rules  # noqa: E402

HOOK = """\
import os, pathlib
pathlib.Path({marker!r}).write_text("ran from the repository; token=" + os.environ.get("GITHUB_TOKEN", ""))
raise ImportError("planted")
"""


def float_model() -> bytes:
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((32,), name="x")
    outputs = tf.keras.layers.Dense(64, name="dense")(inputs)
    return tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(inputs, outputs)).convert()


def test_planted_modules_beside_the_model_never_run(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    model = repo / "models" / "m.tflite"
    model.write_bytes(float_model())
    marker = tmp_path / "marker"
    for name in ("numpy.py", "litert_quantizer.py", "sitecustomize.py", "usercustomize.py"):
        (repo / "models" / name).write_text(HOOK.format(marker=str(marker)))
        (repo / name).write_text(HOOK.format(marker=str(marker)))
    monkeypatch.chdir(repo / "models")  # even run from the model's folder
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret_value")
    monkeypatch.setenv("PYTHONPATH", str(repo / "models"))
    made = lq.quantize(model, RECIPES["dynamic"])
    assert made.quantized_weights >= 1
    assert not marker.exists(), marker.read_text()


def test_the_quantizer_child_never_imports_tensorflow(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(float_model())
    (tmp_path / "job.json").write_text(
        json.dumps(
            {
                "model": str(model),
                "rules": rules(RECIPES["int8"]),
                "keep_float": [],
                "samples": None,
                "out": str(tmp_path),
            }
        )
    )
    np.savez(tmp_path / "s.npz", **{"0": np.ones((2, 32), np.float32)})
    job = json.loads((tmp_path / "job.json").read_text())
    job["samples"] = str(tmp_path / "s.npz")
    (tmp_path / "job.json").write_text(json.dumps(job))
    probe = (
        "import runpy, sys; sys.argv = [sys.argv[1], sys.argv[2]]; "
        "runpy.run_path(sys.argv[0], run_name='__main__'); "
        "print(json.dumps({'tf': sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))}))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", "import json; " + probe, str(lq.CHILD), str(tmp_path / "job.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        timeout=600,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert "model" in lines[0], done.stderr[-500:]
    assert lines[-1] == {"tf": []}
