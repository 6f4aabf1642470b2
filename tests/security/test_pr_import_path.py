"""No interpreter EdgeGate starts has the repository on its import path (issue 21, item 1).

The attack: a pull request adds top-level ``multiprocessing/``, ``numpy/``, ``json.py``, ... to
the repository. ``edgegate check`` runs as the action runs it (the installed console script,
working folder = the checkout, a token in the environment) on a model whose gating needs the
worker pool, TFLite Micro's child and Vela's child. Every planted module writes a marker when
imported; none may appear, in the parent or in any child, and the model is still gated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.github.conftest import tflite_models  # noqa: F401 (a fixture: two tiny real .tflite models)
from tests.security.shadowing import plant, ran

EDGEGATE = Path(sys.executable).with_name("edgegate")  # the console script the action runs
TOKEN = "ghs_" + "ImportPathToken0123456789"
# What the parent imports (json, yaml, typer, numpy), what every spawned child imports first
# (multiprocessing, edgegate), what the workers and the TFLM / Vela children import.
SHADOWS = (
    "multiprocessing/",
    "edgegate/",
    "numpy/",
    "json.py",
    "yaml/",
    "typer/",
    "tflite_micro/",
    "ethosu/",
    "ai_edge_litert/",
    "sitecustomize.py",
)
POLICY = """\
version: 1
models:
  - name: m
    path: models/m.tflite
    targets:
      mcu: {}
      ethos-u: {accelerator: ethos-u55-128}
"""


def runner_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PYTHON"))}
    return {**env, "GITHUB_TOKEN": TOKEN}


def test_a_prs_modules_run_in_no_edgegate_process(repo, tmp_path, tflite_models):  # noqa: F811
    repo.write("edgegate.yml", POLICY)
    repo.write("models/m.tflite", tflite_models["small"])
    repo.commit("base")
    repo.git("checkout", "-qb", "pr")
    markers = tmp_path / "markers"
    plant(repo.root, SHADOWS, markers)
    repo.write("models/m.tflite", tflite_models["big"])
    repo.commit("the pull request")
    out = tmp_path / "results.json"

    proc = subprocess.run(
        [str(EDGEGATE), "check", "--base", "main", "--quiet", "--jobs", "2", "--json", str(out)],
        cwd=repo.root,
        env=runner_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert ran(markers) == {}, "the pull request's modules ran in an EdgeGate process"
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    (model,) = json.loads(out.read_text())["models"]
    assert model["error"] is None, model["error"]
    (candidate,) = model["candidates"]
    # Figures only the children produce: latency (a worker), the arena (TFLM's), Vela's version.
    assert candidate["latency_ms"] > 0
    assert candidate["mcu"]["arena"] > 0 and candidate["mcu"]["crashes"] == 0, candidate["mcu"]
    assert candidate["ethos_u"]["vela_version"] and candidate["ethos_u"]["ops_total"] == 1

    # The planted modules are live: an interpreter with the checkout on its path runs them.
    subprocess.run([sys.executable, "-c", "import multiprocessing"], cwd=repo.root, env=runner_env())
    assert [name.split("-")[0] for name in ran(markers)] == ["multiprocessing"]
