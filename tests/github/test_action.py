"""action.yml and the workflows, checked as a linter would (actionlint is a Go binary, not a
Python dependency): structure, inputs and outputs that exist, pinned actions, no expression
in a shell script (script injection), the fork-safe pair's trust boundary, and the CLI flags
the action passes. The action's own shell steps are then run for real against the CLI and
the local GitHub server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.github.conftest import REPO, WRITE_TOKEN, load_event

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
DOCS = ROOT / "docs" / "github-action.md"
EXAMPLES = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
WORKFLOWS = EXAMPLES + [ROOT / ".github" / "workflows" / "ci.yml"]
OUR_ACTION = re.compile(r"^(\./|edgegate/edgegate@v\d+)$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+$")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def load_workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads a bare `on` as true
    return data


def steps_of(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield job_id, step


def expressions(node) -> list[str]:
    if isinstance(node, dict):
        return [e for v in node.values() for e in expressions(v)]
    if isinstance(node, list):
        return [e for v in node for e in expressions(v)]
    return EXPRESSION.findall(node) if isinstance(node, str) else []


def action_step(step_id: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("id") == step_id)


# --- action.yml --------------------------------------------------------------------------------


def test_action_is_a_composite_with_documented_inputs_and_outputs():
    assert ACTION["runs"]["using"] == "composite"
    inputs = ACTION["inputs"]
    assert set(inputs) >= {
        "policy",
        "base",
        "comment",
        "fail-on",
        "working-directory",
        "python-version",
        "github-token",
        "edgetpu-compiler",
        "shard",
        "command",
        "results",
        "pr",
    }
    assert inputs["comment"]["default"] == "sticky" and inputs["fail-on"]["default"] == "error"
    assert inputs["github-token"]["default"] == "${{ github.token }}"
    assert inputs["edgetpu-compiler"]["default"] == "skip"
    for name, spec in {**inputs, **ACTION["outputs"]}.items():
        assert spec.get("description"), name
    assert set(ACTION["outputs"]) >= {"status", "results-json", "report-markdown", "comment-url"}


def test_every_referenced_input_and_step_output_exists_and_every_input_is_used():
    found = expressions(ACTION["runs"]) + expressions(ACTION["outputs"])
    used_inputs = {m for e in found for m in re.findall(r"inputs\.([\w-]+)", e)}
    assert used_inputs == set(ACTION["inputs"])
    ids = [s.get("id") for s in ACTION["runs"]["steps"]]
    for e in found:
        for step_id in re.findall(r"steps\.([\w-]+)\.outputs", e):
            assert step_id in ids, f"{e!r} names a step that does not exist"


def test_outputs_are_the_ones_edgegate_writes(tmp_path):
    from edgegate.publishers.interface import Publication
    from edgegate.publishers.step_outputs import StepOutputsPublisher
    from tests.github.conftest import make_run

    out = tmp_path / "output"
    StepOutputsPublisher(out, {"comment-url": ""}).publish(Publication(make_run()))
    written = set(re.findall(r"^([\w-]+)<<", out.read_text(), re.M))
    for name, spec in ACTION["outputs"].items():
        for step_id, output in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", spec["value"]):
            if step_id in ("gate", "publish"):
                assert output in written, f"output {name} reads {output}, which edgegate does not write"


def test_shell_steps_declare_a_shell_and_take_inputs_only_through_env():
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash", step["name"]
            # ${{ }} inside a script is pasted into the shell source: a branch name could run commands.
            assert "${{" not in step["run"], step["name"]
        else:
            assert PINNED.match(step["uses"]), step["uses"]


def test_edgetpu_compiler_comes_from_corals_apt_repository_on_linux_x64_only():
    install = next(s for s in ACTION["runs"]["steps"] if "apt-get install" in s.get("run", ""))
    assert "inputs.edgetpu-compiler == 'install'" in install["if"]
    assert "runner.os == 'Linux'" in install["if"] and "runner.arch == 'X64'" in install["if"]
    assert "https://packages.cloud.google.com/apt coral-edgetpu-stable main" in install["run"]
    assert "https://packages.cloud.google.com/apt/doc/apt-key.gpg" in install["run"]


def test_pip_cache_is_keyed_on_edgegate_version_and_upload_runs_even_when_the_gate_fails():
    cache = next(s for s in ACTION["runs"]["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert "steps.meta.outputs.version" in cache["with"]["key"]
    upload = next(
        s for s in ACTION["runs"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")
    )
    assert upload["if"].startswith("always()")
    assert upload["with"]["path"].splitlines() == [  # only EdgeGate's files (tests/security/test_artifact.py)
        "${{ runner.temp }}/edgegate/results.json",
        "${{ runner.temp }}/edgegate/report.md",
        "${{ runner.temp }}/edgegate/pr-number",
        "${{ runner.temp }}/edgegate/candidates/**/*.tflite",
    ]


def test_the_light_core_installs_with_a_pinned_uv_and_falls_back_to_pip():
    install = action_step("install")
    assert re.fullmatch(r"\d+\.\d+\.\d+", install["env"]["UV_VERSION"])  # pinned: supply chain
    script = install["run"]
    assert '"uv==$UV_VERSION"' in script and '"$uv" pip install' in script
    assert (
        'if [ -z "$uv" ] || ! with_uv; then' in script and '-m pip install --quiet "$ACTION_PATH"' in script
    )
    tensorflow = next(s for s in ACTION["runs"]["steps"] if s["name"].startswith("Install TensorFlow"))
    assert tensorflow["env"]["UV"] == "${{ steps.install.outputs.uv }}"
    assert '"${ACTION_PATH}[tensorflow]"' in tensorflow["run"]
    cache = next(s for s in ACTION["runs"]["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert "${{ runner.temp }}/edgegate-uv-cache" in cache["with"]["path"].splitlines()


def test_tensorflows_downloads_are_cached_under_a_key_of_their_own():
    """actions/cache does not save after an exact hit: were TensorFlow's downloads under the light
    install's key, a first light run (a .tflite PR, publish) would leave them uncached for good."""
    steps = ACTION["runs"]["steps"]
    light = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    restore = action_step("tf-cache")
    save = next(
        s
        for s in steps
        if s.get("uses", "").startswith("actions/cache/save@") and "tensorflow" in s["with"]["key"]
    )
    assert "tensorflow" not in light["with"]["key"]
    assert (
        restore["uses"].startswith("actions/cache/restore@") and restore["with"]["key"] == save["with"]["key"]
    )
    assert (
        restore["with"]["key"].startswith("edgegate-pip-tensorflow-")
        and "steps.meta.outputs.digest" in save["with"]["key"]
    )
    assert restore["with"]["path"] == save["with"]["path"] == light["with"]["path"]
    assert "steps.needs.outputs.tensorflow == 'true'" in restore["if"]
    # Saved after TensorFlow installed whenever its own key missed, whatever the light cache found.
    assert save["if"] == "steps.tensorflow.outcome == 'success' && steps.tf-cache.outputs.cache-hit != 'true'"
    order = [s.get("id") or s["name"] for s in steps]
    assert order.index("tf-cache") < order.index("tensorflow") < order.index(save["name"])


