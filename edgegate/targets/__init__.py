"""Targets: devices and accelerators candidates are checked against (see interface.py).

Each target is a folder here (``compute/``, ``mcu/``, ...) registered by one line in
``edgegate/target_registry.py``. ``targets_for(model, root)`` is the one place that turns a
model's policy into the targets it is checked against, each with the policy key its checks
point at. The policy loader has already validated each ``targets:`` section and parsed it into
the target's settings (``policy/load.py``, through the registry), so a bad setting is a policy
error with its ``file:line``, like every other key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgegate.target_registry import kinds
from edgegate.targets.interface import PolicyPlace, Target

if TYPE_CHECKING:  # at run time only when used: reading results (edgegate report) needs no policy
    from edgegate.policy.sections import ModelPolicy


@dataclass(frozen=True)
class PlacedTarget:
    target: Target[Any]
    place: PolicyPlace  # where its settings are written


def targets_for(model: ModelPolicy, root: Path | None = None) -> tuple[PlacedTarget, ...]:
    """The model's targets, in the registry's order."""
    sections = {s.name: s for s in model.targets}
    found: list[PlacedTarget] = []
    for kind in kinds():
        if kind.written is None:  # a key of its own (the Edge TPU: ``edgetpu:``)
            target = kind.build(None, model, root)
            own = getattr(model, kind.name, None)  # its settings: where they were written
            line = getattr(own, "line", None)
            place = PolicyPlace(
                f"{model.key}.{kind.name}",
                model.line if line is None else line,
                getattr(own, "key_lines", ()),
            )
        elif kind.name in sections:
            section = sections[kind.name]
            target, place = (
                kind.build(section.settings, model, root),
                PolicyPlace(section.key, section.line, section.key_lines),
            )
        else:
            continue
        if target is not None:
            found.append(PlacedTarget(target, place))
    return tuple(found)
