"""Memory budgets end to end: `edgegate check` on a real git repository, real conversions, the
memory measured in real child processes, verdicts in the results file and the report."""

from __future__ import annotations

import json

from tests.gitrepo import edgegate_cli
from tests.pipeline.conftest import keras_model

MB = 1_000_000

POLICY = """\
version: 1
models:
  - name: wide
    path: models/wide.keras
    recipes: [float16, int8]
    calibration: {synthetic: true}
    budgets:
      memory: 10 MB
      vs_base:
        memory: {max_increase: 20%, level: warn}
"""


def test_memory_budgets_through_the_cli(repo, tmp_path):
    (repo.root / "models").mkdir()
    keras_model(units=512).save(repo.root / "models/wide.keras")
    repo.write("edgegate.yml", POLICY)
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    keras_model(units=4096).save(repo.root / "models/wide.keras")  # eight times the Dense weights
    repo.commit("widen")

    out = tmp_path / "out"
    outputs = {"--json": out / "r.json", "--report": out / "r.md"}
    written = [arg for flag, path in outputs.items() for arg in (flag, str(path))]
    proc = edgegate_cli("check", "--base", "main", "--no-latency", "--quiet", *written, cwd=repo.root)
    # int8 ships, with a warning: the run passes (a failing float16 is not what ships).
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    results = json.loads((out / "r.json").read_text())
    assert results["schema"] == "edgegate.results/4"
    (model,) = results["models"]
    candidates = {c["recipe"]: c for c in model["candidates"]}
    float16, int8 = candidates["float16"], candidates["int8"]
    checks = {c: {ch["name"]: ch for ch in candidates[c]["checks"]} for c in candidates}

    # float16 holds its weights dequantized to float32: over 10 MB; int8 well under it.
    assert float16["memory_bytes"] > 10 * MB > int8["memory_bytes"] > 0
    over = checks["float16"]["memory"]
    assert over["status"] == "fail" and over["line"] == 8 and over["key"] == "models[0].budgets.memory"
    assert over["message"].startswith("memory ") and "is over the ≤ 10 MB budget by" in over["message"]
    assert checks["int8"]["memory"]["status"] == "pass"

    # The base version (512 units) was measured for the vs_base budget: int8 grew past 20%, a warning.
    assert 0 < int8["base"]["memory_bytes"] < int8["memory_bytes"]
    growth = checks["int8"]["vs_base.memory"]
    assert growth["status"] == "warn" and growth["message"].startswith("memory grew +")
    assert model["deploy"] == "int8" and float16["status"] == "fail"

    report = (out / "r.md").read_text()
    assert "`vs_base.memory` (max +20%): memory grew +" in report and "`memory` (≤ 10 MB)" in report
