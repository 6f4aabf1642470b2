"""A local wheelhouse: wheels of what the action's install steps install, so installs need no registry.

tests/security/test_action_steps.py serves it as a package index on 127.0.0.1 (the steps reach
nothing else); bench/bench_install.py installs from it with ``--no-index``. Building it is the one
step that downloads (what pip's cache lacks). .ci/run builds the tests' one before pytest; by hand:

    .venv/bin/python -m tests.wheelhouse
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / ".ci" / "wheelhouse"  # git-ignored
COMMAND = ".venv/bin/python -m tests.wheelhouse"
# What the tests' copy of the action names as its tensorflow extra instead of 2 GB of TensorFlow:
# what that step installs is not what the tests check.
TENSORFLOW_STAND_IN = "six"
STAMP = "built-for.json"


def uv_version() -> str:
    """The uv version action.yml's install step pins."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    (install,) = (s for s in action["runs"]["steps"] if s.get("id") == "install")
    return str(install["env"]["UV_VERSION"])


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def dependency_names() -> list[str]:
    """EdgeGate's light core dependencies, by name."""
    return [re.split(r"[\s<>=!~;\[(]", d, maxsplit=1)[0] for d in _project()["project"]["dependencies"]]


def requirements() -> list[str]:
    """What the steps install: EdgeGate (built from source, so its build backend), uv, the stand-in."""
    return [str(ROOT), *_project()["build-system"]["requires"], f"uv=={uv_version()}", TENSORFLOW_STAND_IN]


def build(folder: Path, wanted: list[str]) -> None:
    """Every requirement and its dependencies as wheels in ``folder``, but EdgeGate's own: the action
    builds it from its checkout on every install. Downloads what pip's cache lacks."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--disable-pip-version-check",
        "-w",
        str(folder),
    ]
    if subprocess.run([*command, *wanted], check=False).returncode:
        sys.exit(f"could not build the wheelhouse in {folder}: pip wheel failed (its error above)")
    # The action builds EdgeGate from its source each run; a wheel's file name spells the
    # distribution with underscores.
    for built in folder.glob(f"{_project()['project']['name'].replace('-', '_')}-*.whl"):
        built.unlink()


def built_for() -> dict:
    """What decides the wheelhouse's content: a change here makes a built one stale."""
    project = _project()
    return {
        "python": list(sys.version_info[:2]),
        "uv": uv_version(),
        "build-system": project["build-system"]["requires"],
        "dependencies": project["project"]["dependencies"],
        "stand-in": TENSORFLOW_STAND_IN,
    }


def problem(folder: Path = FOLDER) -> str | None:
    """Why the tests' wheelhouse cannot be used (None: it is there and current), with the fix."""
    stamp = folder / STAMP
    if not stamp.is_file():
        why = f"no wheelhouse at {folder}"
    elif json.loads(stamp.read_text()) != built_for():
        why = f"the wheelhouse at {folder} was built for other requirements (action.yml or pyproject.toml changed)"
    else:
        return None
    return f"{why}: build it (it downloads; the tests then install offline from it) with `{COMMAND}`"


def main() -> None:
    shutil.rmtree(FOLDER, ignore_errors=True)
    build(FOLDER, requirements())
    (FOLDER / STAMP).write_text(json.dumps(built_for()))
    print(f"wheelhouse: {len(list(FOLDER.glob('*.whl')))} wheels in {FOLDER}")


if __name__ == "__main__":
    main()
