"""The compact table printed at the end of `edgegate check` (and in the CI log by `edgegate ci`).

Names, paths and messages come from the pull request. They are printed as text, never as rich
markup; on one line (names) or indented under their first line (messages); invisible
characters (ANSI escapes, bidi overrides) shown escaped. The whole rendered table then passes
``say_rendered``: in CI no line of it can be a workflow command, however a cell lines up.
"""

from __future__ import annotations

from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from edgegate.units import format_bytes, format_ms
from edgegate.report.markdown import (
    ICON,
    shown_notes,
    _accuracy,
    _accuracy_drop,
    _delta_bytes,
    _delta_ms,
    _headline,
)
from edgegate.report import glance
from edgegate.results import ModelResult, RunResult
from edgegate.status import Status
from edgegate.log_output import say_rendered
from edgegate.untrusted_text import one_line, visible

_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "red", "skip": "dim"}


def _name(text: object) -> str:
    return one_line(str(text))


def _message(text: object) -> str:
    """A message's lines indented under its first, so none of them reads as a line of its own."""
    return visible("\n    ".join(str(text).splitlines()))


def print_summary(run: RunResult, console: Console) -> None:
    with console.capture() as captured:
        _print_summary(run, console)
    say_rendered(captured.get(), stream=console.file)


def _print_summary(run: RunResult, console: Console) -> None:
    # Names, paths and messages come from the pull request: printed as text, never as markup.
    console.print(_name(_headline(run)), style="bold", highlight=False, markup=False)
    for m in sorted(run.models, key=lambda m: -m.status.rank):
        console.print(
            f"\n{ICON[m.status.value]} [bold]{escape(_name(m.name))}[/bold] "
            f"[dim]{escape(_name(m.path))} ({escape(_name(m.change))})[/dim]",
            highlight=False,
        )
        if m.error:
            console.print(
                f"  {_message(m.error)}", style="red", highlight=False, markup=False, soft_wrap=True
            )
            continue
        table = Table(box=None, pad_edge=False, show_edge=False)
        columns: tuple[tuple[str, JustifyMethod], ...] = (
            ("", "left"),
            ("candidate", "left"),
            ("size", "right"),
            ("size vs base", "right"),
            ("latency", "right"),
            ("latency vs base", "right"),
            ("accuracy", "right"),
            ("acc. vs float", "right"),
            ("status", "left"),
        )
        for col, justify in columns:
            table.add_column(col, justify=justify)
        for c in m.candidates:
            base = c.base
            table.add_row(
                "🚀" if c.deploy else "",
                Text(_name(c.recipe)),
                format_bytes(c.size_bytes),
                _delta_bytes(c.size_bytes, base.size_bytes if base else None),
                format_ms(c.latency_ms),
                _delta_ms(c.latency_ms, base.latency_ms if base else None),
                _accuracy(c),
                _accuracy_drop(c),
                # The why is printed under the table, each reason once (a narrow column would wrap it).
                Text("skipped" if c.skip_reason else c.status.value, style=_STYLE[c.status.value]),
            )
        console.print(table)
        _print_reasons(m, console)
        for line in m.keep_float:
            console.print(f"  kept float: {_message(line)}", highlight=False, markup=False, soft_wrap=True)
        if m.notes:
            console.print(f"  {_message(m.notes[-1])}", style="dim", highlight=False, markup=False)
    for n in shown_notes(run):
        console.print(_message(n), style="dim", highlight=False, markup=False)


def _print_reasons(m: ModelResult, console: Console) -> None:
    """Why each failed (or warned, errored, skipped) candidate is so, each reason once: the gating
    candidates' first, then the others' (their status column names the checks)."""
    first = glance.headline(m)
    said = {(r.status, r.name, r.message) for r in first}
    others = [
        r
        for r in glance.details(m)
        if (r.status.fails or r.status == Status.WARN or r.name is None)
        and (r.status, r.name, r.message) not in said
    ]
    for r in (*first, *others):
        who = ", ".join(_name(w) for w in r.who)
        name = f" · {_name(r.name)}" if r.name else ""
        style = "dim" if r.status == Status.SKIP else "red" if r.status.fails else None
        console.print(
            f"  {ICON[r.status.value]} {who}{name}: {_message(r.message)}",
            style=style,
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
