"""The targets family: a device or accelerator a candidate is checked against.

A ``Target`` answers one question about one ``.tflite`` ("how much runs on the Edge TPU",
"how much RAM does TFLite Micro need", "how many multiply-accumulates"), in three steps that
run in different places:

1. ``never_applies(conversion)`` (parent): a sentence when a candidate made by that conversion
   can never run on the target (a float model on the Edge TPU), so it is reported, not analyzed.
   A target answers it in ``never_runs``, from what the conversion declares it ``produces``
   (its weights' and activations' dtypes, integer-only), never from its name;
2. ``analyze(model)`` (a worker process: it may import TensorFlow, TFLite Micro or run a
   compiler): a frozen, picklable report of the target's own type;
3. ``checks(report, base, where)`` (parent): the target's budgets as ``Check`` values made
   by the check kernel (``edgegate.checks``), the base branch's report given for ``vs_base``
   comparisons; ``summary(report)`` is the one line the report shows. ``skipped`` and
   ``failed`` are written once, here, over the target's ``places``.

A target is a frozen dataclass holding its policy settings, so a job can carry it to a worker.
Adding a target is one folder here plus one line in ``edgegate/target_registry.py`` (see
docs/architecture.md).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from edgegate.checks import Check, Place
from edgegate.conversions import produced_by
from edgegate.conversions.interface import Produces
from edgegate.transforms import TRANSFORMS
from edgegate.status import Status

Report = TypeVar("Report")

# What a candidate was made by: a recipe's conversion or its last .tflite transform, or AS_IS for a
# .tflite measured as it is.
Conversion = str
AS_IS = "as-is"


@dataclass(frozen=True)
class PolicyPlace:
    """Where a target's settings are written, so its checks can point at them."""

    key: str  # "models[0].edgetpu"
    line: int | None
    # The line of each key written under the section ("min_mapped", "vs_base.macs"), so a check
    # points at its own key, not at the section or the model's ``- name:`` line.
    key_lines: tuple[tuple[str, int], ...] = ()

    def line_of(self, key: str | None) -> int | None:
        """The line of ``key`` under the section (or of the nearest written key above it), else the section's."""
        lines = dict(self.key_lines)
        parts = key.split(".") if key else []
        for n in range(len(parts), 0, -1):
            found = lines.get(".".join(parts[:n]))
            if found is not None:
                return found
        return self.line


class Target(abc.ABC, Generic[Report]):
    name: ClassVar[str]  # "edgetpu": the results field and the check-name prefix
    title: ClassVar[str]  # "Edge TPU": how the report names it
    headline: ClassVar[str]  # "compiles": the check every candidate gets (a skip or a failure says it)

    def never_applies(self, conversion: Conversion) -> str | None:
        """Why candidates of this conversion can never run here; None when they may (and always for
        a .tflite measured as it is: what it holds is known only once it is analyzed)."""
        if conversion == AS_IS:
            return None
        transform = TRANSFORMS.get(conversion)
        return self.never_runs(transform.produces if transform else produced_by(conversion))

    def never_runs(self, produced: Produces) -> str | None:
        """Why a model holding what ``produced`` says can never run here; None (the default): it may."""
        return None

    def needs_base(self) -> bool:
        """Whether its checks compare with the base version (then the base is analyzed too)."""
        return False

    def read_files(self) -> dict[str, Path | None]:
        """Files the analysis reads besides the model, by the field of the target they stand for
        (a cache key holds their bytes instead of that field; None: that field reads none).
        ``EdgeGateError`` when they cannot be found (the analysis reports it)."""
        return {}

    @abc.abstractmethod
    def analyze(self, model: Path) -> Report:
        """Analyze one ``.tflite`` (in a worker); ``InputError`` for input it cannot read."""

    @abc.abstractmethod
    def checks(self, report: Report, base: Report | None, where: PolicyPlace) -> tuple[Check, ...]:
        """The target's budgets applied to ``report`` (``base``: the base version's, if measured)."""

    @abc.abstractmethod
    def when_broken(self) -> Status | None:
        """What a broken check of this target is (FAIL at ``level: error``, WARN at ``warn``); None: off."""

    def place(self, where: PolicyPlace, check: str, key: str | None = None) -> Place:
        """The check ``<name>.<check>``, pointing at ``key`` under the target's settings (or at them)."""
        return Place(
            f"{self.name}.{check}" if check else self.name,
            f"{where.key}.{key}" if key else where.key,
            where.line_of(key or check),
            self.when_broken() or Status.WARN,
            target=self.name,
        )

    def places(self, where: PolicyPlace) -> tuple[Place, ...]:
        """The checks a skip or a failed analysis stands for: the headline check, none when off."""
        return (self.place(where, self.headline),) if self.when_broken() is not None else ()

    def skipped(self, reason: str, where: PolicyPlace) -> tuple[Check, ...]:
        """The checks (status SKIP, saying ``reason``) for a candidate the target never applies to."""
        return tuple(p.skip(f"not checked for the {self.title}: {reason}") for p in self.places(where))

    def failed(self, error: str, where: PolicyPlace) -> tuple[Check, ...]:
        """The checks when the analysis itself failed: broken at the target's level, naming ``error``."""
        return tuple(p.broke(f"{self.title} check failed: {error}") for p in self.places(where))

    @abc.abstractmethod
    def summary(self, report: Report) -> str:
        """One line for the report: "Edge TPU: 62/64 ops mapped, 1 partition"."""
