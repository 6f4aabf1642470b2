"""``edgegate ci`` / ``publish`` / ``merge`` end to end: real git repositories, real .tflite models
gated by the real pipeline, GitHub's environment and event files as a runner writes them, and
the local GitHub API server. Assertions are on the exit code, the files the runner reads (job
summary, step outputs), the annotations in the log, and the requests and final comments."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from edgegate.cli.ci import ci
from edgegate.cli.errors import guarded
from edgegate.cli.merge import merge
from edgegate.cli.publish import publish
from edgegate.publishers.pr_comment import MARKER
from edgegate.report.markdown import render_markdown
from edgegate.results import read_results, write_results
from edgegate.untrusted_text import md_text
from tests.github.conftest import READ_TOKEN, REPO, WRITE_TOKEN, load_event, make_model, make_run

POLICY = """\
version: 1
models:
  - name: detector
    path: models/detector.tflite
    budgets:
      size: 4 KB
  - name: keyword
    path: models/keyword.tflite
    budgets:
      size: {max: 4 KB, level: warn}
"""
ONE_MODEL = POLICY.split("  - name: keyword")[0]  # the detector alone
DETECTOR_SIZE_LINE = 6
KEYWORD_SIZE_LINE = 10
OUTPUT_BLOCK = re.compile(r"^([\w-]+)<<(ghadelimiter_[0-9a-f-]+)\n(.*?)\n\2$", re.MULTILINE | re.DOTALL)


class Runner:
    """What a GitHub runner provides one job: variables, the event file, summary and output files."""

    def __init__(
        self, tmp: Path, github, event_name: str, event: dict, token: str = WRITE_TOKEN, sha: str = ""
    ):
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "event.json").write_text(json.dumps(event))
        (tmp / "summary.md").write_text("")
        (tmp / "output").write_text("")
        self.env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": github.url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(tmp / "event.json"),
            "GITHUB_SHA": sha,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
            "GITHUB_OUTPUT": str(tmp / "output"),
            "RUNNER_TEMP": str(tmp / "temp"),
            "GITHUB_TOKEN": token,
        }

    @property
    def out(self) -> Path:
        return self.tmp / "temp" / "edgegate"

    @property
    def summary(self) -> str:
        return (self.tmp / "summary.md").read_text()

    @property
    def outputs(self) -> dict[str, str]:
        return {name: value for name, _, value in OUTPUT_BLOCK.findall((self.tmp / "output").read_text())}


@pytest.fixture
def models_repo(repo, tflite_models):
    """main: both models small; branch feature: the detector grows past its 4 KB error budget."""
    repo.write("edgegate.yml", POLICY)
    repo.write("models/detector.tflite", tflite_models["small"])
    repo.write("models/keyword.tflite", tflite_models["small"])
    repo.base = repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("models/detector.tflite", tflite_models["big"])
    repo.head = repo.commit("grow the detector")
    return repo


def pr_event(repo, name="pull_request_opened", **extra):
    return load_event(name, pull_request__base__sha=repo.base, pull_request__head__sha=repo.head, **extra)


def headline(body: str) -> str:
    return body.splitlines()[1]  # the line after the marker


def gate(runner, comment="sticky", fail_on="error", shard=None, out=None, policy=None):
    return ci(policy, None, comment, fail_on, shard, out, None, None, env=runner.env)


def test_pull_request_gate_comment_is_edited_on_every_push(
    models_repo, github, tmp_path, monkeypatch, capsys, tflite_models
):
    monkeypatch.chdir(models_repo.root)
    first = Runner(tmp_path / "run1", github, "pull_request", pr_event(models_repo))
    assert gate(first) == 1

    log = capsys.readouterr().out
    assert (
        f"::error file=edgegate.yml,line={DETECTOR_SIZE_LINE},title=EdgeGate · detector · size::"
        "detector · as-is: size "
    ) in log
    assert "comparing with " + models_repo.base in log and "pull request #17: shrink-head → main" in log
    results = read_results(first.out / "results.json")
    assert results.status.value == "fail" and [m.name for m in results.models] == ["detector"]
    assert results.base.ref == "main" and results.base.sha == models_repo.base
    assert (first.out / "pr-number").read_text() == "17\n"
    report = (first.out / "report.md").read_text()
    assert report == render_markdown(results) and report.startswith("## ❌ EdgeGate")
    assert (
        first.summary.startswith("## ❌ EdgeGate")
        and "> " + md_text("posted the EdgeGate comment on PR #17") in first.summary  # notes are escaped
    )
    outputs = first.outputs
    assert outputs["status"] == "fail" and outputs["results-json"] == str(first.out / "results.json")
    assert outputs["report-markdown"] == str(first.out / "report.md")
    (comment,) = github.comments_on(17)
    assert outputs["comment-url"] == comment["html_url"]
    assert comment["body"].startswith(MARKER) and "detector" in comment["body"]
    assert "actions/runs/4242" in comment["body"] and f"commit {models_repo.head[:7]}" in comment["body"]

    # Second push: the detector is fixed, the keyword model grows past its warn-level budget.
    models_repo.write("models/detector.tflite", tflite_models["small"])
    models_repo.write("models/keyword.tflite", tflite_models["big"])
    models_repo.head = models_repo.commit("fix detector, grow keyword")
    second = Runner(tmp_path / "run2", github, "pull_request", pr_event(models_repo, action="synchronize"))
    assert gate(second) == 0
    assert f"::warning file=edgegate.yml,line={KEYWORD_SIZE_LINE}," in capsys.readouterr().out
    third = Runner(tmp_path / "run3", github, "pull_request", pr_event(models_repo, action="synchronize"))
    assert gate(third, fail_on="warn") == 1
    assert (
        gate(Runner(tmp_path / "run4", github, "pull_request", pr_event(models_repo)), fail_on="never") == 0
    )

    (final,) = github.comments_on(17)
    assert final["id"] == comment["id"] and headline(final["body"]).startswith("## ⚠️ EdgeGate")
    assert f"commit {models_repo.head[:7]}" in final["body"]
    # Once a marked comment exists, each run asks who the token is (GET /user: 403, the Actions
    # token is github-actions[bot]) before editing only that account's comment.
    assert [(r.method, r.path) for r in github.requests][:2] == [
        ("GET", f"/repos/{REPO}/issues/17/comments"),
        ("POST", f"/repos/{REPO}/issues/17/comments"),
    ]
    assert [r.method for r in github.requests] == ["GET", "POST"] + ["GET", "GET", "PATCH"] * 3
    assert [r.path for r in github.requests if r.path == "/user"] == ["/user"] * 3
    assert second.outputs["comment-url"] == comment["html_url"] and second.outputs["status"] == "warn"
    for r in github.requests:
        assert r.headers["authorization"] == f"Bearer {WRITE_TOKEN}"
    assert WRITE_TOKEN not in capsys.readouterr().out + "".join(
        (Path(r.tmp) / f).read_text() for r in (first, second, third) for f in ("summary.md", "output")
    )


def test_fork_pr_read_only_token_then_trusted_publish(models_repo, github, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(models_repo.root)
    event = pr_event(models_repo, "pull_request_fork_synchronize")
    untrusted = Runner(tmp_path / "fork", github, "pull_request", event, token=READ_TOKEN)
    assert gate(untrusted) == 1  # the gate still decides
    log = capsys.readouterr().out
    assert "::warning title=EdgeGate::no comment posted on PR #23" in log and "from a fork" in log
    assert "edgegate publish" in untrusted.summary and "from a fork" in untrusted.summary
    assert untrusted.outputs["status"] == "fail" and untrusted.outputs["comment-url"] == ""
    assert github.comments_on(23) == [] and [r.method for r in github.requests] == ["GET", "POST"]

    # The trusted workflow_run workflow downloads the artifact and publishes it with a write token.
    artifact = tmp_path / "artifact"
    shutil.copytree(untrusted.out, artifact)
    run_event = load_event("workflow_run_fork", workflow_run__head_sha=models_repo.head)
    github.add_pull(23, models_repo.head, head_repo="mallory-contrib/vision-models")
    trusted = Runner(tmp_path / "trusted", github, "workflow_run", run_event)
    monkeypatch.chdir(tmp_path)  # the trusted workflow does not check out the PR
    assert publish(artifact / "results.json", None, None, "sticky", env=trusted.env) == 0
    (comment,) = github.comments_on(23)
    assert (
        headline(comment["body"]) == render_markdown(read_results(artifact / "results.json")).splitlines()[0]
    )
    assert "https://github.com/octo-org/vision-models/actions/runs/9876543210" in comment["body"]
    assert trusted.outputs["comment-url"] == comment["html_url"]
    assert md_text("posted the EdgeGate comment on PR #23") in trusted.summary
    # report-markdown: rendered by publish from the validated results, not the artifact's report.md.
    (artifact / "report.md").write_text("## ✅ forged by the fork\n")
    published = Path(trusted.outputs["report-markdown"])
    assert published.parent.name == "edgegate-publish" and published != artifact / "report.md"
    assert published.read_text() == render_markdown(read_results(artifact / "results.json"))

    # Results for a commit that is no longer the PR's head are not posted.
    github.add_pull(23, "f" * 40, head_repo="mallory-contrib/vision-models")
    before = len(github.requests)
    assert publish(artifact / "results.json", None, None, "sticky", env=trusted.env) == 0
    assert "not posting: PR #23's head is fffffff" in capsys.readouterr().out
    assert [r.method for r in github.requests[before:]] == ["GET"] and len(github.comments_on(23)) == 1

    # A PR number file that is not a number is refused.
    (artifact / "pr-number").write_text("23; rm -rf /")
    assert publish(artifact / "results.json", None, None, "sticky", env=trusted.env) == 2
    assert "expected a pull request number" in capsys.readouterr().out


def test_shards_merge_and_one_comment(models_repo, github, tmp_path, monkeypatch, capsys, tflite_models):
    models_repo.write("models/keyword.tflite", tflite_models["big"])
    models_repo.head = models_repo.commit("grow keyword too")
    monkeypatch.chdir(models_repo.root)
    event = pr_event(models_repo)
    shards = []
    for i in (1, 2):
        runner = Runner(tmp_path / f"shard{i}", github, "pull_request", event)
        gate(runner, comment="off", shard=f"{i}/2")
        shards.append(read_results(runner.out / "results.json"))
    assert [r.shard for r in shards] == ["1/2", "2/2"] and github.requests == []
    assert sorted(m.name for r in shards for m in r.models) == ["detector", "keyword"]
    assert all(len(r.models) == 1 for r in shards)

    paths = [tmp_path / f"shard{i}/temp/edgegate/results.json" for i in (1, 2)]
    merged = tmp_path / "all.json"
    assert merge(paths, merged) == 0
    assert {m.name for m in read_results(merged).models} == {"detector", "keyword"}
    publisher = Runner(tmp_path / "publish", github, "pull_request", event)
    assert publish(merged, None, None, "sticky", env=publisher.env) == 0
    (comment,) = github.comments_on(17)
    assert "detector" in comment["body"] and "keyword" in comment["body"]
    capsys.readouterr()
    assert guarded(merge, [paths[0], tmp_path / "missing.json"], merged) == 2
    assert f"edgegate: {tmp_path / 'missing.json'}: cannot read" in capsys.readouterr().err
    assert {m.name for m in read_results(merged).models} == {"detector", "keyword"}  # left as it was


def test_push_compares_with_the_commit_before_and_does_not_comment(
    models_repo, github, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(models_repo.root)
    event = load_event("push", before=models_repo.base, after=models_repo.head)
    runner = Runner(tmp_path / "push", github, "push", event, sha=models_repo.head)
    assert gate(runner) == 1
    assert github.requests == [] and not (runner.out / "pr-number").exists()
    assert md_text("no PR comment: push is not a pull_request event") in runner.summary
    assert read_results(runner.out / "results.json").base.sha == models_repo.base
    assert "the commit before the push" in capsys.readouterr().out


def test_pull_request_target_with_pr_code_checked_out_warns(
    models_repo, github, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(models_repo.root)
    runner = Runner(
        tmp_path / "target", github, "pull_request_target", pr_event(models_repo), sha=models_repo.base
    )
    gate(runner, comment="off")
    log = capsys.readouterr().out
    assert (
        "::warning title=EdgeGate::running on pull_request_target with a checkout other than the base" in log
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fail_on": "sometimes"}, "--fail-on 'sometimes': use one of error, warn, never"),
        ({"comment": "loud"}, "--comment 'loud': use one of sticky, new, off"),
        ({"shard": "3/2"}, "--shard '3/2': expected I/N"),
    ],
)
def test_usage_errors_exit_2_and_say_so_everywhere(
    models_repo, github, tmp_path, monkeypatch, capsys, kwargs, message
):
    monkeypatch.chdir(models_repo.root)
    runner = Runner(tmp_path / "bad", github, "pull_request", pr_event(models_repo))
    assert gate(runner, **kwargs) == 2
    assert message in capsys.readouterr().out
    assert runner.summary.startswith("## 💥 EdgeGate could not run") and message in runner.summary
    assert runner.outputs["status"] == "error" and github.requests == []


def test_unwritable_results_are_exit_2_naming_the_path(models_repo, github, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(models_repo.root)
    event = load_event("push", before=models_repo.head, after=models_repo.head)  # nothing to gate
    runner = Runner(tmp_path / "push", github, "push", event, sha=models_repo.head)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    assert gate(runner, out=blocker) == 2
    message = f"{blocker / 'results.json'}: cannot write the results file"
    assert message in capsys.readouterr().out
    assert runner.summary.startswith("## 💥 EdgeGate could not run") and message in runner.summary
    assert runner.outputs["status"] == "error" and blocker.read_text().startswith("a file")


def test_a_push_that_cannot_be_gated_replaces_the_green_comment(
    models_repo, github, tmp_path, monkeypatch, capsys, tflite_models
):
    """A green comment from an earlier push must never stay under a red check."""
    monkeypatch.chdir(models_repo.root)
    models_repo.write("models/detector.tflite", tflite_models["small"])
    models_repo.head = models_repo.commit("keep the detector small")
    # The first push changes a model (keyword) within budget: a green comment.
    models_repo.write("models/keyword.tflite", tflite_models["small"] + b"\0")
    models_repo.head = models_repo.commit("touch keyword")
    assert gate(Runner(tmp_path / "green", github, "pull_request", pr_event(models_repo))) == 0
    (green,) = github.comments_on(17)
    assert "could not run" not in green["body"]
    # The next push breaks the policy: exit 2, and the same comment now says so, with the reason.
    models_repo.write("edgegate.yml", POLICY.replace("size: 4 KB", "size: four `@octocat` kilobytes"))
    models_repo.head = models_repo.commit("break the policy")
    bad = Runner(tmp_path / "bad", github, "pull_request", pr_event(models_repo, action="synchronize"))
    assert gate(bad) == 2
    (updated,) = github.comments_on(17)
    assert updated["id"] == green["id"]
    # The results file and the report say it too, so the artifact never holds a stale verdict.
    failed = read_results(bad.out / "results.json")
    assert failed.status.value == "error" and failed.models == () and "could not run" in failed.notes[0]
    assert (bad.out / "report.md").read_text().startswith("## 💥 EdgeGate could not run")
    assert bad.outputs["results-json"] == str(bad.out / "results.json")
    body = updated["body"]
    assert body.startswith(MARKER) and "## 💥 EdgeGate could not run" in body
    assert (
        "cannot read 'four `@octocat` kilobytes' as a size" in body
        and f"commit {models_repo.head[:7]}" in body
    )
    # The reason sits verbatim in a fenced block (nothing in it renders: no live @mention).
    fenced = body.split("```text\n", 1)[1].split("\n```", 1)[0]
    assert "`@octocat`" in fenced
    assert "updated the EdgeGate comment on PR #17" in capsys.readouterr().out
    assert bad.outputs["status"] == "error"


def test_a_missing_policy_on_the_first_push_posts_why(models_repo, github, tmp_path, monkeypatch):
    monkeypatch.chdir(models_repo.root)
    runner = Runner(tmp_path / "missing", github, "pull_request", pr_event(models_repo))
    assert gate(runner, policy=Path("missing.yml")) == 2
    (comment,) = github.comments_on(17)
    assert "## 💥 EdgeGate could not run" in comment["body"] and "no policy file here" in comment["body"]
    assert runner.summary.startswith("## 💥 EdgeGate could not run")


def test_invalid_policy_is_annotated_at_its_line(models_repo, github, tmp_path, monkeypatch, capsys):
    models_repo.write("edgegate.yml", POLICY.replace("size: 4 KB", "size: four kilobytes"))
    monkeypatch.chdir(models_repo.root)
    runner = Runner(tmp_path / "policy", github, "pull_request", pr_event(models_repo))
    assert gate(runner) == 2
    log = capsys.readouterr().out
    assert f"::error file=edgegate.yml,line={DETECTOR_SIZE_LINE},title=EdgeGate%3A invalid policy::" in log


def test_malformed_event_is_a_usage_error(models_repo, github, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(models_repo.root)
    event = pr_event(models_repo)
    del event["pull_request"]["head"]
    runner = Runner(tmp_path / "event", github, "pull_request", event)
    assert gate(runner) == 2
    assert "the event payload has no `pull_request.head.sha`" in capsys.readouterr().out


def test_publish_usage_errors(tmp_path, github, capsys):
    runner = Runner(tmp_path / "r", github, "workflow_dispatch", {})
    missing = tmp_path / "nope.json"
    assert publish(missing, 5, None, "sticky", env=runner.env) == 2
    assert "cannot read the results file" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other/9"}')
    assert publish(bad, 5, None, "sticky", env=runner.env) == 2
    assert "not an EdgeGate results file" in capsys.readouterr().out
    good = tmp_path / "results.json"
    write_results(make_run(make_model("detector", ("size", "fail", "too big", 6))), good)
    assert publish(good, None, None, "sticky", env=runner.env) == 2
    assert "which pull request? pass --pr N" in capsys.readouterr().out
    assert publish(good, 5, "not a repo", "sticky", env=runner.env) == 2
    assert publish(good, 5, None, "sticky", env={**runner.env, "GITHUB_TOKEN": ""}) == 2
    assert publish(good, 5, None, "off", env=runner.env) == 0
    assert github.requests == []
    assert publish(good, 5, None, "sticky", env={**runner.env, "GITHUB_TOKEN": READ_TOKEN}) == 1
    assert github.comments_on(5) == []


def test_publish_on_a_pull_request_event_refuses_results_of_another_push(tmp_path, github, capsys):
    """An older results file (an artifact of an earlier push) never replaces this push's verdict."""
    results = tmp_path / "results.json"
    write_results(
        make_run(make_model("detector", ("size", "fail", "too big", 6)), head_sha="a" * 40), results
    )
    newer = load_event("pull_request_opened", pull_request__head__sha="d" * 40)
    runner = Runner(tmp_path / "r", github, "pull_request", newer)
    assert publish(results, None, None, "sticky", env=runner.env) == 0
    assert (
        "not posting: these results tested aaaaaaa, but this run's pull request event"
        in capsys.readouterr().out
    )
    assert github.comments_on(17) == []
    same = load_event("pull_request_opened", pull_request__head__sha="a" * 40)
    assert (
        publish(results, None, None, "sticky", env=Runner(tmp_path / "s", github, "pull_request", same).env)
        == 0
    )
    (comment,) = github.comments_on(17)
    assert "commit aaaaaaa" in comment["body"]


