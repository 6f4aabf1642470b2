"""What a run will need installed, known before any work: TensorFlow, an extra, or only the light core.

Decided from what each version's format and its recipes' stages declare they need
(``install``): a ``.tflite`` source is measured as it is (the LiteRT interpreter, TFLite Micro and
Vela ship with the core), and its written recipes run on the LiteRT Quantizer (the ``quantizer``
extra, never TensorFlow); any other source (SavedModel, .keras, .h5) is converted, and training
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


def optional_extras() -> tuple[str, ...]:
    """The extras besides TensorFlow a stage declares: each is a step output of ``edgegate needs``."""
    return tuple(dict.fromkeys(t.install.extra for t in TRANSFORMS.values() if t.install.extra))


@dataclass(frozen=True)
class RunNeeds:
    tensorflow_for: tuple[str, ...]  # "digits (models/digits.keras)": models whose versions need converting
    # The other extras and the models that need each: ("quantizer", ("face (face.tflite)",)).
    extras_for: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def tensorflow(self) -> bool:
        return bool(self.tensorflow_for)

    @property
    def extras(self) -> tuple[str, ...]:
        """The extras besides TensorFlow this run installs (the quantizer's for a .tflite's recipes)."""
        return tuple(extra for extra, _ in self.extras_for)


def needs_of(changed: Sequence[ChangedModel], root: Path) -> RunNeeds:
    """``changed``: the run's ``ChangedModel``s; a model needs TensorFlow unless every version is a
    .tflite, and an extra when a recipe's stage declares it (a .tflite's recipes: the quantizer)."""
    names = []
    extras: dict[str, list[str]] = {}
    for c in changed:
        paths = [c.target.path] + ([c.base_path] if c.base_path else [])
        installs: set[Install] = set()
        for p in paths:
            installs |= _installs(format_of(root / p) or _format_by_name(p), c.target.model)
        shown = f"{c.target.name} ({c.target.path})"
        if TENSORFLOW in installs:
            names.append(shown)
        for extra in sorted({i.extra for i in installs if i.extra and i != TENSORFLOW}):
            extras.setdefault(extra, []).append(shown)
    return RunNeeds(tuple(names), tuple((extra, tuple(models)) for extra, models in extras.items()))


def _installs(found: ModelFormat | None, model: ModelPolicy) -> set[Install]:
    """What gating one version takes: its format's install, and its recipes' stages' (conversions and
    .tflite transforms; for a .tflite, the transforms of the recipes the policy wrote for it). A
    version of no known format counts as converted (it is reported as unreadable, never skipped)."""
    if found is not None and found.measured_as_is:
        try:
            recipes = model.recipes_for_tflite()
        except ValueError:  # a recipe a .tflite cannot take: the run reports it, nothing to install
            recipes = ()
        return {found.install, *(TRANSFORMS[t].install for r in recipes for t in r.transforms)}
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
