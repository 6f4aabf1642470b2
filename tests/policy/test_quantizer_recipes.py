"""The LiteRT Quantizer's recipes in the policy: which engine a name runs on, its options, and what
a .tflite source can take (each problem said at its line)."""

from __future__ import annotations

import pytest

from edgegate.errors import PolicyError
from edgegate.policy.load import load_policy
from edgegate.policy.sections import Recipe


def test_a_name_both_engines_make_is_the_converters_unless_the_recipe_asks():
    plain = Recipe(recipe="int8")
    assert (plain.conversion, plain.transforms, plain.made_by) == ("int8", (), "int8")
    quantizer = Recipe(recipe="int8", engine="litert-quantizer")
    assert (quantizer.conversion, quantizer.transforms, quantizer.made_by) == ("float32", ("int8",), "int8")
    only = Recipe(recipe="weight_int4", block_size=64)  # a name only the quantizer makes
    assert (only.conversion, only.transforms) == ("float32", ("weight_int4",))
    with pytest.raises(
        ValueError, match="unknown recipe 'weight_int4' .* on the tensorflow-converter engine"
    ):
        Recipe(recipe="weight_int4", engine="tensorflow-converter")
    with pytest.raises(ValueError, match="block_size is an option of weight_int4, dynamic_int4"):
        Recipe(recipe="int8", engine="litert-quantizer", block_size=32)
    with pytest.raises(ValueError, match="takes a float model"):
        Recipe(recipe="qat+int8", engine="litert-quantizer")


def test_a_tflite_source_takes_its_written_recipes_on_the_quantizer_and_none_by_default(tmp_path):
    (tmp_path / "p.yml").write_text(
        "version: 1\nmodels:\n"
        "  - {name: a, path: a.tflite, recipes: [int8, {recipe: dynamic_int4, block_size: 128}]}\n"
        "  - {name: b, path: b.tflite}\n"
    )
    a, b = load_policy(tmp_path / "p.yml", root=tmp_path).models
    assert [(r.recipe, r.engine, r.transforms) for r in a.recipes_for_tflite()] == [
        ("int8", "litert-quantizer", ("int8",)),
        ("dynamic_int4", "litert-quantizer", ("dynamic_int4",)),
    ]
    assert b.recipes_for_tflite() == ()  # the defaults are conversions: measured as it is


def test_what_a_tflite_cannot_take_and_unused_options_are_policy_errors_at_their_lines(tmp_path):
    (tmp_path / "p.yml").write_text(
        "version: 1\n"
        "models:\n"
        "  - name: a\n"
        "    path: a.tflite\n"
        "    recipes:\n"
        "      - prune+int8\n"
        "      - {recipe: dynamic, engine: tensorflow-converter}\n"
        "  - name: k\n"
        "    path: k.keras\n"
        "    recipes:\n"
        "      - {recipe: int8, keep_float: [conv_1]}\n"
        "      - {recipe: float16, keep_float: [conv_1]}\n"
    )
    with pytest.raises(PolicyError) as raised:
        load_policy(tmp_path / "p.yml", root=tmp_path)
    assert raised.value.problems == [
        "p.yml:6: models[0].recipes[0]: recipe 'prune+int8': training stages fine-tune a Keras model, not a .tflite",
        "p.yml:7: models[0].recipes[1]: recipe 'dynamic': a .tflite is not converted; the tensorflow-converter "
        "engine takes .keras, .h5 and SavedModel sources",
        # int8 keeps layers float on the converter too (its QuantizationDebugger denylist); float16 does not.
        "p.yml:12: models[1].recipes[1].keep_float: recipe 'float16': keep_float applies to int8 on the "
        "tensorflow-converter (the layers float16 keeps float are its own), or to a recipe on the LiteRT "
        "Quantizer (engine: litert-quantizer)",
    ]


def test_defaults_recipes_a_tflite_cannot_take_are_left_out_and_said(tmp_path):
    """`defaults: recipes` written for Keras models (training) do not make a .tflite's policy invalid."""
    (tmp_path / "p.yml").write_text(
        "version: 1\ndefaults:\n  recipes: [prune+int8, dynamic]\n"
        "models:\n  - {name: k, path: k.keras}\n  - {name: t, path: t.tflite}\n"
    )
    k, t = load_policy(tmp_path / "p.yml", root=tmp_path).models
    assert [r.recipe for r in k.recipes] == ["prune+int8", "dynamic"]
    assert [(r.recipe, r.transforms) for r in t.recipes_for_tflite()] == [("dynamic", ("dynamic",))]
    assert t.recipes_not_for_tflite() == (
        "defaults.recipes: recipe 'prune+int8': training stages fine-tune a Keras model, not a .tflite: "
        "not built for this .tflite",
    )
