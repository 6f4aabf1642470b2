"""The ``targets: {gpu: ...}`` section as users write it (validated by ``policy/``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Union

from edgegate.target_registry import WRITTEN, Quantity, doc

_Level = Literal["error", "warn", "off"]


@dataclass(frozen=True)
class GpuSection:
    """The LiteRT GPU delegate: the share of ops it runs, float16 overflow risks."""

    __pydantic_config__: ClassVar = WRITTEN
    level: _Level = doc("What a broken delegation budget does; off checks nothing.", "error")
    all_delegated: bool = doc("Fail unless every op runs on the GPU.", False)
    min_delegated: Quantity | None = doc("Lowest share of ops on the GPU, e.g. 90%.")
    fp16_overflow: _Level = doc("What an activation beyond float16's range does.", "warn")
    max_samples: int = doc("Most samples the float16 observation runs (one invoke each).", 64)
    vs_base: bool = doc("The delegated share must not fall below the base version's.", False)
    timeout_s: Union[int, float] = doc("Seconds each child process of the analysis may take.", 300)