def cli_flags(command: str) -> set[str]:
    import typer

    from edgegate.cli.main import app

    click_command = typer.main.get_command(app).commands[command]
    return {opt for p in click_command.params for opt in p.opts}


@pytest.mark.parametrize("step_id, command", [("gate", "ci"), ("publish", "publish"), ("plan", "shards")])
def test_the_action_passes_only_flags_the_cli_has(step_id, command):
    script = action_step(step_id)["run"]
    passed = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", script))
    assert passed and passed <= cli_flags(command)
    if step_id == "publish":
        assert {"-o"} <= cli_flags("merge") and " merge " in script


# --- workflows ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_are_well_formed(path):
    workflow = load_workflow(path)
    assert workflow["name"] and workflow["on"] and workflow["jobs"]
    assert "pull_request_target" not in workflow["on"]
    assert "permissions" in workflow, "set the token's permissions explicitly"
    for job_id, job in workflow["jobs"].items():
        assert job["runs-on"], job_id
    for _, step in steps_of(workflow):
        assert ("uses" in step) != ("run" in step), step
        if "uses" in step:
            assert OUR_ACTION.match(step["uses"]) or PINNED.match(step["uses"]), step["uses"]
        if "run" in step:
            for e in EXPRESSION.findall(step["run"]):
                assert "github.event" not in e and "inputs." not in e, f"{path.name}: {e} inside run:"
        if "uses" in step and OUR_ACTION.match(step["uses"]):
            assert set(step.get("with", {})) <= set(ACTION["inputs"]), step["with"]


def test_minimal_example_can_comment_and_sees_the_history():
    workflow = load_workflow(ROOT / "examples/workflows/edgegate-pr.yml")
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write", "actions": "read"}
    steps = [s for _, s in steps_of(workflow)]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"]["fetch-depth"] == 0
    assert OUR_ACTION.match(steps[1]["uses"])


