"""What "a model changed" means, as values: targets, changed models, the change set, and the source.

A ``ModelTarget`` is one concrete model on disk. A policy entry whose ``path`` is a plain path
gives one target named like the entry; an entry whose ``path`` is a glob gives one target per
match, named ``f"{entry.name}/{stem}"`` (``digits/v2`` for ``models/v2.tflite``; when two matches
share a stem, the match's path below the glob's fixed folders is used instead of the stem). A
SavedModel folder (a folder holding ``saved_model.pb``) is one model; the files inside it are
never targets of their own.

``ChangeSource`` is what the selection needs from version control; ``GitRepo`` implements it.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edgegate.policy.sections import ModelPolicy

ChangeKind = Literal["added", "modified", "renamed", "moved", "requested"]


@dataclass(frozen=True)
class ModelTarget:
    name: str
    model: ModelPolicy  # the policy entry this target came from
    path: str  # repository-relative POSIX path of the file or SavedModel folder


@dataclass(frozen=True)
class ChangedModel:
    target: ModelTarget
    # "moved": the policy gives the model (by its name) another path than the base branch's did;
    # "requested": unchanged, gated because of --all or an explicit path
    change: ChangeKind
    base_path: str | None  # where the base version lives at the base commit; None: new model
    reasons: tuple[str, ...]  # short, user-facing: what changed, or why it is gated


@dataclass(frozen=True)
class ChangeSet:
    base_ref: str | None  # the ref as given or detected, e.g. "origin/main"
    base_sha: str | None  # merge base of base_ref and HEAD: the commit base versions come from
    head_sha: str | None  # HEAD (the working tree is what is gated); None before the first commit
    models: tuple[ChangedModel, ...]
    notes: tuple[str, ...]  # e.g. "model X: models/x.tflite was removed in this change: nothing to gate"
    # The commit base_ref names (the base branch's head): what a pull-request run trusts. Not the
    # merge base, which the PR's author picks by branching from an old commit.
    trusted_sha: str | None = None


@dataclass(frozen=True)
class PathChange:
    """One changed path between the base commit and the working tree."""

    status: str  # git's letter: A, M, D, T, U or R (renamed: old_path is set)
    path: str
    old_path: str | None = None
    similarity: int | None = None  # for renames: git's similarity score in percent


class ChangeSource(abc.ABC):
    """Version control as the change selection sees it. Shas are full hex object names."""

    root: Path  # top level of the working tree

    @abc.abstractmethod
    def resolve(self, ref: str) -> str:
        """The commit ``ref`` names; ``UsageError`` saying how to fetch it when it does not exist."""

    @abc.abstractmethod
    def default_base(self) -> str:
        """The ref to compare with when none is given: the remote's default branch, else main."""

    @abc.abstractmethod
    def merge_base(self, a: str, b: str) -> str:
        """The best common ancestor of two commits; ``UsageError`` when history is missing."""

    @abc.abstractmethod
    def head_sha(self) -> str | None:
        """HEAD's commit, None before the first commit."""

    @abc.abstractmethod
    def changed_paths(self, base_sha: str) -> list[PathChange]:
        """Every path that differs between ``base_sha`` and the working tree, renames paired."""

    @abc.abstractmethod
    def exists_at(self, sha: str, path: str) -> bool:
        """Whether a file or folder exists at ``path`` in commit ``sha`` (symlinks followed in its tree)."""

    @abc.abstractmethod
    def paths_at(self, sha: str) -> tuple[str, ...]:
        """Every file (symlinks included) in commit ``sha``."""

    @abc.abstractmethod
    def resolve_at(self, sha: str, path: str) -> str | None:
        """Where ``path`` leads in commit ``sha`` with its symlinks followed in that commit's tree
        (``repo_paths.resolve_links``); None when it leads out of the repository."""

    @abc.abstractmethod
    def links_at(self, sha: str) -> dict[str, str]:
        """The symlinks of commit ``sha``: path → target as stored."""

    @abc.abstractmethod
    def export(self, sha: str, path: str, dest: Path) -> Path:
        """Write the file or folder ``path`` as of ``sha`` to ``dest / path`` and return that path."""
