"""The distribution's name: not the package index's unrelated ``edgegate``, and every install
hint EdgeGate prints or documents names it, read from the installed metadata."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from edgegate.distribution import distribution_name, install_command
from edgegate.run.needs import INSTALL_TENSORFLOW, missing_tensorflow_message

ROOT = Path(__file__).resolve().parents[1]
# Names on the package index that are other projects (checked there when the name was chosen).
OTHER_PROJECTS = ("edgegate", "edgegate-runner")
# An install of another project: `pip install edgegate`, `'edgegate[tensorflow]'`, `edgegate-runner`.
OLD_HINTS = re.compile(
    r"pip install ['\"]?edgegate(?![\w-])|(?<![\w.-])edgegate\[|pip install ['\"]?edgegate-runner"
)


def test_install_hints_come_from_the_installed_metadata():
    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    assert name not in OTHER_PROJECTS
    assert distribution_name() == name
    assert INSTALL_TENSORFLOW == install_command("tensorflow") == f"pip install '{name}[tensorflow]'"
    assert f"pip install '{name}[tensorflow]'" in missing_tensorflow_message("digits")


def test_another_projects_edgegate_command_in_the_environment_is_not_taken_for_this_one(tmp_path):
    """The other ``edgegate`` installs an ``edgegate`` command too (``edgegate.cli:main``): its
    metadata on the path does not change which distribution the hints name."""
    other = tmp_path / "edgegate-0.2.0.dist-info"
    other.mkdir()
    (other / "METADATA").write_text("Metadata-Version: 2.4\nName: edgegate\nVersion: 0.2.0\n")
    (other / "entry_points.txt").write_text("[console_scripts]\nedgegate = edgegate.cli:main\n")
    code = "from edgegate.distribution import install_command; print(install_command('tensorflow'))"
    proc = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {code}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == f"pip install '{distribution_name()}[tensorflow]'"


def test_no_doc_or_code_tells_anyone_to_install_another_project():
    files = [ROOT / "README.md", ROOT / "action.yml", *(ROOT / "docs").rglob("*.md")]
    for folder in ("edgegate", "bench", "examples", "templates", ".github"):
        files += [
            p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in {".py", ".md", ".yml", ".j2"}
        ]
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OLD_HINTS.search(line)
    ]
    assert found == []
