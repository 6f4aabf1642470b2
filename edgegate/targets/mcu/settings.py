"""The ``targets: {mcu: ...}`` section as users write it (validated by ``policy/``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from edgegate.target_registry import WRITTEN, Quantity, doc


@dataclass(frozen=True)
class McuGrowth:
    __pydantic_config__: ClassVar = WRITTEN
    arena: Quantity | None = doc("Largest arena growth over the base version: 10% or a size, 4 KiB.")
    flash: Quantity | None = doc("Largest flash growth over the base version: 5% or a size.")


@dataclass(frozen=True)
class McuSection:
    """TFLite Micro: the tensor arena (RAM) and flash a microcontroller needs."""

    __pydantic_config__: ClassVar = WRITTEN
    arena: Quantity | None = doc("Most tensor arena RAM, e.g. 256 KiB.")
    flash: Quantity | None = doc("Most flash for the model, e.g. 1 MiB.")
    vs_base: McuGrowth | None = doc("{arena: 10%, flash: 5%}: the most each may grow over the base version.")
    level: Literal["error", "warn"] = doc("What a broken budget does.", "error")
