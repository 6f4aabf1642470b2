"""The model formats EdgeGate gates: one module each, one line each in ``FORMATS``.

Recognising a model (``format_of``), the suffixes ``edgegate init`` and the change selection
look for, and every decision that depends on what a source is read these declarations
(``interface.py``). Consumers read ``FORMATS`` when they decide, so a format registered here is
known everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from edgegate.formats.h5 import H5
from edgegate.formats.interface import ModelFormat
from edgegate.formats.keras import Keras
from edgegate.formats.savedmodel import SavedModel
from edgegate.formats.tflite import Tflite

FORMATS: dict[str, ModelFormat] = {
    f.name: f
    for f in (
        SavedModel(),
        Keras(),
        H5(),
        Tflite(),
    )
}

ModelKind = str  # a format's name, as ``SourceModel.kind`` holds it


def format_named(kind: ModelKind) -> ModelFormat:
    """The format called ``kind``; ``KeyError`` for a name not registered."""
    return FORMATS[kind]


def format_of(path: Path) -> ModelFormat | None:
    """The format of the model at ``path`` (a file or a folder), by name and layout; None: not a model."""
    return next((f for f in FORMATS.values() if f.detect(path)), None)


def model_kind(path: Path) -> ModelKind | None:
    """What kind of model a path holds, by name and layout; None when it is not a model."""
    found = format_of(path)
    return found.name if found else None


def model_suffixes() -> dict[str, ModelKind]:
    """Each file suffix a model can have (lower case) → the format's name."""
    return {suffix: f.name for f in FORMATS.values() for suffix in f.suffixes}


def is_model_name(path: str) -> bool:
    """A file of this name is a model (by its suffix; a folder format is recognised by layout)."""
    return PurePosixPath(path).suffix.lower() in model_suffixes()


# Folders no model of the repository's own lives in (tools' environments, build output).
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}


def find_model_paths(root: Path) -> list[str]:
    """Every model under ``root`` (repository-relative, sorted as walked): model files (compiled
    ``*_edgetpu.tflite`` excluded: the compiler's output, not a source) and SavedModel folders."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        if any(f.detect(here) for f in FORMATS.values() if not f.suffixes):
            dirnames[:] = []  # a SavedModel's variables/ and assets/ are part of it
            found.append(here.relative_to(root).as_posix())
            continue
        for f in sorted(filenames):
            if is_model_name(f) and not f.endswith("_edgetpu.tflite"):
                found.append((here / f).relative_to(root).as_posix())
    return found
