"""Keras 3 sources (what ``import keras`` saves with TensorFlow ≥ 2.16) convert to what they compute.

The models are built and saved here with Keras 3 in a process where ``TF_USE_LEGACY_KERAS=1``,
as in a worker (the flag switches only ``tf.keras``; ``import keras`` stays Keras 3).
"""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from edgegate.policy.sections import Recipe  # noqa: E402
from edgegate.recipes.build import build_candidates  # noqa: E402
from edgegate.recipes.interface import BuildRequest, SourceModel  # noqa: E402

assert keras.__version__.startswith("3"), keras.__version__


def sequential():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def functional():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6,), name="features")
    a = keras.layers.Dense(12, activation="tanh")(inputs)
    b = keras.layers.Dense(12, activation="relu")(inputs)
    x = keras.layers.Concatenate()([a, b])
    x = keras.layers.Dense(8, activation="relu")(x)
    outputs = keras.layers.Dense(4)(keras.layers.Add()([x, keras.layers.Dense(8)(inputs)]))
    return keras.Model(inputs, outputs)


def cnn():
    """Conv + BatchNorm (moving statistics set off their initial values) + Dropout + pooling."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.MaxPooling2D(),
            keras.layers.DepthwiseConv2D(3, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )
    bn = model.layers[1]
    rng = np.random.default_rng(3)
    gamma, beta, mean, var = bn.get_weights()
    bn.set_weights([gamma * 1.5, beta + 0.1, rng.normal(0, 0.5, mean.shape), rng.uniform(0.5, 2, var.shape)])
    return model


MODELS = {"sequential": sequential, "functional": functional, "cnn": cnn}


def probe(model, n=16, seed=7):
    shape = (n, *model.inputs[0].shape[1:])
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def tflite_outputs(path, x):
    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    assert list(inp["shape"]) == [1, *x.shape[1:]]  # batch fixed to 1
    rows = []
    for sample in x:
        it.set_tensor(inp["index"], sample[None])
        it.invoke()
        rows.append(it.get_tensor(out["index"])[0].copy())
    return np.array(rows)


def build_float32(path, tmp_path, out="out"):
    request = BuildRequest(
        "m", SourceModel(path, "keras", path.name), (Recipe(recipe="float32"),), tmp_path / out, tmp_path
    )
    (built,) = build_candidates(request)
    assert built.error is None, built.error
    return built


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_float32_reference_reproduces_the_keras3_model(kind, tmp_path):
    model = MODELS[kind]()
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    x = probe(model)
    expected = np.asarray(model.predict(x, verbose=0))
    got = tflite_outputs(build_float32(path, tmp_path).path, x)
    delta = float(np.max(np.abs(got - expected)))
    print(f"{kind}: max |Δ| {delta:.3g}")
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_two_conversions_give_identical_models_and_figures(tmp_path):
    """The bug made each conversion read different garbage; a correct one is the same every time."""
    model = functional()
    path = tmp_path / "f.keras"
    model.save(path)
    first, second = build_float32(path, tmp_path, "one"), build_float32(path, tmp_path, "two")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.notes == second.notes and first.notes[0].startswith("float32 reference matches")
    x = probe(model)
    np.testing.assert_array_equal(tflite_outputs(first.path, x), tflite_outputs(second.path, x))


def test_keras3_converts_right_in_a_worker_that_trained_with_tfmot(tmp_path):
    """Workers force TF_USE_LEGACY_KERAS=1 and import tfmot for training recipes: neither touches
    ``import keras``, which stays Keras 3, so its models still export and convert as Keras 3."""
    import tensorflow_model_optimization  # noqa: F401  (what a training recipe imports)

    assert os.environ["TF_USE_LEGACY_KERAS"] == "1" and tf.keras.__name__.startswith("tf_keras")
    model = cnn()
    path = tmp_path / "cnn.keras"
    model.save(path)
    x = probe(model)
    got = tflite_outputs(build_float32(path, tmp_path).path, x)
    np.testing.assert_allclose(got, np.asarray(model.predict(x, verbose=0)), rtol=0, atol=1e-5)


def test_every_conversion_of_a_keras3_model_is_from_its_weights(tmp_path):
    """float16 and dynamic candidates come from the same export: close to the float model, not NaN."""
    model = cnn()
    path = tmp_path / "cnn.keras"
    model.save(path)
    request = BuildRequest(
        "m",
        SourceModel(path, "keras", path.name),
        (Recipe(recipe="float16"), Recipe(recipe="dynamic")),
        tmp_path / "out",
        tmp_path,
    )
    x = probe(model)
    expected = np.asarray(model.predict(x, verbose=0))
    for built in build_candidates(request):
        assert built.error is None, built.error
        np.testing.assert_allclose(tflite_outputs(built.path, x), expected, rtol=0, atol=0.05)
