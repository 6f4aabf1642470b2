"""Dataset paths from the policy, resolved strictly inside the repository.

A pull request controls the policy file, so a path like ``../../etc/passwd`` or a symlink
pointing out of the checkout must not make EdgeGate read files beyond the repository.
"""

from __future__ import annotations

from pathlib import Path

from edgegate.errors import InputError
from edgegate.repo_paths import real_path, resolves_inside


def resolve_inside(root: Path, written: str, *, key: str) -> Path:
    """The real path of ``written`` (relative to ``root``); ``InputError`` when it leaves ``root``."""
    target = real_path(root, written)
    if target is None:
        raise InputError(f"{key}: {written!r} is not a usable path (it holds a NUL byte)")
    if not resolves_inside(root, written):
        raise InputError(
            f"{key}: {written!r} resolves outside the repository (to {target}); dataset paths "
            f"must stay inside the repository, without '..' or symlinks leading out of it"
        )
    return target
