"""The toy target: settings parsed from the written section, analysis in a worker, checks made
by the check kernel."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping

from edgegate.checks import Check, budget
from edgegate.status import Level, Status
from edgegate.targets.interface import Conversion, PolicyPlace, Target
from edgegate.units import format_bytes, parse_size
from tests.targets.toy.report import ToyReport


@dataclass(frozen=True)
class ToySettings:
    level: Level = Level.ERROR
    max_bytes: int | None = None

    @staticmethod
    def parse(raw: Mapping[str, Any]) -> ToySettings:
        try:
            limit = parse_size(raw["max_bytes"]) if raw.get("max_bytes") is not None else None
        except ValueError as e:
            raise ValueError(f"toy.max_bytes: {e}") from None
        return ToySettings(Level(raw.get("level", "error")), limit)


@dataclass(frozen=True)
class ToyTarget(Target[ToyReport]):
    settings: ToySettings = ToySettings()

    name: ClassVar[str] = "toy"
    title: ClassVar[str] = "Toy"
    headline: ClassVar[str] = "bytes"

    def never_applies(self, conversion: Conversion) -> str | None:
        return None

    def analyze(self, model: Path) -> ToyReport:
        return ToyReport(len(model.read_bytes()), os.getpid())

    def checks(self, report: ToyReport, base: ToyReport | None, where: PolicyPlace) -> tuple[Check, ...]:
        if self.settings.max_bytes is None:
            return ()
        place = self.place(where, "bytes", "max_bytes")
        return (budget(place, "The model's size", report.size, self.settings.max_bytes, format_bytes),)

    def when_broken(self) -> Status | None:
        return self.settings.level.status_when_broken()

    def summary(self, report: ToyReport) -> str:
        return f"Toy: {format_bytes(report.size)}"
