"""``edgegate init``: a starter policy that validates as written, and no overwriting by surprise."""

from __future__ import annotations

from typer.testing import CliRunner

from edgegate.cli.init import write_starter_policy
from edgegate.cli.main import app
from edgegate.policy.load import load_policy


def test_starter_policy_validates(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.tflite").write_bytes(b"x")
    (tmp_path / "vision" / "saved").mkdir(parents=True)
    (tmp_path / "vision" / "saved" / "saved_model.pb").write_bytes(b"x")
    (tmp_path / "vision" / "saved" / "variables").mkdir()
    (tmp_path / "vision" / "eval.npz").write_bytes(b"x")
    path, found = write_starter_policy(tmp_path, None)
    assert found == ["models/net.tflite", "vision/saved"]
    policy = load_policy(path, root=tmp_path)
    assert [m.name for m in policy.models] == ["net", "saved"]
    assert policy.models[1].eval.data.path == "vision/eval.npz"


def test_init_command_writes_once_then_needs_force(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "[v2] net.tflite").write_bytes(b"x")  # brackets are not rich markup
    runner = CliRunner()
    first = runner.invoke(app, ["init", "--repo", str(tmp_path)])
    target = tmp_path / "edgegate.yml"
    assert first.exit_code == 0, first.output
    assert f"wrote {target} with 1 model(s): models/[v2] net.tflite" in " ".join(first.stdout.split())
    written = target.read_text()

    again = runner.invoke(app, ["init", "--repo", str(tmp_path)])
    assert again.exit_code == 2 and isinstance(again.exception, SystemExit)
    assert f"edgegate: {target} already exists; pass --force" in again.stderr
    assert "Traceback" not in again.output and target.read_text() == written

    target.write_text("# edited by hand\n")
    forced = runner.invoke(app, ["init", "--repo", str(tmp_path), "--force"])
    assert forced.exit_code == 0 and target.read_text() == written


def test_a_newcomers_first_check_has_no_error_rows(repo, capsys):
    """init on a repository with a model and no data, then check: int8 builds on synthetic inputs."""
    from rich.console import Console

    from edgegate.report.terminal import print_summary
    from edgegate.cli.real_run import real_run
    from edgegate.run import CheckOptions
    from edgegate.status import Status
    from tests.pipeline.conftest import keras_model

    (repo.root / "models").mkdir()
    keras_model().save(repo.root / "models" / "my model: v1.h5")  # a name YAML must quote
    write_starter_policy(repo.root, None)
    assert "synthetic: true" in (repo.root / "edgegate.yml").read_text()
    repo.commit("add a model")
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (m,) = run.models
    assert m.error is None and m.status != Status.ERROR
    assert [c.recipe for c in m.candidates] == ["float16", "dynamic", "int8"]
    assert all(c.status != Status.ERROR and c.error is None for c in m.candidates), [
        c.error for c in m.candidates
    ]
    int8 = next(c for c in m.candidates if c.recipe == "int8")
    assert int8.size_bytes and any("synthetic inputs" in n for n in int8.notes)
    print_summary(run, Console(width=200, force_terminal=False))
    assert "error" not in capsys.readouterr().out.split("float16", 1)[1].split("\n\n")[0]


def test_every_error_row_in_the_terminal_table_says_why(capsys):
    from rich.console import Console

    from edgegate.report.terminal import print_summary
    from edgegate.results import CandidateResult, GitRef, ModelResult, RunResult
    from edgegate.status import Status

    shipped = CandidateResult("float16", "float16", Status.PASS, size_bytes=10, deploy=True)
    broken = CandidateResult("int8 [red]", "int8", Status.ERROR, error="int8 needs calibration data: add it")
    skipped = CandidateResult("qat", "qat", Status.SKIP, skip_reason="no training data")
    model = ModelResult(
        "m [bold]x[/bold]", "m.h5", Status.PASS, candidates=(shipped, broken, skipped), deploy="float16"
    )
    print_summary(
        RunResult(Status.PASS, GitRef("main", None), GitRef(None, None), (model,)), Console(width=200)
    )
    out = capsys.readouterr().out
    assert (
        "int8 [red]: int8 needs calibration data: add it" in out and "qat: skipped: no training data" in out
    )
    assert "m [bold]x[/bold]" in out  # hostile markup printed as text


def test_init_proposes_quantizer_recipes_for_a_float_tflite_and_none_for_an_integer_one(repo):
    """A float .tflite gets the LiteRT Quantizer's recipes its weights can take, an integer one none;
    the starter's first check builds them (synthetic calibration: no data found) without an error row."""
    import numpy as np
    import pytest

    tf = pytest.importorskip("tensorflow")
    pytest.importorskip("litert_quantizer")
    from edgegate.run import CheckOptions
    from edgegate.cli.real_run import real_run

    model = tf.keras.Sequential([tf.keras.Input((8,)), tf.keras.layers.Dense(16), tf.keras.layers.Dense(4)])
    repo.write("models/float.tflite", tf.lite.TFLiteConverter.from_keras_model(model).convert())
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([np.ones((1, 8), np.float32)] for _ in range(4))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    repo.write("models/integer.tflite", converter.convert())
    path, _ = write_starter_policy(repo.root, None)
    text = path.read_text()
    floated, integer = text.split("name: float", 1)[1].split("name: integer")
    assert "recipes: [float16, dynamic, int8]" in floated and "synthetic: true" in floated
    assert (
        "recipes:" not in integer and "an integer .tflite: measured as it is, nothing to quantize" in integer
    )
    repo.commit("two models")
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    found = {m.name: m for m in run.models}
    assert [c.recipe for c in found["float"].candidates] == ["as-is", "float16", "dynamic", "int8"]
    assert all(c.error is None for c in found["float"].candidates), [
        c.error for c in found["float"].candidates
    ]
    int8 = next(c for c in found["float"].candidates if c.recipe == "int8")
    assert any("synthetic inputs" in n for n in int8.notes)  # synthetic: true, said on the candidate
    assert any("no eval or calibration data" in n for n in found["float"].notes)  # no fidelity: why
    assert [c.recipe for c in found["integer"].candidates] == ["as-is"]
