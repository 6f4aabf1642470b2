"""``targets: {toy: {max_bytes: 10 KB, level: error}}`` as written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from edgegate.target_registry import WRITTEN, Quantity, doc


@dataclass(frozen=True)
class ToySection:
    """The toy target: the model's size against a byte budget."""

    __pydantic_config__: ClassVar = WRITTEN
    max_bytes: Quantity | None = doc("Most bytes the model may have, e.g. 10 KB.")
    level: Literal["error", "warn"] = doc("What a broken budget does.", "error")