def test_fork_safe_pair_keeps_the_pr_code_away_from_the_write_token():
    untrusted = load_workflow(ROOT / "examples/workflows/edgegate-fork-safe.yml")
    trusted = load_workflow(ROOT / "examples/workflows/edgegate-fork-safe-comment.yml")
    assert list(untrusted["on"]) == ["pull_request"] and untrusted["permissions"] == {
        "contents": "read",
        "actions": "read",  # the results cache's origin check (docs/cache.md)
    }
    gate = next(s for _, s in steps_of(untrusted) if OUR_ACTION.match(s["uses"]))
    assert gate["with"]["comment"] == "off"

    assert trusted["on"]["workflow_run"]["workflows"] == [untrusted["name"]]
    assert trusted["permissions"] == {"actions": "read", "pull-requests": "write"}
    steps = [s for _, s in steps_of(trusted)]
    assert not any(s.get("uses", "").startswith("actions/checkout@") for s in steps), "never check out the PR"
    assert not any("run" in s for s in steps), "run nothing from the artifact"
    download = steps[0]
    assert download["uses"].startswith("actions/download-artifact@")
    assert (
        download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
        and download["with"]["name"] == "edgegate"
    )
    publish = steps[1]
    assert publish["with"]["command"] == "publish" and publish["with"]["results"].startswith(
        download["with"]["path"]
    )


def test_sharded_example_splits_evenly_and_publishes_once():
    workflow = load_workflow(ROOT / "examples/workflows/edgegate-sharded.yml")
    gate, comment = workflow["jobs"]["gate"], workflow["jobs"]["comment"]
    shards = gate["strategy"]["matrix"]["shard"]
    assert gate["strategy"]["fail-fast"] is False
    step = next(s for s in gate["steps"] if OUR_ACTION.match(s.get("uses", "")))
    assert step["with"]["shard"] == f"${{{{ matrix.shard }}}}/{len(shards)}" and shards == list(
        range(1, len(shards) + 1)
    )
    assert step["with"]["comment"] == "off"
    # Not after cancel-in-progress cancelled the run; a crashed gate job is "could not run".
    assert comment["needs"] == "gate" and comment["if"] == "${{ !cancelled() }}"
    assert comment["permissions"] == {"pull-requests": "write"}
    download, publish = comment["steps"]
    assert download["with"]["pattern"] == "edgegate-shard-*" and publish["with"]["command"] == "publish"


def test_project_ci_runs_the_readme_tests_lint_and_the_action_on_the_examples():
    workflow = load_workflow(ROOT / ".github/workflows/ci.yml")
    runs = {job: [s.get("run", "") for s in j["steps"]] for job, j in workflow["jobs"].items()}
    assert "python -m pytest -q" in runs["tests"]
    assert any("ruff check" in r for r in runs["lint"]) and any("actionlint" in r for r in runs["lint"])
    self_test = workflow["jobs"]["self-test"]["steps"]
    action = next(s for s in self_test if s.get("uses") == "./")
    policy = yaml.safe_load((ROOT / action["with"]["policy"]).read_text())
    assert any(m["path"].startswith("examples/") for m in policy["models"])


def test_the_docs_examples_use_existing_inputs():
    text = (ROOT / "docs" / "github-action.md").read_text()
    blocks = [yaml.safe_load(textwrap.dedent(b)) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]

    def our_steps(node):
        if isinstance(node, dict):
            if OUR_ACTION.match(str(node.get("uses", ""))):
                yield node
            for v in node.values():
                yield from our_steps(v)
        elif isinstance(node, list):
            for v in node:
                yield from our_steps(v)

    steps = [s for b in blocks for s in our_steps(b)]
    assert len(steps) >= 4
    for step in steps:
        assert set(step.get("with") or {}) <= set(ACTION["inputs"]), step


