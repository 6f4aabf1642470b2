"""Publishers: the sticky PR comment against the local GitHub, annotations, outputs, summary."""

from __future__ import annotations

import io
import re

import pytest

from edgegate.github.client import GitHubClient, RetryPolicy
from edgegate.github.identity import AuthorRule
from edgegate.publishers.annotations import Annotation, AnnotationsPublisher, escape_property, run_annotations
from edgegate.publishers.interface import CommentMode, Publication
from edgegate.publishers.job_summary import JobSummaryPublisher
from edgegate.publishers.pr_comment import COMMENT_LIMIT, MARKER, PrCommentPublisher, comment_body
from edgegate.publishers.step_outputs import StepOutputsPublisher, format_output
from edgegate.report.markdown import render_markdown
from edgegate.github.environment import GitHubEnvironment
from tests.github.conftest import PAT_TOKEN, PAT_USER, READ_TOKEN, REPO, WRITE_TOKEN, make_model, make_run

RUN_URL = "https://github.com/octo-org/vision-models/actions/runs/42"
FAILING = make_run(
    make_model("detector", ("size", "fail", "size 12 KB is over the ≤ 10 KB budget by 2 KB.", 9)),
    make_model("keyword", ("latency", "warn", "latency 2 ms is over the ≤ 1 ms warning.", 15)),
)
PASSING = make_run(make_model("detector", ("size", "pass", "size 9 KB is within ≤ 10 KB.", 9)))


def headline(run) -> str:
    return render_markdown(run).splitlines()[0]


def publisher(github, mode=CommentMode.STICKY, token=WRITE_TOKEN, number=7, fork=False, actions=True):
    """On a runner by default, as `edgegate ci` and `publish` are: the Actions token's comments
    are github-actions[bot]'s."""
    client = GitHubClient(github.url, token, retry=RetryPolicy(), sleep=lambda s: None, log=lambda m: None)
    return PrCommentPublisher(client, REPO, number, mode, fork=fork, author=AuthorRule(actions=actions))


def publication(run, commit="abcdef1234567890"):
    return Publication(run, None, None, RUN_URL, commit)


def test_sticky_comment_is_created_once_then_edited_on_every_run(github):
    github.add_comment(7, "LGTM, but let's see the numbers", author="alice-ml")
    for i in range(120):  # push the bot's comment onto the second page of 100
        github.add_comment(7, f"review chatter {i}", author="bob")

    first = publisher(github).publish(publication(FAILING))
    assert (
        first.ok and first.message == "posted the EdgeGate comment on PR #7" and "#issuecomment-" in first.url
    )
    for _ in range(20):
        github.add_comment(7, "more chatter", author="bob")
    github.add_comment(
        7, f"> quoting the bot: {MARKER} it failed", author="carol"
    )  # not ours: marker not first

    second = publisher(github).publish(publication(PASSING, commit="1234567deadbeef"))
    third = publisher(github).publish(publication(FAILING, commit="89abcde00000000"))
    assert second.ok and third.ok and "updated" in third.message and third.url == first.url

    ours = [c for c in github.comments_on(7) if c["body"].startswith(MARKER)]
    assert len(ours) == 1 and ours[0]["user"]["login"] == "github-actions[bot]"
    body = ours[0]["body"]
    assert headline(FAILING) in body and "commit 89abcde" in body and RUN_URL in body
    # Two pages of comments, then: no marked comment, post; later runs also ask who the token is.
    assert [(r.method, r.path == "/user") for r in github.requests] == [
        ("GET", False),
        ("GET", False),
        ("POST", False),
    ] + [("GET", False), ("GET", False), ("GET", True), ("PATCH", False)] * 2
    assert all(r.query.get("per_page") == "100" for r in github.calls("GET") if r.path != "/user")
    patches = github.calls("PATCH")
    assert {p.path for p in patches} == {f"/repos/{REPO}/issues/comments/{ours[0]['id']}"}
    assert headline(PASSING) in patches[0].body["body"] and headline(FAILING) in patches[1].body["body"]


def test_sticky_adopts_the_oldest_marked_comment(github):
    old = github.add_comment(7, MARKER + "\nold report", author="github-actions[bot]")
    github.add_comment(7, MARKER + "\nnewer report from `new` mode", author="github-actions[bot]")
    publisher(github).publish(publication(PASSING))
    assert github.calls("PATCH")[0].path.endswith(f"/comments/{old['id']}")
    assert len(github.comments_on(7)) == 2


