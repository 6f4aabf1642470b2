"""Pull-request runs take code-running settings from the base branch's policy only; the report
says what a PR changed in its policy."""

from __future__ import annotations

import os
import stat

from edgegate.policy.diff import policy_changes
from edgegate.policy.load import load_policy
from edgegate.policy.trust import restrict_to_trusted
from edgegate.cli.real_run import real_run
from edgegate.run import CheckOptions

BASE = """\
version: 1
models:
  - name: digits
    path: m.tflite
    budgets: {size: 80 KB}
"""

HOSTILE = """\
version: 1
models:
  - name: digits
    path: m.tflite
    trust_code: true
    eval: {data: {hook: "evil:load"}}
    edgetpu: {level: warn, compiler: tools/evil.sh}
    budgets: {size: {max: 200 KB, level: warn}}
"""


def load(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    return load_policy(tmp_path / name, root=tmp_path)


def test_a_pull_request_cannot_switch_on_code(tmp_path):
    head = load(tmp_path, "head.yml", HOSTILE)
    restricted, notes = restrict_to_trusted(head, load(tmp_path, "base.yml", BASE))
    (m,) = restricted.models
    assert m.trust_code is False and m.edgetpu.compiler == "auto"
    assert m.refused and "models[0].eval.data.hook ('evil:load')" in m.refused and "base branch" in m.refused
    assert any("trust_code comes from this pull request" in n for n in notes)
    assert any("'tools/evil.sh' names a program" in n for n in notes)


def test_the_base_branchs_own_settings_are_kept(tmp_path):
    head = load(tmp_path, "head.yml", HOSTILE)
    restricted, notes = restrict_to_trusted(head, head)  # the same file at base: trusted
    (m,) = restricted.models
    assert m.trust_code and m.edgetpu.compiler == "tools/evil.sh" and m.refused is None and notes == ()


def test_no_base_policy_trusts_nothing(tmp_path):
    restricted, _ = restrict_to_trusted(load(tmp_path, "head.yml", HOSTILE), None)
    assert restricted.models[0].trust_code is False and restricted.models[0].refused


def test_policy_changes_read_at_a_glance(tmp_path):
    changes = policy_changes(load(tmp_path, "base.yml", BASE), load(tmp_path, "head.yml", HOSTILE))
    # What loosens the gate comes first, marked; then the rest (tests/policy/test_diff.py has more).
    weakening, other = changes
    assert weakening.startswith("⚠ weakens the gate — digits: ")
    assert "size budget 80 KB → 200 KB, level error → warn" in weakening
    assert "trust_code false → true" in weakening
    assert other.startswith("digits: ") and "edgetpu.level off → warn" in other
    assert "eval added (data.hook evil:load)" in other and "edgetpu.compiler auto → tools/evil.sh" in other


def test_a_pr_run_never_executes_the_compiler_its_policy_names(repo, tmp_path):
    """End to end on a real repository: the PR adds a 'compiler' script to its policy."""
    from tests.pipeline.test_custom_ops import custom_op_model

    repo.write("edgegate.yml", BASE)
    (repo.root / "m.tflite").write_bytes(custom_op_model())
    repo.commit("base")
    repo.git("checkout", "-qb", "pr")
    sentinel = tmp_path / "pwned"
    script = repo.write("tools/evil.sh", f"#!/bin/sh\ntouch {sentinel}\n")
    os.chmod(script, os.stat(script).st_mode | stat.S_IEXEC)
    repo.write("edgegate.yml", HOSTILE.replace('    eval: {data: {hook: "evil:load"}}\n', ""))
    (repo.root / "m.tflite").write_bytes(custom_op_model() + b"\0")
    repo.commit("pr")
    run = real_run(CheckOptions(repo=repo.root, base="main", latency=False, trust="base"))
    assert not sentinel.exists()
    assert any("'tools/evil.sh' names a program" in n for n in run.notes)
    assert any("size budget 80 KB → 200 KB, level error → warn" in c for c in run.policy_changes)
    (m,) = run.models
    assert (
        m.candidates[0].report("edgetpu") is not None
        and m.candidates[0].report("edgetpu").analyzer == "static"
    )
    # Locally the working tree is trusted: the same run executes the script.
    real_run(CheckOptions(repo=repo.root, base="main", latency=False))
    assert sentinel.exists()