def test_publish_says_which_repository_is_missing(tmp_path, github, capsys):
    good = tmp_path / "results.json"
    write_results(make_run(make_model("detector", ("size", "fail", "too big", 6))), good)
    runner = Runner(tmp_path / "r", github, "workflow_dispatch", {})
    env = {k: v for k, v in runner.env.items() if k != "GITHUB_REPOSITORY"}
    assert publish(good, 5, None, "sticky", env=env) == 2
    said = capsys.readouterr().out
    assert "which repository? pass --repo owner/name (GITHUB_REPOSITORY is not set)" in said
    assert "None" not in said
    assert publish(good, 5, "not a repo", "sticky", env=runner.env) == 2
    assert "--repo 'not a repo': expected owner/name" in capsys.readouterr().out


def test_publish_without_a_results_file_says_could_not_run_on_the_pr(tmp_path, github, capsys):
    """The sharded pattern's comment job after a gate job crashed before uploading: the PR is told
    this push was not gated (exit 2), not left with an earlier push's verdict."""
    earlier = tmp_path / "earlier.json"
    write_results(make_run(make_model("detector", ("size", "pass", "fine", 6)), head_sha="a" * 40), earlier)
    old = load_event("pull_request_opened", pull_request__head__sha="a" * 40)
    assert (
        publish(earlier, None, None, "sticky", env=Runner(tmp_path / "old", github, "pull_request", old).env)
        == 0
    )
    event = load_event("pull_request_opened", pull_request__head__sha="d" * 40)
    runner = Runner(tmp_path / "r", github, "pull_request", event)
    missing = tmp_path / "shards" / "*" / "results.json"
    assert publish(missing, None, None, "sticky", env=runner.env) == 2
    (comment,) = github.comments_on(17)
    assert "## 💥 EdgeGate could not run" in comment["body"] and "commit ddddddd" in comment["body"]
    assert "no results file: the gate job stopped before it wrote one" in comment["body"]
    assert runner.outputs["status"] == "error" and "could not run" in runner.summary


