"""A change's paths indexed once, so the selection asks "what touched this model?" per model in time
proportional to its answer, not to the whole change.

A zoo of thousands of models under one glob, changed together, would otherwise compare every
model with every changed path (20,000 × 20,000 comparisons: minutes). Each changed path (both
sides of a rename) is filed under itself and under every folder on its way; a model's path then
looks up the changes at it, below it, and at each folder above it (a symlink on its way).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping

from edgegate.changes.interface import PathChange


def _folders_above(path: str) -> list[str]:
    """``a/b/c`` → ``["a/b", "a"]``: the folders on the way to ``path`` (the top, "", not among them)."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


class ChangeIndex:
    """The changed paths of one run, looked up by path; results keep the change's order."""

    def __init__(self, changes: list[PathChange]):
        self.changes = changes
        self._at: dict[str, list[int]] = {}  # a path → the changes naming it
        self._below: dict[str, list[int]] = {}  # a folder ("" the top) → the changes naming a path in it
        for i, c in enumerate(changes):
            for p in dict.fromkeys(p for p in (c.path, c.old_path) if p):
                self._at.setdefault(p, []).append(i)
                for folder in [*_folders_above(p), ""]:
                    self._below.setdefault(folder, []).append(i)
        self._watched: dict[tuple[str, ...], tuple[str, ...]] = {}

    def _pick(self, found: Iterable[int]) -> list[PathChange]:
        return [self.changes[i] for i in sorted(set(found))]

    def under(self, top: str) -> list[PathChange]:
        """Changes naming ``top`` or a path inside it (either side of a rename)."""
        return self._pick([*self._at.get(top, ()), *self._below.get(top, ())])

    def touching(self, tops: Iterable[str]) -> list[PathChange]:
        """Changes naming one of ``tops``, a path inside one, or a folder on the way to one (a
        symlink retargeted changes everything below it)."""
        found: list[int] = []
        for top in tops:
            found += self._at.get(top, ())
            found += self._below.get(top, ())
            for folder in _folders_above(top):
                found += self._at.get(folder, ())
        return self._pick(found)

    def watched(self, key: tuple[str, ...], matches: Callable[[str], bool]) -> tuple[str, ...]:
        """The changed paths ``matches`` takes, sorted; computed once per ``key`` (a model entry's
        ``watch`` list, shared by every model its glob makes)."""
        if key not in self._watched:
            paths = {p for c in self.changes for p in (c.path, c.old_path) if p}
            self._watched[key] = tuple(sorted(p for p in paths if matches(p)))
        return self._watched[key]


class LinkIndex:
    """A commit's symlinks (path → target as stored), read when first asked (``links``: the
    ``ChangeSource``'s ``links_at``), the ones inside a folder found by bisection."""

    def __init__(self, links: Callable[[], Mapping[str, str]]):
        self._links = links
        self._paths: list[str] | None = None

    def inside(self, folder: str) -> list[str]:
        """Links strictly inside ``folder``: the paths starting ``folder + "/"`` (a range of the
        sorted paths, "0" being the character after "/")."""
        if self._paths is None:
            self._paths = sorted(self._links())
        low, high = bisect_left(self._paths, folder + "/"), bisect_left(self._paths, folder + "0")
        return self._paths[low:high]
