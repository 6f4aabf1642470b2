"""What a worker process starts with: an allow-listed environment and private folders.

Workers load a pull request's models. Whatever a model manages to read should hold nothing
worth stealing, so a worker's environment is built from an allow-list instead of inherited:
the search paths (``PATH``, ``LD_LIBRARY_PATH``), the locale (``LANG``, ``LANGUAGE``, ``LC_*``,
``TZ``), the knobs of the native libraries (``TF_*``, ``OMP_*``, ``KMP_*``, ``MKL_*``,
``OPENBLAS_*``, ``CUDA_VISIBLE_DEVICES``), and ``HOME``/``TMPDIR`` pointing at a private
folder. ``GITHUB_TOKEN``, ``ACTIONS_*``, ``RUNNER_*``, ``AWS_*`` and the rest are not passed,
and a name that looks secret (``redaction.is_secret_name``) is dropped even when an allowed
prefix matches it (``TF_API_TOKEN``). The worker's working folder is private too, so a relative
path in a model never lands in the repository.

Parent-side and pure apart from ``WorkerFolders.create``/``remove``, which make and delete the
folders.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from edgegate.redaction import is_secret_name

ALLOWED_NAMES = frozenset(
    {"PATH", "LD_LIBRARY_PATH", "LANG", "LANGUAGE", "TZ", "CUDA_VISIBLE_DEVICES", "SYSTEMROOT"}
)  # SYSTEMROOT: Windows cannot start Python without it
ALLOWED_PREFIXES = ("LC_", "TF_", "OMP_", "KMP_", "MKL_", "OPENBLAS_")


@dataclass(frozen=True)
class WorkerFolders:
    """A private folder per pool: ``home`` (HOME), ``tmp`` (TMPDIR) and ``work`` (the cwd)."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @classmethod
    def create(cls) -> "WorkerFolders":
        folders = cls(Path(tempfile.mkdtemp(prefix="edgegate-worker-")))  # mode 0700
        for folder in (folders.home, folders.tmp, folders.work):
            folder.mkdir(mode=0o700)
        return folders

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def is_allowed(name: str) -> bool:
    if is_secret_name(name):
        return False
    return name in ALLOWED_NAMES or name.startswith(ALLOWED_PREFIXES)


def worker_environment(parent: Mapping[str, str], folders: WorkerFolders) -> dict[str, str]:
    """The environment a worker starts with, from the parent's (``os.environ``)."""
    env = {k: v for k, v in parent.items() if is_allowed(k)}
    tmp = str(folders.tmp)
    env.update({"HOME": str(folders.home), "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp})
    return env
