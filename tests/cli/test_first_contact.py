"""What a new team meets in its first hour, on real repositories with real models and the real CLI:
a mistyped model path, the notes of a first local run, flags and error lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.gitrepo import edgegate_cli

SHARED = Path(__file__).resolve().parents[3] / "shared" / "edgetpu-pairs"
MOBILENET = SHARED / "mobilenet_v1_0.25_128_quant.tflite"  # Coral's integer model, 0.5 MB

needs_models = pytest.mark.skipif(
    not MOBILENET.is_file(), reason="the shared Coral models are not on this machine"
)

TWO_MODELS = """\
version: 1
models:
  - name: mobilenet
    path: models/mobilenet.tflite
    budgets: {size: 2 MB}
  - name: face_landmark
    path: models/face/face_landmarks.tflite
    budgets: {size: 2 MB}
"""


@needs_models
def test_a_mistyped_path_is_an_input_error_at_its_line_with_the_nearest_path(repo, tmp_path):
    repo.write("models/mobilenet.tflite", MOBILENET.read_bytes())
    repo.write("models/face/face_landmark.tflite", MOBILENET.read_bytes())
    repo.write("edgegate.yml", TWO_MODELS)
    repo.commit("models")
    report = tmp_path / "report.md"
    proc = edgegate_cli("check", "--all", "--no-latency", "--quiet", "--report", str(report), cwd=repo.root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    said = " ".join((proc.stdout + report.read_text()).split())
    assert (
        "edgegate.yml:7: models[1].path: 'models/face/face_landmarks.tflite': no such file or folder; "
        "did you mean 'models/face/face_landmark.tflite'?"
    ) in said
    headline = report.read_text().splitlines()[0]
    assert headline == "## 💥 EdgeGate: could not gate 1 of 2 models", headline
    assert "fails the gate" not in report.read_text()
    assert "mobilenet" in report.read_text()  # the other model is still gated


@needs_models
def test_a_local_run_does_not_claim_code_running_settings_are_off(repo):
    """A local run honours every setting (a dataset hook runs): the note of a pull-request run,
    "every setting that runs code is off", would be false here."""
    repo.write("README.md", "models\n")
    repo.commit("start")
    repo.git("checkout", "-qb", "feature")
    marker = repo.root.parent / "hook-ran"
    repo.write(
        "evalhook.py",
        "import numpy as np\n\n\ndef load():\n"
        f"    open({str(marker)!r}, 'a').write('ran\\n')\n"
        "    return np.zeros((2, 128, 128, 3), np.uint8), np.zeros(2, np.int64)\n",
    )
    repo.write("models/mobilenet.tflite", MOBILENET.read_bytes())
    repo.write(
        "edgegate.yml",
        "version: 1\nmodels:\n  - name: mobilenet\n    path: models/mobilenet.tflite\n"
        "    eval: {data: {hook: 'evalhook:load'}, metric: top1}\n",
    )
    repo.commit("add a model")
    proc = edgegate_cli("check", "--base", "main", "--no-latency", "--quiet", cwd=repo.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert marker.is_file()  # the hook ran: nothing was off
    said = " ".join(proc.stdout.split())
    assert "every setting that runs code is off" not in said
    assert "the base commit has no edgegate.yml: the policy's changes since the base are not listed" in said


CORAL_EDGETPU = SHARED / "mobilenet_v1_0.25_128_quant_edgetpu.tflite"


@needs_models
def test_init_on_a_tflite_repository_proposes_what_applies_and_the_first_check_hints_all(repo):
    """Coral's integer model, its compiled twin, and a float .tflite built here: recipes and
    deploy only where they apply, sizes from each file with 10 % headroom, edgetpu: for the
    integer model, the file's own name; then the first check on main says what to run."""
    import yaml

    repo.write("models/coral/mobilenet_v1_0.25_128_quant.tflite", MOBILENET.read_bytes())
    repo.write("models/coral/mobilenet_v1_0.25_128_quant_edgetpu.tflite", CORAL_EDGETPU.read_bytes())
    float_model = _float_tflite()
    repo.write("models/float/dense.tflite", float_model)
    proc = edgegate_cli("init", cwd=repo.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (repo.root / "edgegate.yml").read_text()
    policy = yaml.safe_load(text)
    assert "recipes" not in policy["defaults"] and "deploy" not in policy["defaults"]
    by_name = {m["name"]: m for m in policy["models"]}
    assert set(by_name) == {"mobilenet_v1_0.25_128_quant", "dense"}  # the compiled twin is no source
    coral, dense = by_name["mobilenet_v1_0.25_128_quant"], by_name["dense"]
    assert "recipes" not in coral and "deploy" not in coral and "recipes" not in dense
    size = MOBILENET.stat().st_size
    assert coral["budgets"]["size"] == f"{-(-size * 11 // 10000)} KB"  # ceil(size × 1.1) in KB
    assert dense["budgets"]["size"] == f"{-(-len(float_model) * 11 // 10000)} KB"
    assert coral["edgetpu"] == {"level": "warn"} and "edgetpu" not in dense
    repo.commit("adopt EdgeGate")

    first = edgegate_cli("check", "--no-latency", cwd=repo.root)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("no model changed") == 1, first.stdout
    assert "edgegate check --all" in first.stdout
    gated = edgegate_cli("check", "--all", "--no-latency", "--quiet", cwd=repo.root)
    assert gated.returncode == 0, gated.stdout + gated.stderr
    assert "2 models within budget" in gated.stdout


def _float_tflite() -> bytes:
    """A float32 .tflite of one dense layer, converted here (no Edge TPU proposal for it)."""
    import subprocess
    import sys

    code = (
        "import sys, tensorflow as tf\n"
        "m = tf.keras.Sequential([tf.keras.Input((8,)), tf.keras.layers.Dense(4)])\n"
        "sys.stdout.buffer.write(tf.lite.TFLiteConverter.from_keras_model(m).convert())\n"
    )
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, env=env).stdout


