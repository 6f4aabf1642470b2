"""What a run will need installed, known before any work: TensorFlow, or only the light core.

Decided from what each version's format and its recipes' conversions declare they need
(``install``): a ``.tflite`` source is measured as it is (the LiteRT interpreter, TFLite Micro and
Vela ship with the core); any other source (SavedModel, .keras, .h5) is converted, and training
recipes fine-tune, which take TensorFlow (the distribution's ``tensorflow`` extra). The action asks
``edgegate needs`` first and installs the extra only when a changed model needs it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgegate.changes.interface import ChangedModel
from edgegate.conversions import CONVERSIONS, reference_name
from edgegate.distribution import install_command
from edgegate.conversions.interface import TENSORFLOW, Install
from edgegate.formats import FORMATS, format_of
from edgegate.formats.interface import ModelFormat
from edgegate.policy.sections import ModelPolicy
from edgegate.transforms import TRANSFORMS

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
        installs: set[Install] = set()
        for p in paths:
            installs |= _installs(format_of(root / p) or _format_by_name(p), c.target.model)
        if TENSORFLOW in installs:
            names.append(f"{c.target.name} ({c.target.path})")
    return RunNeeds(tuple(names))


def _installs(found: ModelFormat | None, model: ModelPolicy) -> set[Install]:
    """What gating one version takes: its format's install, and its recipes' stages' (conversions and
    .tflite transforms) when it is converted. A version of no known format counts as converted (it
    is reported as unreadable, never skipped)."""
    if found is not None and found.measured_as_is:
        return {found.install}
    conversions = {reference_name(), *(r.conversion for r in model.recipes)}
    if model.auto:
        conversions |= {name for name, c in CONVERSIONS.items() if c.auto is not None}
    transforms = {t for r in model.recipes for t in r.transforms}
    return {
        found.install if found else TENSORFLOW,
        *(CONVERSIONS[name].install for name in conversions),
        *(TRANSFORMS[name].install for name in transforms),
    }


def _format_by_name(path: str) -> ModelFormat | None:
    """The base version is not on disk: judge it by its name (a name no format takes, such as a
    SavedModel folder's, counts as converted)."""
    return next((f for f in FORMATS.values() if f.named(path)), None)


def tensorflow_installed() -> bool:
    return importlib.util.find_spec("tensorflow") is not None  # finds it without importing it


def missing_tensorflow_message(model: str) -> str:
    return (
        f"model {model} needs TensorFlow to convert it, and TensorFlow is not installed in this "
        f"environment: {INSTALL_TENSORFLOW} (.tflite models are gated without it)"
    )
