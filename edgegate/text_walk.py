"""The one walk over a value's text: every string inside a value, rewritten by one function.

Two places rewrite every string of a value before it leaves: the parent scrubs secret values out
of every worker outcome (``redaction.py``), and the run makes a result's text encodable as UTF-8
(``run/check.py``). Both walk the same shapes, so both use this walk. A pure leaf: it imports
nothing of EdgeGate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import PurePath
from typing import Any, TypeVar, cast

T = TypeVar("T")


def map_text(value: T, rewrite: Callable[[str], str]) -> T:
    """``value`` with ``rewrite`` applied to every string inside it: strings, paths, tuples (named
    ones too), lists, sets, dicts (keys and values) and dataclasses (rebuilt with
    ``dataclasses.replace``, frozen or not). Anything else comes back as it is, and so does every
    value in which nothing changed (the same object), so a clean result is not copied."""
    return cast(T, _walk(value, rewrite))


def _walk(value: object, rewrite: Callable[[str], str]) -> object:
    if isinstance(value, str):
        new = rewrite(value)
        return value if new == value else new
    if isinstance(value, PurePath):
        text = str(value)
        new = rewrite(text)
        return value if new == text else type(value)(new)
    if isinstance(value, (tuple, list, set, frozenset)):
        items = [_walk(v, rewrite) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        rebuild: Any = type(value)
        # a named tuple takes its fields one by one
        return rebuild(*items) if hasattr(value, "_fields") else rebuild(items)
    if isinstance(value, dict):
        pairs = [(k, v, _walk(k, rewrite), _walk(v, rewrite)) for k, v in value.items()]
        if all(k2 is k and v2 is v for k, v, k2, v2 in pairs):
            return value
        return {k2: v2 for _, _, k2, v2 in pairs}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            if f.init:
                old = getattr(value, f.name)
                new_value = _walk(old, rewrite)
                if new_value is not old:
                    changed[f.name] = new_value
        return dataclasses.replace(value, **changed) if changed else value
    return value
