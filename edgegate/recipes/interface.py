"""Types shared by the recipe code that runs in workers and the parent that schedules it.

``SourceModel`` is a model on disk (head working tree or a base export); ``BuildRequest``
asks a worker for one or more candidates that share their training stages (so a fine-tuned
parent is trained once for ``prune``, ``prune+int8`` and ``prune+qat``); ``BuiltCandidate``
is what came back. ``TrainingStage`` is the base of ``prune``, ``cluster`` and ``qat``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgegate.conversions import CONVERSIONS
from edgegate.formats import ModelKind, format_named
from edgegate.formats.interface import ModelFormat

from edgegate.measurements.interface import SizeFigures
from edgegate.policy.sections import Calibration, Recipe, Training, settings_of
from edgegate.results import TrainingFigures

if TYPE_CHECKING:  # pragma: no cover
    from edgegate.datasets.interface import Dataset


@dataclass(frozen=True)
class SourceModel:
    path: Path  # local path to read (working tree or a temp export of the base version)
    kind: ModelKind
    display: str  # repository-relative path, for messages
    trust_code: bool = False  # allow Lambda layers / custom objects

    @property
    def format(self) -> ModelFormat:
        """What the source is, and what it declares (``edgegate.formats``)."""
        return format_named(self.kind)


def stages_of(recipe: Recipe) -> tuple[tuple[str, ...], str]:
    """Split a recipe into (training stages, conversion). ``qat`` alone converts to int8."""
    return recipe.trainings, recipe.conversion


def is_float_reference(recipe: Recipe) -> bool:
    """The plain float32 conversion: what every accuracy drop is measured against."""
    trainings, conversion = stages_of(recipe)
    return CONVERSIONS[conversion].reference and not trainings and not recipe.transforms


def training_key(recipe: Recipe) -> tuple:
    """Recipes with equal keys share one fine-tuned parent model."""
    return tuple((stage, settings_of(getattr(recipe, stage))) for stage in recipe.trainings)


@dataclass(frozen=True)
class BuildRequest:
    model_name: str
    source: SourceModel
    recipes: tuple[Recipe, ...]  # all with the same training_key
    out_dir: Path  # one <label>.tflite per recipe is written here
    root: Path  # repository root (dataset paths and hooks resolve against it)
    calibration: Calibration | None = None
    training: Training | None = None


@dataclass(frozen=True)
class BuiltCandidate:
    label: str
    path: Path | None  # the .tflite, None on failure or skip
    error: str | None = None  # could not be built: why
    skip_reason: str | None = None  # not built on purpose (no training data, ...): why
    training: TrainingFigures | None = None
    notes: tuple[str, ...] = ()
    size: SizeFigures | None = None  # measured by the worker that built it
    not_runnable: str | None = None  # why the stock interpreter cannot run it (a custom op)
    ranking: tuple[str, ...] = ()  # its transform's layers that lost the most, worst first (``Applied``)


@dataclass(frozen=True)
class TrainingContext:
    """What fine-tuning needs besides the model."""

    model_name: str
    training: Training
    data: "Dataset | None"  # None when the policy gives no training data (and no hook)
    root: Path
    seed: int


@dataclass(frozen=True)
class StageOutcome:
    model: Any  # a tf_keras.Model, stripped of tfmot wrappers where the stage allows
    figures: TrainingFigures
    notes: tuple[str, ...] = ()


class TrainingStage(abc.ABC):
    """One training-based optimization (prune / cluster / qat), applied to a tf-keras model.

    ``previous`` lists the stages already applied, so collaborative variants can preserve
    them (sparsity-preserving clustering, pruning- or cluster-preserving QAT).
    """

    name: str

    @abc.abstractmethod
    def apply(
        self, model: Any, recipe: Recipe, previous: tuple[str, ...], context: TrainingContext
    ) -> StageOutcome:
        """Return the fine-tuned model; raise ``InputError`` naming layers it cannot handle."""
