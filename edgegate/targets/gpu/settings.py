"""The ``targets: {gpu: ...}`` section as users write it (validated by ``policy/``), and the
settings it parses into (``GpuSettings``): here, not in ``target.py``, so the analyzer reads them
without importing the target that starts it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Union

from edgegate.target_registry import WRITTEN, Quantity, doc
from edgegate.units import parse_accuracy

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


FP16_MAX = 65504.0  # the largest finite float16
NEAR_FACTOR = 2.0  # an output within 2x of FP16_MAX is "near": a little more data may overflow it

GpuLevel = Literal["error", "warn", "off"]


@dataclass(frozen=True, kw_only=True)
class GpuSettings:
    """The ``targets: {gpu: ...}`` settings of one model."""

    level: GpuLevel = "error"  # what a broken delegation budget does; "off" checks nothing
    all_delegated: bool = False
    min_delegated: float | None = None  # lowest share of ops on the GPU, a fraction 0..1
    min_delegated_written: str | None = None  # as the policy wrote it ("90%"), for messages
    fp16_overflow: GpuLevel = "warn"  # what an activation beyond float16's range does
    max_samples: int = 64  # samples the fp16 observation runs at most (it costs one invoke each)
    vs_base: bool = False  # the delegated share must not fall below the base version's
    timeout_s: float = (
        300.0  # each child process of the analysis (checker, fp16 observation) is stopped after it
    )

    def __post_init__(self) -> None:
        # Settings are built by the policy loader; a bad value here is a loader bug, said plainly.
        if self.min_delegated is not None and not 0.0 <= self.min_delegated <= 1.0:
            raise ValueError(f"min_delegated must be a fraction in 0..1, got {self.min_delegated!r}")
        if self.max_samples < 1:
            raise ValueError(f"max_samples must be at least 1, got {self.max_samples!r}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number of seconds, got {self.timeout_s!r}")
        for name in ("level", "fp16_overflow"):
            if getattr(self, name) not in ("error", "warn", "off"):
                raise ValueError(f"{name} must be error, warn or off, got {getattr(self, name)!r}")

    @staticmethod
    def parse(section: Mapping[str, Any] | None) -> GpuSettings:
        """The policy's ``gpu:`` mapping; ``ValueError`` naming the key for anything it does not take."""
        raw = dict(section or {})
        keys = {
            "level",
            "all_delegated",
            "min_delegated",
            "fp16_overflow",
            "max_samples",
            "vs_base",
            "timeout_s",
        }
        unknown = sorted(set(raw) - keys)
        if unknown:
            raise ValueError(f"gpu: unknown key(s) {unknown}; use {', '.join(sorted(keys))}")
        values: dict[str, Any] = {}
        for name in ("all_delegated", "vs_base"):
            if name in raw:
                if not isinstance(raw[name], bool):
                    raise ValueError(f"gpu.{name}: expected true or false, got {raw[name]!r}")
                values[name] = raw[name]
        for name in ("level", "fp16_overflow"):
            if name in raw:
                values[name] = str(raw[name])
        if "max_samples" in raw:
            if isinstance(raw["max_samples"], bool) or not isinstance(raw["max_samples"], int):
                raise ValueError(f"gpu.max_samples: expected a whole number, got {raw['max_samples']!r}")
            values["max_samples"] = raw["max_samples"]
        if "timeout_s" in raw:
            if isinstance(raw["timeout_s"], bool) or not isinstance(raw["timeout_s"], (int, float)):
                raise ValueError(f"gpu.timeout_s: expected a number of seconds, got {raw['timeout_s']!r}")
            values["timeout_s"] = float(raw["timeout_s"])
        if raw.get("min_delegated") is not None:
            share = parse_accuracy(raw["min_delegated"])
            values["min_delegated"], values["min_delegated_written"] = share, str(raw["min_delegated"])
        try:
            return GpuSettings(**values)
        except ValueError as e:
            raise ValueError(f"gpu.{e}") from None
