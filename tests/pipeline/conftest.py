"""Fixtures for end-to-end runs: a real git repository in a temp folder, tiny real models."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1"}


class Repo:
    def __init__(self, root: Path):
        self.root = root

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV, "HOME": str(self.root.parent)}
        return subprocess.run(["git", *args], cwd=self.root, check=True, env=env, capture_output=True,
                              text=True).stdout.strip()

    def write(self, rel: str, text: str) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
        return p

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-qm", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    r = Repo(root)
    r.git("init", "-q", "-b", "main")
    return r


def keras_model(units: int = 16, seed: int = 0, nan: bool = False):
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    model = tf_keras.Sequential([
        tf_keras.Input((8, 8, 1)),
        tf_keras.layers.Conv2D(8, 3, activation="relu"),
        tf_keras.layers.Flatten(),
        tf_keras.layers.Dense(units, activation="relu"),
        tf_keras.layers.Dense(4, activation="softmax"),
    ])
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
        x[i, r * 4:(r + 1) * 4, col * 4:(col + 1) * 4, 0] += 0.8
    return x, y


def trained_model(units: int = 16, seed: int = 0):
    model = keras_model(units, seed)
    x, y = dataset(256, seed)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=8, verbose=0)
    return model
