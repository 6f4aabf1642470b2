"""The one error handler and the one exit-code rule, through the real command line.

``check`` runs as a subprocess (its stderr is what a user sees, so "no traceback" is checked
there), on a real git repository where nothing changed, so no TensorFlow is loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgegate.cli.errors import FailOn, exit_code, guarded
from edgegate.cli.main import app
from edgegate.errors import OutputError, UsageError
from edgegate.results import write_results
from tests.github.conftest import make_model, make_run
from tests.policy.test_every_problem_at_once import LOAD_PROBLEMS, TARGET_PROBLEM
from tests.policy.test_every_problem_at_once import POLICY as POLICY_WITH_PROBLEMS

ROOT = Path(__file__).resolve().parents[2]
# The subprocesses run this checkout's edgegate, whatever copy the interpreter has installed.
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
    "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
}
POLICY = """\
version: 1
models:
  - {name: a, path: models/a.keras}
"""


def edgegate(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edgegate", *args], capture_output=True, text=True, cwd=cwd, env=ENV
    )


@pytest.fixture
def unchanged_repo(repo):
    repo.write("models/a.keras", "committed on main, unchanged since")
    repo.write("edgegate.yml", POLICY)
    repo.commit()
    return repo


def check(repo, json_path) -> subprocess.CompletedProcess:
    return edgegate("check", "--base", "main", "--quiet", "--json", str(json_path), cwd=repo.root)


def test_check_writes_the_results_file_where_it_can(unchanged_repo, tmp_path):
    target = tmp_path / "out" / "r.json"
    proc = check(unchanged_repo, target)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(target.read_text())["models"] == []


def test_json_under_a_file_is_exit_2_naming_the_path(unchanged_repo, tmp_path):
    (tmp_path / "blocker").write_text("a file, not a folder")
    target = tmp_path / "blocker" / "r.json"
    proc = check(unchanged_repo, target)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"edgegate: {target}: cannot write the results file" in proc.stderr
    assert "Traceback" not in proc.stderr and (tmp_path / "blocker").read_text() == "a file, not a folder"


def test_check_lists_every_policy_problem_in_one_run_and_exits_2(repo, tmp_path):
    """A bad unit, bad deploy: values, a bad target setting and a repeated name: one run says them
    all, in file order, before any work (no model is read: the policy names none that exists)."""
    repo.write("edgegate.yml", POLICY_WITH_PROBLEMS)
    repo.commit()
    proc = check(repo, tmp_path / "r.json")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    expected = LOAD_PROBLEMS[:3] + [TARGET_PROBLEM] + LOAD_PROBLEMS[3:]
    listed = [line.strip() for line in proc.stderr.splitlines() if line.strip().startswith("edgegate.yml:")]
    assert listed == expected, proc.stderr
    assert "invalid policy:" in proc.stderr and "Traceback" not in proc.stderr


def test_json_onto_a_folder_is_exit_2_and_leaves_no_temp_file(unchanged_repo, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    proc = check(unchanged_repo, target)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (
        f"edgegate: {target}: cannot write the results file" in proc.stderr and "Traceback" not in proc.stderr
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "repo"] and not any(target.iterdir())


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_json_in_a_read_only_folder_is_exit_2_and_leaves_no_file(unchanged_repo, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        target = folder / "r.json"
        proc = check(unchanged_repo, target)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"edgegate: {target}: cannot write the results file (Permission denied)" in proc.stderr
        assert "Traceback" not in proc.stderr and list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_report_on_a_malformed_results_file_is_exit_2_naming_the_field(tmp_path):
    path = tmp_path / "results.json"
    write_results(make_run(make_model("detector", ("size", "fail", "too big", 6))), path)
    data = json.loads(path.read_text())
    data["models"][0]["candidates"][0]["size_bytes"] = "big"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["report", str(path)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert (
        f"edgegate: {path}: not an EdgeGate results file: models[0].candidates[0].size_bytes: "
        "expected an integer, got 'big'"
    ) in " ".join(result.stderr.split())


def test_report_to_a_file(tmp_path):
    path = tmp_path / "results.json"
    write_results(make_run(make_model("detector", ("size", "fail", "too big", 6))), path)
    out = tmp_path / "sub" / "report.md"
    result = CliRunner().invoke(app, ["report", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("## ❌ EdgeGate: the model fails the gate")
    blocked = CliRunner().invoke(app, ["report", str(path), "-o", str(tmp_path / "sub")])
    assert blocked.exit_code == 2
    assert f"edgegate: {tmp_path / 'sub'}: cannot write the report" in " ".join(blocked.stderr.split())


def test_report_and_publish_and_merge_import_no_tensorflow(tmp_path):
    path = tmp_path / "results.json"
    write_results(make_run(make_model("detector", ("size", "fail", "too big", 6))), path)
    code = (
        "import sys\n"
        "from edgegate.cli.main import main\n"
        "def run(*args):\n"
        "    sys.argv = ['edgegate', *args]\n"
        "    try:\n        main()\n    except SystemExit as e:\n        print('exit', e.code)\n"
        f"run('report', {str(path)!r}, '-o', {str(tmp_path / 'r.md')!r})\n"
        # Not pydantic itself: typer (0.29) imports it to coerce every flag. Our pydantic users are
        # the policy modules.
        "print(sorted(m for m in ('edgegate.policy', 'yaml', 'tensorflow') if m in sys.modules))\n"
        "run('--help')\n"
        f"run('merge', {str(path)!r}, '-o', {str(tmp_path / 'm.json')!r})\n"
        f"run('publish', {str(path)!r}, '--pr', '5', '--repo', 'o/r', '--comment', 'off')\n"
        "print('tensorflow' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=ENV)
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["exit 0", "[]"], proc.stdout + proc.stderr
    assert [line for line in lines if line.startswith("exit ")] == ["exit 0"] * 4, proc.stdout + proc.stderr
    assert lines[-1] == "False"


def test_the_exit_code_rule():
    passing = make_model("a", ("size", "pass", "ok", 6))
    warning = make_model("a", ("size", "warn", "close", 6))
    failing = make_model("a", ("size", "fail", "too big", 6))
    broken = make_model("b", error="models/b.keras: not a Keras model")
    assert [exit_code(make_run(m)) for m in (passing, warning, failing)] == [0, 0, 1]
    assert exit_code(make_run(warning), FailOn.WARN) == 1 and exit_code(make_run(passing), FailOn.WARN) == 0
    assert (
        exit_code(make_run(passing, broken)) == 2 and exit_code(make_run(failing, broken), FailOn.WARN) == 2
    )
    assert exit_code(make_run(failing, broken), FailOn.NEVER) == 0
    assert FailOn.parse(" Warn ") is FailOn.WARN
    with pytest.raises(UsageError, match="--fail-on 'sometimes': use one of error, warn, never"):
        FailOn.parse("sometimes")


def test_guarded_maps_errors_to_their_exit_code_and_one_line(capsys, tmp_path):
    def fails_with(error: Exception) -> int:
        raise error

    assert guarded(lambda: 1) == 1
    assert guarded(fails_with, OutputError("out.json: cannot write the results file (No space)")) == 2
    assert capsys.readouterr().err == "edgegate: out.json: cannot write the results file (No space)\n"
    missing = tmp_path / "gone" / "x"
    assert guarded(lambda: len(missing.read_text())) == 2
    assert capsys.readouterr().err == f"edgegate: {missing}: No such file or directory\n"
    with pytest.raises(ZeroDivisionError):  # a bug is not a user error: it keeps its traceback
        guarded(lambda: 1 // 0)
