"""``load_for_training``: every Keras format becomes a tf-keras model tfmot can wrap, or a clear reason."""

from __future__ import annotations

import numpy as np
import pytest

from edgegate.errors import InputError
from edgegate.formats import model_kind
from edgegate.policy.sections import Recipe
from edgegate.recipes.interface import SourceModel
from edgegate.recipes.training import load_for_training, train
from tests.training.conftest import make_context


def _source(path, trust_code=False) -> SourceModel:
    return SourceModel(path, model_kind(path), path.name, trust_code)


def _same_outputs(a, b, shape) -> None:
    x = np.random.default_rng(0).standard_normal((3, *shape)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(a(x, training=False)), np.asarray(b(x, training=False)), atol=1e-5)


@pytest.mark.parametrize("name,save", [("m.h5", {}), ("m.keras", {}), ("saved", {"save_format": "tf"})])
def test_tf_keras_formats_load(float_model, tmp_path, name, save):
    import tf_keras

    path = tmp_path / name
    float_model.save(path, **save)
    model = load_for_training(_source(path))
    assert isinstance(model, tf_keras.Model)
    _same_outputs(float_model, model, (8, 8, 1))


def test_a_plain_saved_model_gets_ptq_only(tmp_path):
    import tensorflow as tf

    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
        def __call__(self, x):
            return {"y": 2.0 * x}

    module = Doubler()
    tf.saved_model.save(module, str(tmp_path / "plain"), signatures={"serving_default": module.__call__})
    with pytest.raises(
        InputError,
        match=r"^plain is a SavedModel without Keras metadata: training-based "
        r"recipes need a Keras model; it gets PTQ recipes only$",
    ):
        load_for_training(_source(tmp_path / "plain"))


def test_a_tflite_file_cannot_be_fine_tuned(tmp_path):
    (tmp_path / "m.tflite").write_bytes(b"TFL3")
    with pytest.raises(InputError, match="is a .tflite model"):
        load_for_training(_source(tmp_path / "m.tflite"))


def test_lambda_layers_in_a_saved_model_are_refused_unless_trusted(tmp_path):
    import tf_keras

    inputs = tf_keras.Input((4,))
    outputs = tf_keras.layers.Lambda(lambda t: t * 2.0, name="double")(tf_keras.layers.Dense(3)(inputs))
    tf_keras.Model(inputs, outputs).save(tmp_path / "lam", save_format="tf")
    with pytest.raises(InputError, match="refusing to load Lambda layer 'double'"):
        load_for_training(_source(tmp_path / "lam"))
    assert load_for_training(_source(tmp_path / "lam", trust_code=True)).get_layer("double")


def _keras3_model():
    import keras

    inner = keras.Sequential(
        [keras.Input((6, 6, 4)), keras.layers.Conv2D(4, 3, padding="same", name="inner_conv")], name="block"
    )
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Add(name="skip")([h, inner(h)])
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dropout(0.1)(h)
    outputs = keras.layers.Dense(10, activation="softmax", name="classes")(h)
    model = keras.Model(inputs, outputs)
    # Non-trivial weights everywhere, batch-norm statistics included.
    rng = np.random.default_rng(1)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("name", ["k3.keras", "k3.h5"])
def test_keras3_models_are_rebuilt_in_tf_keras_and_verified(tmp_path, train_data, name):
    import tf_keras

    original = _keras3_model()
    original.save(tmp_path / name)
    model = load_for_training(_source(tmp_path / name))
    assert isinstance(model, tf_keras.Model)
    assert [layer.name for layer in model.layers][1:] == [layer.name for layer in original.layers][1:]
    _same_outputs(original, model, (8, 8, 1))
    # And tfmot can fine-tune it.
    context = make_context(train_data.take(64), tmp_path)
    outcome = train(model, ("prune",), Recipe(recipe="prune"), context)
    assert outcome.figures.sparsity > 0.4


def test_a_keras3_model_that_cannot_be_rebuilt_says_why(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="adapted")])
    model.layers[0].enable_lora(2)
    model.save(tmp_path / "lora.keras")
    with pytest.raises(
        InputError,
        match=r"^lora.keras: this Keras 3 model could not be rebuilt in tf-keras "
        r"for tfmot: layer 'adapted' sets lora_rank=2.*PTQ recipes only",
    ):
        load_for_training(_source(tmp_path / "lora.keras"))


def test_keras3_rebuild_checks_outputs(monkeypatch):
    from edgegate.recipes.training import keras3

    original = _keras3_model()
    monkeypatch.setattr(keras3, "_copy_weights", lambda source, target: None)  # weights left at their init
    with pytest.raises(keras3.RebuildError, match="outputs differ from the original's"):
        keras3.rebuild(original)
