"""The ``targets: {compute: ...}`` section as users write it (validated by ``policy/``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from edgegate.target_registry import WRITTEN, Quantity, doc


@dataclass(frozen=True)
class MacsLimit:
    __pydantic_config__: ClassVar = WRITTEN
    max: Quantity = doc("Most multiply-accumulates per inference, e.g. 300M.")


@dataclass(frozen=True)
class ComputeGrowth:
    __pydantic_config__: ClassVar = WRITTEN
    macs: Quantity | None = doc("Largest growth over the base version: 5% or a count, 10M.")


@dataclass(frozen=True)
class ComputeSection:
    """The MAC count (multiply-accumulates per inference) and its budgets."""

    __pydantic_config__: ClassVar = WRITTEN
    macs: MacsLimit | None = doc("{max: 300M}: the most MACs per inference.")
    vs_base: ComputeGrowth | None = doc("{macs: 5%}: the most the count may grow over the base version.")
    level: Literal["error", "warn"] = doc("What a broken budget does.", "error")
