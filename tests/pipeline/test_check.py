"""`edgegate check` end to end: real git repositories, real conversions, real interpreters."""

from __future__ import annotations

import re

import json
import subprocess
import sys

import numpy as np
import pytest

from edgegate.cli.real_run import real_run

from edgegate.run import CheckOptions
from edgegate.status import Status
from tests.pipeline.conftest import dataset, keras_model, trained_model

POLICY = """\
version: 1
defaults:
  recipes: [float16, int8]
  eval: {data: data/eval.npz}
  calibration: {data: data/eval.npz, samples: 32}
  latency: {runs: 5, warmup: 1}
  budgets:
    size: 1 MB
    accuracy: {max_drop: 5pt}
    vs_base: {size: 5%}
models:
"""


def add_eval(repo, name="data/eval.npz", n=64):
    x, y = dataset(n, seed=1)
    (repo.root / name).parent.mkdir(parents=True, exist_ok=True)
    np.savez(repo.root / name, x=x, y=y)


def by_name(run):
    return {m.name: m for m in run.models}


def test_bad_inputs_are_named_and_do_not_hide_the_good_model(repo):
    import tensorflow as tf

    add_eval(repo)
    np.savez(repo.root / "data/empty.npz", x=np.zeros((0, 8, 8, 1), np.float32), y=np.zeros((0,), np.int64))
    np.savez(repo.root / "data/flat.npz", x=np.zeros((16, 64), np.float32), y=np.zeros((16,), np.int64))
    (repo.root / "models").mkdir()
    trained_model().save(repo.root / "models/good.keras")
    keras_model().save(repo.root / "models/shape.keras")
    keras_model().save(repo.root / "models/empty.keras")
    keras_model(nan=True).save(repo.root / "models/nan.keras")
    (repo.root / "models/garbage.keras").write_bytes(b"\x00garbage")
    good_tflite = tf.lite.TFLiteConverter.from_keras_model(keras_model()).convert()
    (repo.root / "models/truncated.tflite").write_bytes(good_tflite[: len(good_tflite) // 3])

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 1], tf.float32)])
        def f(self, x):
            return x * 2.0

    tf.saved_model.save(Module(), str(repo.root / "models/nosig"), signatures={})
    repo.write(
        "edgegate.yml",
        POLICY
        + """\
  - {name: good, path: models/good.keras}
  - {name: garbage, path: models/garbage.keras}
  - {name: missing, path: models/missing.h5}
  - {name: truncated, path: models/truncated.tflite}
  - {name: nosig, path: models/nosig}
  - {name: shape, path: models/shape.keras, eval: {data: data/flat.npz}}
  - {name: empty, path: models/empty.keras, eval: {data: data/empty.npz}, calibration: {data: data/eval.npz}}
  - {name: nan, path: models/nan.keras}
""",
    )
    repo.commit()
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    models = by_name(run)
    good = models["good"]
    assert good.status == Status.PASS, good
    assert {c.recipe for c in good.candidates} == {"float16", "int8"}
    assert all(c.accuracy.samples == 64 for c in good.candidates)
    assert good.reference.accuracy.value > 0.9

    errors = {name: m.error for name, m in models.items() if name != "good"}
    assert all(models[n].status == Status.ERROR for n in errors), errors
    assert (
        "models/garbage.keras" in errors["garbage"] and "not a readable keras model file" in errors["garbage"]
    )
    assert re.match(
        r"edgegate\.yml:\d+: models\[2\]\.path: 'models/missing\.h5': no such file or folder",
        errors["missing"],
    )
    assert models["missing"].notes == ("check models[2].path in edgegate.yml",)
    assert "models/truncated.tflite" in errors["truncated"]
    assert "models/nosig: SavedModel has no serving signatures" in errors["nosig"]
    assert "models[5].eval.data" in errors["shape"] and "(64,)" in errors["shape"]
    assert "models[6].eval.data" in errors["empty"] and "empty" in errors["empty"]
    assert "nan" in errors["nan"].lower() and "nan" in errors["nan"]
    assert run.status == Status.ERROR


