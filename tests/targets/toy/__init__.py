"""A toy target, registered by tests/targets/test_registry.py alone (one line added to
``target_registry.PACKAGES`` at run time): how any new target plugs in, with no edit elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from edgegate.target_registry import TargetKind
from tests.targets.toy.report import ToyReport
from tests.targets.toy.settings import ToySection


def _parse(raw: Mapping[str, Any], key: str) -> Any:
    from tests.targets.toy.target import ToySettings

    return ToySettings.parse(raw)


def _build(settings: Any, model: Any, root: Any) -> Any:
    from tests.targets.toy.target import ToyTarget

    return ToyTarget(settings)


KIND = TargetKind(
    "toy",
    ToyReport,
    written=ToySection,
    parse=_parse,
    build=_build,
    markdown=Path(__file__).with_name("report.md.j2"),
)
