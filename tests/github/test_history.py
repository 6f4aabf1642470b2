"""The default branch's history (issue 18 item 5), as the runner runs the action's steps.

The step scripts of action.yml run under bash with the env a runner gives them; EdgeGate is the
real command line (``python -m edgegate``) gating real ``.tflite`` models in a real git
repository. Pushes to the default branch record; a pull request only reads, and its comment
shows where its figures sit. The history file is read as untrusted data: hostile files (too
large, not JSON, a FIFO, a symlink, NaN, too many runs, names a screen long) are a note in
the report, never a crash or a hang, and never a figure.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from edgegate.report.markdown import render_markdown
from edgegate.results import GitRef, read_results
from edgegate.results.history import KEEP, MAX_BYTES, SCHEMA, read_history, record, with_trends
from tests.github.conftest import github, load_event, tflite_models  # noqa: F401 (fixtures)
from tests.github.test_action import run_step, run_step_named, runner_env
from tests.github.test_ci import ONE_MODEL

ROOT = Path(__file__).resolve().parents[2]
POLICY = ONE_MODEL.replace("size: 4 KB", "size: 64 KB")
SAMPLE = ROOT / "docs" / "samples" / "widen-dense.results.json"


def naming(tmp_path: Path, **env: str) -> dict[str, str]:
    """The outputs of the step that names the history, for a run with ``env``."""
    out = tmp_path / "naming-output"
    out.write_text("")
    base = {
        "PATH": os.environ["PATH"],
        "HISTORY": "true",
        "EVENT": "push",
        "REF": "refs/heads/main",
        "DEFAULT_BRANCH": "main",
        "PREFIX": "edgegate-history-v1-Linux-",
        "RUN": "7-1",
        "SHARD": "",
        "WORKDIR": ".",
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_OUTPUT": str(out),
    }
    proc = run_step("history", {**base, **env}, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(line.split("=", 1) for line in out.read_text().splitlines())


def test_only_a_push_to_the_default_branch_records(tmp_path):
    assert naming(tmp_path)["record"] == "true"
    for other in (
        {"EVENT": "pull_request", "REF": "refs/pull/17/merge"},
        {"EVENT": "pull_request_target", "REF": "refs/heads/main"},
        {"EVENT": "merge_group", "REF": "refs/heads/gh-readonly-queue/main/pr-17"},
        {"EVENT": "push", "REF": "refs/heads/feature"},
        {"EVENT": "push", "REF": "refs/heads/main", "DEFAULT_BRANCH": ""},
    ):
        found = naming(tmp_path, **other)
        assert found["record"] == "false", other
        assert found["file"].endswith("edgegate-history/history.json")  # read, never saved
    shard = naming(tmp_path, SHARD="2/3")
    assert shard["key"].startswith("edgegate-history-v1-Linux-shard-2-of-3-") and shard["key"].endswith(
        "-7-1"
    )
    assert naming(tmp_path, WORKDIR="apps/a")["prefix"] != naming(tmp_path)["prefix"]
    assert naming(tmp_path, HISTORY="false") == {}  # no key: the cache steps are skipped
    bad = run_step("history", {"PATH": os.environ["PATH"], "HISTORY": "yes"}, tmp_path)
    assert bad.returncode == 2 and "history must be true or false" in bad.stdout


def gate_env(tmp_path: Path, github, event_name: str, event: dict, name: str) -> dict[str, str]:  # noqa: F811
    """The gate step's env for one job (``name``): the runner's, and the step's own ``env:``."""
    (tmp_path / f"{name}-output").write_text("")
    (tmp_path / f"{name}-summary").write_text("")
    return {
        **runner_env(tmp_path, github, event_name, event, name),
        "GITHUB_OUTPUT": str(tmp_path / f"{name}-output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / f"{name}-summary"),
        "RUNNER_TEMP": str(tmp_path / name),
        "POLICY": "",
        "BASE": "",
        "COMMENT": "sticky",
        "FAIL_ON": "error",
        "SHARD": "",
        "OUT": str(tmp_path / name / "edgegate"),
        "EDGEGATE_CACHE": "",
        "EDGEGATE_CACHE_BASE": "",
    }


def test_pushes_record_and_a_pull_request_reads_where_its_figures_sit(
    repo,
    github,  # noqa: F811
    tflite_models,  # noqa: F811
    tmp_path,
):
    history = tmp_path / "cache" / "edgegate-history" / "history.json"
    repo.write("edgegate.yml", POLICY)
    repo.write("models/detector.tflite", tflite_models["small"])
    before = repo.commit("base")
    # Two pushes to main, each gated and recorded as the runner runs the steps.
    for i, size in enumerate(("big", "small")):
        repo.write("models/detector.tflite", tflite_models[size])
        repo.write("models/note.txt", str(i))
        after = repo.commit(f"push {i}")
        event = load_event("push", before=before, after=after)
        env = gate_env(tmp_path, github, "push", event, f"push{i}")
        gated = run_step("gate", {**env, "HISTORY_FILE": str(history)}, repo.root)
        assert gated.returncode == 0, gated.stdout + gated.stderr
        env = {**env, "RESULTS": env["OUT"] + "/results.json", "HISTORY_FILE": str(history)}
        recorded = run_step("history-record", env, tmp_path)
        assert recorded.returncode == 0 and "saved=true" in Path(env["GITHUB_OUTPUT"]).read_text()
        before = after
    kept = json.loads(history.read_text())
    assert kept["schema"] == SCHEMA and len(kept["runs"]) == 2
    assert {f["candidate"] for r in kept["runs"] for f in r["models"]} == {"as-is"}
    stored = history.read_bytes()

    # A pull request grows the model: its comment says where that sits on the two pushes.
    repo.git("checkout", "-qb", "feature")
    repo.write("models/detector.tflite", tflite_models["big"] + b"\0" * 4096)
    head = repo.commit("grow")
    event = load_event("pull_request_opened", pull_request__base__sha=before, pull_request__head__sha=head)
    env = gate_env(tmp_path, github, "pull_request", event, "pr")
    gated = run_step("gate", {**env, "HISTORY_FILE": str(history)}, repo.root)
    assert gated.returncode == 0, gated.stdout + gated.stderr
    (comment,) = github.comments_on(17)
    line = next(x for x in comment["body"].splitlines() if x.startswith("**Default branch's last 2 runs**"))
    assert "(`as-is`): size 17.8 KB, higher than all 2 (1.0 KB … 13.7 KB, median 7.4 KB)" in line, line
    trend = read_results(Path(env["OUT"]) / "results.json").models[0].trend
    assert trend is not None and trend.runs == 2 and trend.figures[0].below == 2
    assert history.read_bytes() == stored  # a pull request's run never writes the history
    # The step that writes it is not run for a pull request: its name step says record=false.
    assert naming(tmp_path, EVENT="pull_request", REF="refs/pull/17/merge")["record"] == "false"
    # Without a results file, recording says so and saves nothing.
    empty = tmp_path / "none-output"
    empty.write_text("")
    proc = run_step_named(
        "Record this run in the default branch's history",
        {**env, "RESULTS": str(tmp_path / "absent.json"), "GITHUB_OUTPUT": str(empty)},
        tmp_path,
    )
    assert proc.returncode == 0 and "nothing to record" in proc.stdout and empty.read_text() == ""


def hostile(path: Path, kind: str) -> None:
    runs = [{"sha": "a" * 40, "models": [{"model": "digits", "candidate": "dynamic", "size_bytes": 50_000}]}]
    content = {
        "not json": b"{not json",
        "not an object": b"[1, 2]",
        "another schema": json.dumps({"schema": "edgegate.results/4", "runs": runs}).encode(),
        "a wrong type": json.dumps({"schema": SCHEMA, "runs": [{"sha": 5}]}).encode(),
        "NaN": json.dumps({"schema": SCHEMA, "runs": runs}).replace("50000", "NaN").encode(),
        "a negative size": json.dumps({"schema": SCHEMA, "runs": runs}).replace("50000", "-1").encode(),
        "too many runs": json.dumps({"schema": SCHEMA, "runs": runs * (KEEP + 1)}).encode(),
        "a screen-long name": json.dumps({"schema": SCHEMA, "runs": runs})
        .replace("digits", "d" * 5000)
        .encode(),
        "too deep": b"[" * 100_000 + b"]" * 100_000,
        "too large": json.dumps({"schema": SCHEMA, "runs": runs, "pad": "x" * MAX_BYTES}).encode(),
        "not UTF-8": b'{"schema": "\xff"}',
    }
    if kind == "a FIFO":
        os.mkfifo(path)
    elif kind == "a folder":
        path.mkdir()
    elif kind == "a symlink":
        target = path.parent / "elsewhere.json"
        target.write_text(json.dumps({"schema": SCHEMA, "runs": runs}))
        path.symlink_to(target)
    else:
        path.write_bytes(content[kind])


KINDS = [
    "not json",
    "not an object",
    "another schema",
    "a wrong type",
    "NaN",
    "a negative size",
    "too many runs",
    "a screen-long name",
    "too deep",
    "too large",
    "not UTF-8",
    "a FIFO",
    "a folder",
    "a symlink",
]


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_history_is_a_note_never_a_crash_nor_a_figure(tmp_path, kind):
    path = tmp_path / "history.json"
    hostile(path, kind)
    found = read_history(path)
    assert found.runs == () and found.note and "history (history.json) was not" in found.note
    run = with_trends(read_results(SAMPLE), found)
    assert all(m.trend is None for m in run.models) and run.notes[-1] == found.note
    body = render_markdown(run)
    assert "Default branch's last" not in body and "history (history.json) was not" in body
    if kind not in ("a FIFO", "a folder", "a symlink"):
        # A push that finds it starts afresh, and says so.
        said = record(read_results(SAMPLE), path)
        assert "started afresh" in said and len(read_history(path).runs) == 1


def test_no_history_yet_shows_nothing_and_the_history_keeps_the_last_runs(tmp_path):
    run = read_results(SAMPLE)
    assert read_history(tmp_path / "absent.json").note is None
    assert render_markdown(with_trends(run, read_history(tmp_path / "absent.json"))) == render_markdown(run)
    path = tmp_path / "history.json"
    for i in range(KEEP + 3):
        record(replace(run, head=GitRef("main", f"{i:040d}")), path)
    kept = read_history(path).runs
    assert [r.sha for r in kept] == [f"{i:040d}" for i in range(3, KEEP + 3)]  # the newest, in order


def test_a_history_restored_from_the_pull_requests_own_scope_is_not_used(tmp_path):
    """Only a workflow the pull request changed can have saved a history in its scope: the check
    step asks GitHub (a stand-in on 127.0.0.1) and removes that folder, with a warning."""
    from tests.run.test_cache import _bash, _Caches, origin_check_env

    api = _Caches()
    key = "edgegate-history-v1-Linux-123-99-1"
    folder = tmp_path / "edgegate-history"
    env = {
        **origin_check_env(api.url),
        "MATCHED": "",
        "DIR": "",  # cache: false — the history is checked all the same
        "HISTORY_MATCHED": key,
        "HISTORY_DIR": str(folder),
    }
    step = "Check that the restored caches are the base branch's"
    try:
        # GitHub's answer for the PR's own ref: another key only (used), the restored key (not used).
        own_ref = "refs/pull/7/merge"
        for caches, used in (
            ([{"key": key + "-2", "ref": own_ref}], True),
            ([{"key": key, "ref": own_ref}], False),
        ):
            folder.mkdir(exist_ok=True)
            (folder / "history.json").write_text("{}")
            api.caches = caches
            proc = _bash(step, env, tmp_path)
            assert proc.returncode == 0, proc.stderr
            if used:  # GitHub lists no cache of that key in the PR's own ref
                assert folder.is_dir() and proc.stdout == ""
            else:
                assert not folder.exists()
                assert proc.stdout.startswith(
                    "::warning title=EdgeGate::the restored history of the default branch is not used: "
                    "it was saved in the cache scope of this pull request"
                )
        assert (
            api.asked[-1][0]
            == f"/repos/o/r/actions/caches?key={key}&ref=refs%2Fpull%2F7%2Fmerge&per_page=100"
        )
    finally:
        api.server.shutdown()
    # A push's run (its own scope is its branch's) asks nothing.
    folder.mkdir()
    assert _bash(step, {**env, "EVENT": "push"}, tmp_path).returncode == 0 and folder.is_dir()
