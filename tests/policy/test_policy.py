"""Policy loading: every problem reported as file:line: key: message, defaults resolved."""

import json
import textwrap
from pathlib import Path

import pytest

from edgegate.errors import PolicyError
from edgegate.policy.load import load_policy
from edgegate.policy.jsonschema import SCHEMA_FILE, policy_json_schema

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text):
    p = tmp_path / "edgegate.yml"
    p.write_text(textwrap.dedent(text))
    return p


def problems(tmp_path, text):
    with pytest.raises(PolicyError) as e:
        load_policy(write(tmp_path, text), root=tmp_path)
    return e.value.problems


def test_repository_policy_loads_with_every_budget_kind():
    policy = load_policy(ROOT / "edgegate.yml", root=ROOT)
    (m,) = policy.models
    kinds = {(b.metric, b.against) for b in m.budgets}
    assert kinds == {
        ("size", "absolute"),
        ("gzip_size", "absolute"),
        ("latency", "absolute"),
        ("accuracy", "absolute"),
        ("accuracy", "float"),
        ("size", "base"),
        ("latency", "base"),
        ("accuracy", "base"),
    }
    assert {r.recipe for r in m.recipes} == {"float16", "dynamic", "int8", "int16x8"}
    size = next(b for b in m.budgets if b.metric == "size" and b.against == "absolute")
    assert size.value == 80_000 and size.line == 27 and size.key == "models[0].budgets.size"


def test_every_problem_listed_with_line_and_key(tmp_path):
    found = problems(
        tmp_path,
        """\
        version: 1
        models:
          - name: a
            path: m.keras
            recipes: [int9]
            budgets:
              size: 12 KBB
              latency: {max: 2ms, levl: warn}
          - name: b
    """,
    )
    assert found == [
        "edgegate.yml:5: models[0].recipes[0]: unknown recipe 'int9' in 'int9'; recipes are built from float32, "
        "float16, dynamic, int8, int16x8, prune, cluster, qat, weight_int8, weight_int4, dynamic_int4 joined by '+' (e.g. prune+int8)",
        "edgegate.yml:7: models[0].budgets.size: unknown size unit 'KBB' in '12 KBB'; use B, KB, MB, GB, KiB, "
        "MiB or GiB",
        "edgegate.yml:8: models[0].budgets.latency[0].levl: unknown key (see docs/policy.md for the keys this "
        "section takes)",
        "edgegate.yml:9: models[1]: missing required key 'path'",
    ]


def test_paths_must_stay_inside_the_repository(tmp_path):
    found = problems(
        tmp_path,
        """\
        version: 1
        models:
          - name: a
            path: ../outside.tflite
            eval: {data: /etc/passwd.npz}
    """,
    )
    assert "edgegate.yml:4: models[0].path: '../outside.tflite' points outside the repository" in found[0]
    assert found[1].startswith("edgegate.yml:5: models[0].eval.data: '/etc/passwd.npz' points outside")


def test_deploy_must_name_a_recipe(tmp_path):
    found = problems(
        tmp_path,
        """\
        version: 1
        models:
          - {name: a, path: a.keras, recipes: [int8], deploy: fp16}
    """,
    )
    assert "models[0].deploy: 'fp16' is neither a recipe of this model (int8) nor one of best" in found[0]


def test_recipe_grammar(tmp_path):
    found = problems(
        tmp_path,
        """\
        version: 1
        models:
          - {name: a, path: a.keras, recipes: [int8+prune, qat+float16, prune+prune]}
    """,
    )
    assert "a recipe has at most one conversion" in found[0]
    assert "qat produces a full-integer model" in found[1]
    assert "training stages go in the order prune, cluster, qat, each once" in found[2]


def test_defaults_inherited_and_overridden(tmp_path):
    policy = load_policy(
        write(
            tmp_path,
            """\
        version: 1
        defaults:
          recipes: [int8]
          budgets: {size: 1 MiB, vs_base: {size: 10 KB}}
        models:
          - {name: a, path: a.keras}
          - {name: b, path: b.keras, recipes: [float16, int8], budgets: {size: 2 MB}}
    """,
        ),
        root=tmp_path,
    )
    a, b = policy.models
    assert [r.label for r in a.recipes] == ["int8"] and a.deploy == "int8"
    assert [(x.metric, x.against, x.value or x.change.amount, x.key) for x in a.budgets] == [
        ("size", "absolute", 1024**2, "defaults.budgets.size"),
        ("size", "base", 10_000, "defaults.budgets.vs_base.size"),
    ]
    assert b.deploy == "smallest"
    assert [(x.metric, x.value, x.key) for x in b.budgets if x.against == "absolute"] == [
        ("size", 2_000_000, "models[1].budgets.size")
    ]


def test_yaml_syntax_error_has_a_line(tmp_path):
    found = problems(tmp_path, "version: 1\nmodels:\n  - name: [a\n")
    assert found[0].startswith("edgegate.yml:4: yaml:")


def test_missing_policy_says_how_to_start(tmp_path):
    with pytest.raises(PolicyError, match="run `edgegate init`"):
        load_policy(tmp_path / "edgegate.yml", root=tmp_path)


def test_shipped_json_schema_is_current():
    assert SCHEMA_FILE.read_text() == policy_json_schema(), "run: python -m edgegate.policy.jsonschema"
    assert "models" in json.loads(SCHEMA_FILE.read_text())["properties"]


KEEP_FLOAT_HEAD = "version: 1\nmodels:\n  - name: m\n    path: m.h5\n    recipes:\n"


def test_keep_float_patterns_carry_their_lines_and_are_refused_where_nothing_keeps_layers_float(tmp_path):
    found = problems(
        tmp_path,
        KEEP_FLOAT_HEAD
        + "      - {recipe: int8, keep_float: [dense_1, 'conv_(2|3)']}\n"
        + "      - {recipe: float16, keep_float: [dense_1]}\n",
    )
    assert len(found) == 1 and found[0].startswith("edgegate.yml:7: models[0].recipes[1].keep_float:")
    assert "recipe 'float16': keep_float applies to int8" in found[0]
    # qat is refused by the recipe's own grammar (no engine keeps a trained model's layers float).
    found = problems(tmp_path, KEEP_FLOAT_HEAD + "      - {recipe: qat, name: q, keep_float: [dense_1]}\n")
    assert len(found) == 1 and found[0].startswith("edgegate.yml:6:") and "after qat" in found[0]
    found = problems(
        tmp_path,
        KEEP_FLOAT_HEAD
        + "      - {recipe: int8, keep_float: ['conv_(']}\n    keep_float_search: {max_layers: -1}\n",
    )
    assert found[0].startswith("edgegate.yml:6:") and "'conv_(' is not a regular expression" in found[0]
    assert found[1].startswith("edgegate.yml:7: models[0].keep_float_search.max_layers:")
    (tmp_path / "m.h5").write_bytes(b"")
    text = (
        KEEP_FLOAT_HEAD
        + "      - recipe: prune+int8\n        keep_float:\n          - dense_1\n          - CONV_2D\n"
    )
    policy = load_policy(write(tmp_path, text), root=tmp_path)
    (recipe,) = policy.models[0].recipes
    assert [(k.pattern, k.line, k.is_op_name) for k in recipe.keep_float_at] == [
        ("dense_1", 8, False),
        ("CONV_2D", 9, True),
    ]
    search = policy.models[0].keep_float_search
    assert (search.max_layers, search.ships(auto=True), search.ships(auto=False)) == (4, True, False)
