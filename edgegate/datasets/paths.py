"""Dataset paths from the policy, resolved strictly inside the repository.

A pull request controls the policy file, so a path like ``../../etc/passwd`` or a symlink
pointing out of the checkout must not make EdgeGate read files beyond the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgegate.errors import InputError


def resolve_inside(root: Path, written: str, *, key: str) -> Path:
    """The real path of ``written`` (relative to ``root``); ``InputError`` when it leaves ``root``."""
    real_root = Path(os.path.realpath(root))
    target = Path(os.path.realpath(Path(root) / written))
    if not target.is_relative_to(real_root):
        raise InputError(
            f"{key}: {written!r} resolves outside the repository (to {target}); dataset paths "
            f"must stay inside the repository, without '..' or symlinks leading out of it"
        )
    return target
