"""The LiteRT Quantizer's recipes as data: one row per EdgeGate recipe name (parent-side, pure).

``litert-quantizer`` (formerly ``ai-edge-quantizer``) quantizes a float ``.tflite`` directly,
without TensorFlow. Its recipe is a list of rules, each a regex over an op's output tensor
names (``re.search``), an op name (``*`` for every supported op), an algorithm and an op
config; later rules win, and an op no rule matches stays float. So keeping layers float is
one more rule per pattern, with the ``no_quantize`` algorithm, after the recipe's own.

The table is the user's mental model (docs/quantizer.md):

| recipe         | weights            | activations      | size       |
|----------------|--------------------|------------------|------------|
| ``dynamic``    | int8 per channel   | float (int8 on the fly) | −75 % |
| ``weight_int8``| int8 per channel   | float            | −75 %      |
| ``int8``       | int8 per channel   | int8 (calibrated)| −75 %      |
| ``int16x8``    | int8 per channel   | int16 (calibrated)| −75 %     |
| ``weight_int4``| int4 (blocks or channel) | float      | −87 %      |
| ``dynamic_int4``| int4 (blocks or channel) | float (on the fly) | −87 % |
| ``float16``    | float16            | float            | −50 %      |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edgegate.policy.sections import KeepFloat  # the recipe option, as the policy holds it

Mode = Literal["dynamic", "weight_only", "static", "float_cast"]
Granularity = Literal["channel", 32, 64, 128]

ALGORITHM = "min_max_uniform_quantize"
FLOAT_CASTING = "float_casting"
NO_QUANTIZE = "no_quantize"
ALL_OPS = "*"

# A rule as the quantizer reads it (its recipe JSON): the boundary to the child process.
Rule = dict[str, object]


@dataclass(frozen=True)
class QuantizerRecipe:
    name: str
    mode: Mode
    weight_bits: int
    activation_bits: int | None = None  # static recipes only
    granularity: Granularity = "channel"
    size_down: str = "75 %"  # what the docs' table promises, as a user reads it

    @property
    def needs_calibration(self) -> bool:
        return self.mode == "static"

    @property
    def integer_only(self) -> bool:
        return self.mode == "static"


RECIPES: dict[str, QuantizerRecipe] = {
    r.name: r
    for r in (
        QuantizerRecipe("dynamic", "dynamic", 8),
        QuantizerRecipe("weight_int8", "weight_only", 8),
        QuantizerRecipe("int8", "static", 8, activation_bits=8),
        QuantizerRecipe("int16x8", "static", 8, activation_bits=16),
        QuantizerRecipe("weight_int4", "weight_only", 4, size_down="87 %"),
        QuantizerRecipe("dynamic_int4", "dynamic", 4, size_down="87 %"),
        QuantizerRecipe("float16", "float_cast", 16, size_down="50 %"),
    )
}
INT4_GRANULARITIES: tuple[Granularity, ...] = ("channel", 32, 64, 128)


def with_granularity(recipe: QuantizerRecipe, granularity: Granularity) -> QuantizerRecipe:
    """An int4 recipe with its blocks (32/64/128 weights) or per-channel scales."""
    if recipe.weight_bits != 4:
        raise ValueError(f"{recipe.name}: only int4 recipes take a block size")
    if granularity not in INT4_GRANULARITIES:
        raise ValueError(f"{recipe.name}: block size {granularity!r} is not one of 32, 64, 128 or channel")
    return QuantizerRecipe(
        recipe.name, recipe.mode, recipe.weight_bits, recipe.activation_bits, granularity, recipe.size_down
    )


def _granularity(g: Granularity) -> str:
    return "CHANNELWISE" if g == "channel" else f"BLOCKWISE_{g}"


def _op_config(recipe: QuantizerRecipe) -> dict[str, object]:
    if recipe.mode == "float_cast":
        weights = {"num_bits": 16, "dtype": "FLOAT", "granularity": "TENSORWISE", "symmetric": True}
        return {"weight_tensor_config": weights, "compute_precision": "FLOAT", "explicit_dequantize": True}
    weights = {
        "num_bits": recipe.weight_bits,
        "symmetric": True,  # LiteRT's kernels take symmetric weights only
        "granularity": _granularity(recipe.granularity),
        "dtype": "INT",
    }
    config: dict[str, object] = {"weight_tensor_config": weights}
    if recipe.mode == "weight_only":
        config.update(compute_precision="FLOAT", explicit_dequantize=True)
    else:
        config.update(compute_precision="INTEGER", explicit_dequantize=False)
    if recipe.mode == "static":
        bits = recipe.activation_bits
        # int16 activations are symmetric in LiteRT's kernels; int8 ones asymmetric.
        config["activation_tensor_config"] = {
            "num_bits": bits,
            "symmetric": bits == 16,
            "granularity": "TENSORWISE",
            "dtype": "INT",
        }
    return config


def rules(recipe: QuantizerRecipe, keep_float: tuple[KeepFloat, ...] = ()) -> list[Rule]:
    """The quantizer's recipe: the recipe's one rule over every op, then one float rule per
    layer kept float (later rules win)."""
    algorithm = FLOAT_CASTING if recipe.mode == "float_cast" else ALGORITHM
    out: list[Rule] = [
        {"regex": ".*", "operation": ALL_OPS, "algorithm_key": algorithm, "op_config": _op_config(recipe)}
    ]
    for keep in keep_float:
        if keep.is_op_name:
            out.append(
                {"regex": ".*", "operation": keep.pattern, "algorithm_key": NO_QUANTIZE, "op_config": {}}
            )
        else:
            out.append(
                {"regex": keep.pattern, "operation": ALL_OPS, "algorithm_key": NO_QUANTIZE, "op_config": {}}
            )
    return out
