"""The LiteRT GPU delegate target: which ops it runs, and float16 overflow risks."""

from __future__ import annotations

from typing import Any, Mapping

from edgegate.target_registry import TargetKind
from edgegate.target_reports.gpu import GpuReport
from edgegate.targets.gpu.settings import GpuSection


def _parse(raw: Mapping[str, Any], key: str) -> Any:
    from edgegate.targets.gpu.settings import GpuSettings

    return GpuSettings.parse(raw)


def _build(settings: Any, model: Any, root: Any) -> Any:
    from edgegate.targets.gpu.target import GpuTarget

    return GpuTarget.observing(settings, model.eval.data if model.eval else None, root)


KIND = TargetKind("gpu", GpuReport, written=GpuSection, parse=_parse, build=_build)
