"""What a SavedModel folder holds, and what a Git LFS pointer looks like.

Which files and folders are models is the ``edgegate.formats`` registry's to say; a SavedModel
folder is one holding a ``SAVED_MODEL_FILES`` marker, and the files inside it belong to it. Without its LFS
objects a checkout holds small text pointers where the models should be, and a loader would
fail on them with a confusing parse error, so readers check for pointers first. A leaf: it
imports nothing from EdgeGate.
"""

from __future__ import annotations

from pathlib import Path

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")

# The git-lfs pointer spec: the file starts with this line and is smaller than 1024 bytes.
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
LFS_POINTER_MAX_BYTES = 1024


def is_saved_model(folder: Path) -> bool:
    """``folder`` holds a SavedModel's graph file."""
    return any((folder / name).is_file() for name in SAVED_MODEL_FILES)


def is_lfs_pointer(data: bytes) -> bool:
    """``data``, a whole file or its first ``LFS_POINTER_MAX_BYTES`` bytes, is a Git LFS pointer."""
    return len(data) < LFS_POINTER_MAX_BYTES and data.startswith(LFS_POINTER_PREFIX)


def file_is_lfs_pointer(path: Path) -> bool:
    """The file at ``path`` is a Git LFS pointer (reads at most ``LFS_POINTER_MAX_BYTES``)."""
    with open(path, "rb") as f:
        return is_lfs_pointer(f.read(LFS_POINTER_MAX_BYTES))
