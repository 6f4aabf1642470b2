"""The change index answers exactly what comparing every model with every changed path would."""

from __future__ import annotations

import random

from edgegate.changes.interface import PathChange
from edgegate.changes.path_index import ChangeIndex, LinkIndex

# Names around "/" in code-point order ("-" and "." sort before it, "0" right after): a prefix
# that is not a folder must never count as one.
PARTS = ["a", "b", "a-b", "a.b", "b0", "m.tflite", "saved_model.pb"]


def _under(path: str, top: str) -> bool:
    return top == "" or path == top or path.startswith(top + "/")


def _touches(c: PathChange, top: str) -> bool:
    """The definition the selection used before the index, change by change."""
    return any(p is not None and (_under(p, top) or _under(top, p)) for p in (c.path, c.old_path))


def _paths(rng: random.Random, n: int) -> list[str]:
    return ["/".join(rng.choice(PARTS) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def _changes(rng: random.Random) -> list[PathChange]:
    changes = []
    for path in _paths(rng, 60):
        if rng.random() < 0.3:
            changes.append(PathChange("R", path, old_path=rng.choice(_paths(rng, 5)), similarity=90))
        else:
            changes.append(PathChange(rng.choice("AMD"), path))
    return changes


def test_touching_and_under_equal_the_path_by_path_definition():
    rng = random.Random(24)
    for _ in range(20):
        changes = _changes(rng)
        index = ChangeIndex(changes)
        for top in [*_paths(rng, 40), ""]:
            assert index.touching([top]) == [c for c in changes if _touches(c, top)], top
            expected = [c for c in changes if any(p and _under(p, top) for p in (c.path, c.old_path))]
            assert index.under(top) == expected, top
        tops = _paths(rng, 3)
        assert index.touching(tops) == [c for c in changes if any(_touches(c, t) for t in tops)]


def test_watched_paths_are_matched_once_per_watch_list():
    changes = [PathChange("M", "data/x.csv"), PathChange("R", "b/y.csv", old_path="a/y.csv")]
    index = ChangeIndex(changes)
    asked: list[str] = []

    def matches(p: str) -> bool:
        asked.append(p)
        return p.endswith(".csv") and not p.startswith("b/")

    assert index.watched(("*.csv",), matches) == ("a/y.csv", "data/x.csv")
    assert index.watched(("*.csv",), matches) == ("a/y.csv", "data/x.csv")
    assert sorted(asked) == ["a/y.csv", "b/y.csv", "data/x.csv"]  # the second call asked nothing


def test_links_inside_a_folder_equal_a_prefix_scan():
    rng = random.Random(7)
    links = {p: "target" for p in _paths(rng, 300)}
    loaded = []
    index = LinkIndex(lambda: loaded.append(1) or links)
    for folder in [*_paths(rng, 60), ""]:
        assert index.inside(folder) == sorted(p for p in links if p.startswith(folder + "/")), folder
    assert loaded == [1]  # the commit's links are read once, when first needed
