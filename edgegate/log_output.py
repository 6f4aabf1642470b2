"""The one way EdgeGate writes to the CI log (stdout and stderr, which the Actions runner reads
line by line for workflow commands).

Every line a command prints quotes something a pull request controls sooner or later (a file
name, a model name, a message quoting either), and a file named ``a\\n::set-output …`` would
otherwise set a step output. So nothing in ``edgegate/`` prints directly (a test walks the
source: ``tests/security/test_log_output.py``); it calls ``say``:

- plain text goes through ``log_text`` (no line of it starts a workflow command, invisible
  characters written out);
- a ``WorkflowCommand``, built only by ``workflow_command`` with its message and properties
  escaped as the runner unescapes them, is EdgeGate's own command and printed as it is;
- ``say_rendered``: text already made printable (a rich table, the markdown report) keeps its
  layout, each line kept from being a command.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import IO

from edgegate.untrusted_text import command_data, command_property, log_text, neutralize_commands


class WorkflowCommand(str):
    """A workflow command line made by ``workflow_command``: only its own fields, escaped."""


def workflow_command(
    name: str, message: object, properties: Mapping[str, object] | None = None
) -> WorkflowCommand:
    """``::name k=v,…::message``; ``name`` is EdgeGate's (``error``, ``warning``, ``notice``)."""
    if not name.isalpha():
        raise ValueError(f"not a workflow command name: {name!r}")
    joined = ",".join(f"{k}={command_property(v)}" for k, v in (properties or {}).items() if v is not None)
    return WorkflowCommand(f"::{name}{' ' + joined if joined else ''}::{command_data(message)}")


def say(text: object, *, stderr: bool = False, stream: IO[str] | None = None) -> None:
    """One line (or several) of the log: text that cannot start a command, or EdgeGate's own command."""
    line = text if isinstance(text, WorkflowCommand) else log_text(text)
    print(line, file=stream or (sys.stderr if stderr else sys.stdout), flush=True)


def say_rendered(text: str, *, stderr: bool = False, stream: IO[str] | None = None) -> None:
    """Text already laid out for people (a table with ANSI colours, markdown), written as it is
    but for the lines that would start a workflow command."""
    out = stream or (sys.stderr if stderr else sys.stdout)
    out.write(neutralize_commands(text))
    out.flush()
