"""The model diff in words: shared by the contract's check messages and the report.

Plain text with names in backticks; whoever shows it escapes it for its place (``md_text`` keeps
the backtick-quoted names as code, whatever characters they hold).
"""

from __future__ import annotations

import re

from edgegate.model_diff.interface import ModelDiff, SignatureChange, TensorSignature
from edgegate.units import format_bytes


def quoted(name: str) -> str:
    """``name`` between backticks, a fence longer than any backtick run in it: the report's
    ``md_text`` then shows the whole name as one code span, whatever it holds."""
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", name)), default=0))
    pad = " " if name.startswith("`") or name.endswith("`") else ""
    return f"{fence}{pad}{name}{pad}{fence}"


def shape_text(shape: tuple[int, ...]) -> str:
    """``1×32×32×3``; a dynamic dimension as ``?``; a scalar as ``scalar``."""
    return "×".join("?" if d < 0 else str(d) for d in shape) if shape else "scalar"


def quantization_text(t: TensorSignature) -> str:
    if not t.scales:
        return "not quantized"
    if len(t.scales) == 1:
        return f"scale {t.scales[0]:.6g}, zero point {t.zero_points[0] if t.zero_points else 0}"
    return f"per-channel, {len(t.scales)} scales"


def tensor_text(t: TensorSignature) -> str:
    return f"{quoted(t.name)} {t.dtype}[{shape_text(t.shape)}]"


def signature_change_text(c: SignatureChange) -> str:
    """``input 0 `x`: shape 1×32×32×3 → 1×48×48×3``."""
    where = f"{c.side} {c.index}"
    if c.change == "added" and c.head is not None:
        return f"{where} added: {tensor_text(c.head)}"
    if c.change == "removed" and c.base is not None:
        return f"{where} removed (was {tensor_text(c.base)})"
    assert c.base is not None and c.head is not None
    parts = []
    for what in c.what:
        if what == "name":
            parts.append(f"name {quoted(c.base.name)} → {quoted(c.head.name)}")
        elif what == "dtype":
            parts.append(f"dtype {c.base.dtype} → {c.head.dtype}")
        elif what == "shape":
            parts.append(f"shape {shape_text(c.base.shape)} → {shape_text(c.head.shape)}")
        else:
            parts.append(f"quantization {quantization_text(c.base)} → {quantization_text(c.head)}")
    named = "" if "name" in c.what else f" {quoted(c.head.name)}"
    return f"{where}{named}: {', '.join(parts)}"


def signed_count(delta: int) -> str:
    return f"+{delta:,}" if delta >= 0 else f"−{abs(delta):,}"


def signed_bytes(delta: int) -> str:
    return ("+" if delta >= 0 else "−") + format_bytes(abs(delta))


def headline(d: ModelDiff) -> str:
    """One line: what kind of change this is, and its size."""
    if d.error:
        return d.error
    if not d.bytes_changed:
        return "identical bytes"
    if not d.graph_changed:
        return "only metadata changed: same ops, tensors and weights"
    if not d.ops and not d.shapes and not d.signature:
        return f"{d.head_ops} ops of the same kinds, weights and shapes; op options or tensor names or quantization changed"
    added = sum(1 for c in d.ops if c.change == "added")
    removed = sum(1 for c in d.ops if c.change == "removed")
    changed = sum(1 for c in d.ops if c.change == "changed")
    more = f" (and {d.ops_omitted} more ops changed, not listed)" if d.ops_omitted else ""
    parts = [
        f"{d.base_ops} → {d.head_ops} ops",
        f"parameters {d.base_params:,} → {d.head_params:,} ({signed_count(d.head_params - d.base_params)})",
        f"weights {signed_bytes(d.head_weight_bytes - d.base_weight_bytes)}",
        f"{added} added, {removed} removed, {changed} changed{more}",
    ]
    return "; ".join(parts)


def kinds_text(d: ModelDiff) -> str:
    """``+1 FULLY_CONNECTED, −2 RESHAPE``: the op kinds whose count changed."""
    parts = [
        f"{signed_count(k.head - k.base)} {k.kind}"
        if k.base
        else f"{signed_count(k.head)} {k.kind} (new kind)"
        for k in d.op_kinds
        if k.head != k.base
    ]
    return ", ".join(parts)
