"""The model formats EdgeGate gates: one module each, one line each in ``FORMATS``.

Recognising a model (``format_of``), the suffixes ``edgegate init`` and the change selection
look for, and every decision that depends on what a source is read these declarations
(``interface.py``). Consumers read ``FORMATS`` when they decide, so a format registered here is
known everywhere.
"""

from __future__ import annotations

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
