"""Workflow commands forged through what EdgeGate prints to the CI log, rebuilt for real.

The Actions runner reads stdout and stderr line by line; a line starting ``::`` (after
blanks) is a command, ``::set-output name=tensorflow::false`` sets the step output that
decides whether TensorFlow is installed. A pull request names its files: a file called
``models/a\\n::error …\\nz.keras`` matched by a policy glob is quoted by ``edgegate needs``.
Every command's output goes through ``edgegate.log_output.say``; a test walks the source so
that a new command cannot print around it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import GIT_ENV, edgegate_cli as edgegate

PACKAGE = Path(__file__).resolve().parents[2] / "edgegate"
HOSTILE_NAME = "models/a\n::error title=Spoofed by needs::pwned\n::set-output name=tensorflow::false\nz.keras"
INIT_NAMES = [
    "a\n::error title=Spoofed by init::pwned\nb.tflite",
    "c\r::warning::carriage\rd.keras",
    "  ::notice::indented.h5",
    "e ##[error]legacy.tflite",
]


def command_lines(output: str) -> list[str]:
    """Every line the runner takes as a workflow command: ``::`` after leading blanks, or ``##[``
    anywhere (the legacy form). Split on ``\\r`` too, as the runner does."""
    lines = output.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [line for line in lines if line.lstrip().startswith("::") or "##[" in line]


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "HOME": str(root.parent)}
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


def test_needs_quotes_a_newline_laden_file_name_without_starting_a_command(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "edgegate.yml").write_text(
        "version: 1\nmodels:\n  - name: net\n    path: models/*.keras\n", encoding="utf-8"
    )
    (root / "README.md").write_text("base\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feature")
    hostile = root / HOSTILE_NAME
    hostile.parent.mkdir(parents=True)
    hostile.write_bytes(b"not really keras")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the pull request")
    assert HOSTILE_NAME in git(root, "ls-files", "-z").split("\0")  # the name is really in the commit

    output = tmp_path / "github_output"
    output.write_text("")
    proc = edgegate("needs", "--base", "main", cwd=root, env={"GITHUB_OUTPUT": str(output)})
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout + proc.stderr
    # The model was found through the glob and named (else this proves nothing) …
    assert "TensorFlow needed to convert" in shown and "pwned" in shown and "set-output" in shown
    # … and no line of the log is a command: the runner sets no output and shows no annotation.
    assert command_lines(shown) == []
    # The step output file holds exactly the two outputs, each in the delimited form.
    lines = output.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 7 and lines[6] == "", lines
    for at, expected in ((0, ("tensorflow", "true")), (3, ("quantizer", "false"))):
        (name, delimiter), value, end = lines[at].split("<<"), lines[at + 1], lines[at + 2]
        assert (name, value, end) == (*expected, delimiter) and delimiter.startswith("ghadelimiter_")


def test_init_names_hostile_model_files_without_starting_a_command(tmp_path):
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    for name in INIT_NAMES:
        (root / "models" / name).write_bytes(b"x")
    proc = edgegate("init", cwd=root)
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout + proc.stderr
    assert "Spoofed by init" in shown and "legacy.tflite" in shown  # the files were found and named
    assert command_lines(shown) == []


# --- nothing prints around the one output function ----------------------------------------------

# Modules allowed to write to stdout or stderr themselves, and why.
PRINTS_ALLOWED = {
    "log_output.py": "the one output function",
    "progress.py": "RichProgress redraws a bar only on an interactive terminal (never a CI log)",
    "report/terminal.py": "renders into a rich capture, which leaves through say_rendered",
    "targets/mcu/tflm_child.py": "a child process: its stdout is a pipe to the parent, not the log",
    "targets/gpu/analyzer.py": "a child script: its stdout is a pipe to the parent, not the log",
    "targets/gpu/fp16_child.py": "a child process: its stdout is a pipe to the parent, not the log",
    "recipes/quantizer_child.py": "a child process: its stdout is a pipe to the parent, not the log",
    "measurements/memory_child.py": "a child script: its stdout is a pipe to the parent, not the log",
    "policy/jsonschema.py": "a maintainer's script writing the JSON schema, never run in CI",
    "recipes/unsafe_ops.py": "a maintainer's script (its __main__) writing the op table",
    "workers/child.py": "a worker points its stdout and stderr at its private log file",
}
STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}
OUTPUT_MODULES = {"logging", "click"}  # a rich Console or typer may be passed around, not printed with


def _printing(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        where = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"{where}: print()")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in STREAMS
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            found.append(f"{where}: sys.{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr in ("echo", "secho", "print"):
            found.append(f"{where}: .{node.attr}()")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [f"{where}: import {n}" for n in names if n in OUTPUT_MODULES]
    return found


def test_nothing_in_edgegate_prints_but_through_say():
    """``print``, ``sys.stdout``/``stderr``, ``typer.echo``, ``console.print``, ``logging``: only
    in the modules listed, each for its reason. A new command must call ``say``."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in PRINTS_ALLOWED:
            continue
        found = _printing(ast.parse(path.read_text(encoding="utf-8")))
        if found:
            offenders[rel] = found
    assert offenders == {}
    for rel in PRINTS_ALLOWED:
        assert (PACKAGE / rel).is_file(), f"{rel} is gone: take it off the list"


def test_the_walk_finds_each_way_of_printing():
    """The check above can fail: each form it forbids is found."""
    source = (
        "import sys, logging\nfrom rich.console import Console\nimport typer, click\n"
        "print('x')\nsys.stdout.write('x')\ntyper.echo('x')\nConsole().print('x')\n"
    )
    assert len(_printing(ast.parse(source))) == 6


@pytest.mark.parametrize("name", ["tensorflow", "status"])
def test_a_step_output_value_cannot_close_its_block_or_set_another(tmp_path, name):
    """What ``write_outputs`` writes, read back as the runner parses ``GITHUB_OUTPUT``."""
    from edgegate.publishers.step_outputs import write_outputs

    path = tmp_path / "out"
    forged = "x\nghadelimiter_1\ntensorflow=false\nEOF\n" + json.dumps({"a": 1})
    write_outputs(path, {name: forged, "after": "kept"})
    assert _runner_outputs(path.read_text(encoding="utf-8")) == {name: forged, "after": "kept"}


def _runner_outputs(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT`` as the runner reads it: ``k=v`` lines and ``k<<DELIM`` blocks."""
    lines, found, i = text.split("\n"), {}, 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            found[key] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            key, value = line.split("=", 1)
            found[key] = value
            i += 1
        else:
            i += 1
    return found


def test_the_ci_progress_lines_name_hostile_labels_on_one_line_without_a_command():
    import io

    from edgegate.progress import LogProgress

    stream = io.StringIO()
    progress = LogProgress(stream)
    progress.plan(2)
    progress.finished("net · f16\n::error title=x::forged ##[error]legacy \u202e", True)
    progress.finished("  ::warning::indented", False)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and command_lines(stream.getvalue()) == []
    assert lines[0].endswith("(1/2)") and "\\u202e" in lines[0] and "forged" in lines[0]
