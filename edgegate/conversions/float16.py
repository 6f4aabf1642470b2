"""``float16``: float16 weights, dequantized at load; every op computes in float32."""

from __future__ import annotations

from edgegate.conversions.interface import AutoStep, Conversion, Produces


class Float16(Conversion):
    name = "float16"
    produces = Produces(weights=frozenset(("float16",)), activations=frozenset(("float32",)))
    auto = AutoStep.PTQ

    def configure(self, converter, tf, recipe, representative, after_qat):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