def test_a_persons_comment_with_the_marker_does_not_capture_the_report(github):
    # The write token could edit it (GitHub lets it edit any comment): it must not even try.
    github.add_comment(7, MARKER + "\nnot a report", author="mallory-contrib")
    first = publisher(github).publish(publication(FAILING))  # only the person's marked comment exists yet
    assert first.ok and "posted" in first.message
    second = publisher(github).publish(publication(PASSING))
    assert second.ok and "updated" in second.message and second.url == first.url
    assert github.comments_on(7)[0]["body"] == MARKER + "\nnot a report"
    assert [r.method for r in github.requests] == ["GET", "GET", "POST", "GET", "GET", "PATCH"]
    assert github.calls("PATCH")[0].path.endswith(f"/comments/{github.comments_on(7)[1]['id']}")


def test_no_comment_for_a_pr_without_model_changes_unless_one_exists(github):
    nothing = make_run()
    outcome = publisher(github).publish(publication(nothing))
    assert outcome.ok and "no model changed" in outcome.message and outcome.url is None
    assert publisher(github, CommentMode.NEW).publish(publication(nothing)).ok
    assert [r.method for r in github.requests] == ["GET"] and github.comments_on(
        7
    ) == []  # no marked one: no GET /user
    publisher(github).publish(publication(FAILING))
    reverted = publisher(github).publish(publication(nothing))
    assert "updated" in reverted.message
    assert headline(nothing) in github.comments_on(7)[0]["body"]


def test_new_mode_posts_every_run_and_off_posts_nothing(github):
    for _ in range(3):
        assert publisher(github, CommentMode.NEW).publish(publication(FAILING)).ok
    assert len(github.comments_on(7)) == 3 and [r.method for r in github.requests] == ["POST"] * 3
    outcome = publisher(github, CommentMode.OFF).publish(publication(FAILING))
    assert outcome.ok and "off" in outcome.message and len(github.requests) == 3


def test_a_comment_deleted_between_listing_and_editing_is_posted_again(github):
    github.add_comment(7, MARKER + "\nold", author="github-actions[bot]")
    github.fail("PATCH", r"/issues/comments/\d+", 404, {"message": "Not Found"})
    outcome = publisher(github).publish(publication(PASSING))
    assert outcome.ok and "posted" in outcome.message
    assert [r.method for r in github.requests] == ["GET", "GET", "PATCH", "POST"]


def test_5xx_on_edit_is_retried_and_still_leaves_one_comment(github):
    publisher(github).publish(publication(FAILING))
    github.fail("PATCH", r"/issues/comments/\d+", 502, times=2)
    github.fail("GET", r"comments$", 503)
    outcome = publisher(github).publish(publication(PASSING))
    assert outcome.ok and len(github.comments_on(7)) == 1
    assert headline(PASSING) in github.comments_on(7)[0]["body"]


def zoo(n: int, padding: int = 0):
    return make_run(
        *[
            make_model(
                f"zoo-model-{i:03d}",
                ("size", "fail", "size is over budget" + "x" * padding, 9),
                ("gzip_size", "warn", "gzip size is over the warning" + "y" * padding, 10),
            )
            for i in range(n)
        ]
    )


def test_a_large_report_folds_its_details_and_keeps_every_model(github):
    run = zoo(150)
    assert len(render_markdown(run)) > COMMENT_LIMIT
    body = comment_body(publication(run))
    assert len(body) <= COMMENT_LIMIT and body.startswith(MARKER) and body.splitlines()[1] == headline(run)
    assert all(f"zoo-model-{i:03d}" in body for i in range(150)) and "<details>" not in body
    assert f"]({RUN_URL})" in body
    outcome = publisher(github).publish(publication(run))
    assert outcome.ok, outcome.message  # the fake answers 422 above 65,536 characters, like GitHub


def test_a_huge_report_is_cut_under_the_limit_with_a_link(github):
    run = zoo(400, padding=300)
    body = comment_body(publication(run))
    assert len(body) <= COMMENT_LIMIT and body.splitlines()[1] == headline(run) and RUN_URL in body
    assert publisher(github).publish(publication(run)).ok
    assert len(github.comments_on(7)[0]["body"]) <= COMMENT_LIMIT


def test_read_only_token_on_a_fork_explains_the_workflow_pair(github):
    pub = Publication(
        FAILING, results_path=__import__("pathlib").Path("/tmp/edgegate/results.json"), details_url=RUN_URL
    )
    outcome = publisher(github, token=READ_TOKEN, number=23, fork=True).publish(pub)
    assert not outcome.ok and outcome.url is None
    assert "from a fork" in outcome.message and "Resource not accessible by integration" in outcome.message
    assert "edgegate publish /tmp/edgegate/results.json --pr 23" in outcome.message
    same_repo = publisher(github, token=READ_TOKEN).publish(publication(FAILING))
    assert "permissions: pull-requests: write" in same_repo.message
    assert github.comments_on(7) == [] and github.comments_on(23) == []


