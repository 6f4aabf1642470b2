"""The five LiteRT conversions a recipe can end with (worker-only: imports TensorFlow).

Each ``Conversion`` configures a ``tf.lite.TFLiteConverter`` the way LiteRT's
post-training quantization guide describes. ``make_converter`` builds the converter for a
Keras model (batch fixed to 1: what ships on device, and what the Edge TPU requires) or
a SavedModel's serving signature.
"""

from __future__ import annotations

import abc
from typing import Callable, Iterable

import numpy as np

from edgegate.policy.sections import Recipe

Representative = Callable[[], Iterable[list[np.ndarray]]]


class Conversion(abc.ABC):
    name: str
    needs_calibration: bool = False

    @abc.abstractmethod
    def configure(
        self, converter, recipe: Recipe, representative: Representative | None, after_qat: bool
    ) -> None:
        """Set the converter's options for this conversion."""


class Float32(Conversion):
    name = "float32"

    def configure(self, converter, recipe, representative, after_qat):
        pass


class Float16(Conversion):
    name = "float16"

    def configure(self, converter, recipe, representative, after_qat):
        import tensorflow as tf

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]


class Dynamic(Conversion):
    """Dynamic-range: int8 weights, float activations. Weights under 1024 elements stay float."""

    name = "dynamic"

    def configure(self, converter, recipe, representative, after_qat):
        import tensorflow as tf

        converter.optimizations = [tf.lite.Optimize.DEFAULT]


_IO = {"int8": "int8", "uint8": "uint8", "int16": "int16", "float32": "float32"}


class Int8(Conversion):
    """Full integer: int8 weights and activations, I/O as the recipe says."""

    name = "int8"
    needs_calibration = True

    def configure(self, converter, recipe, representative, after_qat):
        import tensorflow as tf

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


class Int16x8(Conversion):
    """16-bit activations, 8-bit weights: more accurate than int8, no optimized CPU kernels."""

    name = "int16x8"
    needs_calibration = True

    def configure(self, converter, recipe, representative, after_qat):
        import tensorflow as tf

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        if recipe.int16x8.io == "int16":
            converter.inference_input_type = tf.int16
            converter.inference_output_type = tf.int16


CONVERSIONS: dict[str, Conversion] = {c.name: c for c in (Float32(), Float16(), Dynamic(), Int8(), Int16x8())}


def keras_input_specs(model) -> list:
    """Input specs of a Keras model with the batch dimension fixed to 1."""
    import tensorflow as tf

    specs = []
    for t in model.inputs:
        shape = list(t.shape)
        if shape and shape[0] is None:
            shape[0] = 1
        specs.append(tf.TensorSpec(shape, t.dtype, name=getattr(t, "name", None)))
    return specs


def make_converter(*, keras_model=None, saved_model_dir: str | None = None, signature: str | None = None):
    """A converter for a Keras model (batch 1) or a SavedModel signature."""
    import tensorflow as tf

    if keras_model is not None:
        specs = keras_input_specs(keras_model)
        fn = tf.function(lambda *xs: keras_model(list(xs) if len(xs) > 1 else xs[0], training=False))
        concrete = fn.get_concrete_function(*specs)
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete], keras_model)
    return tf.lite.TFLiteConverter.from_saved_model(
        saved_model_dir, signature_keys=[signature] if signature else None
    )


def convert(
    converter,
    conversion: Conversion,
    recipe: Recipe,
    representative: Representative | None,
    *,
    after_qat: bool = False,
) -> bytes:
    conversion.configure(converter, recipe, representative, after_qat)
    return converter.convert()
