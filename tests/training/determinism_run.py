"""One fixed fine-tuning run, as a function and as a script, to compare runs across processes.

``python -m tests.training.determinism_run SEED`` prints what ``fingerprint(SEED)`` returns.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def fingerprint(seed: int) -> str:
    """Hash of the weights and the figures of prune+cluster on a fixed model and data."""
    from sklearn.datasets import load_digits

    from edgegate.datasets.interface import Dataset
    from edgegate.results.codec import encode
    from edgegate.policy.load import parse_recipe, parse_training
    from edgegate.recipes.interface import TrainingContext
    from edgegate.recipes.training import train
    from tests.training.conftest import digits_model

    d = load_digits()
    data = Dataset((d.images[:300] / 16.0).astype(np.float32)[..., None], d.target[:300], "digits")
    model = digits_model()
    model.set_weights(
        [
            np.random.default_rng(i).normal(0, 0.2, w.shape).astype(np.float32)
            for i, w in enumerate(model.get_weights())
        ]
    )
    context = TrainingContext(
        "digits", parse_training({"epochs": 1, "learning_rate": 1e-3, "seed": seed}), data, Path("."), seed
    )
    outcome = train(
        model,
        ("prune", "cluster"),
        parse_recipe({"recipe": "prune+cluster", "cluster": {"clusters": 8}}),
        context,
    )
    digest = hashlib.sha256(b"".join(w.tobytes() for w in outcome.model.get_weights())).hexdigest()
    return json.dumps({"weights": digest, "figures": encode(outcome.figures)})


if __name__ == "__main__":
    print("FINGERPRINT " + fingerprint(int(sys.argv[1])))