@pytest.mark.parametrize(
    "token, number, expected", [("ghs_revoked", 7, "refused the token"), (WRITE_TOKEN, 7, None)]
)
def test_other_refusals_are_explained(github, token, number, expected):
    if expected is None:  # an unknown repository answers 404
        client = GitHubClient(github.url, token, sleep=lambda s: None, log=lambda m: None)
        outcome = PrCommentPublisher(client, "octo-org/gone", number, CommentMode.STICKY).publish(
            publication(FAILING)
        )
        assert not outcome.ok and "404" in outcome.message and "cannot see it" in outcome.message
    else:
        outcome = publisher(github, token=token).publish(publication(FAILING))
        assert not outcome.ok and expected in outcome.message


def test_annotations_point_at_policy_lines_and_escape():
    run = make_run(
        make_model(
            "detector",
            ("size", "fail", "size 12 KB is over budget.\nSecond line: 100%", 9),
            ("gzip_size", "warn", "gzip, slightly big", 10),
            ("latency", "pass", "fine", 11),
        ),
        make_model("broken", error="models/broken.keras: not a readable keras model file"),
        policy="config/edge,gate:v1.yml",
    )
    found = run_annotations(run)
    assert [a.level for a in found] == ["error", "error", "warning"]
    stream = io.StringIO()
    outcome = AnnotationsPublisher(stream).publish(publication(run))
    assert outcome.message == "2 error and 1 warning annotation(s)"
    lines = stream.getvalue().splitlines()
    assert lines[0] == (
        "::error file=config/edge%2Cgate%3Av1.yml,line=9,title=EdgeGate · detector · size::"
        "detector · int8: size 12 KB is over budget.%0ASecond line: 100%25"
    )
    assert lines[1] == (
        "::error file=models/broken.tflite,title=EdgeGate · broken%3A could not be gated::"
        "models/broken.keras: not a readable keras model file"
    )
    assert lines[2].startswith("::warning file=config/edge%2Cgate%3Av1.yml,line=10,")
    assert escape_property("a\r\nb%,c:d") == "a%0D%0Ab%25%2Cc%3Ad"


def test_only_the_shipping_candidate_is_annotated_when_one_ships():
    from dataclasses import replace

    from edgegate.results import CandidateResult
    from edgegate.checks import Check
    from edgegate.status import Status

    model = make_model("detector", ("size", "pass", "ok", 9))
    loser = CandidateResult(
        "float16", "float16", Status.FAIL, checks=(Check("size", Status.FAIL, "too big", line=9),)
    )
    run = make_run(replace(model, candidates=model.candidates + (loser,)))
    assert run_annotations(run) == []
    no_ship = make_run(
        replace(
            model,
            deploy=None,
            candidates=(replace(model.candidates[0], deploy=False), loser),
            status=Status.FAIL,
        )
    )
    assert [a.message for a in run_annotations(no_ship)] == ["detector · float16: too big"]
    assert Annotation("error", "m", "t").command() == "::error title=t::m"


def test_step_outputs_use_the_multiline_delimiter_syntax(tmp_path):
    path = tmp_path / "output"
    path.write_text("earlier=1\n")
    pub = Publication(FAILING, tmp_path / "results.json", tmp_path / "report.md")
    StepOutputsPublisher(path, {"comment-url": "https://x/1\nsneaky=injected"}).publish(pub)
    text = path.read_text()
    assert text.startswith("earlier=1\n")
    block = re.compile(r"^([\w-]+)<<(ghadelimiter_[0-9a-f-]+)\n(.*?)\n\2\n", re.MULTILINE | re.DOTALL)
    parsed = {name: value for name, _, value in block.findall(text)}
    assert parsed == {
        "status": "fail",
        "results-json": str(tmp_path / "results.json"),
        "report-markdown": str(tmp_path / "report.md"),
        "comment-url": "https://x/1\nsneaky=injected",
    }
    assert block.sub("", text) == "earlier=1\n"  # nothing outside the blocks: the newline set no output
    with pytest.raises(ValueError):
        format_output("bad\nname", "x")
    assert StepOutputsPublisher(None).publish(pub).message.startswith("no step outputs")


def test_job_summary_appends_report_and_notes(tmp_path):
    path = tmp_path / "summary.md"
    path.write_text("# earlier step\n")
    outcome = JobSummaryPublisher(path, notes=("no comment posted on PR #23: fork",)).publish(
        publication(FAILING)
    )
    text = path.read_text()
    assert outcome.ok and text.startswith(f"# earlier step\n{headline(FAILING)}\n")
    # Notes quote GitHub's answers and paths: escaped like the report, so even "#23" is no link.
    assert text.rstrip().endswith("> no comment posted on PR #\u206023: fork")
    assert JobSummaryPublisher(None).publish(publication(FAILING)).message.startswith("no job summary")


