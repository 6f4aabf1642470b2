"""Rendering a ``RunResult`` as markdown with the jinja2 templates in ``templates/``.

The same report goes to a file, the job summary and the PR comment. A comment has a hard
size limit, so ``max_chars`` folds progressively: first the details, then the tables,
always keeping the verdict and every failure with its reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import jinja2

from edgegate.units import format_bytes, format_ms
from edgegate.results import CandidateResult, RunResult
from edgegate.results.codec import write_text_atomic
from edgegate.units import format_accuracy, format_accuracy_change
from edgegate.status import Status
from edgegate.untrusted_text import html_text, md_cell, md_code, md_text, md_url

ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "💥", "skip": "➖"}


def _template_dirs() -> list[str]:
    here = Path(__file__).resolve().parents[1]
    # Installed: templates/ ships as edgegate/templates; in a source checkout it sits beside edgegate/.
    return [str(d) for d in (here / "templates", here.parent / "templates") if d.is_dir()]


def _delta_bytes(value, base) -> str:
    if value is None or base is None:
        return "–"
    d = value - base
    if d == 0:
        return "±0"
    pct = f" ({'+' if d > 0 else '−'}{abs(d) / base * 100:.1f}%)" if base else ""
    return f"{'+' if d > 0 else '−'}{format_bytes(abs(d))}{pct}"


def _delta_ms(value, base) -> str:
    if value is None or base is None:
        return "–"
    pct = (value - base) / base * 100 if base else 0.0
    return f"{'+' if pct >= 0 else '−'}{abs(pct):.1f}%"


def _accuracy(c: CandidateResult) -> str:
    return format_accuracy(c.accuracy.value, c.accuracy.metric) if c.accuracy else "–"


def _accuracy_drop(c: CandidateResult) -> str:
    if not c.accuracy or c.accuracy.drop is None:
        return "–"
    return format_accuracy_change(-c.accuracy.drop, c.accuracy.metric)


class _Markdown(str):
    """Text a filter already made safe markdown: the template's finalize passes it through."""


def _safe(render: Callable[..., object]) -> Callable[..., _Markdown]:
    """A filter whose output is safe as it is (numbers EdgeGate formats, escaped text)."""

    @functools.wraps(render)
    def filter_(*args: object) -> _Markdown:
        return _Markdown(render(*args))

    return filter_


def _finalize(value: object) -> object:
    """Every ``{{ … }}`` not already escaped by a filter is escaped as inline text, so a value
    added to the template without a filter still cannot forge the report."""
    return value if isinstance(value, _Markdown) else md_text(value)


def _url(url: str | None) -> str:
    return (md_url(url) or "") if url else ""


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_template_dirs()),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
    )
    env.filters.update(
        bytes=_safe(format_bytes),
        ms=_safe(format_ms),
        icon=_safe(lambda s: ICON[Status(s).value]),
        delta_bytes=_safe(_delta_bytes),
        delta_ms=_safe(_delta_ms),
        accuracy=_safe(_accuracy),
        accuracy_drop=_safe(_accuracy_drop),
        # Untrusted text (names, labels, paths, messages that quote them), by where it stands:
        text=_safe(md_text),  # a heading, a list item, a paragraph
        cell=_safe(md_cell),  # a table cell
        code=_safe(md_code),  # a code span of the whole value
        summary=_safe(html_text),  # inside <summary> or other HTML
        url=_safe(_url),  # the destination of a link EdgeGate builds
    )
    return env


def _headline(run: RunResult) -> str:
    verdict = _verdict(run)
    absent = run.absent_shards
    if not absent:
        return verdict
    # A report missing shards must never read as complete (or green).
    verdict = verdict.replace(ICON["pass"], ICON["warn"], 1)
    return f"{verdict} — incomplete: shard {', '.join(absent)} not in this report"


def _verdict(run: RunResult) -> str:
    n = len(run.models)
    failing = [m for m in run.models if m.status.fails]
    warning = [m for m in run.models if m.status == Status.WARN]
    if not n:
        return f"{ICON['pass']} EdgeGate: no model changed"
    if failing:
        count = f"{len(failing)} of {n} models" if n > 1 else "the model"
        return f"{ICON['fail']} EdgeGate: {count} {'fails' if len(failing) == 1 else 'fail'} the gate"
    if warning:
        return f"{ICON['warn']} EdgeGate: {n} model{'s pass' if n > 1 else ' passes'} with warnings"
    return f"{ICON['pass']} EdgeGate: {n} model{'s' if n > 1 else ''} within budget"


def render_markdown(run: RunResult, *, max_chars: int | None = None, details_url: str | None = None) -> str:
    """The report; with ``max_chars``, folded to fit (linking ``details_url`` for the rest)."""
    template = _environment().get_template("report.md.j2")
    order = sorted(run.models, key=lambda m: -m.status.rank)  # failures first
    levels = ("full", "no-details", "summary")
    for level in levels:
        text = template.render(
            run=run,
            models=order,
            headline=_headline(run),
            level=level,
            details_url=details_url,
            Status=Status,
        )
        if max_chars is None or len(text) <= max_chars:
            return text
    assert max_chars is not None  # without a limit, the first level was returned
    url = _url(details_url)
    suffix = f"\n\n…truncated; full report: [job summary]({url})\n" if url else "\n\n…truncated\n"
    return cut_at_line(text, max_chars - len(suffix)) + suffix


def cut_at_line(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at the end of a line.

    Escaping holds line by line: cut inside a line, a code span loses its closing fence and
    what it quoted (a name with ``<img …>``) would render raw after the cut.
    """
    if len(text) <= limit:
        return text
    end = text.rfind("\n", 0, max(limit, 0) + 1)
    return text[:end] if end > 0 else ""


def write_report(run: RunResult, path: Path) -> None:
    """The full report as a file, written atomically: a reader never finds half a report."""
    write_text_atomic(Path(path), render_markdown(run))
