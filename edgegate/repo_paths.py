"""Paths from a pull request, kept inside the repository, and names made safe for the file system.

A pull request controls the policy file, its model names and the files in the checkout: a path
like ``../../etc/passwd``, a symlink pointing out of the checkout or a model named ``..`` must
not make EdgeGate read or write beyond its folders. Two checks, because both are needed: a
written path is first judged as text (``is_lexically_inside``), then, once on disk, by where
it leads with symlinks followed (``resolves_inside``). A leaf: it imports nothing from EdgeGate.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from pathlib import Path
from typing import Mapping

StrPath = str | os.PathLike[str]

NAME_MAX_CHARS = 64  # a readable folder name, far below every file system's limit
_UNSAFE = re.compile(r"[^a-z0-9._-]")
_LEADING_DOTS = re.compile(r"^\.+")  # ".", ".." and hidden names
# Joins a sanitized name to its hash. Not in the safe set, so no name kept as written can
# equal a hashed one; that makes names unique without a registry of the ones taken.
_HASH_JOINER = "+"
_HASH_CHARS = 10


def is_lexically_inside(written: str) -> bool:
    """``written`` names the repository or a path below it, as text: relative, no drive, no
    ``..`` leading out of it, no NUL byte. Symlinks are for ``resolves_inside``."""
    if "\0" in written:
        return False
    p = written.replace("\\", "/")  # a policy written on Windows means the same path
    if p.startswith("/") or (len(p) > 1 and p[1] == ":"):
        return False
    norm = posixpath.normpath(p)
    return norm != ".." and not norm.startswith("../")


def real_path(root: StrPath, path: StrPath) -> Path | None:
    """Where ``path`` (relative to ``root``, or absolute) leads with symlinks followed; None when
    no file system accepts it (a NUL byte)."""
    try:
        return Path(os.path.realpath(Path(root) / path))
    except ValueError:
        return None


def resolves_inside(root: StrPath, path: StrPath) -> bool:
    """``path`` (relative to ``root``, or absolute) leads to ``root`` or below it once symlinks,
    ``..`` and all, are followed. A path that cannot be resolved is not inside."""
    real = real_path(root, path)
    return real is not None and real.is_relative_to(os.path.realpath(root))


def safe_name(name: str) -> str:
    """A file or folder name for ``name``, unique per exact ``name``.

    Safe names (lower-case letters, digits, ``._-``, not starting with a dot, at most
    ``NAME_MAX_CHARS``) stay as they are. Any other name is sanitized and gets a short hash of
    its exact text, so ``m a`` and ``m_a`` get different folders, and ``..`` none above.
    Upper case counts as unsafe: on case-insensitive file systems ``M`` and ``m`` would clash.
    """
    clean = _UNSAFE.sub("_", name[:NAME_MAX_CHARS].lower())
    clean = _LEADING_DOTS.sub(lambda m: "_" * len(m.group()), clean)
    if name and clean == name:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    return f"{clean}{_HASH_JOINER}{digest}"


MAX_LINKS = 40  # symlinks followed in one lookup, as the kernel allows: a loop ends, never hangs


class LinkLoop(ValueError):
    """A path whose symlinks lead into each other."""


def resolve_links(path: str, links: Mapping[str, str]) -> str | None:
    """Where the repository-relative ``path`` leads once the ``links`` (a tree's symlinks:
    repository-relative path → target as stored) are followed, as a repository-relative path
    ("" for the top); None when it leads out of the repository (an absolute target, ``..``
    above the top). Like ``os.path.realpath`` on a commit's tree instead of the working tree,
    so a base version is read from the base commit's own links. ``LinkLoop`` after
    ``MAX_LINKS`` links."""
    todo = [p for p in path.split("/") if p]
    done: list[str] = []
    followed = 0
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            if not done:
                return None
            done.pop()
            continue
        here = "/".join([*done, part])
        target = links.get(here)
        if target is None:
            done.append(part)
            continue
        followed += 1
        if followed > MAX_LINKS:
            raise LinkLoop(f"{path}: more than {MAX_LINKS} symlinks to follow (a loop)")
        if target.startswith("/") or "\0" in target:
            return None
        todo = [p for p in target.split("/") if p] + todo
    return "/".join(done)
