"""Rendering a ``RunResult`` as markdown with the jinja2 templates in ``templates/``.

The same report goes to a file, the job summary and the PR comment. A comment has a hard
size limit, so ``max_chars`` folds progressively: first the details, then the tables,
always keeping the verdict and every failure with its reason.
"""

from __future__ import annotations

import re

import functools
from collections.abc import Callable
from pathlib import Path

import jinja2

from edgegate.units import format_bytes, format_ms, format_percent_change, format_percent_interval
from edgegate.results import NO_CHANGE_NOTE, CandidateResult, ModelResult, RunResult
from edgegate.results.codec import write_text_atomic
from edgegate.results.model import PairedInterval, TrendFigure
from edgegate.report.model_diff import diff_lines, diff_table
from edgegate.units import format_accuracy, format_accuracy_change, format_accuracy_interval
from edgegate.report import glance
from edgegate.status import Status
from edgegate.target_registry import kind, kinds
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
    pct = f" ({format_percent_change(d, base)})" if base else ""
    return f"{'+' if d > 0 else '−'}{format_bytes(abs(d))}{pct}"


def _delta_ms(value, base) -> str:
    if value is None or base is None:
        return "–"
    return format_percent_change(value - base, base) if base else "±0.0%"


def _accuracy(c: CandidateResult) -> str:
    return format_accuracy(c.accuracy.value, c.accuracy.metric) if c.accuracy else "–"


def _with_interval(change: str, interval: PairedInterval | None, metric: str | None, *, flip: bool) -> str:
    """A change cell with its 95 % interval after it: ``−0.60 pt (−1.41 … 0.20)``.

    Intervals are of the worsening; ``flip`` turns one into an interval of the change shown.
    """
    if interval is None:
        return change
    low, high = (-interval.high, -interval.low) if flip else (interval.low, interval.high)
    return f"{change} ({format_accuracy_interval(low, high, metric).removesuffix(' pt')})"


def _accuracy_drop(c: CandidateResult) -> str:
    """The change vs the float model (−drop); the terminal's narrow table shows it without its interval."""
    if not c.accuracy or c.accuracy.drop is None:
        return "–"
    return format_accuracy_change(-c.accuracy.drop, c.accuracy.metric)


def _accuracy_drop_interval(c: CandidateResult) -> str:
    """The change vs the float model (−drop), with its interval."""
    a = c.accuracy
    if a is None or a.drop is None:
        return "–"
    return _with_interval(_accuracy_drop(c), a.drop_interval, a.metric, flip=True)


def _accuracy_vs_base(c: CandidateResult) -> str:
    """The change vs the base version (value − base), with its interval."""
    a = c.accuracy
    if a is None or a.value is None or c.base is None or c.base.accuracy is None:
        return "–"
    change = format_accuracy_change(a.value - c.base.accuracy, a.metric)
    return _with_interval(change, a.base_interval, a.metric, flip=a.higher_is_better)


def _with_intervals(candidates) -> bool:
    """Whether any accuracy change in the table shows an interval (then the table says what it is)."""
    return any(c.accuracy and (c.accuracy.drop_interval or c.accuracy.base_interval) for c in candidates)


def _method(interval: PairedInterval) -> str:
    if interval.method == "tango":
        p = interval.p_value
        shown = "" if p is None else f", exact McNemar p {'< 0.001' if p < 0.001 else f'= {p:.3g}'}"
        return f"Tango score interval{shown}"
    return "paired bootstrap"


def _accuracy_intervals(c: CandidateResult) -> str:
    """The details line on the accuracy changes: each interval, how it was found, or why there is none."""
    a = c.accuracy
    if a is None:
        return ""
    parts = []
    samples = None
    if a.drop is not None and a.drop_interval is not None:
        samples = a.drop_interval.samples
        change = format_accuracy_change(-a.drop, a.metric)
        parts.append(f"vs float {change} ({_ci(a.drop_interval, a.metric, flip=True)})")
    elif a.drop_unpaired:
        # The reasons are text from the results file (an untrusted job's, for publish): escaped
        # here, as this filter's output is taken as safe markdown.
        parts.append(f"vs float: no paired interval ({md_text(a.drop_unpaired)})")
    if (
        a.base_interval is not None
        and c.base is not None
        and c.base.accuracy is not None
        and a.value is not None
    ):
        samples = samples or a.base_interval.samples
        change = format_accuracy_change(a.value - c.base.accuracy, a.metric)
        parts.append(f"vs base {change} ({_ci(a.base_interval, a.metric, flip=a.higher_is_better)})")
    elif a.base_unpaired:
        parts.append(f"vs base: no paired interval ({md_text(a.base_unpaired)})")
    on = f" on {samples} paired samples" if samples is not None else ""
    return f"{on}: " + "; ".join(parts) if parts else ""


