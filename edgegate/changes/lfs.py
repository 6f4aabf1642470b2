"""Recognising Git LFS pointer files, so a missing LFS download is reported as such.

Without the LFS objects, a checkout holds small text pointers where the models should be; a
model loader would fail on them with a confusing parse error. Pointers start with the spec
line below and are smaller than 1024 bytes (the LFS spec's limit).
"""

from __future__ import annotations

from pathlib import Path

from edgegate.errors import InputError

POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
POINTER_MAX_BYTES = 1024


def is_lfs_pointer(data: bytes) -> bool:
    return len(data) < POINTER_MAX_BYTES and data.startswith(POINTER_PREFIX)


def check_not_lfs_pointer(path: Path, display: str, *, base: bool = False) -> None:
    """Raise ``InputError`` when the file at ``path`` is an LFS pointer. ``display`` names it."""
    if path.stat().st_size >= POINTER_MAX_BYTES:
        return
    if not is_lfs_pointer(path.read_bytes()):
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
