"""Sparsity and unique-value counts, from Keras models and from converted .tflite files."""

from __future__ import annotations

import numpy as np
import pytest

from edgegate.recipes.training import figures
from tests.training.conftest import to_tflite
from tests.training.tflite_weights import tflite_sparsity, tflite_weights

VALUES = np.array([-2.0, -1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0], np.float32)  # half zeros, 5 distinct values


def _patterned(shape, seed):
    """Weights with exactly half zeros and the 5 values of VALUES."""
    rng = np.random.default_rng(seed)
    flat = np.resize(VALUES, int(np.prod(shape)))
    return rng.permutation(flat).reshape(shape).astype(np.float32)


@pytest.fixture(scope="module")
def patterned_model():
    import tf_keras

    inputs = tf_keras.Input((6, 6, 4))
    h = tf_keras.layers.Conv2D(8, 3, name="conv")(inputs)
    h = tf_keras.layers.Flatten()(h)
    h = tf_keras.layers.Dense(64, name="wide")(tf_keras.layers.Dense(256, name="pre")(h))
    model = tf_keras.Model(inputs, h)
    for i, layer in enumerate(layer for layer in model.layers if hasattr(layer, "kernel")):
        layer.set_weights([_patterned(layer.kernel.shape, i), np.zeros(layer.bias.shape, np.float32)])
    return model


def test_keras_kernels_counts(patterned_model):
    kernels = figures.keras_kernels(patterned_model)
    assert set(kernels) == {"conv", "pre", "wide"}
    assert figures.sparsity(kernels) == 0.5
    assert figures.unique_counts(kernels) == {"conv": 5, "pre": 5, "wide": 5}
    assert figures.sparsity({}) is None


def test_keras_kernels_see_through_tfmot_wrappers(patterned_model):
    import tensorflow_model_optimization as tfmot

    from edgegate.recipes.training.fine_tune import fresh_copy

    wrapped = tfmot.sparsity.keras.prune_low_magnitude(fresh_copy(patterned_model))
    assert figures.unique_counts(figures.keras_kernels(wrapped)) == {"conv": 5, "pre": 5, "wide": 5}


@pytest.mark.parametrize(
    "conversion,dtype",
    [("float32", "float32"), ("float16", "float16"), ("dynamic", "int8"), ("int8", "int8")],
)
def test_tflite_weights_keep_zeros_through_every_conversion(patterned_model, conversion, dtype):
    calibration = np.random.default_rng(0).uniform(0, 1, (20, 6, 6, 4)).astype(np.float32)
    weights = tflite_weights(to_tflite(patterned_model, conversion, calibration))
    by_op = {}
    for w in weights:
        by_op.setdefault(w.op, []).append(w)
    assert [w.op for w in weights] == ["CONV_2D", "FULLY_CONNECTED", "FULLY_CONNECTED"]
    assert tflite_sparsity(weights) == 0.5
    assert all(w.zeros * 2 == w.elements for w in weights)
    assert by_op["CONV_2D"][0].shape == (8, 3, 3, 4)  # LiteRT's [out, h, w, in]
    big = by_op["FULLY_CONNECTED"][0]
    assert big.dtype == dtype and big.shape == (256, 128)
    if dtype.startswith("float"):
        assert all(w.unique == 5 for w in weights)
    else:  # per-channel int8: the same 5 values map to 5 integers in each channel
        assert big.unique_per_channel == 5
