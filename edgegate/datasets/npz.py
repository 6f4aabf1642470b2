"""``.npz`` datasets: named arrays in one file (``x_key`` samples, ``y_key`` labels)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from edgegate.datasets.interface import Dataset, DatasetSource
from edgegate.datasets.paths import resolve_inside
from edgegate.errors import InputError
from edgegate.policy import sections


class NpzSource(DatasetSource):
    def load(
        self, spec: sections.Dataset, root: Path, *, key: str, input_hw: tuple[int, int] | None = None
    ) -> Dataset:
        assert spec.path is not None  # chosen for a spec with an .npz path
        path = resolve_inside(root, spec.path, key=key)
        if not path.is_file():
            raise InputError(f"{key}: {spec.path} not found in the repository")
        # A label key the user set explicitly must exist; the default 'y' may be absent (label-free data).
        y_required = spec.y_key_written and spec.y_key is not None
        try:
            opened = np.load(path, allow_pickle=False)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise InputError(
                f"{key}: {spec.path} is not a readable .npz file ({e}); check that it is complete "
                "(not a Git LFS pointer or a partial upload)"
            ) from None
        if not isinstance(opened, np.lib.npyio.NpzFile):
            raise InputError(
                f"{key}: {spec.path} holds a single array, not named arrays; use `x: {spec.path}` "
                "(an .npy file) or save it with np.savez(..., x=..., y=...)"
            )
        try:
            with opened as npz:
                names = list(npz.files)
                if spec.x_key not in names:
                    raise InputError(
                        f"{key}: {spec.path} has no array {spec.x_key!r} (it has: "
                        f"{', '.join(names) or 'no arrays'}); set x_key to the samples' name"
                    )
                if y_required and spec.y_key not in names:
                    raise InputError(
                        f"{key}: {spec.path} has no array {spec.y_key!r} (it has: "
                        f"{', '.join(names)}); set y_key to the labels' name, or y_key: null"
                    )
                x = _read(npz, spec.x_key, spec.path, key)
                y = _read(npz, spec.y_key, spec.path, key) if spec.y_key in names else None
        except (zipfile.BadZipFile, OSError, EOFError) as e:  # a member cut short or corrupt
            raise InputError(
                f"{key}: {spec.path} is not a readable .npz file ({e}); check that it is complete "
                "(not a Git LFS pointer or a partial upload)"
            ) from None
        return Dataset(x, y, f"{key} ({spec.path})")


def _read(npz, name: str, written: str, key: str) -> np.ndarray:
    try:
        return npz[name]
    except ValueError as e:  # object arrays need pickle, which would run code from the file
        raise InputError(
            f"{key}: array {name!r} in {written} cannot be read without pickle ({e}); "
            "save plain numeric arrays (np.savez with numbers, not Python objects)"
        ) from None
