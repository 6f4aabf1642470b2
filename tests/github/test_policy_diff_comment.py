"""A pull request that loosens its targets gets the policy-change block in its comment, end to end:
a real repository, the PR's commit, ``edgegate ci`` as the runner runs it, the stand-in GitHub API
(issue 21.9: no block at all was posted, and under the base policy the PR's model fails)."""

from __future__ import annotations

from edgegate.policy.diff import WEAKENS
from edgegate.results import read_results
from edgegate.untrusted_text import md_text
from tests.github.test_ci import Runner, gate, pr_event

BASE = """\
version: 1
models:
  - name: detector
    path: models/detector.tflite
    budgets:
      vs_base: {size: 10 MB, on_missing_base: error}
    targets:
      compute: {macs: {max: 1K}}
      mcu: {arena: 1 KiB, level: error}
"""
LOOSENED = """\
version: 1
models:
  - name: detector
    path: models/detector.tflite
    budgets:
      vs_base: {size: 10 MB, on_missing_base: warn}
    targets:
      mcu: {arena: 10 MiB, level: warn}
"""
WEAKENING = (
    f"{WEAKENS} — detector: vs_base on_missing_base error → warn; targets.compute removed (was "
    "macs.max 1K); targets.mcu.arena 1 KiB → 10 MiB; targets.mcu.level error → warn"
)


def test_a_pr_loosening_its_targets_is_flagged_in_the_comment(
    repo, github, tmp_path, monkeypatch, tflite_models
):
    repo.write("edgegate.yml", BASE)
    repo.write("models/detector.tflite", tflite_models["small"])
    repo.base = repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    # The PR grows the model past the base's MAC and arena budgets and loosens the policy to pass.
    repo.write("models/detector.tflite", tflite_models["big"])
    repo.write("edgegate.yml", LOOSENED)
    repo.head = repo.commit("grow the detector, loosen its targets")
    monkeypatch.chdir(repo.root)

    runner = Runner(tmp_path / "run", github, "pull_request", pr_event(repo))
    assert gate(runner) == 0  # the loosened policy passes: the block is what a reviewer has

    results = read_results(runner.out / "results.json")
    assert results.policy_changes == (WEAKENING,)
    (comment,) = github.comments_on(17)
    body = comment["body"]
    block = body.index("**This change edits the policy**")
    assert body.index("> - " + md_text(WEAKENING)) > block  # escaped as text, the first line of it
    assert body.index(md_text(WEAKENING)) < body.index("detector —")  # above the model's results
    assert md_text(WEAKENING) in runner.summary
