"""Workflow-command annotations: ``::error file=edgegate.yml,line=12,title=...::message``.

Each failing or warning budget of a model's shipping candidate (every candidate when none
ships) is annotated at its line in the policy file, so the budget shows in the PR's "Files
changed" view when the policy is part of the diff and in the run's annotations always. A model
that could not be gated, or a candidate that could not be built, is annotated on the model.

Escaping follows the Actions runner (``edgegate.untrusted_text.command_data``): ``%``, CR and
LF in the message; additionally ``:`` and ``,`` in properties (``file``, ``title``), which would
otherwise end the property. Names and messages come from the pull request, so invisible
characters (bidi overrides, ANSI escapes) are shown escaped in both.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from edgegate.publishers.interface import Outcome, Publication, Publisher
from edgegate.results import RunResult
from edgegate.status import Status
from edgegate.untrusted_text import command_data, command_property


@dataclass(frozen=True)
class Annotation:
    level: str  # error | warning
    message: str
    title: str
    file: str | None = None
    line: int | None = None

    def command(self) -> str:
        props = [
            (k, v)
            for k, v in (("file", self.file), ("line", self.line), ("title", self.title))
            if v is not None
        ]
        joined = ",".join(f"{k}={escape_property(str(v))}" for k, v in props)
        return f"::{self.level} {joined}::{escape_data(self.message)}"


escape_data = command_data  # the names this module always had
escape_property = command_property


def run_annotations(run: RunResult) -> list[Annotation]:
    """The run's annotations, errors first, without repeats."""
    found: list[Annotation] = []
    for m in run.models:
        if m.error:
            found.append(Annotation("error", m.error, f"EdgeGate · {m.name}: could not be gated", m.path))
            continue
        judged = [c for c in m.candidates if c.deploy] or list(m.candidates)
        for c in judged:
            if c.error and c.status.fails:
                found.append(
                    Annotation("error", c.error, f"EdgeGate · {m.name} · {c.recipe}: not built", m.path)
                )
            for ch in c.checks:
                if ch.status.fails or ch.status == Status.WARN:
                    level = "warning" if ch.status == Status.WARN else "error"
                    found.append(
                        Annotation(
                            level,
                            f"{m.name} · {c.recipe}: {ch.message}",
                            f"EdgeGate · {m.name} · {ch.name}",
                            run.policy,
                            ch.line,
                        )
                    )
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda a: a.level != "error")


class AnnotationsPublisher(Publisher):
    """Prints the annotations as workflow commands (the runner reads them from the step's output)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream

    def publish(self, publication: Publication) -> Outcome:
        stream = self.stream or sys.stdout
        found = run_annotations(publication.run)
        for a in found:
            print(a.command(), file=stream)
        stream.flush()
        errors = sum(a.level == "error" for a in found)
        return Outcome(True, f"{errors} error and {len(found) - errors} warning annotation(s)")
