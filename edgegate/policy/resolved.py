"""A validated policy turned into what the pipeline consumes: defaults applied, text parsed.

``ResolvedModel`` is one ``models:`` entry with ``defaults:`` filled in; each budget becomes a
``Budget`` carrying its canonical number (bytes, ms, metric units), its level and the policy
line it came from, so a failing check can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from edgegate import units as q
from edgegate.policy.schema import (
    CalibrationSpec,
    EdgeTpuSpec,
    EvalSpec,
    LatencySpec,
    RecipeSpec,
    TrainingSpec,
)
from edgegate.status import Level

Metric = Literal["size", "gzip_size", "latency", "accuracy"]
Against = Literal["absolute", "float", "base"]


@dataclass(frozen=True)
class Budget:
    """One limit. ``against`` says what it compares with:

    - ``absolute``: ``bound`` is "max" or "min" and ``value`` the limit (bytes / ms / metric units);
    - ``float``: accuracy loss vs the float model, at most ``change``;
    - ``base``: worsening vs the same candidate on the base branch, at most ``change``.
    """

    metric: Metric
    against: Against
    level: Level
    written: str
    key: str
    line: int | None
    bound: Literal["max", "min"] = "max"
    value: float | None = None
    change: q.Change | None = None


DEFAULT_RECIPES = (RecipeSpec(recipe="float16"), RecipeSpec(recipe="dynamic"), RecipeSpec(recipe="int8"))


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: str  # as written: a path or glob relative to the repository root
    index: int  # position in models:, for error keys
    watch: tuple[str, ...] = ()
    recipes: tuple[RecipeSpec, ...] = DEFAULT_RECIPES
    auto: bool = False  # recipes: auto — search the decision path instead of a fixed list
    deploy: str = "smallest"
    objective: Literal["smallest", "fastest", "most_accurate"] = "smallest"
    eval: EvalSpec | None = None
    calibration: CalibrationSpec | None = None
    training: TrainingSpec | None = None
    budgets: tuple[Budget, ...] = ()
    edgetpu: EdgeTpuSpec = EdgeTpuSpec()
    latency: LatencySpec = LatencySpec()
    trust_code: bool = False
    line: int | None = None

    def recipe(self, label: str) -> RecipeSpec | None:
        return next((r for r in self.recipes if r.label == label), None)


@dataclass(frozen=True)
class Policy:
    path: Path  # the policy file
    root: Path  # the repository root all policy paths are relative to
    models: tuple[ResolvedModel, ...]
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def display_path(self) -> str:
        try:
            return self.path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(self.path)
