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

from dataclasses import dataclass
from typing import TextIO

from edgegate.log_output import WorkflowCommand, say, workflow_command
from edgegate.publishers.interface import Outcome, Publication, Publisher
from edgegate.results import RunResult
from edgegate.status import Status
from edgegate.untrusted_text import command_data, command_property


@dataclass(frozen=True)
class Annotation:
    level: str  # error | warning | notice
    message: str
    title: str
    file: str | None = None
    line: int | None = None

    def command(self) -> WorkflowCommand:
        return workflow_command(
            self.level, self.message, {"file": self.file, "line": self.line, "title": self.title}
        )


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
    return sorted(_grouped(unique), key=lambda a: a.level != "error")


# GitHub shows at most this many error and this many warning annotations of one step; the rest
# are dropped silently. So EdgeGate groups, ranks and caps them itself, and says what it left out.
PER_STEP_LIMIT = 10


def _grouped(found: list[Annotation]) -> list[Annotation]:
    """One annotation per policy line and level: several budgets broken at one line read as one."""
    groups: dict[tuple[str, str | None, object], list[Annotation]] = {}
    for a in found:
        # Annotations without a line (a model that could not be gated) stay one each.
        where: object = a.line if a.line is not None else (a.title, a.message)
        groups.setdefault((a.level, a.file, where), []).append(a)
    merged = []
    for items in groups.values():
        first = items[0]
        if len(items) == 1:
            merged.append(first)
            continue
        message = "\n".join(a.message for a in items)
        merged.append(
            Annotation(
                first.level,
                message,
                f"{first.title} (+{len(items) - 1} more at this line)",
                first.file,
                first.line,
            )
        )
    return merged


def within_limits(found: list[Annotation]) -> tuple[list[Annotation], Annotation | None]:
    """The annotations GitHub will show (errors first, as ranked), and a notice for the rest."""
    shown: list[Annotation] = []
    left = {"error": 0, "warning": 0}
    for a in found:
        if sum(s.level == a.level for s in shown) < PER_STEP_LIMIT:
            shown.append(a)
        else:
            left[a.level] += 1
    if not any(left.values()):
        return shown, None
    more = " and ".join(f"{n} {level}{'s' if n > 1 else ''}" for level, n in left.items() if n)
    notice = Annotation(
        "notice",
        f"{more} more: GitHub shows {PER_STEP_LIMIT} error and {PER_STEP_LIMIT} warning annotations "
        "per step; the report and the job summary list every check.",
        "EdgeGate: more annotations in the report",
    )
    return shown, notice


class AnnotationsPublisher(Publisher):
    """Prints the annotations as workflow commands (the runner reads them from the step's output)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream

    def publish(self, publication: Publication) -> Outcome:
        shown, notice = within_limits(run_annotations(publication.run))
        for a in shown + ([notice] if notice else []):
            say(a.command(), stream=self.stream)
        errors = sum(a.level == "error" for a in shown)
        said = f"{errors} error and {len(shown) - errors} warning annotation(s)"
        return Outcome(True, said + (f"; {notice.message.split(':')[0]}" if notice else ""))
