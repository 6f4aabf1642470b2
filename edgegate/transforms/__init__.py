"""The ``.tflite → .tflite`` transforms (``interface.py``): one module each, one line each here.

The LiteRT Quantizer (a float ``.tflite`` and calibration samples in, a quantized ``.tflite``
out) registers one transform per recipe. ``transform_named`` is how the build and the policy
find one, by its stage name.
"""

from __future__ import annotations

from edgegate.transforms.interface import TfliteTransform
from edgegate.transforms.litert_quantizer import LITERT_QUANTIZER

_REGISTERED: tuple[TfliteTransform, ...] = (*LITERT_QUANTIZER,)
TRANSFORMS: dict[str, TfliteTransform] = {t.name: t for t in _REGISTERED}


def transform_named(name: str) -> TfliteTransform:
    """The transform called ``name``; ``KeyError`` for a name not registered."""
    return TRANSFORMS[name]


def engines() -> tuple[str, ...]:
    """The engines the registered transforms run on, in registry order."""
    return tuple(dict.fromkeys(t.engine for t in TRANSFORMS.values()))
