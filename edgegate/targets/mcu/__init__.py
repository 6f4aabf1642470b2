"""The microcontroller target: the RAM and flash TFLite Micro needs (run in a child process)."""

from __future__ import annotations

from typing import Any, Mapping

from edgegate.target_registry import TargetKind
from edgegate.target_reports.mcu import McuReport
from edgegate.targets.mcu.settings import McuSection


def _parse(raw: Mapping[str, Any], key: str) -> Any:
    from edgegate.targets.mcu.target import McuSettings

    return McuSettings.parse(raw)


def _build(settings: Any, model: Any, root: Any) -> Any:
    from edgegate.targets.mcu.target import McuTarget

    return McuTarget(settings)


KIND = TargetKind("mcu", McuReport, written=McuSection, parse=_parse, build=_build)
