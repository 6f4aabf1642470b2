"""Scrubbing secret values out of text before it reaches a report, a PR comment or a log.

Workers run a pull request's model; whatever text comes back from them (an error message, a
note, the tail of a crashed worker's log) is printed, posted and uploaded. Workers get no
secrets in their environment (``workers/environment.py``), but defence in depth says the parent
must not trust that: every outcome is scrubbed of the values of the parent's secret-looking
variables (``TOKEN``, ``SECRET``, ``PASSWORD``, ``KEY``, ... in the name), in the forms a secret
travels in: as it is, URL-encoded, JSON-escaped, and base64 at any alignment (a token inside a
longer base64 text such as git's ``AUTHORIZATION: basic …`` header). A leaf: it imports only
the leaf ``text_walk.py`` and reads no environment of its own.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Mapping, TypeVar
from urllib.parse import quote, quote_plus

from edgegate.text_walk import map_text

MASK = "***"
# Shorter values are left alone: "1", "true" or a short path would be masked all over every
# message, and no credential the runner hands out is this short.
MIN_SECRET_CHARS = 8
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|PASSPHRASE|KEY|CREDENTIAL|AUTH|PRIVATE|COOKIE|SESSION", re.I)

T = TypeVar("T")


def is_secret_name(name: str) -> bool:
    """``GITHUB_TOKEN``, ``AWS_SECRET_ACCESS_KEY``, ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``, ``NPM_AUTH``…"""
    return bool(SECRET_NAME.search(name))


def _base64_cores(raw: bytes) -> set[str]:
    """The part of ``raw``'s base64 that is the same wherever ``raw`` sits in a longer text.

    Base64 maps 3 bytes to 4 characters, so a value at offset ``k mod 3`` encodes one of three
    ways; in each, the 4-character groups holding only its own bytes do not depend on what
    surrounds it. Standard and URL-safe alphabets both."""
    cores: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        start = 4 if shift else 0  # the first group mixes in the preceding bytes
        whole_groups = (shift + len(raw)) // 3  # the last, partial group depends on what follows
        core = encoded[start : whole_groups * 4]
        if len(core) >= MIN_SECRET_CHARS:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


def forms(value: str) -> set[str]:
    """The texts ``value`` may appear as: itself, each long line of it, URL-encoded, JSON-escaped,
    base64."""
    out: set[str] = set()
    pieces = {value} | {line.strip() for line in value.splitlines()}
    for piece in pieces:
        if len(piece) < MIN_SECRET_CHARS:
            continue
        out.update({piece, quote(piece, safe=""), quote_plus(piece), json.dumps(piece)[1:-1]})
        out.update(_base64_cores(piece.encode("utf-8", "surrogatepass")))
    return {f for f in out if len(f) >= MIN_SECRET_CHARS}


@dataclass(frozen=True)
class Redactor:
    """Replaces every form of the secret values it was built with by ``MASK``."""

    needles: tuple[str, ...] = ()  # longest first, so a value containing another goes whole

    @classmethod
    def for_values(cls, values: list[str] | tuple[str, ...] | set[str]) -> "Redactor":
        found: set[str] = set()
        for value in values:
            found |= forms(value)
        return cls(tuple(sorted(found, key=lambda s: (-len(s), s))))

    @classmethod
    def for_environment(cls, env: Mapping[str, str]) -> "Redactor":
        """For the values of ``env``'s secret-looking variables."""
        return cls.for_values([v for k, v in env.items() if is_secret_name(k)])

    def scrub(self, text: str) -> str:
        for needle in self.needles:
            if needle in text:
                text = text.replace(needle, MASK)
        return text

    def scrub_value(self, value: T) -> T:
        """``value`` with every string inside scrubbed (``text_walk.map_text``: strings, paths,
        tuples, lists, dicts, sets and dataclasses, rebuilt where something changed)."""
        if not self.needles:
            return value
        return map_text(value, self.scrub)
