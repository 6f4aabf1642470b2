"""Step outputs through the ``GITHUB_OUTPUT`` file.

Every value is written in the multi-line form ``name<<DELIMITER`` / value / ``DELIMITER``
with a random delimiter that does not occur in the value, so a path or message holding a
newline or ``=`` can neither break the file nor set another output.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

from edgegate.publishers.interface import Outcome, Publication, Publisher


def format_output(name: str, value: str) -> str:
    if not name or any(c in name for c in "\r\n=<"):
        raise ValueError(f"not a valid output name: {name!r}")
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    while delimiter in value:  # astronomically unlikely; never let the value close its own block
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def write_outputs(path: Path, outputs: Mapping[str, str]) -> None:
    with open(path, "a", encoding="utf-8", newline="\n") as f:
        f.writelines(format_output(name, value) for name, value in outputs.items())


class StepOutputsPublisher(Publisher):
    """``status``, ``results-json``, ``report-markdown`` and any ``extra`` outputs (``comment-url``)."""

    def __init__(self, path: Path | None, extra: Mapping[str, str] | None = None):
        self.path = path
        self.extra = dict(extra or {})

    def publish(self, publication: Publication) -> Outcome:
        if not self.path:
            return Outcome(True, "no step outputs (GITHUB_OUTPUT is not set)")
        outputs = {
            "status": publication.run.status.value,
            "results-json": str(publication.results_path or ""),
            "report-markdown": str(publication.report_path or ""),
            **self.extra,
        }
        try:
            write_outputs(self.path, outputs)
        except OSError as e:
            return Outcome(False, f"could not write step outputs to {self.path}: {e}")
        return Outcome(True, f"step outputs: {', '.join(outputs)}")
