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
