"""The cost of an action run for a PR that changes no model: install + run, light core vs full.

Builds a local wheelhouse first (every dependency, the build backend and uv at action.yml's pin,
with tests/wheelhouse.py as the tests do; pip downloads what its cache lacks), so the timings are
the install itself, not the download, as on a runner with a warm `actions/cache`.
EdgeGate itself is built from its source tree in each install, as the action does. Then, side by
side, in fresh venvs: the light core installed the way the action does it (uv, itself installed by
pip), the light core with pip, and the full install (the `tensorflow` extra with pip, what every run
installed before). Each is followed by what the action runs: `edgegate needs` and `edgegate check`
on a repository where no model changed.
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
sys.path.insert(0, str(ROOT))  # the shared wheelhouse code (tests/wheelhouse.py)

from tests import wheelhouse  # noqa: E402


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


def _install_and_run(
    tmp: Path, installer: list[str], venv: Path, spec: str, repo: Path
) -> tuple[float, float, float]:
    """(install seconds, run seconds, venv MB): ``installer`` makes ``venv`` and installs ``spec``."""
    t = time.perf_counter()
    for step in installer:
        _run(["bash", "-c", step.format(venv=venv, spec=spec)])
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
        # Every dependency and the build backend, as wheels: what a warm cache holds on a runner.
        wheelhouse.build(wheels, [f"{ROOT}[tensorflow]", "setuptools", f"uv=={wheelhouse.uv_version()}"])
        repo = _repo(tmp)
        local = f"--no-index --find-links {wheels}"
        uv_cache = tmp / "uv-cache"
        pip = [f"{sys.executable} -m venv {{venv}}", f"{{venv}}/bin/pip install --quiet {local} '{{spec}}'"]
        uv = [
            # The action installs uv with pip into a folder of its own, then uv makes the venv.
            f"{sys.executable} -m pip install --quiet {local} --target {tmp}/uv-tool-{{venv.name}} uv",
            f"UV_CACHE_DIR={uv_cache}-{{venv.name}} {tmp}/uv-tool-{{venv.name}}/bin/uv venv --quiet {{venv}}",
            f"UV_CACHE_DIR={uv_cache}-{{venv.name}} {tmp}/uv-tool-{{venv.name}}/bin/uv pip install --quiet "
            f"--python {{venv}}/bin/python {local} '{{spec}}'",
        ]
        core_spec, full_spec = str(ROOT), f"{ROOT}[tensorflow]"
        rows = {
            "light core, uv (the action)": _install_and_run(tmp, uv, tmp / "core-uv", core_spec, repo),
            "light core, pip": _install_and_run(tmp, pip, tmp / "core-pip", core_spec, repo),
            "full, pip (before issue 12)": _install_and_run(tmp, pip, tmp / "full-pip", full_spec, repo),
        }
        for label, (installed, ran, size) in rows.items():
            print(
                f"{label:28s} install {installed:5.1f} s + run {ran:4.1f} s = {installed + ran:5.1f} s, venv {size:6.0f} MB"
            )
        action, core_pip, full = (sum(r[:2]) for r in rows.values())
        print(
            f"light core uv / full pip: time {action / full:.2f}; light core uv / light core pip: {action / core_pip:.2f}"
        )
        shutil.rmtree(wheels, ignore_errors=True)


if __name__ == "__main__":
    main()
