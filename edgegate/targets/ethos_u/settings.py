"""The ``targets: {ethos-u: ...}`` section as users write it (validated by ``policy/``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

from edgegate.target_registry import WRITTEN, Quantity, doc


@dataclass(frozen=True)
class EthosUGrowth:
    __pydantic_config__: ClassVar = WRITTEN
    sram: Quantity | None = doc("Largest SRAM growth over the base version: 10% or a size.")
    flash: Quantity | None = doc("Largest flash growth over the base version: 10% or a size.")
    latency: Quantity | None = doc("Largest estimated latency growth over the base version: 10% or 2ms.")


@dataclass(frozen=True)
class EthosUSection:
    """Arm Ethos-U NPUs, compiled by Arm Vela: SRAM, flash, estimated latency, ops on the NPU."""

    __pydantic_config__: ClassVar = WRITTEN
    level: str = doc("What a broken budget does: error, warn or off.", "error")
    accelerator: str = doc("Vela's --accelerator-config, e.g. ethos-u55-128.", "ethos-u55-128")
    system_config: str | None = doc("A System_Config of Vela's vela.ini; default: Vela's for the family.")
    memory_mode: str | None = doc("A Memory_Mode of Vela's vela.ini; default: Vela's for the family.")
    optimise: str = doc("Vela's --optimise: Performance or Size.", "Performance")
    timeout_s: Union[int, float] = doc("Seconds Vela may take.", 300)
    sram: Quantity | None = doc("Most SRAM (Vela's 'Total SRAM used'), e.g. 384 KiB.")
    flash: Quantity | None = doc("Most flash for the compiled model, e.g. 1 MiB.")
    latency: Quantity | None = doc("Longest estimated inference time, e.g. 20ms.")
    all_on_npu: bool = doc("Fail unless every op runs on the NPU.", False)
    min_on_npu: Quantity | None = doc("Lowest share of ops on the NPU, e.g. 95%.")
    vs_base: EthosUGrowth | None = doc("{sram: 10%, flash: 5%, latency: 10%}: growth over the base version.")
