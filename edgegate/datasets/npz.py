"""``.npz`` datasets: named arrays in one file (``x_key`` samples, ``y_key`` labels).

An ``.npz`` is a zip archive, so a small file may inflate to gigabytes: each array's size is
checked from the zip's central directory and its ``.npy`` header before it is read
(``datasets.limits``). Reading a member never yields more than the directory declares.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from edgegate.datasets.interface import Dataset, DatasetSource
from edgegate.datasets.limits import (
    LIMIT_SHOWN,
    MAX_DATASET_BYTES,
    check_declared,
    check_total,
    read_npy_header,
)
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
                wanted = [spec.x_key] + (
                    [spec.y_key] if spec.y_key is not None and spec.y_key in names else []
                )
                # Checked together before either is read: two arrays under the limit each may not be.
                check_total(sum(_declared(npz, name, spec.path, key) for name in wanted), spec.path, key)
                x = _read(npz, spec.x_key, spec.path, key)
                y = _read(npz, spec.y_key, spec.path, key) if spec.y_key in names else None
        except (zipfile.BadZipFile, OSError, EOFError) as e:  # a member cut short or corrupt
            raise InputError(
                f"{key}: {spec.path} is not a readable .npz file ({e}); check that it is complete "
                "(not a Git LFS pointer or a partial upload)"
            ) from None
        return Dataset(x, y, f"{key} ({spec.path})")


def _declared(npz: np.lib.npyio.NpzFile, name: str, written: str, key: str) -> int:
    """The bytes array ``name`` will take in memory, from the zip directory and the array's header
    (reading only that header); ``InputError`` when it is over the limit or inconsistent."""
    archive = npz.zip
    assert archive is not None  # set until the NpzFile is closed, and it is open here
    member = name if name in archive.namelist() else f"{name}.npy"
    info = archive.getinfo(member)
    shown = f"array {name!r} in {written}"
    if info.file_size > MAX_DATASET_BYTES:
        raise InputError(
            f"{key}: {shown} inflates to {info.file_size} bytes ({info.compress_size} compressed), over "
            f"the {LIMIT_SHOWN} a dataset may hold in memory; use a smaller file"
        )
    with archive.open(member) as f:
        header = read_npy_header(f, f"{key}: {shown}")
    return check_declared(header, info.file_size - header.offset, shown, key)


def _read(npz, name: str, written: str, key: str) -> np.ndarray:
    try:
        return npz[name]
    except ValueError as e:  # object arrays need pickle, which would run code from the file
        raise InputError(
            f"{key}: array {name!r} in {written} cannot be read without pickle ({e}); "
            "save plain numeric arrays (np.savez with numbers, not Python objects)"
        ) from None
