"""A ``.tflite`` source's recipes on the LiteRT Quantizer, end to end: a real git repository, the real
command line, float ``.tflite`` files converted here from small Keras models, the real quantizer
in its child process and the real LiteRT interpreter (issue 17, Done-when)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
pytest.importorskip("tensorflow")
pytest.importorskip("litert_quantizer")

from tests.gitrepo import GitRepo, edgegate_cli  # noqa: E402
from tests.recipes.test_litert_quantize import convert, direct, keras_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
POLICY = """\
version: 1
models:
  - name: m
    path: models/m.tflite
    calibration:
      data: data/cal.npz
    recipes:
      - int8
      - dynamic
      - weight_int4
      - recipe: int8
        name: int8-keep
        keep_float: [conv_b]
      - recipe: int8
        name: int8-typo
        keep_float:
          - no_such_layer
  - name: f16
    path: models/f16.tflite
    calibration:
      data: data/cal.npz
    recipes: [dynamic]
"""


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """One run of ``edgegate check`` over a repository of two float .tflite models (float32 weights, and
    float16 weights behind DEQUANTIZE ops as MediaPipe ships them) and their calibration data."""
    folder = tmp_path_factory.mktemp("tflite-recipes")
    repo = GitRepo(folder / "repo")
    repo.root.mkdir()
    repo.git("init", "-q", "-b", "main")
    model = keras_model()
    x = np.random.default_rng(0).uniform(0, 1, (16, 16, 16, 3)).astype(np.float32)
    f32, f16 = convert(model), convert(model, float16=True)
    repo.write("models/m.tflite", f32)
    repo.write("models/f16.tflite", f16)
    (repo.root / "data").mkdir()
    np.savez(repo.root / "data" / "cal.npz", x=x)
    repo.write("edgegate.yml", POLICY)
    repo.commit("models")
    out, results = folder / "out", folder / "results.json"
    done = edgegate_cli(
        "check", "--all", "--no-latency", "--out", str(out), "--json", str(results), "--report",
        str(folder / "report.md"), cwd=repo.root,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    models = {m["name"]: m for m in json.loads(results.read_text())["models"]}
    report = (folder / "report.md").read_text()
    return {"f32": f32, "f16": f16, "x": x, "out": out, "models": models, "report": report}


def candidates(gated, name: str) -> dict[str, dict]:
    return {c["recipe"]: c for c in gated["models"][name]["candidates"]}


@pytest.mark.parametrize(
    "recipe, library_recipe",
    [("int8", "static_wi8_ai8"), ("weight_int4", "weight_only_wi4_afp32"), ("dynamic", "dynamic_wi8_afp32")],
)
def test_candidates_are_the_bytes_of_the_quantizer_called_directly(gated, recipe, library_recipe):
    from litert_quantizer import recipe as library

    c = candidates(gated, "m")[recipe]
    assert c["error"] is None and c["status"] == "pass"
    made = (gated["out"] / c["artifact"]).read_bytes()
    assert made == direct(gated["f32"], getattr(library, library_recipe)(), gated["x"])
    assert c["size_bytes"] == len(made) < 0.5 * len(gated["f32"])


def test_each_candidate_is_gated_by_fidelity_to_the_float_file_without_labels(gated):
    """No eval set: each quantized candidate is compared with the .tflite it came from, on the
    calibration inputs; the file itself is the float reference (fidelity 1, drop 0) and a candidate."""
    found = candidates(gated, "m")
    assert found["as-is"]["accuracy"]["value"] == 1.0 and found["as-is"]["size_bytes"] == len(gated["f32"])
    for label in ("int8", "dynamic", "weight_int4", "int8-keep"):
        accuracy = found[label]["accuracy"]
        assert accuracy["metric"] == "fidelity" and accuracy["samples"] == 16
        assert accuracy["drop"] is not None and accuracy["snr_db"] > 10


def test_node_data_is_written_beside_each_candidate_and_the_report_says_how_to_open_it(gated):
    c = candidates(gated, "m")["int8"]
    node_data = gated["out"] / Path(c["artifact"]).with_name("int8.node_data.json")
    results = json.loads(node_data.read_text())["results"]
    assert results and all(isinstance(v["value"], float) for v in results.values())
    assert any(
        "int8.node\\_data.json" in line and "Model Explorer" in line for line in gated["report"].splitlines()
    )


def test_a_layer_kept_float_is_float_and_a_pattern_matching_nothing_is_an_error_at_its_line(gated):
    found = candidates(gated, "m")
    assert found["int8-keep"]["size_bytes"] > found["int8"]["size_bytes"]  # conv_b's weights stay float32
    error = found["int8-typo"]["error"]
    line = POLICY.splitlines().index("          - no_such_layer") + 1
    assert (
        f"models[0].recipes[4].keep_float (line {line}): 'no_such_layer' matches no layer of m.tflite"
        in error
    )
    assert found["int8-typo"]["status"] == "error" and found["int8"]["status"] == "pass"  # one hides nothing


def test_a_float16_weight_model_gets_a_real_dynamic_int8_candidate_with_its_fidelity(gated):
    """MediaPipe's float16 weights behind DEQUANTIZE: unpacked first, never a silent 1.00 ratio."""
    found = candidates(gated, "f16")
    c = found["dynamic"]
    assert c["error"] is None and c["size_bytes"] <= 0.6 * len(gated["f16"])
    assert any("float16 weights (each behind a DEQUANTIZE) were unpacked" in n for n in c["notes"])
    assert c["accuracy"]["metric"] == "fidelity" and c["accuracy"]["value"] is not None


