"""Tiny real models for the measurement tests, converted once per session with TFLiteConverter.

The classifier takes (8, 8, 1) images and outputs 3 softmax scores; each quantized variant is
calibrated on the same data, so its outputs stay close to the float model's.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


@dataclass(frozen=True)
class Models:
    keras: object  # the tf_keras classifier the .tflite files come from
    x: np.ndarray  # 64 samples in 0..1, shape (64, 8, 8, 1)
    float32: Path
    int8: Path  # int8 weights per tensor, int8 input/output
    per_channel: Path  # int8 weights per channel, int8 input/output
    uint8_io: Path
    int16x8: Path  # int16 activations, int16 input/output
    fixed_batch: Path  # input [1, 8, 8, 1] with a reshape to [1, 64]: refuses other batch sizes
    two_inputs: Path
    sqrt: Path  # sqrt of a (4,) input: NaN for negative inputs
    regression: Path  # (4,) -> (1,), a linear layer
    fixed_kernel: np.ndarray  # fixed_batch computes softmax(reshape(x, 64) @ fixed_kernel)


def _convert(converter, mode: str, x: np.ndarray) -> bytes:
    import tensorflow as tf

    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[i : i + 1]] for i in range(len(x)))
    if mode in ("int8", "per_channel", "uint8_io"):
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io = tf.uint8 if mode == "uint8_io" else tf.int8
        converter.inference_input_type = converter.inference_output_type = io
        converter._experimental_disable_per_channel = mode == "int8"
    if mode == "int16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        converter.inference_input_type = converter.inference_output_type = tf.int16
    with warnings.catch_warnings():  # TF's own notice for int io without legacy input statistics
        warnings.filterwarnings("ignore", "Statistics for quantized inputs")
        return converter.convert()


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> Models:
    import tensorflow as tf
    import tf_keras as keras

    out = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 8, 8, 1), dtype=np.float32)
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    h = keras.layers.Flatten()(h)
    classifier = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))

    paths = {}
    for mode in ("float32", "int8", "per_channel", "uint8_io", "int16x8"):
        paths[mode] = out / f"{mode}.tflite"
        paths[mode].write_bytes(_convert(tf.lite.TFLiteConverter.from_keras_model(classifier), mode, x))

    fixed_kernel = np.random.default_rng(1).normal(size=(64, 3)).astype(np.float32)
    kernel = tf.constant(fixed_kernel)

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 1], tf.float32)])
    def fixed_batch(images):
        return tf.nn.softmax(tf.matmul(tf.reshape(images, [1, 64]), kernel))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def sqrt(values):
        return tf.sqrt(values)

    a, b = keras.Input((4,)), keras.Input((4,))
    two_inputs = keras.Model([a, b], keras.layers.Add()([a, b]))
    vec = keras.Input((4,))
    regression = keras.Model(vec, keras.layers.Dense(1)(vec))
    for name, converter in (
        (
            "fixed_batch",
            tf.lite.TFLiteConverter.from_concrete_functions([fixed_batch.get_concrete_function()]),
        ),
        ("sqrt", tf.lite.TFLiteConverter.from_concrete_functions([sqrt.get_concrete_function()])),
        ("two_inputs", tf.lite.TFLiteConverter.from_keras_model(two_inputs)),
        ("regression", tf.lite.TFLiteConverter.from_keras_model(regression)),
    ):
        paths[name] = out / f"{name}.tflite"
        paths[name].write_bytes(converter.convert())
    return Models(keras=classifier, x=x, fixed_kernel=fixed_kernel, **paths)
