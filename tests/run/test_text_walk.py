"""The one walk over a value's text (``text_walk.map_text``) and its two uses: the redactor's scrub of
worker outcomes and the run's escape of text UTF-8 cannot encode. Every shape a result or an
outcome holds: dataclasses (frozen or not), tuples (named ones too), lists, sets, dicts, paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from edgegate.policy.names import encodable
from edgegate.redaction import MASK, Redactor
from edgegate.text_walk import map_text

SECRET = "s3cr3t-value-0123456789"
BAD = "bad\udcff"  # a file-name byte that is not UTF-8, as Python decodes it


class Pair(NamedTuple):
    left: str
    right: int


@dataclass(frozen=True)
class Inner:
    path: Path
    pair: Pair
    tags: frozenset[str] = frozenset()


@dataclass
class Outer:
    name: str
    inners: tuple[Inner, ...]
    notes: list[str]
    by_key: dict[str, PurePosixPath]
    count: int = 0
    derived: str = field(init=False, default="not rebuilt")


def sample(text: str) -> Outer:
    inner = Inner(Path(f"/w/{text}.tflite"), Pair(f"l {text}", 1), frozenset({text, "plain"}))
    return Outer(f"m {text}", (inner,), ["ok", f"note {text}"], {text: PurePosixPath(f"a/{text}")}, 7)


def test_every_string_of_every_shape_is_rewritten_and_the_shapes_are_kept():
    walked = map_text(sample("x"), str.upper)

    assert walked == Outer(
        "M X",
        (Inner(Path("/W/X.TFLITE"), Pair("L X", 1), frozenset({"X", "PLAIN"})),),
        ["OK", "NOTE X"],
        {"X": PurePosixPath("A/X")},
        7,
    )
    assert type(walked.inners[0].pair) is Pair and isinstance(walked.inners[0].path, Path)


def test_a_value_with_nothing_to_rewrite_is_returned_as_the_same_objects():
    value = sample("x")

    assert map_text(value, lambda s: s) is value
    assert map_text([value, ("a",)], lambda s: s)[0] is value


def test_the_redactor_scrubs_every_shape():
    scrubbed = Redactor.for_values([SECRET]).scrub_value(sample(SECRET))

    assert scrubbed == sample(MASK)
    assert SECRET not in repr(scrubbed)


def test_the_run_escapes_every_shape_utf8_cannot_encode():
    escaped = map_text(sample(BAD), encodable)

    assert escaped == sample(encodable(BAD)) and encodable(BAD) != BAD
    seen: list[str] = []
    map_text(escaped, lambda s: seen.append(s) or s)
    assert len(seen) == 9  # name, path, pair, 2 tags, 2 notes, a key and its path
    for text in seen:
        text.encode("utf-8")  # raises for a surrogate left anywhere
    clean = sample("fine")
    assert map_text(clean, encodable) is clean
