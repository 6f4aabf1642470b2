"""Reading the policy's YAML into plain values and the line of every key, at a bounded cost.

A pull request may change ``edgegate.yml``, so its YAML is hostile input. Plain ``yaml.safe_load``
runs no code, but a few hundred bytes of aliases (``&a [*b, *b, …]``, a "billion laughs")
expand to gigabytes, a deeply nested ``[[[[…`` exhausts Python's recursion, a list used as a
key is unhashable, and a repeated key silently keeps its last value (dropping a budget). Here
the document is composed into YAML nodes with its nesting bounded, then built into values by
one walk that counts what it builds and refuses, each at its line:

- more than ``MAX_DEPTH`` levels of nesting (also through aliases, which catches cycles);
- more than ``MAX_ALIAS_NODES`` values built through aliases, ``MAX_NODES`` in all;
- a key written twice in one mapping; a key that is not text (``[1, 2]:``, ``on:``, ``1:``,
  ``<<:`` merges);
- a character YAML does not allow anywhere (NUL, ``\\x01`` and other controls, even in a comment);
- a scalar that cannot be read (``2001-13-01`` as a date, a 5,000-digit number) and text that
  holds a lone surrogate (a ``"\\udcff"`` escape: no output could encode it).

``read_yaml`` returns a ``YamlDocument`` or raises ``YamlProblems``; ``load.py`` adds the file
name. A limit or a syntax error stops the reading; after the other problems the rest of the
document is still built (``YamlProblems.partial``), with the places it lost marked, so the
loader can report the schema's problems in the same run. Only ``policy/`` uses this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Loc = tuple[Any, ...]  # a key path: str keys and int list positions, () for the top level

MAX_DEPTH = 32  # a policy needs about 8 (models → [i] → budgets → vs_base → size → [j] → key)
MAX_NODES = 100_000  # a few thousand for a large monorepo's policy
MAX_ALIAS_NODES = 10_000  # what anchors may add: a shared budgets block for a few hundred models

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
# What plain YAML scalars resolve to; an explicit other tag (``!!binary``, ``!!python/…``, ``!x``)
# is refused, not built into a value of a kind no policy key takes.
_SCALAR_TAGS = {f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "null", "timestamp")}


def format_key(loc: Loc) -> str:
    """A key path as people write it: ``models[0].budgets.size``; ``(top level)`` for ()."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


@dataclass(frozen=True)
class YamlProblem:
    line: int  # 1-based
    key: str  # format_key of where it is, or "yaml" for a problem of the YAML text itself
    message: str


class YamlProblems(Exception):
    """The document cannot be used; ``problems`` says where and why (at least one).

    ``partial`` is what could be read when the reading went to the end (a key written twice, a
    key or a scalar that cannot be built); None when it stopped (a syntax error, a limit)."""

    def __init__(self, problems: list[YamlProblem], partial: YamlDocument | None = None):
        self.problems = list(problems)
        self.partial = partial
        super().__init__("; ".join(f"{p.line}: {p.key}: {p.message}" for p in self.problems))


@dataclass(frozen=True)
class YamlDocument:
    data: object  # dicts, lists and scalars; None for an empty document
    lines: Mapping[Loc, int] = field(default_factory=dict)  # key path → 1-based line
    # Where ``data`` is not what the file says (only in ``YamlProblems.partial``): values that
    # could not be built (None in ``data``), and mappings a key of which could not be (left out).
    unbuilt_values: frozenset[Loc] = frozenset()
    mappings_missing_a_key: frozenset[Loc] = frozenset()


