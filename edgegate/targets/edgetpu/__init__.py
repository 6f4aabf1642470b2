"""The Edge TPU target: compilability checks (static prediction, real compiler, compiled-model
reader). Set by a model's own ``edgetpu:`` key (``policy/``), not under ``targets:``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgegate.target_registry import TargetKind
from edgegate.target_reports.edgetpu import EdgeTpuResult


def _build(settings: None, model: Any, root: Any) -> Any:
    from edgegate.targets.edgetpu.target import EdgeTpuTarget

    return EdgeTpuTarget(model.edgetpu, root) if model.edgetpu.level != "off" else None


KIND = TargetKind(
    "edgetpu",
    EdgeTpuResult,
    written=None,
    parse=None,
    build=_build,
    markdown=Path(__file__).with_name("report.md.j2"),
)
