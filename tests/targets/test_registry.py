"""The target registry: a target is one folder plus one line in ``edgegate/target_registry.py``.

The toy target (``tests/targets/toy/``) is registered here alone, by adding its line to the
registry for the test, and goes through everything a target goes through: its settings are
validated by the policy loader, it is analyzed in a worker, checked by the check kernel, cached,
and reported (markdown and the results file).
"""

from __future__ import annotations


import functools
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from edgegate import target_registry
from edgegate.errors import PolicyError
from edgegate.report.markdown import render_markdown
from edgegate.results import read_results, write_results
from edgegate.results.codec import decode_run, encode_run
from edgegate.results.model import RunResult
from edgegate.cli.real_run import real_run
from edgegate.run import CheckOptions
from edgegate.status import Status
from edgegate.units import format_bytes
from edgegate.run import pool_runner
from tests.security.test_results_strings import _filled
from tests.targets.toy.report import ToyReport

ROOT = Path(__file__).resolve().parents[2]
# Written by main's code before schema 3 (commit 66c685c): ``encode_run(_filled(RunResult,
# intervals=True))`` of tests/security/test_results_strings.py, every target's report filled.
RESULTS_V2 = Path(__file__).with_name("results_v2.json")

POLICY = """\
version: 1
models:
  - name: tiny
    path: models/tiny.tflite
    targets:
      toy: {TOY}
"""


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy's registry line; and the checkout on the workers' import path, as the pool's tests
    do (``import_paths``), so a worker can load the toy target from the test folder."""
    monkeypatch.setattr(target_registry, "PACKAGES", (*target_registry.PACKAGES, "tests.targets.toy"))
    # Patched where the run's pool is built (pool_runner binds the name when it is first imported).
    monkeypatch.setattr(
        pool_runner, "WorkerPool", functools.partial(pool_runner.WorkerPool, import_paths=(ROOT,))
    )


def _policy_problems(repo, toy_settings: str) -> list[str]:
    repo.write("edgegate.yml", POLICY.replace("{TOY}", toy_settings))
    repo.commit()
    with pytest.raises(PolicyError) as err:
        real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    return err.value.problems


def test_a_bad_toy_setting_is_a_policy_error_at_its_line(repo, toy):
    (repo.root / "models").mkdir()
    (repo.root / "models" / "tiny.tflite").write_bytes(b"TFL3")
    assert _policy_problems(repo, "{max_bytes: lots}") == [
        "edgegate.yml:6: models[0].targets.toy: toy.max_bytes: cannot read 'lots' as a size"
    ]
    assert _policy_problems(repo, "{max_bytez: 1 KB}") == [
        "edgegate.yml:6: models[0].targets.toy.max_bytez: unknown key (see docs/policy.md for the keys "
        "this section takes)"
    ]
    assert _policy_problems(repo, "{level: loud}") == [
        "edgegate.yml:6: models[0].targets.toy.level: Input should be 'error' or 'warn'"
    ]


def test_a_toy_target_is_analyzed_in_a_worker_checked_cached_and_reported(repo, models, toy, tmp_path):
    model = models("conv_stack_int8").read_bytes()
    (repo.root / "models").mkdir()
    (repo.root / "models" / "tiny.tflite").write_bytes(model)
    repo.write("edgegate.yml", POLICY.replace("{TOY}", f"{{max_bytes: {len(model) - 1} B}}"))
    repo.commit()
    options = CheckOptions(repo=repo.root, all_models=True, latency=False, cache_dir=tmp_path / "cache")

    cold, warm = real_run(options), real_run(options)

    (candidate,) = cold.models[0].candidates
    report = candidate.report("toy")
    assert report == ToyReport(len(model), report.pid) and report.pid != os.getpid()  # in a worker
    (check,) = [c for c in candidate.checks if c.name == "toy.bytes"]
    assert (check.status, check.key, check.line) == (Status.FAIL, "models[0].targets.toy.max_bytes", 6)
    assert check.message == (
        f"The model's size {format_bytes(len(model))} is over the ≤ {format_bytes(len(model) - 1)} "
        f"budget by {format_bytes(1)}."
    )
    assert cold.status is Status.FAIL and candidate.target_lines == (f"Toy: {format_bytes(len(model))}",)
    note = next(n for n in warm.notes if n.startswith("cache:"))
    assert "target analyses 1/1" in note, note
    assert warm.models == cold.models  # the cached report, checked again to the same verdict

    markdown = render_markdown(warm)
    assert f"**Toy** as-is: {len(model)} bytes, measured in process {report.pid}" in markdown
    assert f"- {candidate.recipe} · Toy: {format_bytes(len(model))}" in markdown and "toy.bytes" in markdown
    write_results(warm, tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["models"][0]["candidates"][0]["targets"] == {"toy": {"size": len(model), "pid": report.pid}}
    back = read_results(tmp_path / "results.json")
    assert back == warm and back.models[0].candidates[0].report("toy") == report


def test_a_report_of_a_target_this_edgegate_does_not_know_is_refused(repo):
    text = encode_run(_filled(RunResult, intervals=False)).replace('"gpu": {', '"lamp": {', 1)
    with pytest.raises(ValueError, match=r"targets: 'lamp' is not a target this EdgeGate knows \(edgetpu, "):
        decode_run(text)


def _before_schema_4(run: RunResult) -> RunResult:
    """``run`` without the fields schema 4 added (latency intervals, memory figures, model diffs,
    what a recipe or the keep-float search left float, the default branch's trend): what an older
    file reads as."""

    def older(c):
        base = None if c.base is None else replace(c.base, memory_bytes=None)
        layers = tuple(replace(w, node="") for w in c.worst_layers)
        return replace(
            c,
            memory_bytes=None,
            base=base,
            latency_changes=None,
            diff=None,
            kept_float=None,
            worst_layers=layers,
        )

    models = [
        replace(
            m,
            keep_float=(),
            reference=m.reference and older(m.reference),
            candidates=tuple(older(c) for c in m.candidates),
            trend=None,
        )
        for m in run.models
    ]
    return replace(run, models=tuple(models))


def test_a_schema_2_file_written_before_the_registry_is_read_into_the_one_slot():
    run = read_results(RESULTS_V2)
    assert json.loads(RESULTS_V2.read_text())["schema"] == "edgegate.results/2"
    # Every target's report, in its slot; the fields schema 4 added are at their defaults.
    assert run == _before_schema_4(_filled(RunResult, intervals=True))
    candidate = run.models[0].candidates[0]
    assert set(candidate.targets) == {k.name for k in target_registry.kinds()}
    assert decode_run(encode_run(run)) == run and '"schema": "edgegate.results/4"' in encode_run(run)


def test_reading_results_imports_no_analyzer():
    """The registry imports each target's folder, which names its written form and report only."""
    code = (
        "import sys; from edgegate.results import read_results; "
        f"read_results({str(RESULTS_V2)!r}); "
        "print(sorted(m for m in sys.modules if m.startswith('edgegate.targets.') "
        "and not m.endswith(('.settings', '.interface')) and m.count('.') > 2))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["[]"]
