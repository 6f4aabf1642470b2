"""What a name written in the policy may hold, and how text from a repository is shown to people.

Names (models, recipe labels) end up in the terminal table, the markdown report, the PR comment,
annotations and the results file. A pull request writes them, and it names the files a glob
turns into models, so a name must not be able to break a line, reorder text (bidirectional
controls) or make two different models look the same. ``name_problem`` is the rule the policy
loader applies; ``printable`` escapes what cannot be shown faithfully in text from elsewhere (a
file name from git or the disk), so a report can always be written. Imports nothing of EdgeGate.
"""

from __future__ import annotations

import unicodedata

NAME_MAX_CHARS = 100  # a table column stays readable; far below any limit of the outputs
# Control (Cc), format (Cf: bidi overrides, zero-width), line and paragraph separators, and
# surrogates (Cs: not text at all; a results file cannot encode them).
_UNSHOWABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def unshowable(text: str) -> str | None:
    """The first character of ``text`` that has no faithful place in a line of text, else None."""
    for ch in text:
        if unicodedata.category(ch) in _UNSHOWABLE:
            return ch
    return None


def describe_char(ch: str) -> str:
    """A character as people can read it in a message: ``U+000A (LINE FEED)``."""
    if "\udc80" <= ch <= "\udcff":  # a byte that is not UTF-8, as Python's surrogateescape holds it
        return f"the byte 0x{ord(ch) - 0xDC00:02x}, which is not UTF-8"
    name = unicodedata.name(ch, "")
    if not name and unicodedata.category(ch) == "Cc":
        name = {"\0": "NUL", "\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN"}.get(ch, "control")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a model or a recipe, else None (the rule docs/policy.md states)."""
    if len(name) > NAME_MAX_CHARS:
        return f"{len(name)} characters is too long for a name; use at most {NAME_MAX_CHARS}"
    bad = unshowable(name)
    if bad is not None:
        return (
            f"names are one line of visible text; this one holds {describe_char(bad)}"
            " (control, format and line-separator characters are not allowed)"
        )
    if name != name.strip():
        return "a name must not start or end with a space (two names would look the same)"
    return None


def printable(text: str) -> str:
    """``text`` with every unshowable character escaped (``\\xff`` for a byte that is not UTF-8,
    ``\\n``, ``\\u202e``), so it can be written to any output; clean text is returned as it is."""
    if unshowable(text) is None:
        return text
    out = []
    for ch in text:
        if unicodedata.category(ch) not in _UNSHOWABLE:
            out.append(ch)
        elif "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)


def encodable(text: str) -> str:
    """``text`` with only its surrogates escaped: what UTF-8 cannot encode (a file name that is not
    UTF-8, as Python decodes it), so a results file or a log line can always be written. Line breaks
    and the rest stay: this is for whole messages, where ``printable`` is for names."""
    if text.isascii() or not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return "".join(printable(ch) if "\ud800" <= ch <= "\udfff" else ch for ch in text)
