"""Targets: devices and accelerators candidates are checked against (see interface.py).

``targets_for(model, root)`` is the one place that turns a model's policy into the targets it
is checked against, each with the policy key its checks point at. Each target parses its own
``targets:`` section; ``target_problems`` runs those parsers over a whole policy before any
work, so a bad setting is a policy error with its ``file:line``, like every other key (the run
reports them together with the loader's problems, in one error).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgegate.errors import PolicyError
from edgegate.targets.interface import PolicyPlace, Target

if TYPE_CHECKING:  # at run time only when used: reading results (edgegate report) needs no policy
    from edgegate.policy.problems import PolicyProblem
    from edgegate.policy.sections import ModelPolicy, Policy, TargetSection


@dataclass(frozen=True)
class PlacedTarget:
    target: Target[Any]
    place: PolicyPlace  # where its settings are written


def targets_for(model: ModelPolicy, root: Path | None = None) -> tuple[PlacedTarget, ...]:
    """The model's targets; ``ValueError``/``PolicyError`` for a section its target refuses."""
    from edgegate.targets.edgetpu import EdgeTpuTarget

    found: list[PlacedTarget] = []
    if model.edgetpu.level != "off":
        found.append(
            PlacedTarget(EdgeTpuTarget(model.edgetpu, root), PolicyPlace(f"{model.key}.edgetpu", model.line))
        )
    for section in model.targets:
        found.append(PlacedTarget(_target(section, model, root), PolicyPlace(section.key, section.line)))
    return tuple(found)


@functools.lru_cache(maxsize=256)
def _target(section: TargetSection, model: ModelPolicy, root: Path | None) -> Target[Any]:
    """One section's target, parsed once per run: ``target_problems`` checks every section before
    any work, and ``targets_for`` then takes the same (frozen) targets (Vela's config is read once)."""
    raw = json.loads(section.settings_json)
    if section.name == "compute":
        from edgegate.targets.compute import ComputeSettings, ComputeTarget

        return ComputeTarget(ComputeSettings.parse(raw))
    if section.name == "mcu":
        from edgegate.targets.mcu import McuSettings, McuTarget

        return McuTarget(McuSettings.parse(raw))
    if section.name == "ethos-u":
        from edgegate.targets.ethos_u import EthosUSettings, EthosUTarget

        # (no line: target_problems puts file:line in front of each problem)
        return EthosUTarget(EthosUSettings.from_policy(raw, section.key))
    if section.name == "gpu":
        from edgegate.targets.gpu import GpuSettings, GpuTarget

        return GpuTarget.observing(GpuSettings.parse(raw), model.eval.data if model.eval else None, root)
    raise ValueError(f"unknown target {section.name!r}")  # the schema allows only the names above


def target_problems(policy: Policy) -> list[PolicyProblem]:
    """Every target setting the targets refuse, at the line of its section (``file:line: key: message``)."""
    from edgegate.policy.problems import PolicyProblem

    problems: list[PolicyProblem] = []
    for model in policy.models:
        for section in model.targets:
            line = section.line or 1
            try:
                _target(section, model, policy.root)
            except PolicyError as e:
                problems += [PolicyProblem(policy.display_path, line, p) for p in e.problems]
            except ValueError as e:
                problems.append(PolicyProblem(policy.display_path, line, f"{section.key}: {e}"))
    return problems
