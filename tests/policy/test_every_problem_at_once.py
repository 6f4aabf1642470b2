"""A policy with problems in several stages (YAML, schema, names, resolving, targets) reports
them all in one run: one ``PolicyError``, each problem once, in file order."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from edgegate.errors import PolicyError
from edgegate.policy.load import load_policy, load_policy_checked
from edgegate.policy.problems import PolicyProblem, policy_error
from edgegate.changes.git import GitRepo
from edgegate.run.selection import select
from edgegate.run.options import CheckOptions

UNIT = "unknown size unit 'KBB' in '12 KBB'; use B, KB, MB, GB, KiB, MiB or GiB"
SELECTORS = "best, smallest, fastest, most_accurate, all"

# A bad unit and a bad deploy: in one model, a bad deploy: and a bad target setting in another,
# a repeated name and a schema problem in a third.
POLICY = """\
version: 1
defaults:
  recipes: [int8, float16]
models:
  - name: a
    path: models/a.tflite
    budgets:
      size: 12 KBB
    deploy: fp16x
  - name: b
    path: models/b.tflite
    deploy: fastest-ish
    targets:
      mcu: {arena: lots}
  - name: a
    path: models/c.tflite
    latency: {runs: 0}
"""

LOAD_PROBLEMS = [
    f"edgegate.yml:8: models[0].budgets.size: {UNIT}",
    "edgegate.yml:9: models[0].deploy: 'fp16x' is neither a recipe of this model (int8, float16) nor one "
    f"of {SELECTORS}",
    "edgegate.yml:12: models[1].deploy: 'fastest-ish' is neither a recipe of this model (int8, float16) "
    f"nor one of {SELECTORS}",
    "edgegate.yml:15: models[2].name: model names must be unique: a is also the name of models[0] (line 5)",
    "edgegate.yml:17: models[2].latency.runs: Input should be greater than or equal to 1",
]
TARGET_PROBLEM = "edgegate.yml:14: models[1].targets.mcu: mcu.arena: cannot read 'lots' as a size"
# The loader validates the targets' settings like every other section (through the registry).
ALL_PROBLEMS = LOAD_PROBLEMS[:3] + [TARGET_PROBLEM] + LOAD_PROBLEMS[3:]


def write(root: Path, text: str) -> Path:
    path = root / "edgegate.yml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(root: Path, text: str) -> list[str]:
    with pytest.raises(PolicyError) as e:
        load_policy(write(root, text), root=root)
    return e.value.problems


def test_every_stage_of_every_model_is_reported_in_one_run_in_file_order(repo):
    repo.write("edgegate.yml", POLICY)
    repo.commit()
    with pytest.raises(PolicyError) as e:
        select(CheckOptions(repo=repo.root, all_models=True), GitRepo(repo.root))
    assert e.value.problems == ALL_PROBLEMS


def test_the_loader_returns_what_resolved_with_every_problem(tmp_path):
    checked = load_policy_checked(write(tmp_path, POLICY), root=tmp_path)
    # Every entry validated once its refused keys were left out, so all three are resolved
    # (that is how the run finds model b's target problem in the same run).
    assert [m.name for m in checked.policy.models] == ["a", "b", "a"]
    assert [str(p) for p in sorted(checked.problems, key=lambda p: p.line)] == ALL_PROBLEMS
    with pytest.raises(PolicyError) as e:
        checked.usable()
    assert e.value.problems == ALL_PROBLEMS
    assert problems(tmp_path, POLICY) == ALL_PROBLEMS  # load_policy: the same error


def test_a_key_the_schema_refused_is_neither_inherited_nor_judged(tmp_path):
    """A model's refused recipes are not replaced by the defaults' to judge its deploy: against."""
    found = problems(
        tmp_path,
        """\
        version: 1
        defaults:
          recipes: [int8]
        models:
          - {name: a, path: a.tflite, recipes: [int9], deploy: int9}
          - {name: b, path: b.tflite, deploy: nope}
        """,
    )
    assert len(found) == 2
    assert found[0].startswith("edgegate.yml:5: models[0].recipes[0]: unknown recipe 'int9'")
    assert found[1].startswith("edgegate.yml:6: models[1].deploy: 'nope' is neither a recipe of this model")


def test_a_refused_key_of_defaults_is_not_judged_through_the_models_that_inherit_it(tmp_path):
    found = problems(
        tmp_path,
        """\
        version: 1
        defaults:
          recipes: [int9]
          budgets: {latency: 5 parsecs}
        models:
          - {name: a, path: a.tflite, deploy: int9}
          - {name: b, path: b.tflite, recipes: [int8], deploy: fp16}
        """,
    )
    assert [p.split(": ")[0:2] for p in found] == [
        ["edgegate.yml:3", "defaults.recipes[0]"],
        ["edgegate.yml:4", "defaults.budgets.latency"],
        ["edgegate.yml:7", "models[1].deploy"],  # its own recipes: judged
    ]


def test_a_model_whose_required_key_is_refused_still_leaves_the_others_checked(tmp_path):
    found = problems(
        tmp_path,
        """\
        version: 1
        models:
          - {name: a, path: [a.tflite], deploy: nope}
          - {name: b, path: ../b.tflite}
          - 12
        """,
    )
    assert found == [
        "edgegate.yml:3: models[0].path: Input should be a valid string",
        "edgegate.yml:4: models[1].path: '../b.tflite' points outside the repository; paths are relative "
        "to the repository root",
        "edgegate.yml:5: models[2]: Input should be a valid dictionary or instance of ModelEntry",
    ]


def test_a_problem_of_defaults_inherited_by_several_models_is_listed_once(tmp_path):
    found = problems(
        tmp_path,
        """\
        version: 1
        defaults:
          eval: {data: ../outside.npz}
        models:
          - {name: a, path: a.tflite}
          - {name: b, path: b.tflite}
        """,
    )
    assert len(found) == 1 and found[0].startswith("edgegate.yml:3: defaults.eval.data: '../outside.npz'")


def test_a_yaml_problem_does_not_hide_the_schema_problems(tmp_path):
    found = problems(
        tmp_path,
        """\
        version: 1
        models:
          - name: a
            path: a.tflite
            budgets:
              size: 12 KBB
            path: b.tflite
          - {name: b, path: b.tflite, recipes: [int8], deploy: fp16}
        """,
    )
    assert found == [
        f"edgegate.yml:6: models[0].budgets.size: {UNIT}",
        "edgegate.yml:7: models[0].path: duplicate key (first written at line 4); YAML would silently keep "
        "only the last one",
        "edgegate.yml:8: models[1].deploy: 'fp16' is neither a recipe of this model (int8) nor one of "
        f"{SELECTORS}",
    ]


def test_a_yaml_syntax_error_still_stops_at_once(tmp_path):
    found = problems(tmp_path, "version: 1\nmodels:\n  - {name: a, path: a.tflite, deploy: nope}\n  - [\n")
    assert len(found) == 1 and found[0].startswith("edgegate.yml:5: yaml:")


def test_policy_error_orders_by_line_and_lists_each_problem_once():
    first, second, third = (
        PolicyProblem("p.yml", 9, "a: 1"),
        PolicyProblem("p.yml", 2, "b: 2"),
        PolicyProblem("p.yml", 9, "c: 3"),
    )
    found = policy_error([first, second, third, second, first]).problems
    assert found == ["p.yml:2: b: 2", "p.yml:9: a: 1", "p.yml:9: c: 3"]  # one line: in the order found


def test_what_only_the_file_system_tells_comes_in_the_same_run(repo, tmp_path):
    """A path leading out of the repository through a symlink, with a bad deploy: beside it."""
    import os

    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, repo.root / "models")
    repo.write(
        "edgegate.yml",
        "version: 1\nmodels:\n  - {name: a, path: models/a.tflite, deploy: nope}\n",
    )
    repo.commit()
    with pytest.raises(PolicyError) as e:
        select(CheckOptions(repo=repo.root, all_models=True), GitRepo(repo.root))
    deploy, path = e.value.problems
    assert deploy.startswith("edgegate.yml:3: models[0].deploy: 'nope' is neither")
    assert path.startswith(
        f"edgegate.yml:3: models[0].path: 'models/a.tflite' resolves to {outside.resolve()}"
    )
