"""``int16x8``: 16-bit activations, 8-bit weights: more accurate than int8, no optimized CPU kernels."""

from __future__ import annotations

from edgegate.conversions.interface import AutoStep, Conversion, Produces


class Int16x8(Conversion):
    name = "int16x8"
    produces = Produces(weights=frozenset(("int8",)), activations=frozenset(("int16",)))
    needs_calibration = True
    duration_rank = 2  # calibration, then TensorFlow's older quantizer (the MLIR one has no int16)
    auto = AutoStep.MORE_ACCURATE

    def configure(self, converter, tf, recipe, representative, after_qat):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        if recipe.int16x8.io == "int16":
            converter.inference_input_type = tf.int16
            converter.inference_output_type = tf.int16
