"""Text from a pull request, made safe for each place EdgeGate shows it.

Model names, recipe labels, paths, tensor/op/layer names, branch names, every message that
quotes them, and (for ``edgegate publish``) everything in a results file come from whoever
opened the pull request. Shown raw, they forge the report (a fake verdict heading, a closed
``<details>``, HTML, ``@mentions`` and ``#123`` links posted by the bot, a ``|`` that shifts a
table's columns) or the CI log (a line starting ``::error`` is a workflow command).

One function per context; each takes any text and returns text that, in that context, shows
the same characters and nothing more:

- ``md_text``: inline markdown (a heading, a list item, a paragraph). Backtick-quoted parts of
  messages (``training: data:``) stay code; everything else is escaped.
- ``md_cell``: the same, inside a table cell (a ``|`` never ends the cell, not even in code).
- ``md_code``: the whole text as one code span.
- ``md_code_block``: a fenced block, multi-line, verbatim.
- ``html_text``: inside HTML such as ``<summary>`` (markdown is not parsed there).
- ``md_url``: a link destination EdgeGate built (only http(s), nothing that ends the link).
- ``log_text``: lines of the CI log, none of which starts a workflow command (printed only
  through ``edgegate.log_output.say``).
- ``command_data`` / ``command_property``: the message and properties of a workflow command.

Common to all: control and invisible formatting characters (bidi overrides, zero-width
characters, ANSI escapes, lone surrogates) are shown as ``\\u202e``-style escapes, so what a
reviewer reads is what the text holds. GitHub links ``@user``, ``#123``, ``GH-123`` and bare
URLs in any text node, even in HTML; a word joiner (U+2060) after ``@``, ``#``, ``GH-``,
``www`` and ``:`` of ``://`` keeps the characters and breaks the link (GitHub does not link
inside code, so code spans need none).
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import quote, urlsplit

WORD_JOINER = "\u2060"  # invisible, zero-width, not whitespace: splits a token without showing

# Categories with no glyph of their own: controls, format characters (bidi, zero-width), line
# and paragraph separators, lone surrogates (which cannot even be written as UTF-8).
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Cs"}
_BACKTICKS = re.compile(r"`+")
# Backslash-escaped in markdown text: code, emphasis, strikethrough, links and images,
# table cells, math. CommonMark allows a backslash before any ASCII punctuation.
_MD_ESCAPED = frozenset("\\`*_~[]|$")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LIST_NUMBER = re.compile(r"^(\d{1,9})([.)])(?= |$)")
_AUTOLINKS = re.compile(r"@|#(?=\d)|(?i:\bGH-)(?=\d)|(?i:\bwww)(?=\.)|:(?=//)")
_COMMAND_START = re.compile(r"^((?:\s|\x1b\[[0-9;]*m)*):(?=:)")  # leading blanks and ANSI colours


def visible(text: str, *, keep: str = "\n\t") -> str:
    """``text`` with every invisible character except those in ``keep`` written as ``\\uXXXX``."""
    return "".join(
        ch if ch in keep or unicodedata.category(ch) not in _INVISIBLE else _codepoint(ch) for ch in text
    )


def one_line(text: str) -> str:
    """``text`` on one line: every line break (``\\r``, ``\\n``, U+2028, …) and tab a space,
    every other invisible character escaped."""
    return visible(" ".join(str(text).splitlines()).replace("\t", " "), keep="")


# --- markdown ------------------------------------------------------------------------------


def md_text(text: object) -> str:
    """Inline markdown showing ``text`` literally on one line; backtick-quoted parts as code."""
    return _md_inline(str(text), in_table=False)


def md_cell(text: object) -> str:
    """``md_text`` for a table cell: also a ``|`` inside code is escaped, so the cell never splits."""
    return _md_inline(str(text), in_table=True)


def md_code(text: object, *, in_table: bool = False) -> str:
    """``text`` as one code span, with a fence longer than any backtick run inside it."""
    content = one_line(str(text))
    if in_table:
        content = content.replace("|", "\\|")
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(content)), default=0))
    if not content.strip(" "):
        content = content or " "  # only spaces are kept as they are; an empty span does not exist
    elif content[0] == "`" or content[-1] == "`" or (content[0] == " " and content[-1] == " "):
        content = f" {content} "  # the parser strips one space each side of such content
    return f"{fence}{content}{fence}"


def md_code_block(text: object, info: str = "") -> str:
    """``text`` verbatim in a fenced code block: a fence longer than any backtick run in it, so
    no line of it can close the block, and nothing in it renders (no links, mentions or HTML)."""
    body = visible("\n".join(str(text).splitlines()))
    fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(body)), default=0))
    return f"{fence}{one_line(info).replace('`', '')}\n{body}\n{fence}"


def html_text(text: object) -> str:
    """``text`` inside HTML (a ``<summary>``): entities for ``&<>"'``, on one line, links broken."""
    return _break_autolinks(html.escape(one_line(str(text)), quote=True))


