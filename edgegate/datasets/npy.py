"""``.npy`` datasets: an ``x`` file of samples and an optional ``y`` file of labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgegate.datasets.interface import Dataset, DatasetSource
from edgegate.datasets.paths import resolve_inside
from edgegate.errors import InputError
from edgegate.policy import sections


class NpySource(DatasetSource):
    """``x:``/``y:`` file pairs, or ``path: samples.npy`` alone (no labels)."""

    def load(
        self, spec: sections.Dataset, root: Path, *, key: str, input_hw: tuple[int, int] | None = None
    ) -> Dataset:
        x_written = spec.x or spec.path
        assert x_written is not None  # chosen for a spec with x or an .npy path
        x = read_npy(root, x_written, key=key)
        y = read_npy(root, spec.y, key=key) if spec.y else None
        named = f"{x_written}, {spec.y}" if spec.y else x_written
        return Dataset(x, y, f"{key} ({named})")


def read_npy(root: Path, written: str, *, key: str) -> np.ndarray:
    path = resolve_inside(root, written, key=key)
    if not path.is_file():
        raise InputError(f"{key}: {written} not found in the repository")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e):  # object arrays need pickle, which would run code from the file
            raise InputError(
                f"{key}: {written} holds Python objects, which cannot be read without pickle; "
                "save a plain numeric array"
            ) from None
        raise InputError(
            f"{key}: {written} is not a readable .npy file ({e}); check that it is complete "
            "(not a Git LFS pointer or a partial upload)"
        ) from None
    except (OSError, EOFError) as e:
        raise InputError(f"{key}: {written} is not a readable .npy file ({e})") from None
