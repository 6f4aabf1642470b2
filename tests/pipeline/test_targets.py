"""Every target through `edgegate check`: a real model, real conversions, TFLM, Vela, the GPU rules."""

from __future__ import annotations

import numpy as np
import pytest

from edgegate.errors import PolicyError
from edgegate.report.markdown import render_markdown
from edgegate.results import decode_run, encode_run
from edgegate.cli.real_run import real_run
from edgegate.run import CheckOptions
from edgegate.status import Status
from edgegate.untrusted_text import md_text
from tests.pipeline.conftest import dataset, keras_model

POLICY = """\
version: 1
defaults:
  targets:
    compute: {macs: {max: 10M}, vs_base: {macs: 5%}}
models:
  - name: tiny
    path: models/tiny.h5
    recipes: [float16, int8]
    deploy: int8
    eval: {data: data/eval.npz}
    budgets: {size: 1 MB}
    targets:
      mcu: {arena: 256 KiB, flash: 1 MiB, vs_base: {arena: 50%}}
      ethos-u: {accelerator: ethos-u55-128, sram: 1 MiB}
      gpu: {min_delegated: 50%}
"""


def commit_model(repo, units: int, seed: int) -> None:
    (repo.root / "models").mkdir(exist_ok=True)
    keras_model(units=units, seed=seed).save(repo.root / "models" / "tiny.h5")


def test_every_target_reports_and_gates_the_shipped_candidate(repo):
    x, y = dataset(32, seed=1)
    (repo.root / "data").mkdir()
    np.savez(repo.root / "data" / "eval.npz", x=x, y=y)
    repo.write("edgegate.yml", POLICY)
    commit_model(repo, units=16, seed=0)
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    commit_model(repo, units=32, seed=1)  # twice the hidden units: more MACs and more arena
    repo.commit("grow")
    run = real_run(CheckOptions(repo=repo.root, base="main", latency=False))
    (m,) = run.models
    c = {c.recipe: c for c in m.candidates}
    int8 = c["int8"]
    compute, mcu, ethos_u, gpu = (int8.report(t) for t in ("compute", "mcu", "ethos-u", "gpu"))
    assert compute is not None and mcu is not None and ethos_u is not None and gpu is not None
    # Four analyzers read the same int8 file, each on its own: they agree on its operators.
    ops = len(compute.ops)
    assert ops > 0 and mcu.ops == ethos_u.ops_total == gpu.ops_total == ops
    assert compute.exact and compute.total > 0
    assert mcu.runs and mcu.arena is not None and 0 < mcu.arena <= 256 * 1024
    assert ethos_u.ops_on_npu + ethos_u.ops_on_cpu == ops and 0 < ethos_u.sram_bytes <= 1024 * 1024
    assert gpu.ops_delegated + len(gpu.fallbacks) == ops
    checks = {ch.name: ch for ch in int8.checks}
    assert checks["compute.macs"].status == Status.PASS
    assert checks["compute.vs_base.macs"].status == Status.FAIL  # the model grew its compute
    assert checks["mcu.arena"].status == Status.PASS and "mcu.vs_base.arena" in checks
    assert all(
        ch.key.startswith("defaults.targets.compute.") for ch in int8.checks if ch.name.startswith("compute")
    )
    # float16 never runs on an Ethos-U NPU: said, not analyzed.
    assert c["float16"].report("ethos-u") is None
    assert any(ch.name.startswith("ethos-u") and ch.status == Status.SKIP for ch in c["float16"].checks)
    # One summary line per target, in the policy's order (defaults first).
    starts = [line.split(":")[0] for line in int8.target_lines]
    assert starts == ["Compute", "MCU (TFLite Micro)", "Ethos-U55-128", "GPU"], int8.target_lines
    assert f"arena {mcu.arena:,} B" in int8.target_lines[1]
    report = render_markdown(run)
    # The shipped candidate's target lines, in the details (each reason said once, outside).
    assert f"- int8 · {md_text(int8.target_lines[0])}" in report and "```mermaid\nxychart-beta" in report
    assert decode_run(encode_run(run)) == run  # every report survives the results file


def test_a_bad_target_setting_is_a_policy_error_with_its_line(repo):
    repo.write("edgegate.yml", POLICY.replace("arena: 256 KiB", "arena: lots"))
    commit_model(repo, units=16, seed=0)
    repo.commit("base")
    with pytest.raises(PolicyError) as err:
        real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (problem,) = err.value.problems
    assert problem.startswith("edgegate.yml:13: models[0].targets.mcu: ") and "lots" in problem
