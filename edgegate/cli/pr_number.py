"""The ``pr-number`` file beside ``results.json``: which pull request a fork's results belong to.

``edgegate ci`` writes it into the artifact of an untrusted ``pull_request`` run; ``edgegate
publish`` in the trusted ``workflow_run`` reads it back. The artifact is the pull request's
content, so the file is checked to be a number and nothing else.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgegate.cli.outputs import writing
from edgegate.errors import UsageError
from edgegate.results.codec import write_text_atomic

PR_NUMBER_FILE = "pr-number"


def write_pr_number(results_path: Path, number: int) -> None:
    path = Path(results_path).parent / PR_NUMBER_FILE
    with writing(path, "pull request number"):
        write_text_atomic(path, f"{number}\n")


def read_pr_number(results_path: Path) -> int | None:
    """The number saved beside ``results_path``; ``None`` without a file, ``UsageError`` if not a number."""
    saved = Path(results_path).parent / PR_NUMBER_FILE
    if not saved.is_file():
        return None
    text = saved.read_text(encoding="utf-8", errors="replace").strip()
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text):
        raise UsageError(f"{saved}: expected a pull request number, found {text[:40]!r}")
    return int(text)
