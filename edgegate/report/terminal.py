"""The compact table printed at the end of `edgegate check`."""

from __future__ import annotations

from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from edgegate.units import format_bytes, format_ms
from edgegate.report.markdown import ICON, _accuracy, _accuracy_drop, _delta_bytes, _delta_ms, _headline
from edgegate.results import RunResult

_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "red", "skip": "dim"}


def print_summary(run: RunResult, console: Console) -> None:
    # Names, paths and messages come from the pull request: printed as text, never as markup.
    console.print(_headline(run), style="bold", highlight=False, markup=False)
    for m in sorted(run.models, key=lambda m: -m.status.rank):
        console.print(
            f"\n{ICON[m.status.value]} [bold]{escape(m.name)}[/bold] [dim]{escape(m.path)} ({m.change})[/dim]",
            highlight=False,
        )
        if m.error:
            console.print(f"  {m.error}", style="red", highlight=False, markup=False, soft_wrap=True)
            continue
        table = Table(box=None, pad_edge=False, show_edge=False)
        columns: tuple[tuple[str, JustifyMethod], ...] = (
            ("", "left"),
            ("candidate", "left"),
            ("size", "right"),
            ("Δ base", "right"),
            ("latency", "right"),
            ("Δ base", "right"),
            ("accuracy", "right"),
            ("Δ float", "right"),
            ("status", "left"),
        )
        for col, justify in columns:
            table.add_column(col, justify=justify)
        for c in m.candidates:
            base = c.base
            table.add_row(
                "🚀" if c.deploy else "",
                Text(c.recipe),
                format_bytes(c.size_bytes),
                _delta_bytes(c.size_bytes, base.size_bytes if base else None),
                format_ms(c.latency_ms),
                _delta_ms(c.latency_ms, base.latency_ms if base else None),
                _accuracy(c),
                _accuracy_drop(c),
                f"[{_STYLE[c.status.value]}]{c.status.value}[/]",
            )
        console.print(table)
        for c in m.candidates:
            # Every error or skip row says why, shipped or not; only the shipped candidate's
            # broken budgets gate, so only its checks are listed.
            if c.error or c.skip_reason:
                console.print(
                    f"  {c.recipe}: {c.error or 'skipped: ' + str(c.skip_reason)}",
                    style="red" if c.error else "dim",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
            if m.deploy and not c.deploy:
                continue
            for ch in c.checks:
                if ch.status.fails or ch.status.value == "warn":
                    console.print(
                        f"  {ICON[ch.status.value]} {c.recipe} · {ch.name}: {ch.message}",
                        highlight=False,
                        markup=False,
                        soft_wrap=True,
                    )
        if m.notes:
            console.print(f"  {m.notes[-1]}", style="dim", highlight=False, markup=False)
    for n in run.notes:
        console.print(n, style="dim", highlight=False, markup=False)