def test_base_comparison_rename_and_exit_codes(repo, tmp_path):
    add_eval(repo)
    (repo.root / "models").mkdir()
    trained_model(units=16).save(repo.root / "models/a.keras")
    trained_model(units=16, seed=3).save(repo.root / "models/b.keras")
    repo.write(
        "edgegate.yml",
        POLICY
        + """\
  - {name: a, path: models/a.keras}
  - {name: b, path: models/renamed.keras}
""",
    )
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    trained_model(units=64).save(repo.root / "models/a.keras")  # four times the Dense weights
    repo.git("mv", "models/b.keras", "models/renamed.keras")
    repo.commit("grow a, rename b")

    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgegate",
            "check",
            "--base",
            "main",
            "--json",
            str(out / "r.json"),
            "--report",
            str(out / "r.md"),
            "--quiet",
            "--repo",
            str(repo.root),
        ],
        capture_output=True,
        text=True,
        cwd=repo.root,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    results = json.loads((out / "r.json").read_text())
    assert results["schema"] == "edgegate.results/4" and results["status"] == "fail"
    models = {m["name"]: m for m in results["models"]}
    a, b = models["a"], models["b"]
    assert a["status"] == "fail" and b["change"] == "renamed" and b["base_path"] == "models/b.keras"
    int8 = next(c for c in a["candidates"] if c["recipe"] == "int8")
    growth = next(c for c in int8["checks"] if c["name"] == "vs_base.size")
    assert (
        growth["status"] == "fail"
        and growth["line"] == 10
        and int8["base"]["size_bytes"] < int8["size_bytes"]
    )
    assert b["status"] == "pass"
    assert all(c["base"]["size_bytes"] == c["size_bytes"] for c in b["candidates"])  # same bytes, renamed
    for key in ("recipe", "size_bytes", "gzip_bytes", "latency_ms", "accuracy", "checks"):
        assert key in int8
    assert set(int8["accuracy"]) >= {"metric", "value", "drop"}
    report = (out / "r.md").read_text()
    assert report.startswith("## ❌ EdgeGate: 1 of 2 models fails the gate")
    assert "vs_base.size" in report

    # Latency on: each candidate gets a median and p90 from interleaved runs.
    run = real_run(CheckOptions(repo=repo.root, base="main", paths=("models/renamed.keras",)))
    (b_only,) = run.models
    assert all(c.latency_ms and c.latency_p90_ms >= c.latency_ms for c in b_only.candidates)
    assert b_only.reference.latency_ms > 0


def test_nothing_changed_imports_no_tensorflow(repo):
    add_eval(repo)
    repo.write("models/a.keras", "committed on main, unchanged since")
    repo.write("edgegate.yml", POLICY + "  - {name: a, path: models/a.keras}\n")
    repo.commit()
    code = (
        "import sys; from edgegate.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    print('exit', e.code)\n"
        "print('tensorflow' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "check", "--repo", str(repo.root), "--base", "main"],
        capture_output=True,
        text=True,
        cwd=repo.root,
    )
    assert proc.stdout.strip().splitlines()[-2:] == ["exit 0", "False"], proc.stdout + proc.stderr
    assert "no model changed" in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--base", "no-such-branch"], "no-such-branch"),
        (["--policy", "nope.yml"], "nope.yml: no policy file here"),
    ],
)
def test_usage_errors_exit_2_with_a_message(repo, args, message):
    repo.write("edgegate.yml", POLICY + "  - {name: a, path: models/a.keras}\n")
    repo.commit()
    proc = subprocess.run(
        [sys.executable, "-m", "edgegate", "check", "--quiet", *args],
        capture_output=True,
        text=True,
        cwd=repo.root,
    )
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_not_a_git_repository(tmp_path):
    (tmp_path / "edgegate.yml").write_text(POLICY + "  - {name: a, path: a.keras}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "edgegate", "check", "--quiet"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2 and "not inside a git repository" in proc.stderr, proc.stderr
