"""The tf-keras converter saves a module of the model's variables, not the model: same bytes."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
tf = pytest.importorskip("tensorflow")
import tf_keras  # noqa: E402

from edgegate.conversions import CONVERSIONS  # noqa: E402
from edgegate.policy.sections import Recipe  # noqa: E402
from edgegate.recipes.conversions import (  # noqa: E402
    convert,
    keras_input_specs,
    make_converter,
    saved_with,
)


def cnn_with_batch_norm():
    tf_keras.utils.set_random_seed(0)
    inputs = tf_keras.Input((12, 12, 3))
    x = tf_keras.layers.Conv2D(8, 3)(inputs)
    x = tf_keras.layers.BatchNormalization()(x)
    x = tf_keras.layers.ReLU()(x)
    x = tf_keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = tf_keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf_keras.layers.Dense(40)(x)  # 320 weights: dynamic range keeps it float
    model = tf_keras.Model(inputs, outputs)
    # Moving statistics that are not the initial ones, so the frozen values matter.
    model.layers[2].moving_mean.assign(np.linspace(-1, 1, 8).astype("float32"))
    return model


def converter_saving_the_model(model):
    """How conversions were made before: the Keras model itself is what gets saved."""
    fn = tf.function(lambda x: model(x, training=False))
    concrete = fn.get_concrete_function(*keras_input_specs(model))
    return tf.lite.TFLiteConverter.from_concrete_functions([concrete], model)


def calibration():
    x = np.random.default_rng(0).random((8, 12, 12, 3), dtype=np.float32)
    for i in range(len(x)):
        yield [x[i : i + 1]]


@pytest.mark.parametrize("kind", ["float32", "float16", "dynamic", "int8", "int16x8"])
def test_saving_only_the_variables_converts_to_the_same_bytes(kind):
    model = cnn_with_batch_norm()
    conversion, recipe = CONVERSIONS[kind], Recipe(recipe=kind)
    rep = calibration if conversion.needs_calibration else None
    light = convert(make_converter(keras_model=model), conversion, recipe, rep)
    full = convert(converter_saving_the_model(model), conversion, recipe, rep)
    assert light == full


def test_the_module_holds_the_variables_the_function_reads():
    model = cnn_with_batch_norm()
    fn = tf.function(lambda x: model(x, training=False))
    concrete = fn.get_concrete_function(*keras_input_specs(model))
    saved = saved_with(model, concrete)
    assert saved is not model
    assert {id(v) for v in saved.variables} == {id(v) for v in model.variables}


def test_a_function_reading_a_lookup_table_keeps_the_model():
    inputs = tf_keras.Input((1,), dtype=tf.string)
    ids = tf_keras.layers.StringLookup(vocabulary=["a", "b", "c"])(inputs)
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(2)(tf.cast(ids, tf.float32)))
    fn = tf.function(lambda x: model(x, training=False))
    concrete = fn.get_concrete_function(*keras_input_specs(model))
    assert saved_with(model, concrete) is model  # the module would not track the table
    converter = make_converter(keras_model=model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    assert converter.convert()[4:8] == b"TFL3"
