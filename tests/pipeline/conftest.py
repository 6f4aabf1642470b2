"""Fixtures for end-to-end runs: a real git repository in a temp folder, tiny real models."""

from __future__ import annotations

import os

import numpy as np


def keras_model(units: int = 16, seed: int = 0, nan: bool = False):
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    model = tf_keras.Sequential(
        [
            tf_keras.Input((8, 8, 1)),
            tf_keras.layers.Conv2D(8, 3, activation="relu"),
            tf_keras.layers.Flatten(),
            tf_keras.layers.Dense(units, activation="relu"),
            tf_keras.layers.Dense(4, activation="softmax"),
        ]
    )
    if nan:
        weights = model.get_weights()
        weights[-1] = np.full_like(weights[-1], np.nan)
        model.set_weights(weights)
    return model


def dataset(n: int = 64, seed: int = 0):
    """Four separable classes: the class sets one quadrant bright, so small models learn it."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.random((n, 8, 8, 1), dtype=np.float32) * 0.2
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        x[i, r * 4 : (r + 1) * 4, col * 4 : (col + 1) * 4, 0] += 0.8
    return x, y


def trained_model(units: int = 16, seed: int = 0):
    model = keras_model(units, seed)
    x, y = dataset(256, seed)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=8, verbose=0)
    return model
