"""Datasets named by the policy (eval, calibration, training data), read and checked alike.

``load_dataset`` picks the source for a policy ``sections.Dataset``, then checks what came
back: numeric arrays, at least one sample, as many labels as samples, finite values. Every
problem is an ``InputError`` naming the policy key and the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgegate.datasets.hook import HookSource
from edgegate.datasets.image_folder import ImageFolderSource
from edgegate.datasets.interface import Dataset, DatasetSource
from edgegate.datasets.npy import NpySource
from edgegate.datasets.npz import NpzSource
from edgegate.datasets.paths import resolve_inside
from edgegate.errors import InputError
from edgegate.policy import sections

__all__ = ["Dataset", "DatasetSource", "load_dataset"]


def load_dataset(
    spec: sections.Dataset, root: Path, *, key: str, input_hw: tuple[int, int] | None = None
) -> Dataset:
    """Read the samples ``spec`` names (paths relative to the repository ``root``).

    ``key`` is the policy key path for messages (``models[0].eval.data``); ``input_hw`` is the
    model's input (height, width), the default size for image folders. ``spec.limit`` applies.
    """
    root = Path(root)
    data = _source_for(spec, root, key).load(spec, root, key=key, input_hw=input_hw)
    _check(data, spec)
    return data.take(spec.limit) if spec.limit else data


def _source_for(spec: sections.Dataset, root: Path, key: str) -> DatasetSource:
    if spec.hook:
        return HookSource()
    if spec.x:
        return NpySource()
    if spec.images:
        return ImageFolderSource()
    path = spec.path
    assert path is not None  # the schema requires exactly one of path, x, images and hook
    if path.lower().endswith(".npz"):
        return NpzSource()
    if path.lower().endswith(".npy"):
        return NpySource()
    if resolve_inside(root, path, key=key).is_dir():
        return ImageFolderSource()
    raise InputError(
        f"{key}: {path} is not an .npz file, an .npy file or a folder of images (one sub-folder "
        "per class); for other formats use a hook: 'module:function'"
    )


def _check(data: Dataset, spec: sections.Dataset) -> None:
    samples, labels = _names(spec)
    x, y = data.x, data.y
    for what, array in ((samples, x), (labels, y)):
        if array is not None and array.dtype.kind not in "biuf":
            raise InputError(f"{data.source}: {what} hold {array.dtype} values, not numbers")
    if x.ndim == 0 or len(x) == 0:
        raise InputError(f"{data.source}: the dataset is empty ({samples} hold no samples)")
    if y is not None and (y.ndim == 0 or len(y) != len(x)):
        raise InputError(
            f"{data.source}: {samples} hold {len(x)} samples but {labels} hold "
            f"{len(y) if y.ndim else 'a single value'}; give one label per sample"
        )
    n = min(len(x), spec.limit or len(x))
    for what, array in ((samples, x), (labels, y)):
        if array is not None and array.dtype.kind == "f":
            bad = ~np.isfinite(array[:n].reshape(n, -1)).all(axis=1)
            if bad.any():
                raise InputError(
                    f"{data.source}: {what} contain NaN or infinity ({int(bad.sum())} samples, the "
                    f"first is sample {int(np.argmax(bad))})"
                )


def _names(spec: sections.Dataset) -> tuple[str, str]:
    """How the samples and labels are called in the user's terms, for messages."""
    if spec.x:
        return f"x ({spec.x})", f"y ({spec.y})"
    if spec.path and spec.path.lower().endswith(".npz"):
        return f"array {spec.x_key!r}", f"array {spec.y_key!r}"
    if spec.hook:
        return "the hook's x", "the hook's y"
    return "the samples", "the labels"
