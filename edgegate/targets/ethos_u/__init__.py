"""The Arm Ethos-U target: NPU SRAM, flash and latency as Arm Vela compiles the model."""

from __future__ import annotations

from typing import Any, Mapping

from edgegate.target_registry import TargetKind
from edgegate.target_reports.ethos_u import EthosUReport
from edgegate.targets.ethos_u.settings import EthosUSection


def _parse(raw: Mapping[str, Any], key: str) -> Any:
    from edgegate.targets.ethos_u.target import EthosUSettings

    # (no line: the policy puts file:line in front of each problem)
    return EthosUSettings.from_policy(raw, key)


def _build(settings: Any, model: Any, root: Any) -> Any:
    from edgegate.targets.ethos_u.target import EthosUTarget

    return EthosUTarget(settings)


KIND = TargetKind("ethos-u", EthosUReport, written=EthosUSection, parse=_parse, build=_build)
