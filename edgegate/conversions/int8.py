"""``int8``: full integer, int8 weights and activations, I/O as the recipe's ``int8.io`` says."""

from __future__ import annotations

from edgegate.conversions.interface import AutoStep, Conversion, Produces

_IO = {"int8": "int8", "uint8": "uint8", "int16": "int16", "float32": "float32"}


class Int8(Conversion):
    name = "int8"
    produces = Produces(weights=frozenset(("int8",)), activations=frozenset(("int8",)))
    needs_calibration = True
    duration_rank = 1  # calibration
    auto = AutoStep.PTQ
    keeps_float = "TensorFlow converter, QuantizationDebugger denylisted_nodes"

    def configure(self, converter, tf, recipe, representative, after_qat):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if not after_qat:
            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        # After QAT the fake-quant ranges are in the graph: restricting the op set would make the
        # converter ask for a representative dataset it does not need.
        io = recipe.qat.io if after_qat else recipe.int8.io
        if io != "float32":
            converter.inference_input_type = getattr(tf, _IO[io])
            converter.inference_output_type = getattr(tf, _IO[io])
        if not recipe.int8.per_channel:
            converter._experimental_disable_per_channel = True
