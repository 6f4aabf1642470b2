"""The cost of an action run for a PR that changes no model: install + run, light core vs full.

Builds a local wheelhouse first (EdgeGate's wheel and every dependency, from pip's cache), so the
timings are the install itself, not the download, as on a runner with a warm `actions/cache`. Then,
side by side, in fresh venvs: the light core (`pip install edgegate`, what the action installs for a
PR whose changed files hold no model to convert, and for `publish`) and the full install
(`edgegate[tensorflow]`, what every run installed before). Each is followed by what the action runs:
`edgegate needs` and `edgegate check` on a repository where no model changed.
Goal (issue 12): core < 15 s and < 300 MB. Run: python bench/bench_install.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def _repo(tmp: Path) -> Path:
    repo = tmp / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / "edgegate.yml").write_text("version: 1\nmodels:\n  - {name: m, path: models/m.keras}\n")
    (repo / "models" / "m.keras").write_bytes(b"unchanged")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    for cmd in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-qm", "base"],
        ["checkout", "-qb", "pr"],
    ):
        subprocess.run(["git", *cmd], cwd=repo, check=True, env=env)
    (repo / "README.md").write_text("a change that touches no model\n")
    return repo


def _run(cmd: list[str], **kw) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def _install_and_run(tmp: Path, wheels: Path, spec: str, repo: Path) -> tuple[float, float, float]:
    venv = tmp / spec.replace("[", "-").replace("]", "")
    t = time.perf_counter()
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-index", "--find-links", str(wheels), spec])
    installed = time.perf_counter() - t
    t = time.perf_counter()
    _run([str(venv / "bin" / "edgegate"), "needs", "--base", "main"], cwd=repo)
    _run([str(venv / "bin" / "edgegate"), "check", "--base", "main", "--quiet"], cwd=repo)
    ran = time.perf_counter() - t
    return installed, ran, _size_mb(venv)


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        wheels = tmp / "wheels"
        print("building the wheelhouse (downloads what pip's cache lacks; not timed)…", flush=True)
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "-w", str(wheels), f"{ROOT}[tensorflow]"])
        repo = _repo(tmp)
        core = _install_and_run(tmp, wheels, "edgegate", repo)
        full = _install_and_run(tmp, wheels, "edgegate[tensorflow]", repo)
        print(
            f"light core:  install {core[0]:5.1f} s + run {core[1]:4.1f} s = {core[0] + core[1]:5.1f} s, venv {core[2]:6.0f} MB"
        )
        print(
            f"full:        install {full[0]:5.1f} s + run {full[1]:4.1f} s = {full[0] + full[1]:5.1f} s, venv {full[2]:6.0f} MB"
        )
        print(
            f"core / full: time {(core[0] + core[1]) / (full[0] + full[1]):.2f}, size {core[2] / full[2]:.2f}"
        )
        shutil.rmtree(wheels, ignore_errors=True)


if __name__ == "__main__":
    main()
