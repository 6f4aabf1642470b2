"""``.npy`` datasets: an ``x`` file of samples and an optional ``y`` file of labels.

Each file's header is checked before the array is read: its shape × dtype must fit in the
file and in the memory a dataset may take (``datasets.limits``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgegate.datasets.interface import Dataset, DatasetSource
from edgegate.datasets.limits import check_declared, check_total, read_npy_header
from edgegate.datasets.paths import resolve_inside
from edgegate.errors import InputError
from edgegate.policy import sections

_MAGIC = b"\x93NUMPY"


class NpySource(DatasetSource):
    """``x:``/``y:`` file pairs, or ``path: samples.npy`` alone (no labels)."""

    def load(
        self, spec: sections.Dataset, root: Path, *, key: str, input_hw: tuple[int, int] | None = None
    ) -> Dataset:
        x_written = spec.x or spec.path
        assert x_written is not None  # chosen for a spec with x or an .npy path
        # Both files' headers are checked together before either array is read.
        written = [x_written] + ([spec.y] if spec.y else [])
        check_total(sum(declared_npy(root, w, key=key) for w in written), ", ".join(written), key)
        x = read_npy(root, x_written, key=key)
        y = read_npy(root, spec.y, key=key) if spec.y else None
        named = f"{x_written}, {spec.y}" if spec.y else x_written
        return Dataset(x, y, f"{key} ({named})")


def declared_npy(root: Path, written: str, *, key: str) -> int:
    """The bytes the array in ``written`` will take in memory, from its header (0 for a file that is
    no ``.npy`` array: ``read_npy`` says why); ``InputError`` when over the limit or inconsistent."""
    path = _existing(root, written, key)
    try:
        with open(path, "rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                return 0
            f.seek(0)
            header = read_npy_header(f, f"{key}: {written}")
        size = path.stat().st_size
    except OSError as e:
        raise InputError(f"{key}: {written} is not a readable .npy file ({e})") from None
    return check_declared(header, size - header.offset, written, key)


def _existing(root: Path, written: str, key: str) -> Path:
    path = resolve_inside(root, written, key=key)
    if not path.is_file():
        raise InputError(f"{key}: {written} not found in the repository")
    return path


def read_npy(root: Path, written: str, *, key: str) -> np.ndarray:
    path = _existing(root, written, key)
    declared_npy(root, written, key=key)  # callers outside this module get the checks too
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
