"""``worst_layers``: the QuantizationDebugger finds the layer int8 breaks, and says what helps."""

from __future__ import annotations

import numpy as np

from edgegate.recipes.layer_errors import hint_for, worst_layers


def _model_with_one_fragile_layer():
    """``fragile`` has one huge weight per filter on an always-zero input, so int8 rounds the rest to 0."""
    import tf_keras

    rng = np.random.default_rng(0)
    inputs = tf_keras.Input((16,))
    first = tf_keras.layers.Dense(32, activation="relu", name="first")
    fragile = tf_keras.layers.Dense(32, name="fragile")
    last = tf_keras.layers.Dense(4, name="last")
    model = tf_keras.Model(inputs, last(fragile(first(inputs))))
    w1 = rng.normal(0, 0.3, (16, 32)).astype(np.float32)
    w1[:, 0] = 0.0  # first's unit 0 is always 0 after the ReLU
    first.set_weights([w1, np.zeros(32, np.float32)])
    w2 = rng.normal(0, 0.05, (32, 32)).astype(np.float32)
    w2[0, :] = 100.0  # the per-channel scale of every filter is set by this unused weight
    fragile.set_weights([w2, np.zeros(32, np.float32)])
    last.set_weights([rng.normal(0, 0.3, (32, 4)).astype(np.float32), np.zeros(4, np.float32)])
    return model


def test_the_fragile_layer_comes_first_with_a_hint():
    import tensorflow as tf

    model = _model_with_one_fragile_layer()
    x = np.random.default_rng(1).normal(0, 1, (32, 16)).astype(np.float32)
    layers = worst_layers(lambda: tf.lite.TFLiteConverter.from_keras_model(model), x)
    # The healthy layers stay near rounding noise and are left out.
    assert [(layer.name, layer.op) for layer in layers] == [("fragile", "FULLY_CONNECTED")]
    assert layers[0].rmse_over_scale > 10
    assert "QAT" in layers[0].hint


def test_hints_by_op():
    assert "int16x8" in hint_for("SOFTMAX")
    assert "depthwise" in hint_for("DEPTHWISE_CONV_2D")
    assert "int8 scale" in hint_for("ADD")
    assert "float" in hint_for("SOMETHING_ELSE")
