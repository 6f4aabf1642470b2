"""Targets: devices and accelerators candidates are checked against (see interface.py).

``targets_for(model)`` is the one place that turns a model's policy into the targets it is
checked against, each with the policy key its checks point at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgegate.policy.sections import ModelPolicy
from edgegate.targets.interface import PolicyPlace, Target


@dataclass(frozen=True)
class PlacedTarget:
    target: Target[Any]
    place: PolicyPlace  # where its settings are written


def targets_for(model: ModelPolicy, root: Path | None = None) -> tuple[PlacedTarget, ...]:
    from edgegate.targets.edgetpu import EdgeTpuTarget

    found: list[PlacedTarget] = []
    if model.edgetpu.level != "off":
        found.append(
            PlacedTarget(
                EdgeTpuTarget(model.edgetpu, root), PolicyPlace(f"models[{model.index}].edgetpu", model.line)
            )
        )
    return tuple(found)
