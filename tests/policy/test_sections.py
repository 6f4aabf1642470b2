"""The policy's frozen sections: where each was written, light to import, safe to pickle and hash."""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edgegate.errors import PolicyError
from edgegate.policy import convert, schema
from edgegate.policy.load import (
    load_policy,
    parse_calibration,
    parse_dataset,
    parse_edgetpu,
    parse_metric,
    parse_recipe,
    parse_training,
)
from edgegate.policy.sections import (
    Calibration,
    ClusterOptions,
    Dataset,
    EdgeTpuSettings,
    Eval,
    Int8Options,
    Int16x8Options,
    LatencySettings,
    Metric,
    PruneOptions,
    QatOptions,
    Recipe,
    Training,
    settings_of,
)
from edgegate.recipes.interface import training_key

ROOT = Path(__file__).resolve().parents[2]

POLICY = """\
version: 1
defaults:
  eval:
    data: data/eval.npz
    metric: top5
  training:
    data: {path: data/train.npz}
    epochs: 3
  latency: {runs: 5}
models:
  - name: a
    path: a.keras
    eval:
      data:
        x: data/x.npy
        y: data/y.npy
    edgetpu: {level: warn, min_mapped: 90%}
  - name: b
    path: b.keras
"""


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "edgegate.yml"
    path.write_text(POLICY)
    return load_policy(path, root=tmp_path)


def test_own_sections_carry_the_models_key_and_line(policy):
    a = policy.models[0]
    assert (a.key, a.line, a.path_line) == ("models[0]", 11, 12)
    assert (a.eval.key, a.eval.line) == ("models[0].eval", 13)
    assert (a.eval.data.key, a.eval.data.line, a.eval.data.x) == ("models[0].eval.data", 14, "data/x.npy")
    # A section the model writes replaces the defaults' one whole: top5 is not merged in.
    assert a.eval.metric == Metric(name="top1")
    assert (a.edgetpu.key, a.edgetpu.line, a.edgetpu.level) == ("models[0].edgetpu", 17, "warn")
    assert (a.edgetpu.min_mapped, a.edgetpu.min_mapped_written) == (0.9, "90%")


def test_inherited_sections_carry_the_defaults_key_and_line(policy):
    a, b = policy.models
    assert (b.key, b.line, b.path_line) == ("models[1]", 18, 19)
    assert (b.eval.key, b.eval.line, b.eval.metric) == ("defaults.eval", 3, Metric(name="topk", k=5))
    assert (b.eval.data.key, b.eval.data.line, b.eval.data.path) == ("defaults.eval.data", 4, "data/eval.npz")
    for m in (a, b):
        assert (m.training.key, m.training.line, m.training.epochs) == ("defaults.training", 6, 3)
        assert (m.training.data.key, m.training.data.line) == ("defaults.training.data", 7)
        assert (m.latency.key, m.latency.line, m.latency.runs) == ("defaults.latency", 9, 5)
        assert m.calibration is None
    # Written nowhere: the schema's defaults, placed under defaults: without a line.
    assert b.edgetpu == EdgeTpuSettings(key="defaults.edgetpu")
    assert b.edgetpu.line is None and b.edgetpu.min_mapped is None