LIGHT = """\
import sys
for name in ("tensorflow", "tf_keras", "keras", "tensorflow_model_optimization"):
    sys.modules[name] = None  # Python's own way to make a package not importable: the light install
from edgegate.cli.main import main
sys.argv = ["edgegate", *sys.argv[1:]]
main()
"""


def light_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real command line in an interpreter where TensorFlow cannot be imported (nor Keras)."""
    return subprocess.run(
        [sys.executable, "-c", LIGHT, *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_a_tflite_only_repository_is_gated_with_the_light_install(repo, tmp_path):
    """`edgegate needs` asks for the quantizer extra, never TensorFlow; the check builds, gates and
    reports the quantized candidates without TensorFlow (its import is made impossible)."""
    repo.write("README.md", "a model repository\n")
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("models/m.tflite", convert(keras_model()))
    x = np.random.default_rng(1).uniform(0, 1, (8, 16, 16, 3)).astype(np.float32)
    np.savez(repo.root / "cal.npz", x=x)
    repo.write(
        "edgegate.yml",
        textwrap.dedent("""\
            version: 1
            models:
              - name: m
                path: models/m.tflite
                calibration: {data: cal.npz}
                recipes: [int8, dynamic]
                budgets: {size: 80 KB}
        """),
    )
    repo.commit("add a model and quantize it")
    outputs = tmp_path / "github_output"
    env = {"GITHUB_OUTPUT": str(outputs), "HOME": str(tmp_path)}
    asked = light_cli("needs", "--base", "main", cwd=repo.root, env=env)
    assert asked.returncode == 0, asked.stderr
    assert (
        "TensorFlow not needed" in asked.stdout
        and "the quantizer extra needed for: m (models/m.tflite)" in asked.stdout
    )
    said = outputs.read_text()
    assert "tensorflow<<" in said and "quantizer<<" in said
    assert said.split("quantizer<<", 1)[1].splitlines()[1] == "true"
    assert said.split("tensorflow<<", 1)[1].splitlines()[1] == "false"
    results = tmp_path / "results.json"
    done = light_cli(
        "check", "--base", "main", "--no-latency", "--json", str(results), cwd=repo.root, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr  # a quantized candidate within budget ships
    (m,) = json.loads(results.read_text())["models"]
    found = {c["recipe"]: c for c in m["candidates"]}
    assert found["as-is"]["status"] == "fail"  # 118 KB > 80 KB
    assert found["int8"]["status"] == found["dynamic"]["status"] == "pass"
    assert m["deploy"] in ("int8", "dynamic") and m["status"] == "pass"


def test_a_changed_tflite_is_compared_with_the_same_recipe_of_its_base_version(repo, tmp_path):
    """Base comparison: the base branch's file gets the same quantizer recipes, each candidate its
    base figures."""
    import tensorflow as tf

    repo.write("edgegate.yml", "version: 1\nmodels:\n  - {name: m, path: m.tflite, recipes: [dynamic]}\n")
    repo.write("m.tflite", convert(keras_model()))
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    wider = tf.keras.Sequential([tf.keras.Input((16,)), tf.keras.layers.Dense(256), tf.keras.layers.Dense(8)])
    repo.write("m.tflite", convert(wider))
    repo.commit("a wider model")
    results = tmp_path / "results.json"
    done = edgegate_cli("check", "--base", "main", "--no-latency", "--json", str(results), cwd=repo.root)
    assert done.returncode == 0, done.stdout + done.stderr
    (m,) = json.loads(results.read_text())["models"]
    found = {c["recipe"]: c for c in m["candidates"]}
    base = found["dynamic"]["base"]
    assert base["error"] is None and 0 < base["size_bytes"] < 0.5 * found["as-is"]["base"]["size_bytes"]
    assert base["size_bytes"] != found["dynamic"]["size_bytes"]


def test_a_multi_output_model_is_gated_on_fidelity_without_labels(repo, tmp_path):
    """Landmarks and a score, as MediaPipe's models have: every output is compared with the float
    file's, so an accuracy floor (fidelity) gates the quantized candidates."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((16, 16, 3), name="image")
    x = tf.keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    landmarks = tf.keras.layers.Dense(12, name="landmarks")(x)
    score = tf.keras.layers.Dense(1, activation="sigmoid", name="score")(x)
    model = tf.keras.Model(inputs, [landmarks, score])
    repo.write("m.tflite", convert(model))
    np.savez(
        repo.root / "cal.npz", x=np.random.default_rng(2).uniform(0, 1, (12, 16, 16, 3)).astype(np.float32)
    )
    repo.write(
        "edgegate.yml",
        "version: 1\nmodels:\n  - name: m\n    path: m.tflite\n    calibration: {data: cal.npz}\n"
        "    recipes: [int8]\n    budgets:\n      accuracy: {min: 0.9}\n",
    )
    repo.commit("a two-output model")
    results = tmp_path / "results.json"
    done = edgegate_cli("check", "--all", "--no-latency", "--json", str(results), cwd=repo.root)
    assert done.returncode == 0, done.stdout + done.stderr
    (m,) = json.loads(results.read_text())["models"]
    int8 = {c["recipe"]: c for c in m["candidates"]}["int8"]
    assert int8["error"] is None and int8["accuracy"]["metric"] == "fidelity"
    assert int8["accuracy"]["samples"] == 12 and int8["accuracy"]["snr_db"] > 10
    assert any(check["name"] == "accuracy" for check in int8["checks"])  # gated, not only shown