def test_could_not_run_body_fences_the_message_longer_than_its_backticks():
    from edgegate.publishers.pr_comment import MARKER, could_not_run_body

    body = could_not_run_body("policy: ```` closes? ## ✅ fake @someone", "a" * 40, None)
    assert body.startswith(MARKER) and "`````text\n" in body  # 5 > the 4 in the message
    fenced = body.split("`````text\n", 1)[1].split("\n`````", 1)[0]
    assert fenced == "policy: ```` closes? ## ✅ fake @someone"


def test_only_the_tokens_own_account_is_adopted_whoever_else_posts_the_marker(github):
    # A person's PAT: GET /user names them; the Actions bot's marked comment is not theirs.
    github.add_comment(7, MARKER + "\nfrom the Actions token", author="github-actions[bot]")
    theirs = github.add_comment(7, MARKER + "\nold report", author=PAT_USER)
    outcome = publisher(github, token=PAT_TOKEN).publish(publication(PASSING))
    assert "updated" in outcome.message and github.calls("PATCH")[0].path.endswith(f"/{theirs['id']}")
    assert github.comments_on(7)[0]["body"] == MARKER + "\nfrom the Actions token"
    assert [r.path for r in github.calls("GET")][-1] == "/user"


def test_another_apps_bot_and_a_lookalike_login_are_not_adopted(github):
    github.add_comment(7, MARKER + "\nanother app", author="dependabot[bot]")
    # A person cannot register "github-actions[bot]"; a user-typed comment under it is still not ours.
    lookalike = github.add_comment(7, MARKER + "\nlookalike", author="github-actions")
    outcome = publisher(github).publish(publication(FAILING))
    assert outcome.ok and "posted" in outcome.message and not github.calls("PATCH")
    assert [c["body"] for c in github.comments_on(7)][:2] == [MARKER + "\nanother app", lookalike["body"]]
    assert github.comments_on(7)[2]["user"]["login"] == "github-actions[bot]"


def test_an_apps_installation_token_is_recognised_when_configured(github):
    github.tokens["ghs_appInstallation0123456789abcdefAB"] = "write"
    github.accounts["ghs_appInstallation0123456789abcdefAB"] = "edgegate-reports[bot]"
    ours = github.add_comment(7, MARKER + "\nearlier", author="edgegate-reports[bot]")
    client = GitHubClient(github.url, "ghs_appInstallation0123456789abcdefAB", sleep=lambda s: None)
    rule = AuthorRule.from_environment(
        GitHubEnvironment.from_env(
            {"GITHUB_ACTIONS": "true", "EDGEGATE_COMMENT_AUTHOR": "edgegate-reports[bot]"}
        )
    )
    outcome = PrCommentPublisher(client, REPO, 7, CommentMode.STICKY, author=rule).publish(
        publication(PASSING)
    )
    assert "updated" in outcome.message and github.calls("PATCH")[0].path.endswith(f"/{ours['id']}")
    assert not [r for r in github.requests if r.path == "/user"]  # configured: nothing to ask


def test_an_unknown_account_adopts_nothing_and_says_why(github):
    # An installation token off a runner: GET /user refuses it and nothing says whose it is.
    github.add_comment(7, MARKER + "\nearlier", author="github-actions[bot]")
    outcome = publisher(github, actions=False).publish(publication(PASSING))
    assert outcome.ok and not github.calls("PATCH") and len(github.comments_on(7)) == 2
    assert "a new one: the token's account is unknown" in outcome.message
    assert "EDGEGATE_COMMENT_AUTHOR" in outcome.message


def test_two_jobs_with_different_comment_headers_keep_two_sticky_comments(github):
    from edgegate.errors import UsageError
    from edgegate.publishers.pr_comment import marker

    def job(header):
        client = GitHubClient(
            github.url, WRITE_TOKEN, retry=RetryPolicy(), sleep=lambda s: None, log=lambda m: None
        )
        return PrCommentPublisher(
            client, REPO, 7, CommentMode.STICKY, author=AuthorRule(actions=True), header=header
        )

    mobile = job("mobile").publish(publication(FAILING))
    mcu = job("mcu").publish(publication(PASSING))
    again = job("mobile").publish(publication(PASSING))
    assert mobile.ok and mcu.ok and again.ok and mobile.url != mcu.url and again.url == mobile.url
    bodies = [c["body"] for c in github.comments_on(7)]
    assert [b.splitlines()[0] for b in bodies] == [marker("mobile"), marker("mcu")]
    # The default job's marker is neither of them: it posts its own.
    assert job("").publish(publication(PASSING)).url not in (mobile.url, mcu.url)
    with pytest.raises(UsageError, match="comment header"):
        marker("bad\n<!--")