def test_sections_import_without_pydantic_or_yaml():
    code = (
        "import sys, edgegate.policy.sections\n"
        "print(sorted(m for m in ('pydantic', 'yaml') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_recipe_round_trips_through_pickle_and_is_hashable():
    recipe = parse_recipe({"recipe": "prune + int8", "name": "p70", "prune": {"sparsity": 0.7}})
    copy = pickle.loads(pickle.dumps(recipe))
    assert copy == recipe and hash(copy) == hash(recipe) and copy is not recipe
    assert copy.prune.sparsity == 0.7 and copy.label == "p70" and copy.recipe == "prune+int8"
    assert {recipe: 1}[copy] == 1
    assert recipe != parse_recipe({"recipe": "prune+int8", "name": "p70"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.name = "other"  # type: ignore[misc]


def test_a_loaded_policy_round_trips_through_pickle(policy):
    copy = pickle.loads(pickle.dumps(policy))
    assert copy == policy
    assert hash(copy.models[1].eval.data) == hash(policy.models[1].eval.data)


@pytest.mark.parametrize(
    "text, trainings, conversion",
    [
        ("int8", (), "int8"),
        ("float32", (), "float32"),
        ("prune", ("prune",), "float32"),
        ("qat", ("qat",), "int8"),
        ("prune+cluster+qat+int8", ("prune", "cluster", "qat"), "int8"),
        ("cluster+int16x8", ("cluster",), "int16x8"),
    ],
)
def test_recipe_stages(text, trainings, conversion):
    recipe = Recipe(recipe=text)
    assert (recipe.trainings, recipe.conversion) == (trainings, conversion)


def test_a_recipe_made_in_code_obeys_the_policy_grammar():
    with pytest.raises(ValueError, match="unknown recipe 'int9'"):
        Recipe(recipe="int9")
    with pytest.raises(ValueError, match="only '\\+int8' may follow it"):
        Recipe(recipe="qat+float16")
    with pytest.raises(ValueError, match="without spaces"):
        Recipe(recipe="prune + int8")


def test_parse_helpers_report_the_key_and_the_schemas_message():
    with pytest.raises(PolicyError) as e:
        parse_recipe("int9")
    assert e.value.problems[0].startswith("recipe: unknown recipe 'int9' in 'int9'; recipes are built from")
    with pytest.raises(PolicyError) as e:
        parse_edgetpu({"runtime": 9, "colour": "x"})
    assert e.value.problems == [
        "runtime: Input should be greater than or equal to 10",
        "colour: unknown key (see docs/policy.md for the keys this section takes)",
    ]
    with pytest.raises(PolicyError) as e:
        parse_dataset({"x": "x.npy", "hook": "m:f"}, key="models[0].eval.data")
    assert e.value.problems == ["(top level): give exactly one of path, x (+y), images or hook (got x, hook)"]


def test_explicit_y_key_is_remembered():
    assert not parse_dataset("d.npz", key="k").y_key_written
    assert parse_dataset({"path": "d.npz", "y_key": "labels"}, key="k").y_key_written


# Fields a section adds to what the schema declares: where it was written, and values derived at load.
DERIVED = {
    "key",
    "line",
    "key_lines",
    "min_mapped_written",
    "y_key_written",
    "keep_float_key",
    "keep_float_lines",
}


@pytest.mark.parametrize(
    "spec, section, made, given",
    [
        (schema.Int8Options, Int8Options, parse_recipe("int8").int8, ()),
        (schema.Int16x8Options, Int16x8Options, parse_recipe("int8").int16x8, ()),
        (schema.PruneOptions, PruneOptions, parse_recipe("int8").prune, ()),
        (schema.ClusterOptions, ClusterOptions, parse_recipe("int8").cluster, ()),
        (schema.QatOptions, QatOptions, parse_recipe("int8").qat, ()),
        (schema.RecipeSpec, Recipe, parse_recipe("int8"), ()),
        (schema.MetricSpec, Metric, parse_metric({}), ()),
        (schema.DatasetSpec, Dataset, parse_dataset("d.npz", key="k"), ("path",)),
        (
            schema.EvalSpec,
            Eval,
            convert.evaluation(schema.EvalSpec(data="d.npz"), key="k", line=None, data_line=None),
            (),
        ),
        (schema.CalibrationSpec, Calibration, parse_calibration({"data": "d.npz"}, key="k"), ()),
        (schema.TrainingSpec, Training, parse_training(key="k"), ()),
        (schema.EdgeTpuSpec, EdgeTpuSettings, parse_edgetpu(key="k"), ()),
        (schema.LatencySpec, LatencySettings, convert.latency(schema.LatencySpec(), key="k", line=None), ()),
    ],
)
def test_sections_declare_the_schemas_fields_and_defaults(spec, section, made, given):
    names = {f.name for f in dataclasses.fields(section)}
    assert names - DERIVED == set(spec.model_fields)
    # The schema's defaults and the section's own agree: code that builds a section by hand
    # (the auto search, the float reference) gets what an unwritten key gives in a policy.
    written = {
        f.name: getattr(made, f.name)
        for f in dataclasses.fields(section)
        if f.name in given or (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    }
    assert section(**written) == made


def test_cache_keys_ignore_where_a_section_was_written_and_agree_across_processes(policy):
    a, b = policy.models
    inherited = b.training
    own = dataclasses.replace(inherited, key="models[1].training", line=30)
    assert settings_of(own) == settings_of(inherited) and own != inherited
    recipe = parse_recipe({"recipe": "prune+cluster+int8", "cluster": {"clusters": 8}})
    here = repr((settings_of(inherited), training_key(recipe)))
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from edgegate.policy.load import load_policy, parse_recipe
        from edgegate.policy.sections import settings_of
        from edgegate.recipes.interface import training_key

        b = load_policy(Path({str(policy.path)!r}), root=Path({str(policy.root)!r})).models[1]
        recipe = parse_recipe({{"recipe": "prune+cluster+int8", "cluster": {{"clusters": 8}}}})
        print(repr((settings_of(b.training), training_key(recipe))))
        """
    )
    for seed in ("1", "2"):  # str hashing differs per process unless seeded alike
        env = {**os.environ, "PYTHONHASHSEED": seed}
        there = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        assert there == here
