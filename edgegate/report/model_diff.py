"""The model diff in the report: a few lines per model, and a collapsed table (docs/model-diff.md).

Shown for the float reference and the candidate that ships (the results file holds every
candidate's diff). Every name is pull-request content: table cells go through ``md_cell`` /
``md_code(in_table=True)``, lines through ``md_text``, so a tensor named ``<img>`` or ``| ## x``
shows as those characters and nothing more.
"""

from __future__ import annotations

from edgegate.model_diff.describe import (
    headline,
    quoted,
    kinds_text,
    shape_text,
    signature_change_text,
    signed_bytes,
)
from edgegate.model_diff.interface import ModelDiff
from edgegate.results import CandidateResult, ModelResult
from edgegate.units import format_bytes
from edgegate.untrusted_text import md_cell, md_code, md_text

MAX_TABLE_ROWS = 12  # op rows in the comment; the results file holds up to model_diff's bound


def shown_diffs(m: ModelResult, *, compact: bool = False) -> list[tuple[str, ModelDiff]]:
    """(label, diff) of the float reference and of each candidate that ships, in that order; when
    none ships, of every candidate, except in the ``compact`` lines outside the details (there the
    reference stands for them when it has a diff: the candidates' lines would say it again, each
    with its own byte counts, and push the failing checks off the screen)."""
    found = []
    if m.reference is not None and m.reference.diff is not None:
        found.append((f"{m.reference.recipe} (reference)", m.reference.diff))
    shipped = [c for c in m.candidates if c.deploy]
    if not shipped and not (compact and found):
        shipped = list(m.candidates)
    found += [(_label(c), c.diff) for c in shipped if c.diff is not None]
    return found


def _label(c: CandidateResult) -> str:
    return f"{c.recipe} (ships)" if c.deploy else c.recipe


def diff_lines(m: ModelResult) -> str:
    """A few markdown list items: what changed inside each shown version of the model."""
    lines = []
    for label, d in shown_diffs(m, compact=True):
        parts = [headline(d)]
        if d.graph_changed and not d.error:
            kinds = kinds_text(d)
            if kinds:
                parts.append(f"op kinds {kinds}")
        parts += [signature_change_text(c) for c in d.signature[:3]]
        if len(d.signature) > 3:
            parts.append(f"{len(d.signature) - 3} more I/O changes")
        if d.metadata_changed and d.graph_changed:
            parts.append(f"metadata: {', '.join(_metadata_names(d))}")
        lines.append(f"- **{md_text(label)}**: {md_text('; '.join(parts))}")
    return "\n".join(lines)


def _metadata_names(d: ModelDiff) -> list[str]:
    return [f"{c.part} {quoted(c.name)} {c.change}" for c in d.metadata[:4]] + (
        [f"{len(d.metadata) - 4} more"] if len(d.metadata) > 4 else []
    )


def diff_table(m: ModelResult) -> str:
    """The collapsed part: per shown version, the op changes (largest weight changes first), shape
    changes along the graph, the I/O signature and the metadata changes, as tables."""
    blocks = []
    for label, d in shown_diffs(m):
        if d.error or not d.bytes_changed:
            continue
        blocks.append(f"**{md_text(label)}**\n")
        blocks += [t for t in (_ops(d), _shapes(d), _signature(d), _metadata(d)) if t]
    return "\n".join(blocks)


def _ops(d: ModelDiff) -> str:
    if not d.ops:
        return ""
    rows = [
        "| Op (by output tensor) | Change | Kind | Position | Parameters | Weights |",
        "|---|---|---|---:|---:|---:|",
    ]
    for c in d.ops[:MAX_TABLE_ROWS]:
        kind = c.kind if c.base_kind in (None, c.kind) else f"{c.base_kind} → {c.kind}"
        where = c.head_index if c.head_index is not None else c.base_index
        params = (
            f"{c.base_params:,} → {c.head_params:,}"
            if c.change == "changed"
            else f"{c.head_params or c.base_params:,}"
        )
        shape = (
            f" ({shape_text(c.base_weight_shape)} → {shape_text(c.head_weight_shape)})"
            if c.change == "changed" and c.base_weight_shape != c.head_weight_shape
            else ""
        )
        weights = (
            signed_bytes(c.head_weight_bytes - c.base_weight_bytes)
            if c.change == "changed"
            else format_bytes(c.head_weight_bytes or c.base_weight_bytes)
        )
        rows.append(
            f"| {md_code(c.name, in_table=True)} | {c.change} | {md_cell(kind)} | {where} | {params}{shape} | {weights} |"
        )
    return _closed(rows, len(d.ops), d.ops_omitted, "op changes")


def _shapes(d: ModelDiff) -> str:
    if not d.shapes:
        return ""
    rows = ["| Tensor shape along the graph | Kind | Base | Head |", "|---|---|---|---|"]
    for s in d.shapes[:MAX_TABLE_ROWS]:
        rows.append(
            f"| {md_code(s.name, in_table=True)} | {md_cell(s.kind)} | {shape_text(s.base)} | {shape_text(s.head)} |"
        )
    return _closed(rows, len(d.shapes), d.shapes_omitted, "shape changes")


def _closed(rows: list[str], listed: int, omitted: int, what: str) -> str:
    """The table's rows, and what it left out: to the results file (which lists ``listed``), or
    not listed at all (``omitted``, beyond the results file's bound)."""
    more = max(0, listed - MAX_TABLE_ROWS)
    said = [f"{more} more in the results file"] if more else []
    said += [f"{omitted} more not listed"] if omitted else []
    return "\n".join(rows + ([f"\n{what}: {', '.join(said)}."] if said else [])) + "\n"


def _signature(d: ModelDiff) -> str:
    if not d.signature:
        return ""
    return (
        "I/O signature vs base:\n"
        + "\n".join(f"- {md_text(signature_change_text(c))}" for c in d.signature)
        + "\n"
    )


def _metadata(d: ModelDiff) -> str:
    if not d.metadata:
        return ""
    rows = ["| Metadata | Name | Change | Bytes |", "|---|---|---|---:|"]
    for c in d.metadata:
        size = f"{format_bytes(c.base_bytes)} → {format_bytes(c.head_bytes)}"
        rows.append(f"| {c.part} | {md_code(c.name, in_table=True)} | {c.change} | {size} |")
    return "\n".join(rows) + "\n"
