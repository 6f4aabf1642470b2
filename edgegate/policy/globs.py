"""The policy's glob language (``path:`` and ``watch:``), matched at a cost bounded by its length.

``*`` and ``?`` stay within one folder, ``**/`` is any number of folders, ``**`` elsewhere is
anything (folders included), ``[abc]``/``[a-z]``/``[!a]`` is one character of a folder name.

A pull request writes these patterns, so they are hostile input. Translated to a regular
expression, ``**/**/**/…`` or ``*a*a*a*…b`` makes Python's backtracking engine take
exponential time on a deep or long path; here a pattern is a small automaton run over the path
once, all its states at a time (Thompson's construction), so matching one path costs at most
``len(path) × states`` steps, whatever the pattern. The transitions already computed are
cached (a lazy DFA), which keeps the common case a dict lookup per character.

``compile_glob`` refuses a malformed pattern (``[z-a]``) with a ``GlobError`` that says why,
so the policy loader can report it at its line. Imports nothing of EdgeGate.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

GLOB_CHARS = frozenset("*?[")
MAX_CACHED_TRANSITIONS = 4096  # per pattern: beyond it, states are stepped without caching


class GlobError(ValueError):
    """A malformed glob; the message says what is wrong and where."""


def is_glob(path: str) -> bool:
    return any(c in GLOB_CHARS for c in path)


# --- tokens --------------------------------------------------------------------------------------

# One token per pattern element. A state of the automaton is 2 × token index (+1 for the
# inside of a folder name consumed by ``**/``); 2 × len(tokens) is the accepting state.
_LIT, _ONE, _STAR, _CLASS, _ANY_DEEP, _DIRS = range(6)


@dataclass(frozen=True)
class _Token:
    kind: int
    char: str = ""  # _LIT
    ranges: tuple[tuple[str, str], ...] = ()  # _CLASS: inclusive (low, high) pairs
    negated: bool = False  # _CLASS

    def takes(self, c: str) -> bool:
        """Whether this token (one character of a folder name) takes ``c``."""
        if self.kind == _LIT:
            return c == self.char
        if c == "/":
            return False
        if self.kind == _CLASS:
            return any(lo <= c <= hi for lo, hi in self.ranges) != self.negated
        return True  # _ONE, _STAR


def _parse(pattern: str) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            tokens.append(_Token(_DIRS))
            i += 3
        elif pattern.startswith("**", i):
            tokens.append(_Token(_ANY_DEEP))
            i += 2
        elif c == "*":
            tokens.append(_Token(_STAR))
            i += 1
        elif c == "?":
            tokens.append(_Token(_ONE))
            i += 1
        elif c == "[" and (parsed := _parse_class(pattern, i)) is not None:
            token, i = parsed
            tokens.append(token)
        else:  # a '[' that opens no class is a character like any other
            tokens.append(_Token(_LIT, c))
            i += 1
    return tuple(tokens)


def _parse_class(pattern: str, start: int) -> tuple[_Token, int] | None:
    """The class opening at ``pattern[start]`` and the index after it; None when it is never closed."""
    i = start + 1
    negated = i < len(pattern) and pattern[i] in "!^"
    i += negated
    body_start = i
    if i < len(pattern) and pattern[i] == "]":  # a ']' first is a member, not the end
        i += 1
    end = pattern.find("]", i)
    if end == -1:
        return None
    body = pattern[body_start:end]
    if "/" in body:
        raise GlobError(f"[{pattern[start + 1 : end]}] holds '/': a class is one character of a folder name")
    ranges: list[tuple[str, str]] = []
    j = 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-":
            lo, hi = body[j], body[j + 2]
            if lo > hi:
                raise GlobError(
                    f"bad character range {lo}-{hi} in [{pattern[start + 1 : end]}]: write the lower end first"
                )
            ranges.append((lo, hi))
            j += 3
        else:
            ranges.append((body[j], body[j]))
            j += 1
    return _Token(_CLASS, ranges=tuple(ranges), negated=negated), end + 1


# --- the automaton -------------------------------------------------------------------------------


@dataclass
class _Cache:
    """What a compiled glob learns while matching; mutable on purpose, inside a frozen ``Glob``."""

    transitions: dict[tuple[frozenset[int], str], frozenset[int]] = field(default_factory=dict)
    steps: int = 0  # NFA state transitions computed so far, over every path matched


@dataclass(frozen=True)
class Glob:
    pattern: str
    tokens: tuple[_Token, ...]
    _cache: _Cache = field(default_factory=_Cache, compare=False, repr=False)

    @property
    def states(self) -> int:
        """How many states the automaton has: the most that can be live at once."""
        return 2 * len(self.tokens) + 1

    @property
    def steps(self) -> int:
        """State transitions computed so far (every path this glob matched): its work, measured."""
        return self._cache.steps

    def fullmatch(self, path: str) -> bool:
        """``path`` as a whole matches."""
        return self._run(path, folders=False)

    def covers(self, path: str) -> bool:
        """``path`` or one of the folders above it matches (a change inside a watched folder)."""
        return self._run(path, folders=True)

    def _run(self, path: str, *, folders: bool) -> bool:
        accept = 2 * len(self.tokens)
        live = self._closure(frozenset({0}))
        for c in path:
            if folders and c == "/" and accept in live:
                return True
            live = self._step(live, c)
            if not live:
                return False
        return accept in live

    def _step(self, live: frozenset[int], c: str) -> frozenset[int]:
        cache = self._cache
        key = (live, c)
        found = cache.transitions.get(key)
        if found is not None:
            return found
        nxt: set[int] = set()
        for state in live:
            cache.steps += 1
            i, inside = divmod(state, 2)
            if i == len(self.tokens):
                continue  # accepting: nothing more to consume
            t = self.tokens[i]
            if t.kind == _STAR:
                if c != "/":
                    nxt.add(state)
            elif t.kind == _ANY_DEEP:
                nxt.add(state)
            elif t.kind == _DIRS:  # (?:[^/]*/)*: a folder name, then '/', any number of times
                nxt.add(2 * i if c == "/" else 2 * i + 1)
            elif t.takes(c) and not inside:
                nxt.add(2 * (i + 1))
        result = self._closure(frozenset(nxt))
        if len(cache.transitions) < MAX_CACHED_TRANSITIONS:
            cache.transitions[key] = result
        return result

    def _closure(self, states: frozenset[int]) -> frozenset[int]:
        """``states`` and every state reachable without consuming a character (a ``*`` or ``**``
        matching nothing). A folder name half-consumed by ``**/`` reaches nothing this way."""
        out = set(states)
        todo = [s for s in states if s % 2 == 0]
        while todo:
            i = todo.pop() // 2
            if i < len(self.tokens) and self.tokens[i].kind in (_STAR, _ANY_DEEP, _DIRS):
                nxt = 2 * (i + 1)
                if nxt not in out:
                    out.add(nxt)
                    todo.append(nxt)
        return frozenset(out)


@functools.lru_cache(maxsize=256)
def compile_glob(pattern: str) -> Glob:
    """The matcher for ``pattern``; ``GlobError`` when it is malformed. Cached: the same pattern is
    matched against every path of a change."""
    return Glob(pattern, _parse(pattern))