def test_the_no_change_comment_keeps_its_text_apart_from_its_footer():
    import dataclasses

    from edgegate.publishers.interface import Publication
    from edgegate.publishers.pr_comment import comment_body
    from edgegate.results import NO_CHANGE_NOTE
    from tests.github.conftest import make_run

    run = dataclasses.replace(make_run(), notes=(NO_CHANGE_NOTE, "comparing with main"))
    body = comment_body(Publication(run, Path("r.json"), None, "https://x.invalid/run", "c" * 40))
    assert body.count("no model changed") == 1
    assert "_comparing with main_\n\n<sub>EdgeGate" in body  # a paragraph of its own


ONE_MODEL = "version: 1\nmodels:\n  - name: m\n    path: models/m.tflite\n    budgets: {size: 2 MB}\n"


@needs_models
def test_check_all_gates_without_a_base_outside_git_and_with_only_a_trunk_branch(tmp_path, repo):
    folder = tmp_path / "plain"
    (folder / "models").mkdir(parents=True)
    shutil.copy(MOBILENET, folder / "models" / "m.tflite")
    (folder / "edgegate.yml").write_text(ONE_MODEL)
    outside = edgegate_cli("check", "--all", "--no-latency", "--quiet", cwd=folder)
    assert outside.returncode == 0, outside.stdout + outside.stderr
    said = " ".join(outside.stdout.split())
    assert "1 model within budget" in said
    assert "is not a git repository: every model gated as it is, without comparing with a base" in said
    # Without --all a change needs git: still refused, saying why.
    assert edgegate_cli("check", "--quiet", cwd=folder).returncode == 2

    repo.git("checkout", "-qb", "trunk")
    repo.write("models/m.tflite", MOBILENET.read_bytes())
    repo.write("edgegate.yml", ONE_MODEL)
    repo.commit("models")
    trunk = edgegate_cli("check", "--all", "--no-latency", "--quiet", cwd=repo.root)
    assert trunk.returncode == 0, trunk.stdout + trunk.stderr
    assert "no base branch (origin/HEAD, main or master) in this repository: every model gated" in " ".join(
        trunk.stdout.split()
    )


@needs_models
def test_check_paths_are_taken_from_the_current_folder_as_git_takes_them(repo):
    repo.write("models/m.tflite", MOBILENET.read_bytes())
    repo.write("edgegate.yml", ONE_MODEL)
    repo.commit("models")
    (repo.root / "docs").mkdir()
    from_models = edgegate_cli("check", "m.tflite", "--no-latency", "--quiet", cwd=repo.root / "models")
    assert from_models.returncode == 0, from_models.stdout + from_models.stderr
    assert "m models/m.tflite (requested)" in from_models.stdout
    sibling = edgegate_cli("check", "../models/m.tflite", "--no-latency", "--quiet", cwd=repo.root / "docs")
    assert sibling.returncode == 0, sibling.stdout + sibling.stderr
    # A root-relative path from a subfolder is a path git would not find either: refused, naming it.
    wrong = edgegate_cli("check", "models/m.tflite", "--no-latency", "--quiet", cwd=repo.root / "docs")
    assert wrong.returncode == 2 and "relative to the current folder" in wrong.stderr


@needs_models
def test_ci_outside_actions_leaves_the_checkout_clean_and_says_where_its_files_are(repo, tmp_path):
    import os
    import re
    import subprocess
    import sys

    repo.write("edgegate.yml", ONE_MODEL)
    repo.write("README.md", "x\n")
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("models/m.tflite", MOBILENET.read_bytes())
    repo.commit("add a model")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.update(TMPDIR=str(tmp_path), PYTHONPATH=str(Path(__file__).resolve().parents[2]), HOME=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "edgegate", "ci", "--comment", "off"],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    (results,) = re.findall(r"results: (\S+); report:", proc.stdout)
    assert Path(results).is_file() and Path(results).parent.parent == tmp_path


def test_help_shows_no_type_after_flags_that_take_no_value():
    """``--all``, ``--quiet``, ``--force``, ``edgetpu --json`` and ``--help`` itself take no value."""
    for command in ("", "check", "init", "edgetpu", "ci", "publish", "merge", "report", "needs"):
        proc = edgegate_cli(*filter(None, [command, "--help"]), cwd=Path.cwd(), env={"COLUMNS": "200"})
        assert proc.returncode == 0, proc.stderr
        assert "<bool>" not in proc.stdout, (command, proc.stdout)


def test_every_command_starts_its_errors_with_one_prefix(tmp_path):
    (tmp_path / "bad.tflite").write_text("hello")
    said = {
        "merge": edgegate_cli(
            "merge", str(tmp_path / "missing.json"), "-o", str(tmp_path / "o.json"), cwd=tmp_path
        ),
        "edgetpu": edgegate_cli(
            "edgetpu", str(tmp_path / "bad.tflite"), "--compiler", "static", cwd=tmp_path
        ),
        "check": edgegate_cli("check", "--quiet", cwd=tmp_path),
        "publish": edgegate_cli("publish", str(tmp_path / "missing.json"), "--pr", "1", cwd=tmp_path),
    }
    for command, proc in said.items():
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        assert lines and lines[0].startswith("edgegate: "), (command, lines)
