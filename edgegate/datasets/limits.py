"""How much a dataset may make EdgeGate hold in memory, checked from what files declare.

A pull request can commit a 2 MB ``.npz`` whose member inflates to 2 GiB (a zip bomb), or an
``.npy`` header that declares a shape of a trillion values: reading first and measuring after
would exhaust the runner's memory. Each array's size is therefore checked before it is read,
from what the file itself declares: the zip central directory's uncompressed size of an
``.npz`` member, and the ``.npy`` header's shape × dtype (which must also fit in the bytes that
follow it). Image folders are checked from each image's header (its pixel count) and from the
first decoded image times the number of images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import IO

import numpy as np

from edgegate.errors import InputError

# Everything one dataset's arrays hold together (x and y; an image folder's decoded samples).
# ImageNet's 50,000 validation images at 224 x 224 x 3 as uint8 are 7.5 GB: a CI evaluation set
# is a few thousand samples, far below this; the runner (7 GB on GitHub's) must also hold the
# models, the interpreter and the worker processes.
MAX_DATASET_BYTES = 1 << 30
LIMIT_SHOWN = "1 GiB"  # MAX_DATASET_BYTES as messages and docs/datasets.md say it
MAX_IMAGE_PIXELS = 64_000_000  # one decoded image: 8000 x 8000 (Pillow only warns below 89 M)
NPY_MAX_HEADER_BYTES = 10_000  # numpy's own default limit for a header it parses safely


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int  # bytes before the data

    @property
    def data_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def read_npy_header(f: IO[bytes], shown: str) -> NpyHeader:
    """The header of the ``.npy`` data ``f`` is positioned at; ``InputError`` naming ``shown`` when
    it is not one. Reads only the header."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=NPY_MAX_HEADER_BYTES)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=NPY_MAX_HEADER_BYTES)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not read here (1.0 and 2.0 are)")
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"{shown} is not a readable .npy array ({e})") from None
    return NpyHeader(tuple(int(n) for n in shape), np.dtype(dtype), f.tell())


def check_declared(header: NpyHeader, available: int, shown: str, key: str) -> int:
    """The bytes of data ``header`` declares, after checking they fit in the ``available`` bytes
    after it and in ``MAX_DATASET_BYTES``; ``InputError`` naming ``key`` and ``shown`` otherwise."""
    if header.dtype.hasobject:
        return 0  # pickled objects: refused unread by the reader (allow_pickle=False)
    declared = header.data_bytes
    if declared > MAX_DATASET_BYTES:
        raise InputError(
            f"{key}: {shown} declares {declared} bytes of data (shape {header.shape}, {header.dtype}), "
            f"over the {LIMIT_SHOWN} a dataset may hold in memory; use a smaller file"
        )
    if declared > available:
        raise InputError(
            f"{key}: {shown} declares {declared} bytes of data (shape {header.shape}, {header.dtype}) but "
            f"holds only {available}; the file is truncated or its header is wrong"
        )
    return declared


def check_total(total: int, shown: str, key: str) -> None:
    """``InputError`` when a dataset's arrays together would exceed ``MAX_DATASET_BYTES``."""
    if total > MAX_DATASET_BYTES:
        raise InputError(
            f"{key}: {shown} would hold {total} bytes in memory, over the {LIMIT_SHOWN} "
            "a dataset may hold; use a smaller dataset (or limit: to read fewer samples)"
        )