class _Stop(Exception):
    """A limit was hit: building stops at once (that is the point of the limit)."""

    def __init__(self, problem: YamlProblem):
        self.problem = problem


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses deep nesting before recursing into it, and remembers
    where each alias was written (an aliased node is shared: it has only its anchor's line)."""

    def __init__(self, text: str):
        super().__init__(text)
        self.depth = 0
        self.alias_lines: dict[tuple[int, object], int] = {}

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if parent is not None and index is not None:  # a value or an item; keys are checked as text
                position = id(index) if isinstance(index, yaml.Node) else index
                self.alias_lines[(id(parent), position)] = event.start_mark.line + 1
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Stop(YamlProblem(event.start_mark.line + 1, "yaml", _too_deep()))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels; a policy needs fewer than 10"


def read_yaml(text: str) -> YamlDocument:
    """Values and key lines of one YAML document; ``YamlProblems`` with every problem found
    (or the first limit hit, which stops the reading)."""
    try:
        # The reader refuses a NUL, \x01 or other non-printable character here, before any
        # parsing: a ReaderError, with a position instead of a mark.
        loader = _BoundedLoader(text)
    except yaml.reader.ReaderError as e:
        raise YamlProblems([_unreadable(text, e)]) from None
    try:
        try:
            node = loader.get_single_node()
        except _Stop as stop:
            raise YamlProblems([stop.problem]) from None
        except yaml.reader.ReaderError as e:
            raise YamlProblems([_unreadable(text, e)]) from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            raise YamlProblems([YamlProblem(line, "yaml", str(getattr(e, "problem", None) or e))]) from None
        if node is None:
            return YamlDocument(None, {})
        builder = _Builder(loader)
        try:
            data = builder.build(node, (), depth=1, via=None, line=node.start_mark.line + 1)
        except _Stop as stop:
            raise YamlProblems([stop.problem]) from None
        document = YamlDocument(
            data,
            builder.lines,
            frozenset(builder.unbuilt_values),
            frozenset(builder.mappings_missing_a_key),
        )
        if builder.problems:
            raise YamlProblems(builder.problems, partial=document)
        return document
    finally:
        loader.dispose()


class _Builder:
    """One walk over the composed nodes: values, the line of every key, problems, and counts."""

    def __init__(self, loader: _BoundedLoader):
        self.loader = loader
        self.lines: dict[Loc, int] = {}
        self.problems: list[YamlProblem] = []
        self.unbuilt_values: set[Loc] = set()
        self.mappings_missing_a_key: set[Loc] = set()
        self.nodes = 0
        self.alias_nodes = 0

    def problem(self, line: int, loc: Loc, message: str) -> None:
        self.problems.append(YamlProblem(line, format_key(loc), message))

    def build(self, n: yaml.Node, loc: Loc, *, depth: int, via: tuple[Loc, int] | None, line: int) -> object:
        """The value of ``n`` at ``loc``; ``via``: where the outermost alias on the way here was
        written, which is where a limit hit inside its expansion is reported."""
        self.nodes += 1
        self.alias_nodes += via is not None
        at = via or (loc, line)
        if depth > MAX_DEPTH:  # only through aliases (the composer bounds the text): also cycles
            raise _Stop(YamlProblem(at[1], format_key(at[0]), _too_deep() + " (through aliases)"))
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise _Stop(
                YamlProblem(
                    at[1],
                    format_key(at[0]),
                    f"aliases expand to more than {MAX_ALIAS_NODES} values (a YAML alias bomb?); "
                    "share settings with defaults: instead",
                )
            )
        if self.nodes > MAX_NODES:
            raise _Stop(YamlProblem(at[1], format_key(at[0]), f"more than {MAX_NODES} values in one policy"))
        self.lines.setdefault(loc, line)
        if isinstance(n, yaml.ScalarNode):
            return self.scalar(n, loc, line)
        if n.tag not in _COLLECTION_TAGS:
            self.problem(line, loc, f"the tag {n.tag!r} is not allowed in a policy")
            self.unbuilt_values.add(loc)
            return None
        if isinstance(n, yaml.SequenceNode):
            return [self.child(n, i, v, loc + (i,), depth=depth, via=via) for i, v in enumerate(n.value)]
        assert isinstance(n, yaml.MappingNode)
        out: dict[str, object] = {}
        for k, v in n.value:
            key_line = k.start_mark.line + 1
            key = self.key(k, loc, key_line)
            if key is None:
                self.mappings_missing_a_key.add(loc)
                continue
            if key in out:
                self.problem(
                    key_line,
                    loc + (key,),
                    f"duplicate key (first written at line {self.lines[loc + (key,)]}); "
                    "YAML would silently keep only the last one",
                )
                continue
            self.lines[loc + (key,)] = key_line
            out[key] = self.child(n, k, v, loc + (key,), depth=depth, via=via)
        return out

    def child(
        self,
        parent: yaml.Node,
        index: object,
        n: yaml.Node,
        loc: Loc,
        *,
        depth: int,
        via: tuple[Loc, int] | None,
    ) -> object:
        position = id(index) if isinstance(index, yaml.Node) else index
        alias_line = self.loader.alias_lines.get((id(parent), position))
        line = alias_line if alias_line is not None else n.start_mark.line + 1
        if via is None and alias_line is not None:
            via = (loc, alias_line)
        return self.build(n, loc, depth=depth + 1, via=via, line=line)

    def key(self, k: yaml.Node, loc: Loc, line: int) -> str | None:
        """A mapping key as text, or None after recording why it cannot be one."""
        if isinstance(k, yaml.ScalarNode) and k.tag == STR_TAG:
            if self.text_ok(k.value, loc + (k.value,), line):
                return k.value
            return None
        if isinstance(k, yaml.ScalarNode) and k.tag == MERGE_TAG:
            why = "merge keys (<<) are not supported; share settings with defaults: instead"
        elif isinstance(k, yaml.ScalarNode):
            kind = k.tag.rsplit(":", 1)[-1]
            why = f'the key {k.value!r} reads as {kind}, not text; quote it ("{k.value}") if it is a name'
        else:
            why = f"a {'list' if isinstance(k, yaml.SequenceNode) else 'mapping'} cannot be a key"
        self.problem(line, loc, f"keys are names: {why}")
        return None

    def scalar(self, n: yaml.ScalarNode, loc: Loc, line: int) -> object:
        if n.tag not in _SCALAR_TAGS:
            self.problem(line, loc, f"the tag {n.tag!r} is not allowed in a policy")
            self.unbuilt_values.add(loc)
            return None
        try:
            value = self.loader.construct_object(n)
        except (yaml.YAMLError, ValueError, OverflowError) as e:
            # A 5,000-digit integer or 2001-13-01 as a date raise ValueError, not a YAML error.
            self.problem(line, loc, f"cannot read {_shown(n.value)} ({getattr(e, 'problem', None) or e})")
            self.unbuilt_values.add(loc)
            return None
        if isinstance(value, str) and not self.text_ok(value, loc, line):
            self.unbuilt_values.add(loc)
            return None
        return value

    def text_ok(self, text: str, loc: Loc, line: int) -> bool:
        bad = next((ch for ch in text if "\ud800" <= ch <= "\udfff"), None)
        if bad is None:
            return True
        self.problem(line, loc, f"holds U+{ord(bad):04X}, a lone surrogate, which is not text")
        return False


def _unreadable(text: str, error: yaml.reader.ReaderError) -> YamlProblem:
    """A character YAML does not allow (NUL, other controls), at its line, written out."""
    position = error.position if isinstance(error.position, int) else 0
    line = text.count("\n", 0, position) + 1
    character = error.character
    code = ord(character) if isinstance(character, str) else int(character)
    return YamlProblem(
        line,
        "yaml",
        f"holds U+{code:04X}, a character YAML does not allow anywhere, not even in a comment "
        "(a control character such as NUL); remove it",
    )


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")