def _latency_vs_base(c: CandidateResult) -> str:
    """The latency change vs base (of the medians) with its paired interval: ``+7.3% (+5.1% … +9.4%)``."""
    change = _delta_ms(c.latency_ms, c.base.latency_ms if c.base else None)
    interval = c.latency_changes.vs_base if c.latency_changes else None
    if interval is None or change == "–":
        return change
    return f"{change} ({format_percent_interval(interval.low, interval.high)})"


def _with_latency_intervals(candidates) -> bool:
    """Whether any latency change in the table shows an interval (then the table says what it is)."""
    return any(c.latency_changes and c.latency_changes.vs_base for c in candidates)


def _latency_intervals(c: CandidateResult, reference: CandidateResult | None) -> str:
    """The details line on the latency changes (of the medians): each interval, or why there is none."""
    changes = c.latency_changes
    if changes is None or c.latency_ms is None:
        return ""
    parts = []
    for against, other, interval, unpaired in (
        ("float", reference.latency_ms if reference else None, changes.vs_float, changes.float_unpaired),
        ("base", c.base.latency_ms if c.base else None, changes.vs_base, changes.base_unpaired),
    ):
        if interval is not None and other:
            change = format_percent_change(c.latency_ms - other, other)
            ci = format_percent_interval(interval.low, interval.high)
            parts.append(f"vs {against} {change} (95% CI {ci} on {interval.samples} paired rounds)")
        elif unpaired:  # text from the results file (an untrusted job's, for publish): escaped
            parts.append(f"vs {against}: no paired interval ({md_text(unpaired)})")
    return "; ".join(parts)


def _ci(interval: PairedInterval, metric: str | None, *, flip: bool) -> str:
    """``95% CI −1.76 … 0.17 pt, Tango score interval, exact McNemar p = 0.25``, of the change shown."""
    low, high = (-interval.high, -interval.low) if flip else (interval.low, interval.high)
    return f"95% CI {format_accuracy_interval(low, high, metric)}, {_method(interval)}"


def _trend_figure(f: TrendFigure, metric: str | None) -> str:
    show = {"size": format_bytes, "latency": format_ms}.get(f.what, lambda v: format_accuracy(v, metric))
    if f.below == f.runs:
        where = f"higher than all {f.runs}"
    elif f.above == f.runs:
        where = f"lower than all {f.runs}"
    else:
        where = f"higher than {f.below} of {f.runs}"
    low, high = show(f.low), show(f.high)
    spread = f"{low} in each" if low == high else f"{low} … {high}, median {show(f.median)}"
    return f"{f.what} {show(f.value)}, {where} ({spread})"


def _trend(m: ModelResult) -> str:
    """One line: where the shipped candidate's figures sit on the default branch's last runs."""
    t = m.trend
    if t is None or not t.figures:
        return ""
    c = next((c for c in m.candidates if c.recipe == t.candidate), None)
    metric = c.accuracy.metric if c and c.accuracy else None
    figures = " · ".join(_trend_figure(f, metric) for f in t.figures)
    runs = f"{t.runs} run{'s' if t.runs > 1 else ''}"
    return f"**Default branch's last {runs}** ({md_code(t.candidate)}): {figures}"


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


