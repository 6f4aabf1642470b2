"""Fixtures for the training-recipe tests: a small conv model trained on sklearn's digits.

Everything heavy is session-scoped: the float model is trained once, and each recipe is
fine-tuned once (``trained``) however many tests read it. Conversions use the plain LiteRT
converter, and accuracy is measured with the real LiteRT interpreter.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gzip  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from edgegate.datasets.interface import Dataset  # noqa: E402
from edgegate.policy.load import parse_recipe, parse_training  # noqa: E402
from edgegate.recipes.interface import TrainingContext, stages_of  # noqa: E402

TRAINING = dict(epochs=1, batch_size=32, learning_rate=1e-3, seed=0)


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    y = d.target.astype(np.int64)
    return x[:1200], y[:1200], x[1200:], y[1200:]


def digits_model(seed: int = 0):
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    inputs = tf_keras.Input((8, 8, 1))
    h = tf_keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    h = tf_keras.layers.Flatten(name="flatten")(h)
    h = tf_keras.layers.Dense(32, activation="relu", name="hidden")(h)
    outputs = tf_keras.layers.Dense(10, activation="softmax", name="classes")(h)
    return tf_keras.Model(inputs, outputs, name="digits")


@pytest.fixture(scope="session")
def float_model(digits):
    x, y, _, _ = digits
    model = digits_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="session")
def train_data(digits) -> Dataset:
    x, y, _, _ = digits
    return Dataset(x, y, "models[0].training.data (digits)")


def make_context(data: Dataset | None, root: Path, **training) -> TrainingContext:
    spec = parse_training({**TRAINING, **training})
    return TrainingContext("digits", spec, data, root, spec.seed)


def to_tflite(model, conversion: str = "float32", calibration: np.ndarray | None = None) -> bytes:
    """Plain LiteRT conversion: float32, float16, dynamic, int8 (PTQ, int8 I/O) or qat (int8 I/O)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if conversion != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if conversion == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if conversion == "int8":

        def representative():
            for i in range(min(100, len(calibration))):
                yield [calibration[i : i + 1]]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if conversion in ("int8", "qat"):  # a QAT model carries its ranges: no calibration, no INT8-only check
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def tflite_accuracy(blob: bytes, x: np.ndarray, y: np.ndarray) -> float:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=blob)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    hits = 0
    for i in range(len(x)):
        sample = x[i : i + 1]
        if inp["dtype"] != np.float32:
            scale, zero = inp["quantization"]
            sample = np.round(sample / scale + zero).astype(inp["dtype"])
        interpreter.set_tensor(inp["index"], sample)
        interpreter.invoke()
        hits += int(np.argmax(interpreter.get_tensor(out["index"])[0]) == y[i])
    return hits / len(x)


def gzip_size(blob: bytes) -> int:
    return len(gzip.compress(blob, compresslevel=9))


@pytest.fixture(scope="session")
def trained(float_model, train_data, tmp_path_factory):
    """``trained(recipe_spec_or_str)`` → the StageOutcome of its training stages, computed once."""
    from edgegate.recipes.training import train

    root = tmp_path_factory.mktemp("repo")
    cache = {}

    def get(recipe, **training):
        recipe = parse_recipe(recipe)
        key = (recipe, tuple(sorted(training.items())))
        if key not in cache:
            stages, _ = stages_of(recipe)
            cache[key] = train(float_model, stages, recipe, make_context(train_data, root, **training))
        return cache[key]

    return get


@pytest.fixture(scope="session")
def float_accuracy(float_model, digits) -> float:
    _, _, x, y = digits
    return tflite_accuracy(to_tflite(float_model), x, y)
