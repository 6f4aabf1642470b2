"""LiteRT Quantizer (``litert-quantizer``): a float ``.tflite`` → a quantized one, no TensorFlow.

One transform per recipe of docs/quantizer.md's table. ``dynamic``, ``int8``, ``int16x8`` and
``float16`` share the converter's names and declare what the converter's conversions of those
names produce; ``weight_int8``, ``weight_int4`` and ``dynamic_int4`` only the quantizer makes. The
worker's engine (``recipes/transform_engines.py``) reads the recipe's ``keep_float`` and
``block_size`` and runs the quantizer in its isolated child (``recipes/litert_quantize.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgegate.conversions.interface import Install, Produces
from edgegate.transforms.interface import Applied, TfliteTransform

ENGINE = "litert-quantizer"
QUANTIZER = Install("quantizer")


def _produces(weights: tuple[str, ...], activations: tuple[str, ...]) -> Produces:
    return Produces(weights=frozenset(weights), activations=frozenset(activations))


class LiteRtQuantizer(TfliteTransform):
    engine = ENGINE
    install = QUANTIZER
    # Its recipe's keep_float: one no-quantize rule per pattern, after the recipe's rule (later rules win).
    keeps_float = "LiteRT Quantizer, a no-quantize rule per layer"

    def __init__(self, name: str, produces: Produces, *, calibrates: bool = False, int4: bool = False):
        self.name = name
        self.produces = produces
        self.needs_calibration = calibrates
        self.duration_rank = 1 if calibrates else 0
        self.takes_block_size = int4  # type: ignore[misc]  # a declaration per instance here

    def takes(self, model: Produces | None) -> str | None:
        if model is not None and (model.quantized_weights or not model.activations <= {"float32"}):
            return "takes a float model (float32 weights and activations)"
        return None

    def apply(self, engine: Any, model: Path, out: Path, recipe: Any) -> Applied:
        applied: Applied = engine.quantize(model, out, self.name, recipe)
        return applied


LITERT_QUANTIZER = (
    LiteRtQuantizer("dynamic", _produces(("int8", "float32"), ("float32",))),
    LiteRtQuantizer("weight_int8", _produces(("int8", "float32"), ("float32",))),
    LiteRtQuantizer("int8", _produces(("int8",), ("int8",)), calibrates=True),
    LiteRtQuantizer("int16x8", _produces(("int8",), ("int16",)), calibrates=True),
    LiteRtQuantizer("weight_int4", _produces(("int4", "float32"), ("float32",)), int4=True),
    LiteRtQuantizer("dynamic_int4", _produces(("int4", "float32"), ("float32",)), int4=True),
    LiteRtQuantizer("float16", _produces(("float16",), ("float32",))),
)
