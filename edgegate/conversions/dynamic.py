"""``dynamic``: dynamic-range quantization, int8 weights and float activations.

Weights under 1024 elements stay float, so its weights are int8 and float32.
"""

from __future__ import annotations

from edgegate.conversions.interface import AutoStep, Conversion, Produces


class Dynamic(Conversion):
    name = "dynamic"
    produces = Produces(weights=frozenset(("int8", "float32")), activations=frozenset(("float32",)))
    auto = AutoStep.PTQ

    def configure(self, converter, tf, recipe, representative, after_qat):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
