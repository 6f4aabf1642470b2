"""The engines ``.tflite → .tflite`` transforms run on, worker-side: one object per build.

A transform (``edgegate/transforms/``) declares its ``engine`` by name and gets this side's object
for it injected into ``apply`` (as a conversion gets a converter): the transforms stay declarations
below the layers that read calibration data and start child processes, and the engine sits here,
with them. ``ENGINES``: one line per engine.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgegate.distribution import install_command
from edgegate.errors import InputError
from edgegate.policy.sections import Recipe
from edgegate.recipes.interface import BuildRequest
from edgegate.transforms.interface import Applied


class LiteRtQuantizerEngine:
    """The LiteRT Quantizer in its isolated child (``litert_quantize.quantize``), calibrated on the
    build's calibration data matched to the model's inputs (the samples also give the per-layer SNR)."""

    def __init__(self, request: BuildRequest):
        self.request = request

    def quantize(self, model: Path, out: Path, name: str, recipe: Recipe) -> Applied:
        from edgegate.recipes.litert_quantize import quantize, stands_out

        if importlib.util.find_spec("litert_quantizer") is None:  # the child runs this interpreter
            raise InputError(
                f"{recipe.label} runs on the LiteRT Quantizer, which is not installed in this environment: "
                f"{install_command('quantizer')} (edgegate needs says so before a run)"
            )
        from edgegate.recipes.quantizer_recipes import RECIPES, with_granularity

        chosen = RECIPES[name]
        if recipe.block_size is not None:
            chosen = with_granularity(chosen, recipe.block_size)
        samples, notes = self._samples(model, recipe, chosen.needs_calibration)
        result = quantize(
            model,
            chosen,
            keep_float=recipe.keep_float_at,
            samples=samples,
            keep_float_key=recipe.keep_float_key,
        )
        out.write_bytes(result.data)
        if result.unpacked_float16:
            notes.append(
                f"{result.unpacked_float16} float16 weights (each behind a DEQUANTIZE) were unpacked to "
                "float32 before quantizing"
            )
        notes.append(f"LiteRT Quantizer {name}: {result.quantized_weights} weight tensors quantized")
        return Applied(tuple(notes), result.layers, stands_out(result.layers))

    def _samples(self, model: Path, recipe: Recipe, needed: bool) -> tuple[Any, list[str]]:
        from edgegate.recipes.litert_quantize import calibration_samples

        calibration = self.request.calibration
        if calibration is None:
            if needed:
                raise InputError(
                    f"{recipe.label} needs calibration data: add `calibration:` (or `eval:`, used as a "
                    f"fallback) to model {self.request.model_name!r} in the policy"
                )
            return None, ["per-layer evidence not computed: the policy gives no calibration or eval data"]
        try:
            made = calibration_samples(calibration, self.request.root, model)
        except InputError as e:
            if needed:
                raise
            return None, [f"per-layer evidence not computed: {e}"]
        return made.samples, [made.note] if made.note else []


ENGINES: dict[str, Callable[[BuildRequest], Any]] = {
    "litert-quantizer": LiteRtQuantizerEngine,
}
