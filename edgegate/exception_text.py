"""The one-line text of an exception, as EdgeGate quotes it to users.

Errors from TensorFlow, the converter, LiteRT and repository code often carry a native stack,
an op dump or a whole log after their first line. Messages quote only that first line, bounded,
so one failure cannot flood a PR comment or an annotation. A leaf: it imports nothing.
"""

from __future__ import annotations

LIMIT = 300  # characters: a sentence, not a dump


def bounded(text: str, limit: int = LIMIT) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when it was cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _line(e: BaseException) -> str:
    """The first non-blank line of ``str(e)``, stripped; "" when there is none."""
    try:
        text = str(e)
    except Exception:  # a foreign __str__ that fails must not replace the error being reported
        return ""
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def first_line(e: BaseException, limit: int = LIMIT) -> str:
    """The first non-blank line of ``str(e)``, bounded; the type name when the text is empty."""
    return bounded(_line(e) or type(e).__name__, limit)


def first_line_with_type(e: BaseException, limit: int = LIMIT) -> str:
    """``"ValueError: bad shape"``: the type name, then the first line (for errors of foreign code)."""
    line = _line(e)
    return bounded(f"{type(e).__name__}: {line}" if line else type(e).__name__, limit)
