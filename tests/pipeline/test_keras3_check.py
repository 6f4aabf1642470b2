"""`edgegate check` on a Keras 3 model, end to end through the worker pool (TF_USE_LEGACY_KERAS=1 there).

The figures must be the model's: the float32 reference scores exactly what the Keras 3 model
itself scores, the reference says it was checked, and two runs report the same figures. A
model whose conversion does not reproduce it is an error on the model, with the reason.
"""

from __future__ import annotations

import numpy as np

from edgegate.cli.real_run import real_run

from edgegate.run import CheckOptions
from edgegate.status import Status
from tests.pipeline.conftest import dataset

POLICY = """\
version: 1
defaults:
  recipes: [float16, dynamic]
  eval: {data: data/eval.npz}
  budgets: {accuracy: {max_drop: 5pt}}
models:
  - {name: k3, path: models/k3.keras}
  - {name: noisy, path: models/noisy}
"""


def keras3_trained():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )
    x, y = dataset(256, seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, verbose=0)
    return model


def noisy_saved_model(path):
    """Its serving function adds noise: LiteRT's RANDOM_UNIFORM draws other numbers than TensorFlow."""
    import tensorflow as tf

    class Noisy(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 1], tf.float32, name="x")])
        def serve(self, x):
            return {"p": tf.nn.softmax(tf.reshape(x, [1, 64])[:, :4] + tf.random.uniform([1, 4]))}

    module = Noisy()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})


def figures(model_result):
    return [
        (c.recipe, c.size_bytes, c.accuracy.value if c.accuracy else None, c.notes)
        for c in (model_result.reference, *model_result.candidates)
    ]


def test_keras3_model_is_gated_on_its_own_figures(repo):
    model = keras3_trained()
    (repo.root / "models").mkdir()
    model.save(repo.root / "models/k3.keras")
    noisy_saved_model(repo.root / "models/noisy")
    xe, ye = dataset(64, seed=1)
    (repo.root / "data").mkdir()
    np.savez(repo.root / "data/eval.npz", x=xe, y=ye)
    repo.write("edgegate.yml", POLICY)
    repo.commit()
    keras_accuracy = float(np.mean(np.argmax(model.predict(xe, verbose=0), axis=1) == ye))

    runs = [real_run(CheckOptions(repo=repo.root, all_models=True, latency=False, jobs=2)) for _ in range(2)]
    k3 = {m.name: m for m in runs[0].models}["k3"]
    assert k3.error is None and k3.status == Status.PASS, k3
    assert abs(k3.reference.accuracy.value - keras_accuracy) < 1e-9, (k3.reference.accuracy, keras_accuracy)
    (note,) = k3.reference.notes
    assert note.startswith("float32 reference matches the model's outputs (max |Δ| "), note
    assert note.endswith(" on 8 samples of defaults.eval.data)"), note
    assert all(abs(c.accuracy.drop) <= 0.05 for c in k3.candidates), [c.accuracy for c in k3.candidates]
    again = {m.name: m for m in runs[1].models}["k3"]
    assert figures(k3) == figures(again)

    noisy = {m.name: m for m in runs[0].models}["noisy"]
    assert noisy.status == Status.ERROR
    assert noisy.error.startswith(
        "model noisy: the converted float32 model does not reproduce the model's own outputs (max |Δ| "
    ), noisy.error
    assert noisy.error.endswith(" on 8 samples of defaults.eval.data): its figures would not be the model's")
