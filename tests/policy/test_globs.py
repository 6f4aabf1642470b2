"""The policy's glob language: the same matches as its former regular-expression translation, at a
cost bounded by path length × states, and malformed patterns refused with the reason."""

from __future__ import annotations

import random
import re

import pytest

from edgegate.policy.globs import GlobError, compile_glob


def regex_translation(pattern: str) -> re.Pattern:
    """How globs were matched before (changes/select.py): right, but exponential on ``**/**/…``."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def test_same_matches_as_the_regex_translation_on_random_patterns_and_paths():
    rng = random.Random(0)
    atoms = ["a", "b", "/", ".", "*", "?", "**/", "**", "[ab]", "[a-b]", "[!a]"]
    compared = 0
    for _ in range(3000):
        pattern = "".join(rng.choice(atoms) for _ in range(rng.randint(1, 7)))
        regex, glob = regex_translation(pattern), compile_glob(pattern)
        for _ in range(20):
            path = "".join(rng.choice("ab/.") for _ in range(rng.randint(0, 10)))
            if "[!" in pattern and "/" in path:
                continue  # [!a] took '/' in the regex; a class is one character of a folder name now
            assert glob.fullmatch(path) == bool(regex.fullmatch(path)), (pattern, path)
            compared += 1
    assert compared > 40_000


@pytest.mark.parametrize(
    "pattern, path, full, covers",
    [
        ("models/*.tflite", "models/a.tflite", True, True),
        ("models/*.tflite", "models/x/a.tflite", False, False),
        ("models/**/*.tflite", "models/a.tflite", True, True),
        ("models/**/*.tflite", "models/x/y/a.tflite", True, True),
        ("data/**", "data/x/y.npz", True, True),
        ("data", "data/x/y.npz", False, True),
        ("data/*", "data/x/y.npz", False, True),
        ("m[0-9].h5", "m7.h5", True, True),
        ("m[!0-9].h5", "m7.h5", False, False),
        ("m[!0-9].h5", "m/.h5", False, False),  # a class never takes '/'
        ("m[]].h5", "m].h5", True, True),
        ("m[.h5", "m[.h5", True, True),  # never closed: a '[' like any other character
    ],
)
def test_semantics(pattern, path, full, covers):
    glob = compile_glob(pattern)
    assert (glob.fullmatch(path), glob.covers(path)) == (full, covers)


@pytest.mark.parametrize(
    "pattern, path",
    [
        ("**/" * 12 + "y.txt", "/".join(["d"] * 60) + "/x.txt"),
        ("*a" * 30 + "b", "a" * 250),
        ("*/" * 20 + "*b", "/".join(["aaaa"] * 21)),
    ],
    ids=["twelve **/", "thirty *a", "twenty */"],
)
def test_hostile_patterns_cost_at_most_path_times_states(pattern, path):
    glob = compile_glob(pattern)
    before = glob.steps
    assert not glob.fullmatch(path) and not glob.covers(path)
    assert glob.steps - before <= 2 * len(path) * glob.states


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("[z-a]", "bad character range z-a in [z-a]: write the lower end first"),
        ("models/[9-0]*.tflite", "bad character range 9-0 in [9-0]"),
        ("[a/b]", "[a/b] holds '/': a class is one character of a folder name"),
    ],
)
def test_malformed_patterns_say_why(pattern, message):
    with pytest.raises(GlobError, match=re.escape(message)):
        compile_glob(pattern)