def _target_part(name: str) -> str | None:
    """``target:NAME``: that registered target's part of the report (``TargetKind.markdown``)."""
    target = kind(name.removeprefix("target:")) if name.startswith("target:") else None
    return target.markdown.read_text(encoding="utf-8") if target and target.markdown else None


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(_template_dirs()), jinja2.FunctionLoader(_target_part)]
        ),
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
        accuracy=_safe(_accuracy),
        accuracy_drop=_safe(_accuracy_drop_interval),
        accuracy_vs_base=_safe(_accuracy_vs_base),
        accuracy_intervals=_safe(_accuracy_intervals),
        with_intervals=_with_intervals,
        latency_vs_base=_safe(_latency_vs_base),
        latency_intervals=_safe(_latency_intervals),
        with_latency_intervals=_with_latency_intervals,
        with_report=lambda candidates, target: [c for c in candidates if c.report(target) is not None],
        chart=_safe(mermaid_chart),
        trend=_safe(_trend),
        headline=glance.headline,
        details=glance.details,
        candidate_notes=glance.notes,
        status_text=glance.status_text,
        # Untrusted text (names, labels, paths, messages that quote them), by where it stands:
        text=_safe(md_text),  # a heading, a list item, a paragraph
        cell=_safe(md_cell),  # a table cell
        code=_safe(md_code),  # a code span of the whole value
        summary=_safe(html_text),  # inside <summary> or other HTML
        url=_safe(_url),  # the destination of a link EdgeGate builds
        diff_lines=_safe(diff_lines),  # the model diff (report/model_diff.py escapes its names)
        diff_table=_safe(diff_table),
    )
    env.globals["gating"] = glance.gating
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
    if not n and run.status == Status.ERROR:
        return "💥 EdgeGate could not run"
    failing = [m for m in run.models if m.status.fails and not m.error]
    warning = [m for m in run.models if m.status == Status.WARN]
    if not n:
        return f"{ICON['pass']} EdgeGate: no model changed"
    errored = [m for m in run.models if m.error]
    if errored:
        # An input error (a mistyped path, a missing file) is no budget failure: worded apart.
        if failing:
            verb = "fails" if len(failing) == 1 else "fail"
            return (
                f"{ICON['fail']} EdgeGate: {len(failing)} of {n} models {verb} the gate, "
                f"{len(errored)} could not be gated"
            )
        return f"{ICON['error']} EdgeGate: could not gate {f'{len(errored)} of {n} models' if n > 1 else 'the model'}"
    if failing:
        count = f"{len(failing)} of {n} models" if n > 1 else "the model"
        return f"{ICON['fail']} EdgeGate: {count} {'fails' if len(failing) == 1 else 'fail'} the gate"
    if warning:
        return f"{ICON['warn']} EdgeGate: {n} model{'s pass' if n > 1 else ' passes'} with warnings"
    return f"{ICON['pass']} EdgeGate: {n} model{'s' if n > 1 else ''} within budget"


def shown_notes(run: RunResult) -> tuple[str, ...]:
    """The run's notes as shown under the models; "no model changed" is the headline already."""
    return tuple(n for n in run.notes if n != NO_CHANGE_NOTE)


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
            notes=shown_notes(run),
            level=level,
            details_url=details_url,
            Status=Status,
            target_parts=[k.name for k in kinds() if k.markdown is not None],
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


def _chart_label(text: str) -> str:
    """A candidate label as a Mermaid string: labels come from the PR, and Mermaid has its own syntax."""
    return '"' + re.sub(r"[^A-Za-z0-9 +_.:-]", "_", text)[:40] + '"'


def mermaid_chart(m: ModelResult) -> str:
    """Each candidate's size (bars) and its base version's (a line), y from 0: a Mermaid chart
    GitHub draws in the comment itself (no image to host). Empty when it would tell nothing
    the table does not: fewer than two candidates with a size.

    Only sizes: accuracies differ by tenths of a point, invisible on an axis from 0 (the
    table gives them with their intervals)."""
    sized = [c for c in m.candidates if c.size_bytes is not None]
    if len(sized) < 2:
        return ""
    labels = ", ".join(_chart_label(c.recipe) for c in sized)
    size = [(c.size_bytes or 0) / 1000 for c in sized]
    base = [c.base.size_bytes / 1000 if c.base and c.base.size_bytes is not None else None for c in sized]
    with_base = all(b is not None for b in base)
    top = max(size + [b for b in base if b is not None]) * 1.1
    lines = ["xychart-beta", f'  title "size (KB): bars this change{", line base" if with_base else ""}"']
    lines += [f"  x-axis [{labels}]", f'  y-axis "KB" 0 --> {top:.1f}']
    lines.append(f"  bar [{', '.join(f'{v:.1f}' for v in size)}]")
    if with_base:
        lines.append(f"  line [{', '.join(f'{b:.1f}' for b in base if b is not None)}]")
    return "```mermaid\n" + "\n".join(lines) + "\n```\n"
