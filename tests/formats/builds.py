"""Real worker builds of a small Keras model for the toy-registration tests (TensorFlow: imported here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgegate.policy.sections import Calibration, Dataset, Recipe
from edgegate.recipes.build import build_candidates
from edgegate.recipes.interface import BuildRequest, BuiltCandidate, SourceModel


def built(tmp_path: Path, model: Any, recipes: tuple[str, ...], samples: int) -> dict[str, BuiltCandidate]:
    """Build ``recipes`` of ``model`` (a tf-keras model) calibrated on ``samples`` random inputs; each
    must build."""
    model.save(tmp_path / "m.keras")
    shape = (samples, *model.inputs[0].shape[1:])
    np.savez(tmp_path / "c.npz", x=np.random.default_rng(0).random(shape, dtype=np.float32))
    request = BuildRequest(
        "m",
        SourceModel(tmp_path / "m.keras", "keras", "m.keras"),
        tuple(Recipe(recipe=r) for r in recipes),
        tmp_path / "out",
        tmp_path,
        calibration=Calibration(key="calibration", data=Dataset(key="calibration.data", path="c.npz")),
    )
    candidates = {b.label: b for b in build_candidates(request)}
    assert all(b.error is None for b in candidates.values()), candidates
    return candidates
