"""What the jobs have reported so far, per candidate and per model: the loop fills these in,
``assemble`` reads them. Mutable on purpose: they are the run's bookkeeping, never passed on
to later stages (those get the frozen results).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgegate.policy.sections import Recipe
from edgegate.recipes.interface import BuiltCandidate
from edgegate.run.jobs import AS_IS
from edgegate.run.plan import ModelPlan

if TYPE_CHECKING:
    from edgegate.measurements.interface import LatencyFigures, MemoryFigures
    from edgegate.metrics.interface import SampleScores
    from edgegate.model_diff.interface import ModelDiff
    from edgegate.results import Accuracy, CandidateResult, LayerError
    from edgegate.run.auto import AutoSearch
    from edgegate.run.keep_float import KeepFloatSearches
    from edgegate.run.jobs import EvaluateJob


@dataclass
class CandidateFigures:
    recipe: Recipe | None  # None for a .tflite source measured as it is
    built: BuiltCandidate | None = None
    error: str | None = None  # could not be built or evaluated: why
    accuracy: Accuracy | None = None
    scores: SampleScores | None = None  # each eval sample's score: the paired intervals vs other models
    latency: LatencyFigures | None = None
    memory: MemoryFigures | None = None
    memory_error: str | None = None  # the memory measurement failed: why (it breaks the memory budgets)
    targets: dict[str, Any] = field(default_factory=dict)  # target name → its report
    target_errors: dict[str, str] = field(default_factory=dict)  # target name → why it failed

    @property
    def path(self) -> Path | None:
        """The candidate's .tflite, when it was built."""
        return self.built.path if self.built is not None else None

    @property
    def conversion(self) -> str:
        """What made it: the recipe's last stage (its conversion, or its last .tflite transform), or
        ``as-is`` for a .tflite source."""
        return AS_IS if self.recipe is None else self.recipe.made_by

    @property
    def skip_reason(self) -> str | None:
        return self.built.skip_reason if self.built is not None else None

    @property
    def not_runnable(self) -> str | None:
        return self.built.not_runnable if self.built is not None else None

    @property
    def usable(self) -> bool:
        """Built, nothing failed on it, and the interpreter can run it: it can be timed."""
        return self.path is not None and self.error is None and self.not_runnable is None


@dataclass
class ModelFigures:
    plan: ModelPlan
    head: dict[str, CandidateFigures] = field(default_factory=dict)
    base: dict[str, CandidateFigures] = field(default_factory=dict)
    error: str | None = None  # the model as a whole cannot be gated
    notes: list[str] = field(default_factory=list)
    reference_outputs: Path | None = None  # the float model's eval outputs (fidelity metric)
    reference_done: bool = False  # the reference was evaluated, or failed
    waiting: list[EvaluateJob] = field(default_factory=list)  # evaluations that need those outputs
    search: AutoSearch | None = None  # recipes: auto
    keep_float: KeepFloatSearches | None = None  # the keep-float searches (every model with recipes)
    results: tuple[CandidateResult, ...] = ()  # the candidates judged so far
    worst_layers: dict[str, tuple[LayerError, ...]] = field(default_factory=dict)
    # The float reference's latency per timing session: each round of recipes: auto times it
    # again beside that round's candidates, and a candidate pairs with its own session's.
    reference_latency: dict[int, LatencyFigures] = field(default_factory=dict)
    layer_notes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # its jobs' run time in workers, summed: its cost (RunResult.model_seconds)
    diffs: dict[str, ModelDiff] = field(default_factory=dict)  # by label: read once per run

    def __post_init__(self) -> None:
        self.error = self.plan.error
        self.notes = list(self.plan.notes)
        if self.plan.base_same:
            self.base = self.head  # identical bytes: the base figures are head's

    def side(self, side: str) -> dict[str, CandidateFigures]:
        return self.head if side == "head" else self.base
