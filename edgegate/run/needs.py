"""What a run will need installed, known before any work: TensorFlow, or only the light core.

A ``.tflite`` source is measured as it is (the LiteRT interpreter, TFLite Micro and Vela ship
with the core); any other source (SavedModel, .keras, .h5) is converted, and training recipes
fine-tune, which take TensorFlow (the distribution's ``tensorflow`` extra). The action asks
``edgegate needs`` first and installs the extra only when a changed model needs it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgegate.changes.interface import ChangedModel
from edgegate.distribution import install_command
from edgegate.model_files import model_kind

INSTALL_TENSORFLOW = install_command("tensorflow")  # named by the installed metadata


@dataclass(frozen=True)
class RunNeeds:
    tensorflow_for: tuple[str, ...]  # "digits (models/digits.keras)": models whose versions need converting

    @property
    def tensorflow(self) -> bool:
        return bool(self.tensorflow_for)


def needs_of(changed: Sequence[ChangedModel], root: Path) -> RunNeeds:
    """``changed``: the run's ``ChangedModel``s; a model needs TensorFlow unless every version is a .tflite."""
    names = []
    for c in changed:
        paths = [c.target.path] + ([c.base_path] if c.base_path else [])
        kinds = {model_kind(root / p) or _kind_by_name(p) for p in paths}
        if kinds != {"tflite"}:
            names.append(f"{c.target.name} ({c.target.path})")
    return RunNeeds(tuple(names))


def _kind_by_name(path: str) -> str:
    """The base version is not on disk: judge it by its name (a folder is a SavedModel)."""
    return "tflite" if path.lower().endswith(".tflite") else "other"


def tensorflow_installed() -> bool:
    return importlib.util.find_spec("tensorflow") is not None  # finds it without importing it


def missing_tensorflow_message(model: str) -> str:
    return (
        f"model {model} needs TensorFlow to convert it, and TensorFlow is not installed in this "
        f"environment: {INSTALL_TENSORFLOW} (.tflite models are gated without it)"
    )
