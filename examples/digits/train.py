"""Train the example model: a small CNN on scikit-learn's bundled 8×8 digits (no download).

Writes model.keras (tf-keras format, so the training-based recipes can fine-tune it directly)
and data/{train,eval,calibration}.npz. Deterministic: run it again and you get the same files'
contents up to TensorFlow's float nondeterminism on your CPU.

    python examples/digits/train.py
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import tf_keras as keras
from sklearn.datasets import load_digits

HERE = Path(__file__).resolve().parent
SEED = 7


def main() -> None:
    keras.utils.set_random_seed(SEED)
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]  # (1797, 8, 8, 1) in 0..1
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(x))
    x, y = x[order], y[order]
    train, evaluation = slice(0, 1300), slice(1300, None)

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1), name="pixels"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax", name="digit"),
        ],
        name="digits_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(x[train], y[train], epochs=15, batch_size=32, verbose=0, validation_split=0.1)
    _, acc = model.evaluate(x[evaluation], y[evaluation], verbose=0)
    print(f"eval accuracy: {acc:.4f} on {len(x[evaluation])} samples")

    # An uncompiled copy saves graph and weights without the optimizer's state (a third the size).
    export = keras.models.clone_model(model)
    export.set_weights(model.get_weights())
    export.save(HERE / "model.keras")
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    np.savez_compressed(data / "train.npz", x=x[train], y=y[train])
    np.savez_compressed(data / "eval.npz", x=x[evaluation], y=y[evaluation])
    np.savez_compressed(data / "calibration.npz", x=x[train][:200])


if __name__ == "__main__":
    main()
