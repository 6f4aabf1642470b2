"""The run: ``run_check`` (``run/check.py``) over injected parts, and what it is asked to do
(``CheckOptions``)."""

from __future__ import annotations

from edgegate.run.check import run_check
from edgegate.run.options import CheckOptions

__all__ = ["CheckOptions", "run_check"]
