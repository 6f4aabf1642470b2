"""What counts as a model file, by name and layout, and what a Git LFS pointer looks like.

A model is a file with one of ``MODEL_SUFFIXES`` or a SavedModel folder (one holding a
``SAVED_MODEL_FILES`` marker); the files inside a SavedModel belong to it. Without its LFS
objects a checkout holds small text pointers where the models should be, and a loader would
fail on them with a confusing parse error, so readers check for pointers first. A leaf: it
imports nothing from EdgeGate.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

ModelKind = Literal["keras", "h5", "savedmodel", "tflite"]

MODEL_SUFFIXES: dict[str, ModelKind] = {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".tflite": "tflite"}
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")

# The git-lfs pointer spec: the file starts with this line and is smaller than 1024 bytes.
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
LFS_POINTER_MAX_BYTES = 1024


def is_saved_model(folder: Path) -> bool:
    """``folder`` holds a SavedModel's graph file."""
    return any((folder / name).is_file() for name in SAVED_MODEL_FILES)


def model_kind(path: Path) -> ModelKind | None:
    """What kind of model a path holds, by name and layout; None when it is not a model."""
    if path.is_dir():
        return "savedmodel" if is_saved_model(path) else None
    return MODEL_SUFFIXES.get(path.suffix.lower())


def is_lfs_pointer(data: bytes) -> bool:
    """``data``, a whole file or its first ``LFS_POINTER_MAX_BYTES`` bytes, is a Git LFS pointer."""
    return len(data) < LFS_POINTER_MAX_BYTES and data.startswith(LFS_POINTER_PREFIX)


def file_is_lfs_pointer(path: Path) -> bool:
    """The file at ``path`` is a Git LFS pointer (reads at most ``LFS_POINTER_MAX_BYTES``)."""
    with open(path, "rb") as f:
        return is_lfs_pointer(f.read(LFS_POINTER_MAX_BYTES))


# Folders no model of the repository's own lives in (tools' environments, build output).
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}


def find_model_paths(root: Path) -> list[str]:
    """Every model under ``root`` (repository-relative, sorted as walked): model files (compiled
    ``*_edgetpu.tflite`` excluded: the compiler's output, not a source) and SavedModel folders."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        if any(marker in filenames for marker in SAVED_MODEL_FILES):
            dirnames[:] = []  # a SavedModel's variables/ and assets/ are part of it
            found.append(here.relative_to(root).as_posix())
            continue
        for f in sorted(filenames):
            if Path(f).suffix.lower() in MODEL_SUFFIXES and not f.endswith("_edgetpu.tflite"):
                found.append((here / f).relative_to(root).as_posix())
    return found