def md_url(url: str) -> str | None:
    """A link destination for ``[text](…)``: only http(s); parentheses, spaces and anything else
    that would end the link percent-encoded. ``None`` for anything else."""
    if urlsplit(url).scheme.lower() not in ("http", "https") or any(
        unicodedata.category(ch) in _INVISIBLE for ch in url
    ):
        return None
    return quote(url, safe=":/?#[]@!$&'*+,;=%-._~")


def _md_inline(text: str, *, in_table: bool) -> str:
    parts = []
    for i, (code, segment) in enumerate(_code_segments(one_line(text))):
        if code:
            parts.append(md_code(segment, in_table=in_table))
        else:
            parts.append(_md_plain(segment, line_start=i == 0))
    return "".join(parts)


def _code_segments(text: str) -> list[tuple[bool, str]]:
    """``text`` split as CommonMark would into code spans (True) and the text around them.

    Only the presentation depends on this split: both kinds are re-escaped on output, so a
    backtick trick cannot make anything render raw.
    """
    segments: list[tuple[bool, str]] = []
    runs = list(_BACKTICKS.finditer(text))
    pos = 0
    i = 0
    while i < len(runs):
        opener = runs[i]
        closer = next(
            (j for j in range(i + 1, len(runs)) if len(runs[j].group()) == len(opener.group())), None
        )
        if closer is None:
            i += 1
            continue
        content = text[opener.end() : runs[closer].start()]
        if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
            content = content[1:-1]
        if opener.start() > pos:
            segments.append((False, text[pos : opener.start()]))
        segments.append((True, content))
        pos = runs[closer].end()
        i = closer + 1
    if pos < len(text) or not segments:
        segments.append((False, text[pos:]))
    return segments


def _md_plain(text: str, *, line_start: bool) -> str:
    escaped = _break_autolinks(
        "".join(
            "\\" + ch if ch in _MD_ESCAPED else _MD_ENTITIES.get(ch, ch)
            for ch in text  # one pass: an escape is never escaped again
        )
    )
    if line_start:
        # Where a value opens a line (or a list item), it must not open a block: a heading, a
        # list, a setext underline, a thematic break, a quote (already &gt;), indented code.
        if escaped[:1] in ("#", "+", "-", "="):
            escaped = "\\" + escaped
        elif escaped[:1] == " ":
            escaped = "&#32;" + escaped[1:]  # a reference is never block structure
        else:
            escaped = _LIST_NUMBER.sub(r"\1\\\2", escaped, count=1)
    return escaped


def _break_autolinks(text: str) -> str:
    return _AUTOLINKS.sub(lambda m: m.group() + WORD_JOINER, text)


# --- the CI log and workflow commands ---------------------------------------------------------


def log_text(text: object) -> str:
    """Text for the CI log: line breaks kept (``\\r`` is one to the runner too), other invisible
    characters escaped, and no line able to start a workflow command."""
    return neutralize_commands(visible("\n".join(str(text).splitlines())))


def neutralize_commands(text: str) -> str:
    """Already printable output (a rendered table, perhaps with ANSI colours) with every line
    kept from being a workflow command.

    The runner reads stdout and stderr line by line; a line is a command when, after leading
    whitespace, it starts with ``::``, or when it holds ``##[`` anywhere (the legacy form). A
    word joiner between the two colons or after ``##`` changes neither what a person reads nor
    anything else.
    """
    lines = text.split("\n")
    return "\n".join(
        _COMMAND_START.sub(lambda m: m.group(1) + ":" + WORD_JOINER, line, count=1).replace(
            "##[", "##" + WORD_JOINER + "["
        )
        for line in lines
    )


def command_data(text: object) -> str:
    """The message of a workflow command (``::error …::message``), as the runner unescapes it."""
    return visible(str(text), keep="\n\r\t").replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text: object) -> str:
    """A property value of a workflow command (``file=``, ``title=``): also ``:`` and ``,``."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")


def _codepoint(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
