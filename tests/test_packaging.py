"""The wheel ships every package, the report templates and the data files."""

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "edgegate").rglob("__init__.py")}
    assert on_disk | {"edgegate.templates"} == listed


def test_wheel_contains_templates_and_data(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-index",  # builds from the source tree alone: no index, no pip version check
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("edgegate_ml-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "edgegate/templates/report.md.j2",
        "edgegate/schema/policy.schema.json",
        "edgegate/targets/edgetpu/ops.json",
        "edgegate/targets/edgetpu/op_versions.json",
        "edgegate/recipes/unsafe_ops.json",
        "edgegate/cli/main.py",
    ):
        assert required in names
