"""Event payloads and the Actions environment parsed from realistic GitHub data."""

from __future__ import annotations

import json

import pytest

from edgegate.errors import UsageError
from edgegate.github.environment import GitHubEnvironment, valid_repository
from edgegate.github.event import (
    MergeGroupEvent,
    PullRequestEvent,
    PushEvent,
    WorkflowRunEvent,
    parse_event,
    read_event,
)
from tests.github.conftest import EVENTS, load_event

BASE_SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
HEAD_SHA = "c2847f3894ecf7d9fbb2a0252c1ec6ddea4f287b"


def test_same_repository_pull_request():
    event = read_event("pull_request", EVENTS / "pull_request_opened.json")
    assert event == PullRequestEvent(
        number=17,
        action="opened",
        base_sha=BASE_SHA,
        base_ref="main",
        head_sha=HEAD_SHA,
        head_ref="shrink-head",
        base_repo="octo-org/vision-models",
        head_repo="octo-org/vision-models",
        draft=False,
        html_url="https://github.com/octo-org/vision-models/pull/17",
        target=False,
    )
    assert not event.is_fork


def test_fork_pull_request_and_pull_request_target():
    event = parse_event("pull_request", load_event("pull_request_fork_synchronize"))
    assert event.is_fork and event.head_repo == "mallory-contrib/vision-models" and event.number == 23
    assert event.action == "synchronize" and event.head_sha == HEAD_SHA
    target = parse_event("pull_request_target", load_event("pull_request_fork_synchronize"))
    assert target.target and target.is_fork


def test_deleted_fork_counts_as_a_fork():
    event = parse_event("pull_request", load_event("pull_request_deleted_fork"))
    assert event.head_repo is None and event.is_fork and event.draft


def test_a_fork_of_a_fork_that_opens_a_pr_in_itself_is_not_a_fork_pr():
    # head.repo.fork is true for any fork; what counts is which repository holds the head.
    data = load_event("pull_request_opened")
    data["pull_request"]["head"]["repo"]["fork"] = True
    data["pull_request"]["base"]["repo"]["fork"] = True
    assert not parse_event("pull_request", data).is_fork


def test_push_events():
    assert parse_event("push", load_event("push")) == PushEvent("refs/heads/main", BASE_SHA, HEAD_SHA)
    created = parse_event("push", load_event("push_new_branch"))
    assert created.before is None and created.ref == "refs/heads/experiment"


def test_merge_group_and_workflow_run():
    assert parse_event("merge_group", load_event("merge_group")) == MergeGroupEvent(
        BASE_SHA, "refs/heads/main", HEAD_SHA
    )
    fork = parse_event("workflow_run", load_event("workflow_run_fork"))
    assert fork == WorkflowRunEvent(
        run_id=9876543210,
        event="pull_request",
        conclusion="failure",
        head_sha=HEAD_SHA,
        head_repo="mallory-contrib/vision-models",
        pull_requests=(),
    )
    same = parse_event("workflow_run", load_event("workflow_run_same_repo"))
    assert same.pull_requests == (17,)


def test_other_events_and_no_event_file():
    assert parse_event("workflow_dispatch", {"inputs": {}, "ref": "refs/heads/main"}) is None
    assert read_event("pull_request", None) is None


def test_malformed_payloads_name_the_missing_key(tmp_path):
    data = load_event("pull_request_opened")
    del data["pull_request"]["base"]["sha"]
    path = tmp_path / "event.json"
    path.write_text(json.dumps(data))
    with pytest.raises(
        UsageError,
        match=r"GITHUB_EVENT_PATH=.*event.json: the event payload has no "
        r"`pull_request.base.sha`",
    ):
        read_event("pull_request", path)
    path.write_text("{not json")
    with pytest.raises(UsageError, match="cannot read the event payload"):
        read_event("pull_request", path)
    path.write_text("[]")
    with pytest.raises(UsageError, match="not a JSON object"):
        read_event("push", path)
    with pytest.raises(UsageError, match="cannot read"):
        read_event("push", tmp_path / "missing.json")


def test_environment_from_variables_keeps_the_token_out_of_repr(tmp_path):
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "octo-org/vision-models",
        "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        "GITHUB_SERVER_URL": "https://ghe.example.com",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(tmp_path / "e.json"),
        "GITHUB_RUN_ID": "77",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_TOKEN": "ghs_secret123",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GITHUB_OUTPUT": "",
        "RUNNER_TEMP": str(tmp_path),
    }
    github = GitHubEnvironment.from_env(env)
    assert github.actions and github.api_url == "https://ghe.example.com/api/v3"
    assert github.run_url == "https://ghe.example.com/octo-org/vision-models/actions/runs/77/attempts/2"
    assert github.output is None and github.step_summary == tmp_path / "summary"
    assert github.token == "ghs_secret123" and "ghs_secret123" not in repr(github)
    local = GitHubEnvironment.from_env({"GH_TOKEN": "t"})
    assert not local.actions and local.api_url == "https://api.github.com" and local.run_url is None
    assert local.token == "t"
    assert GitHubEnvironment.from_env({**env, "GITHUB_RUN_ATTEMPT": "1"}).run_url.endswith("/runs/77")


@pytest.mark.parametrize(
    "name, ok",
    [
        ("octo-org/vision-models", True),
        ("a/b.c_d-e", True),
        ("noslash", False),
        ("a/b/c", False),
        ("", False),
        (None, False),
        ("../x", False),
    ],
)
def test_repository_names(name, ok):
    assert valid_repository(name) is ok
