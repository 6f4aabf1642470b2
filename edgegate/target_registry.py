"""The targets candidates are checked against: one line per target, in ``PACKAGES``.

Each line names a target's folder (``targets/<name>/``), whose ``__init__.py`` declares its
``KIND``: the section users write (validated by ``policy/`` and shown in the JSON Schema), the
report its analysis returns (stored in the results file), how the written section becomes
settings and how the settings become a ``Target``. A new target is one folder plus one line
here: the policy, the run, the cache and the report find it through this table.

A leaf: ``policy/`` and ``results/`` sit below the targets, so they reach a target only
through ``kinds()``, which imports the folder's ``__init__.py`` alone. That module imports
the target's written form and its report, never its analyzer (``parse`` and ``build`` import
those when called), so reading a results file loads no analyzer (tests/targets/test_registry.py).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Union

# For the written forms: a quantity as written ("256 KiB", "5%", 300M), parsed by the target.
Quantity = Union[str, int, float]
# A written form's ``__pydantic_config__``: an unknown key is a policy error at its line.
WRITTEN = {"extra": "forbid"}


def doc(text: str, default: Any = None) -> Any:
    """A written form's field with its description (the JSON Schema shows it in editors)."""
    return field(default=default, metadata={"description": text})


# The packages declaring the targets, in the order the report lists them.
PACKAGES: tuple[str, ...] = (
    "edgegate.targets.edgetpu",
    "edgegate.targets.compute",
    "edgegate.targets.mcu",
    "edgegate.targets.ethos_u",
    "edgegate.targets.gpu",
)


@dataclass(frozen=True)
class TargetKind:
    """What the rest of EdgeGate knows about one target, declared in its folder."""

    name: str  # "mcu": its key under ``targets:``, its results entry, its checks' prefix
    report: type  # the frozen dataclass its analysis returns and the results file stores
    # The section as written under ``targets: {name: ...}``: a frozen dataclass (plain types,
    # attribute docstrings; ``__pydantic_config__`` forbids unknown keys). None: the target has
    # a key of its own instead (the Edge TPU: ``edgetpu:``).
    written: type | None
    # The validated section → the target's frozen settings; ``ValueError`` (naming the key) or
    # ``PolicyError`` (one problem per line) for what the written form cannot say (quantities).
    parse: Callable[[Mapping[str, Any], str], Any] | None
    # (settings, the model's policy, the repository root) → the ``Target``, or None when the
    # model does not check it (the Edge TPU at ``level: off``).
    build: Callable[[Any, Any, Any], Any]
    # Its part of the markdown report: a Jinja template in its folder, included with ``part`` set
    # to "model" (after a model's table: ``m``) and to "candidate" (in its details: ``c``).
    markdown: Path | None = None


def kinds() -> tuple[TargetKind, ...]:
    """Every registered target, in report order."""
    return tuple(importlib.import_module(package).KIND for package in PACKAGES)


def kind(name: str) -> TargetKind | None:
    """The target of that name; None for a name no registered target has."""
    return next((k for k in kinds() if k.name == name), None)


def section_kinds() -> tuple[TargetKind, ...]:
    """The targets set under ``targets:`` (those with a written form)."""
    return tuple(k for k in kinds() if k.written is not None)