@pytest.mark.skipif(not shutil.which("actionlint"), reason="actionlint is not installed (it is a Go binary)")
def test_actionlint_accepts_the_workflows():
    proc = subprocess.run(["actionlint", *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- the action's shell steps, run for real ---------------------------------------------------


def run_script(script: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    """A `run:` script under bash as the runner runs it (`bash --noprofile --norc -eo pipefail`)."""
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)


def run_step(step_id: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return run_script(action_step(step_id)["run"], env, cwd)


def run_step_named(name: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return run_script(next(s for s in ACTION["runs"]["steps"] if s["name"] == name)["run"], env, cwd)


def edgegate_wrapper(tmp_path: Path) -> Path:
    """``edgegate`` as the install step's output names it: this checkout's CLI."""
    wrapper = tmp_path / "bin" / "edgegate"
    if not wrapper.exists():
        wrapper.parent.mkdir(parents=True)
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m edgegate "$@"\n')
        wrapper.chmod(0o755)
    return wrapper


def runner_env(tmp_path: Path, github, event_name: str, event: dict, name: str = "event") -> dict[str, str]:
    """What a runner gives the action's steps: GitHub's variables, the event file (``name``.json)
    and ``EDGEGATE``, the real command line of this checkout."""
    wrapper = edgegate_wrapper(tmp_path)
    (tmp_path / f"{name}.json").write_text(json.dumps(event))
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": github.url,
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(tmp_path / f"{name}.json"),
        "GITHUB_RUN_ID": "7",
        "EDGEGATE": str(wrapper),
        "GITHUB_TOKEN": WRITE_TOKEN,
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }


def test_no_concurrency_group_makes_pushes_to_main_cancel_each_other():
    """A group of the PR's number alone is `edgegate-` for every push to main: each would cancel
    the one before, the runs that fill the caches included."""
    docs = (ROOT / "docs" / "github-action.md").read_text()
    groups = re.findall(r"group: (edgegate-\$\{\{[^}]*\}\})", docs)
    for path in EXAMPLES:
        concurrency = load_workflow(path).get("concurrency")
        if concurrency:
            groups.append(concurrency["group"])
    assert groups and all("github.event.pull_request.number || github.sha" in g for g in groups), groups


def test_action_steps_gate_shards_name_artifacts_merge_and_publish(models_repo_for_action, github, tmp_path):
    repo = models_repo_for_action
    event = load_event(
        "pull_request_opened", pull_request__base__sha=repo.base, pull_request__head__sha=repo.head
    )
    base_env = runner_env(tmp_path, github, "pull_request", event)
    codes = []
    for i in (1, 2):
        output = tmp_path / f"output{i}"
        output.write_text("")
        env = {
            **base_env,
            "GITHUB_OUTPUT": str(output),
            "POLICY": "edgegate.yml",
            "BASE": "",
            "COMMENT": "off",
            "FAIL_ON": "error",
            "SHARD": f"{i}/2",
            "OUT": str(tmp_path / f"shard{i}"),
        }
        proc = run_step("gate", env, repo.root)
        codes.append(proc.returncode)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        assert (tmp_path / f"shard{i}" / "results.json").is_file() and "status<<" in output.read_text()
        named = tmp_path / f"named{i}"
        named.write_text("")
        proc = run_step(
            "artifact", {**base_env, "GITHUB_OUTPUT": str(named), "NAME": "", "SHARD": f"{i}/2"}, tmp_path
        )
        assert named.read_text() == f"name=edgegate-shard-{i}-of-2\n", proc.stderr
    assert sorted(codes) == [
        0,
        1,
    ]  # the detector (fails) and the keyword model (passes) land in different shards
    assert github.requests == []

    output = tmp_path / "publish-output"
    output.write_text("")
    env = {
        **base_env,
        "GITHUB_OUTPUT": str(output),
        "RESULT_FILES": f"{tmp_path}/shard*/results.json",
        "PR": "",
        "COMMENT": "sticky",
        "OUT": str(tmp_path / "merged"),
    }
    proc = run_step("publish", env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (comment,) = github.comments_on(17)
    assert "detector" in comment["body"] and "keyword" in comment["body"]
    assert "comment-url<<" in output.read_text()
    # A gate job that crashed before uploading: "could not run" on the PR, exit 2.
    proc = run_step("publish", {**env, "RESULT_FILES": f"{tmp_path}/nothing*/results.json"}, tmp_path)
    assert proc.returncode == 2 and "no results file matches" in proc.stdout
    (comment,) = github.comments_on(17)
    assert "## 💥 EdgeGate could not run" in comment["body"] and "no results file" in comment["body"]


@pytest.fixture
def models_repo_for_action(repo, tflite_models):
    """Two models the 2-way split puts in different shards: one grows past its budget, one within it."""
    from edgegate.shards import select_shard

    names = ["detector", "keyword"]
    assert select_shard(names, 1, 2) != select_shard(names, 2, 2)
    repo.write(
        "edgegate.yml",
        """\
        version: 1
        models:
          - {name: detector, path: models/detector.tflite, budgets: {size: 4 KB}}
          - {name: keyword, path: models/keyword.tflite, budgets: {size: 40 KB}}
        """,
    )
    repo.write("models/detector.tflite", tflite_models["small"])
    repo.write("models/keyword.tflite", tflite_models["small"])
    repo.base = repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("models/detector.tflite", tflite_models["big"])
    repo.write("models/keyword.tflite", tflite_models["big"])
    repo.head = repo.commit("grow both")
    return repo


def test_action_fetches_the_history_a_shallow_pull_request_checkout_lacks(tmp_path):
    """As actions/checkout does for a PR: fetch refs/pull/N/merge at depth 1, detached."""
    from tests.gitrepo import GitRepo

    origin = GitRepo(tmp_path / "origin")
    origin.root.mkdir()
    origin.git("init", "-q", "-b", "main")
    for i in range(3):
        origin.write("f.txt", f"{i}\n")
        base = origin.commit(f"main {i}")
    origin.git("checkout", "-qb", "feature", "HEAD~1")
    origin.write("g.txt", "feature\n")
    head = origin.commit("feature")
    origin.git("checkout", "-q", "main")
    origin.git("merge", "-q", "--no-ff", "-m", "merge", "feature")
    origin.git("update-ref", "refs/pull/1/merge", "HEAD")
    origin.git("reset", "-q", "--hard", base)

    clone = GitRepo(tmp_path / "clone")
    clone.root.mkdir()
    clone.git("init", "-q")
    clone.git("remote", "add", "origin", origin.root.as_uri())
    clone.git("fetch", "-q", "--depth", "1", "origin", "+refs/pull/1/merge")
    clone.git("checkout", "-q", "--detach", "FETCH_HEAD")
    assert clone.git("rev-parse", "--is-shallow-repository") == "true"

    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "BASE": base}
    proc = run_step_named("Fetch the history the comparison needs", env, clone.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert clone.git("rev-parse", "--is-shallow-repository") == "false"
    assert clone.git("merge-base", base, "HEAD") == base
    assert clone.git("cat-file", "-t", head) == "commit"


def test_action_rejects_unknown_command_and_compiler_choice(tmp_path):
    env = {"PATH": os.environ["PATH"], "COMMAND": "gate", "EDGETPU": "skip"}
    proc = run_step_named("Check inputs", env, tmp_path)
    assert proc.returncode == 2 and "command must be ci, publish or plan, not 'gate'" in proc.stdout
    proc = run_step_named("Check inputs", {**env, "COMMAND": "ci", "EDGETPU": "yes"}, tmp_path)
    assert proc.returncode == 2 and "edgetpu-compiler must be install or skip" in proc.stdout
    assert run_step_named("Check inputs", {**env, "COMMAND": "publish"}, tmp_path).returncode == 0


def test_action_reads_edgegates_version_for_the_cache_key(tmp_path):
    output = tmp_path / "output"
    env = {
        "PATH": os.environ["PATH"],
        "PYTHON": sys.executable,
        "ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(output),
    }
    assert run_step("meta", env, tmp_path).returncode == 0
    from edgegate import __version__

    lines = output.read_text().splitlines()
    assert lines[0] == f"version={__version__}" and re.fullmatch(r"digest=[0-9a-f]{16}", lines[1])


SHELLCHECK = shutil.which("shellcheck")


@pytest.mark.skipif(
    SHELLCHECK is None, reason="shellcheck is not installed (.ci/run installs it from Debian)"
)
def test_shellcheck_finds_nothing_in_the_actions_run_scripts(tmp_path):
    found = []
    for i, step in enumerate(ACTION["runs"]["steps"]):
        if "run" not in step:
            continue
        assert "${{" not in step["run"]  # inputs come through env: the script is plain bash
        script = tmp_path / f"step{i}.sh"
        script.write_text("#!/usr/bin/env bash\n" + step["run"])
        proc = subprocess.run([SHELLCHECK, "-f", "gcc", str(script)], capture_output=True, text=True)
        found += [f"{step.get('id') or step['name']}: {line}" for line in proc.stdout.splitlines()]
    assert found == []


def test_the_status_output_lists_the_same_values_in_the_action_and_the_docs():
    """The values ``edgegate ci``/``publish`` write (a run's status is never ``skip``)."""
    from edgegate.status import Status

    words = {s.value for s in Status}
    described = ACTION["outputs"]["status"]["description"]
    row = next(line for line in DOCS.read_text().splitlines() if line.startswith("| `status` |"))
    in_action = {w for w in re.findall(r"\w+", described) if w in words}
    in_docs = {w for w in re.findall(r"`(\w+)`", row.split("Never")[0]) if w in words}
    assert in_action == in_docs == {"pass", "warn", "fail", "error"}


def test_the_plan_step_outputs_a_matrix_every_shard_given_the_same_costs_agrees_with(
    models_repo_for_action, tmp_path
):
    """Issue 24: ``command: plan`` run as the runner would: its ``plan`` output is the JSON a
    workflow builds its matrix from, packed by the costs file, the same split ``ci --shard`` makes."""
    from edgegate.results import RunResult, write_results
    from edgegate.results.model import GitRef
    from edgegate.shards import ShardCosts, plan_shards
    from edgegate.status import Status

    repo = models_repo_for_action
    wrapper = edgegate_wrapper(tmp_path)
    costs = tmp_path / "costs.json"
    seconds = {"detector": 90.0, "keyword": 2.0}
    write_results(
        RunResult(Status.PASS, GitRef("main", None), GitRef("main", None), model_seconds=seconds), costs
    )
    output = tmp_path / "output"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "EDGEGATE": str(wrapper),
        "BASE": repo.base,
        "SHARDS": "3",
        "POLICY": "",
        "GITHUB_OUTPUT": str(output),
    }
    github_env = tmp_path / "github-env"
    handed = {**env, "COSTS": str(costs), "GITHUB_ENV": str(github_env)}
    assert run_step_named("Hand the shard costs file to EdgeGate", handed, repo.root).returncode == 0
    assert github_env.read_text() == f"EDGEGATE_COSTS={costs}\n"
    forged = {**handed, "COSTS": "costs.json\nPATH=/tmp/evil"}
    proc = run_step_named("Hand the shard costs file to EdgeGate", forged, repo.root)
    assert proc.returncode == 2 and "a path without line breaks" in proc.stdout
    assert github_env.read_text() == f"EDGEGATE_COSTS={costs}\n"  # nothing more was set
    env["EDGEGATE_COSTS"] = str(costs)  # as GITHUB_ENV sets it for the steps after
    proc = run_step("plan", env, repo.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (line,) = output.read_text().splitlines()
    assert line.startswith("plan=")
    plan = json.loads(line[len("plan=") :])
    assert plan["by"] == "cost" and plan["shard"] == ["1/3", "2/3", "3/3"]
    expected = plan_shards(["detector", "keyword"], 3, ShardCosts(seconds))
    assert [s["models"] for s in plan["shards"]] == [list(names) for names in expected.shards]
    assert [s["seconds"] for s in plan["shards"]] == list(expected.seconds) and plan[
        "plan"
    ] == expected.digest


def test_zoo_example_builds_its_matrix_from_the_plan_and_gives_every_shard_the_same_costs():
    workflow = load_workflow(ROOT / "examples/workflows/edgegate-zoo.yml")
    plan, gate, merge = (workflow["jobs"][j] for j in ("plan", "gate", "merge"))
    planner = next(s for s in plan["steps"] if OUR_ACTION.match(s.get("uses", "")))
    assert planner["with"]["command"] == "plan" and planner["id"] == "plan"
    assert plan["outputs"]["plan"] == "${{ steps.plan.outputs.plan }}"
    assert gate["needs"] == "plan" and gate["strategy"]["fail-fast"] is False
    assert gate["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.plan).shard }}"
    upload = next(s for s in plan["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    download = next(s for s in gate["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    shard = next(s for s in gate["steps"] if OUR_ACTION.match(s.get("uses", "")))
    assert shard["with"]["shard"] == "${{ matrix.shard }}" and shard["with"]["comment"] == "off"
    # The plan and every shard read the same costs: the plan job's, handed on as one artifact.
    assert upload["with"]["name"] == download["with"]["name"]
    assert (
        planner["with"]["costs"]
        == upload["with"]["path"]
        == download["with"]["path"]
        == shard["with"]["costs"]
    )
    saved = next(s for s in merge["steps"] if s.get("uses", "").startswith("actions/cache/save@"))
    restored = next(s for s in plan["steps"] if s.get("uses", "").startswith("actions/cache/restore@"))
    assert saved["if"] == "github.event_name == 'push'" and saved["with"]["path"] == restored["with"]["path"]
    assert restored["with"]["restore-keys"] == "edgegate-costs-" and saved["with"]["key"].startswith(
        "edgegate-costs-"
    )
