"""Telling the user on a GitHub runner: log lines with workflow commands, and "could not run".

``ci`` and ``publish`` speak through ``Log``: on a runner a warning or an error becomes an
annotation (``::warning::``) that the checks page shows; elsewhere it is a plain line on
stderr. ``could_not_run`` reports a run that stopped before gating everywhere the user looks.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgegate.cli.errors import ERROR_PREFIX
from edgegate.errors import EdgeGateError, PolicyError
from edgegate.github.environment import GitHubEnvironment
from edgegate.publishers.annotations import Annotation
from edgegate.publishers.step_outputs import write_outputs
from edgegate.status import Status
from edgegate.log_output import say
from edgegate.untrusted_text import md_code_block

_PROBLEM = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<message>.+)$", re.DOTALL)


class Log:
    """Log lines; workflow commands (``::warning::``) only where a runner reads them.

    Lines quote branch names, paths and messages from the pull request: a plain line never
    starts a workflow command (``log_text``), and a command's message is escaped as its data.
    """

    def __init__(self, actions: bool):
        self.actions = actions

    def info(self, text: str) -> None:
        say(text)

    def warning(self, text: str) -> None:
        self._command("warning", text)

    def error(self, text: str, title: str = "EdgeGate") -> None:
        self._command("error", text, title)

    def _command(self, level: str, text: str, title: str = "EdgeGate") -> None:
        if self.actions:
            say(Annotation(level, text, title).command())
        else:
            # An error as every command prints one; a warning says it is one.
            say(ERROR_PREFIX + (text if level == "error" else f"{level}: {text}"), stderr=True)


def could_not_run(
    error: EdgeGateError,
    github: GitHubEnvironment,
    log: Log,
    *,
    results_path: Path | None = None,
    report_path: Path | None = None,
) -> int:
    """Usage, policy, environment or output error: say so in the log (a policy problem at its
    line), the job summary and the step outputs; the error's exit code (2)."""
    message = str(error)
    if github.actions and isinstance(error, PolicyError):
        for annotation in _policy_annotations(error):
            say(annotation.command())
    else:
        log.error(message, "EdgeGate could not run")
    if github.step_summary:
        try:
            with open(github.step_summary, "a", encoding="utf-8") as f:
                # Fenced longer than any backtick run: the message cannot close the block.
                f.write(f"## 💥 EdgeGate could not run\n\n{md_code_block(message)}\n")
        except OSError:
            pass  # the annotation above already carries the message
    if github.output:
        try:
            write_outputs(
                github.output,
                {
                    "status": Status.ERROR.value,
                    "results-json": str(results_path or ""),
                    "report-markdown": str(report_path or ""),
                    "comment-url": "",
                },
            )
        except OSError:
            pass
    return error.exit_code


def _policy_annotations(error: PolicyError) -> list[Annotation]:
    """Each ``file:line: key: message`` problem as an annotation at that line of the policy."""
    found = []
    for problem in error.problems:
        match = _PROBLEM.match(problem)
        if match:
            found.append(
                Annotation(
                    "error", match["message"], "EdgeGate: invalid policy", match["file"], int(match["line"])
                )
            )
        else:
            found.append(Annotation("error", problem, "EdgeGate: invalid policy"))
    return found