def test_a_pull_request_whose_base_has_no_policy_says_code_running_settings_are_off(
    repo, github, tmp_path, monkeypatch, tflite_models
):
    """Where it is true (a pull request's run trusts only the base's policy), the note stays."""
    repo.write("README.md", "models\n")
    repo.base = repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("edgegate.yml", POLICY)
    repo.write("models/detector.tflite", tflite_models["small"])
    repo.write("models/keyword.tflite", tflite_models["small"])
    repo.head = repo.commit("adopt EdgeGate")
    monkeypatch.chdir(repo.root)
    runner = Runner(tmp_path / "run", github, "pull_request", pr_event(repo))
    gate(runner, comment="off")
    notes = read_results(runner.out / "results.json").notes
    assert "the base commit has no edgegate.yml: every setting that runs code is off" in notes


def test_shards_balanced_by_the_seconds_an_earlier_run_measured(
    models_repo, github, tmp_path, monkeypatch, capsys, tflite_models
):
    """Issue 24: the base branch's last results hold what each model's jobs took in the workers;
    shards given that file as --costs agree on one plan, and the merge joins them."""
    models_repo.write("models/keyword.tflite", tflite_models["big"])
    models_repo.head = models_repo.commit("grow keyword too")
    monkeypatch.chdir(models_repo.root)
    event = pr_event(models_repo)
    earlier = Runner(tmp_path / "earlier", github, "pull_request", event)
    gate(earlier, comment="off")
    costs = earlier.out / "results.json"
    measured = read_results(costs).model_seconds
    assert set(measured) == {"detector", "keyword"}
    assert all(s is not None and s > 0 for s in measured.values()), measured  # real worker seconds

    paths = []
    for i in (1, 2):
        runner = Runner(tmp_path / f"shard{i}", github, "pull_request", event)
        ci(None, None, "off", "error", f"{i}/2", None, None, None, env=runner.env, costs=costs)
        paths.append(runner.out / "results.json")
    shards = [read_results(p) for p in paths]
    assert shards[0].shard_plan and shards[0].shard_plan == shards[1].shard_plan
    assert sorted(m.name for r in shards for m in r.models) == ["detector", "keyword"]
    assert any(n.startswith("shards split by cost: 2 of 2 models' costs known") for n in shards[0].notes)
    merged = tmp_path / "all.json"
    assert merge(paths, merged) == 0
    assert {m.name for m in read_results(merged).models} == {"detector", "keyword"}
