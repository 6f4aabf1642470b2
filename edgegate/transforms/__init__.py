"""The ``.tflite → .tflite`` transforms (``interface.py``): one module each, one line each here.

None is registered yet: the first is Google's LiteRT Quantizer (a float ``.tflite`` and
calibration samples in, a quantized ``.tflite`` out). ``transform_named`` is how the build
and the policy find one, by its stage name.
"""

from __future__ import annotations

from edgegate.transforms.interface import TfliteTransform

_REGISTERED: tuple[TfliteTransform, ...] = (
    # LiteRT Quantizer: the next one here.
)
TRANSFORMS: dict[str, TfliteTransform] = {t.name: t for t in _REGISTERED}


def transform_named(name: str) -> TfliteTransform:
    """The transform called ``name``; ``KeyError`` for a name not registered."""
    return TRANSFORMS[name]
