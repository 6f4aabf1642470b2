"""The MAC-count target: multiply-accumulates per inference, counted from the ``.tflite``."""

from __future__ import annotations

from typing import Any, Mapping

from edgegate.target_registry import TargetKind
from edgegate.target_reports.compute import ComputeReport
from edgegate.targets.compute.settings import ComputeSection


def _parse(raw: Mapping[str, Any], key: str) -> Any:
    from edgegate.targets.compute.target import ComputeSettings

    return ComputeSettings.parse(raw)


def _build(settings: Any, model: Any, root: Any) -> Any:
    from edgegate.targets.compute.target import ComputeTarget

    return ComputeTarget(settings)


KIND = TargetKind("compute", ComputeReport, written=ComputeSection, parse=_parse, build=_build)
