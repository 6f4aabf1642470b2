"""Git LFS pointers in place of models: the base version's object from the local store, or the fix.

What a pointer is lives in ``edgegate.model_files``. A base version is exported as its raw blob
(no checkout filters: see ``git.GitRepo.export``), so an LFS-tracked model comes out as its
pointer; ``resolve_base_pointer`` replaces it with the object git-lfs fetched into
``<git dir>/lfs/objects/`` when it is there, checked against the pointer's size and sha256.
Otherwise the pointer is refused with how to get the real file: a ``git lfs pull`` for the
working tree, a fetch of the base branch's objects for its export.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from edgegate.errors import InputError
from edgegate.model_files import LFS_POINTER_MAX_BYTES, file_is_lfs_pointer, is_lfs_pointer

_OID = re.compile(rb"^oid sha256:([0-9a-f]{64})$", re.MULTILINE)
_SIZE = re.compile(rb"^size ([0-9]{1,19})$", re.MULTILINE)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LfsPointer:
    oid: str  # sha256 of the object, lower-case hex
    size: int  # bytes


def read_pointer(path: Path) -> LfsPointer | None:
    """The pointer the file at ``path`` is, else None (also for a pointer without oid or size)."""
    with open(path, "rb") as f:
        data = f.read(LFS_POINTER_MAX_BYTES)
    if not is_lfs_pointer(data):
        return None
    oid, size = _OID.search(data), _SIZE.search(data)
    if oid is None or size is None:
        return None
    return LfsPointer(oid.group(1).decode("ascii"), int(size.group(1)))


def resolve_base_pointer(out: Path, lfs_objects: Path, display: str) -> None:
    """Replace the pointer exported at ``out`` by its object from ``lfs_objects``; ``InputError``
    when the object is missing or is not what the pointer names. A file that is no pointer stays."""
    pointer = read_pointer(out)
    if pointer is None:
        check_not_lfs_pointer(out, display, base=True)  # a malformed pointer: still not a model
        return
    stored = lfs_objects / pointer.oid[:2] / pointer.oid[2:4] / pointer.oid
    if not stored.is_file():
        check_not_lfs_pointer(out, display, base=True)
        return
    digest = hashlib.sha256()
    with open(stored, "rb") as src, open(out, "wb") as dst:
        # Copied and hashed in one pass; a store that does not match is not trusted.
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    if digest.hexdigest() != pointer.oid or out.stat().st_size != pointer.size:
        out.unlink()
        raise InputError(
            f"{display} is a Git LFS pointer whose local object {stored} does not match it (sha256 or "
            "size differ); delete that object and fetch it again (`git lfs fetch`)"
        )


def check_not_lfs_pointer(path: Path, display: str, *, base: bool = False) -> None:
    """Raise ``InputError`` when the file at ``path`` is an LFS pointer. ``display`` names it."""
    if not file_is_lfs_pointer(path):
        return
    if base:
        fix = (
            "fetch the base branch's LFS objects, e.g. `git lfs fetch origin main` (git-lfs must be "
            "installed), or in GitHub Actions set `lfs: true` on actions/checkout and fetch the base "
            "branch's objects the same way"
        )
    else:
        fix = "run `git lfs pull`, or in GitHub Actions set `lfs: true` on actions/checkout"
    raise InputError(
        f"{display} is a Git LFS pointer, not the model: the LFS object was not downloaded; {fix}"
    )
