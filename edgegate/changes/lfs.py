"""Refusing Git LFS pointer files in place of models, with the fix for where they came from.

What a pointer is lives in ``edgegate.model_files``; this says how to get the real file: a
``git lfs pull`` for the working tree, a fetch of the base branch's objects for its export.
"""

from __future__ import annotations

from pathlib import Path

from edgegate.errors import InputError
from edgegate.model_files import file_is_lfs_pointer


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
