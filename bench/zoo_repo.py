"""A generated model zoo: a git repository of N tiny ``.tflite`` files under one policy glob.

The base branch (``main``) commits ``N`` files ``models/gNNN/mNNNNN.tflite`` (100 per folder)
and an ``edgegate.yml``
whose one entry is the glob ``models/**/*.tflite``; the ``feature`` branch (checked out) commits
new bytes for ``changed`` of them (every file by default: the worst case, a zoo-wide re-export).
Used by ``bench_selection.py``; importable, or run it to make one:

    python bench/zoo_repo.py DIR --files 5000 [--changed 50]
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

POLICY = """version: 1
models:
  - name: zoo
    path: models/**/*.tflite
    budgets:
      size: {max: 1MB}
"""
PER_FOLDER = 100
# The smallest bytes a format detector takes for a .tflite: the flatbuffer's "TFL3" identifier.
HEADER = b"\x1c\x00\x00\x00TFL3"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def model_path(i: int) -> str:
    return f"models/g{i // PER_FOLDER:03d}/m{i:05d}.tflite"


def make_zoo(root: Path, files: int, changed: int | None = None) -> Path:
    """Write the zoo's repository at ``root`` (an empty or missing folder) and return it."""
    env = {**os.environ, **GIT_ENV}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    root.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main")
    for i in range(files):
        path = root / model_path(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(HEADER + i.to_bytes(4, "little"))
    (root / "edgegate.yml").write_text(POLICY)
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "feature")
    step = max(1, files // changed) if changed else 1
    for i in range(0, files, step)[: changed or files]:
        (root / model_path(i)).write_bytes(HEADER + i.to_bytes(4, "little") + b"\x01")
    git("commit", "-q", "-am", "change models")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=None, help="files the feature branch changes (all)")
    args = parser.parse_args()
    make_zoo(args.dir, args.files, args.changed)
    print(f"{args.dir}: {args.files} models, policy glob models/**/*.tflite, branch feature")


if __name__ == "__main__":
    main()
