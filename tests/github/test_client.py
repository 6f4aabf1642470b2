"""The REST client against a local server that answers like GitHub: headers, pagination,
retries and rate-limit waits (recorded, not slept), errors, and the token never shown."""

from __future__ import annotations

import email.utils

import pytest

from edgegate import __version__
from edgegate.github.client import GitHubClient, RetryPolicy
from edgegate.github.interface import GitHubApiError
from tests.github.conftest import READ_TOKEN, REPO, WRITE_TOKEN, FakeGitHub

NOW = 1_750_000_000.0
COMMENTS = f"/repos/{REPO}/issues/5/comments"


class Clock:
    """Records the waits instead of sleeping; time moves only when the client waits."""

    def __init__(self):
        self.now = NOW
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def client_for(github: FakeGitHub, clock: Clock, token: str | None = WRITE_TOKEN, log=None, **retry):
    return GitHubClient(
        github.url,
        token,
        retry=RetryPolicy(**retry),
        sleep=clock.sleep,
        clock=clock.time,
        log=log if log is not None else (lambda m: None),
    )


def test_requests_carry_auth_version_and_user_agent(github, clock):
    client = client_for(github, clock)
    created = client.create_issue_comment(REPO, 5, "hello")
    assert created.author == "github-actions[bot]" and created.body == "hello"
    assert created.html_url.endswith(f"#issuecomment-{created.id}")
    (call,) = github.calls()
    assert (call.method, call.path, call.body) == ("POST", COMMENTS, {"body": "hello"})
    assert call.headers["authorization"] == f"Bearer {WRITE_TOKEN}"
    assert call.headers["accept"] == "application/vnd.github+json"
    assert call.headers["x-github-api-version"] == "2022-11-28"
    assert call.headers["user-agent"] == f"edgegate/{__version__}"
    updated = client.update_issue_comment(REPO, created.id, "edited")
    assert updated.id == created.id and github.comments_on(5)[0]["body"] == "edited"
    assert github.calls("PATCH")[0].path == f"/repos/{REPO}/issues/comments/{created.id}"


def test_pagination_follows_link_headers_to_the_end(github, clock):
    for i in range(250):
        github.add_comment(5, f"comment {i}")
    bodies = [c.body for c in client_for(github, clock).list_issue_comments(REPO, 5)]
    assert bodies == [f"comment {i}" for i in range(250)]
    gets = github.calls("GET")
    assert [(r.path, r.query) for r in gets] == [
        (COMMENTS, {"per_page": "100"}),
        (COMMENTS, {"per_page": "100", "page": "2"}),
        (COMMENTS, {"per_page": "100", "page": "3"}),
    ]
    assert all(r.headers["authorization"] == f"Bearer {WRITE_TOKEN}" for r in gets)


def test_enterprise_server_api_prefix_is_kept_across_pages():
    github = FakeGitHub(prefix="/api/v3").start()
    try:
        for i in range(120):
            github.add_comment(5, f"c{i}")
        clock = Clock()
        assert len(list(client_for(github, clock).list_issue_comments(REPO, 5))) == 120
        assert [r.path for r in github.calls()] == [COMMENTS, COMMENTS]
    finally:
        github.stop()


def test_a_next_link_to_another_host_is_not_followed_with_the_token(github, clock):
    github.add_comment(5, "first page")
    github.fail(
        "GET",
        "comments$",
        200,
        [{"id": 1, "body": "x", "user": {"login": "a"}}],
        {"Link": '<https://evil.example.com/steal?page=2>; rel="next"'},
    )
    with pytest.raises(GitHubApiError, match="another host"):
        list(client_for(github, clock).list_issue_comments(REPO, 5))


def test_server_errors_are_retried_with_exponential_backoff(github, clock):
    github.fail("PATCH", r"/issues/comments/\d+", 502, {"message": "Server Error"}, times=2)
    github.fail("PATCH", r"/issues/comments/\d+", 503, "<html>unavailable</html>")
    comment = github.add_comment(5, "old", author="github-actions[bot]")
    logs: list[str] = []
    updated = client_for(github, clock, log=logs.append).update_issue_comment(REPO, comment["id"], "new")
    assert updated.body == "new" and len(github.calls("PATCH")) == 4
    assert clock.waits == [1, 2, 4]
    assert "502 Server Error; retrying in 1 s (attempt 2 of 5)" in logs[0]


def test_gives_up_after_the_last_attempt(github, clock):
    github.fail("GET", "comments$", 500, times=10)
    with pytest.raises(GitHubApiError) as e:
        list(client_for(github, clock, attempts=3).list_issue_comments(REPO, 5))
    assert e.value.status == 500 and e.value.server_error and len(github.calls()) == 3
    assert clock.waits == [1, 2]


def test_retry_after_is_honoured_in_seconds_and_as_a_date(github, clock):
    github.fail("GET", "comments$", 429, {"message": "Too many requests"}, {"Retry-After": "7"})
    date = email.utils.formatdate(NOW + 7 + 30, usegmt=True)
    github.fail(
        "GET",
        "comments$",
        403,
        {"message": "You have exceeded a secondary rate limit."},
        {"Retry-After": date},
    )
    assert list(client_for(github, clock).list_issue_comments(REPO, 5)) == []
    assert clock.waits[0] == 7 and 29 <= clock.waits[1] <= 31


def test_exhausted_primary_limit_waits_until_the_reset(github, clock):
    github.fail(
        "GET",
        "comments$",
        403,
        {"message": "API rate limit exceeded for installation ID 1."},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 42)},
    )
    assert list(client_for(github, clock).list_issue_comments(REPO, 5)) == []
    assert clock.waits == [43]


def test_secondary_rate_limit_without_headers_waits_a_minute_then_doubles(github, clock):
    message = {
        "message": "You have exceeded a secondary rate limit and have been temporarily blocked from "
        "content creation. Please retry your request again later.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    }
    github.fail("POST", "comments$", 403, message, times=2)
    client_for(github, clock).create_issue_comment(REPO, 5, "body")
    assert clock.waits == [60, 120] and len(github.comments_on(5)) == 1


def test_a_wait_longer_than_allowed_fails_at_once(github, clock):
    github.fail(
        "GET",
        "comments$",
        403,
        {"message": "API rate limit exceeded"},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 3000)},
    )
    with pytest.raises(GitHubApiError, match=r"asks to wait 3001 s; EdgeGate waits at most 300 s"):
        list(client_for(github, clock).list_issue_comments(REPO, 5))
    assert clock.waits == [] and len(github.calls()) == 1


@pytest.mark.parametrize(
    "status, body, check",
    [
        (404, {"message": "Not Found"}, lambda e: e.status == 404),
        (
            422,
            {"message": "Validation Failed", "errors": [{"code": "custom", "message": "body is too long"}]},
            lambda e: "Validation Failed: body is too long" in str(e),
        ),
        (403, {"message": "Must have admin rights to Repository."}, lambda e: not e.read_only),
    ],
)
def test_client_errors_are_not_retried(github, clock, status, body, check):
    github.fail("POST", "comments$", status, body)
    with pytest.raises(GitHubApiError) as e:
        client_for(github, clock).create_issue_comment(REPO, 5, "x")
    assert check(e.value) and e.value.status == status
    assert len(github.calls()) == 1 and clock.waits == []


def test_read_only_token_is_recognised(github, clock):
    with pytest.raises(GitHubApiError) as e:
        client_for(github, clock, token=READ_TOKEN).create_issue_comment(REPO, 5, "x")
    assert e.value.read_only and e.value.status == 403 and len(github.calls()) == 1
    assert f"POST {COMMENTS}: 403 Resource not accessible by integration" in str(e.value)


def test_a_post_that_succeeded_before_a_5xx_is_not_repeated(github, clock):
    github.fail("POST", "comments$", 502, {"message": "Server Error"}, apply=True)
    comment = client_for(github, clock).create_issue_comment(REPO, 5, "only once")
    assert [c["body"] for c in github.comments_on(5)] == ["only once"]
    assert comment.id == github.comments_on(5)[0]["id"]
    assert [r.method for r in github.calls()] == ["POST", "GET"]


def test_a_post_that_failed_with_a_5xx_is_repeated(github, clock):
    github.fail("POST", "comments$", 500)
    client_for(github, clock).create_issue_comment(REPO, 5, "second try")
    assert [c["body"] for c in github.comments_on(5)] == ["second try"]
    assert [r.method for r in github.calls()] == ["POST", "GET", "POST"] and clock.waits == [1]


def test_no_answer_is_an_error_without_the_token(clock):
    # A port nothing listens on: connection refused on every attempt.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logs: list[str] = []
    client = GitHubClient(
        f"http://127.0.0.1:{port}",
        WRITE_TOKEN,
        retry=RetryPolicy(attempts=2),
        sleep=clock.sleep,
        clock=clock.time,
        log=logs.append,
    )
    with pytest.raises(GitHubApiError) as e:
        client.get_pull_request(REPO, 5)
    assert e.value.status is None and e.value.server_error and "no answer from 127.0.0.1" in str(e.value)
    assert clock.waits == [1] and WRITE_TOKEN not in str(e.value) + "".join(logs)


def test_the_token_is_redacted_from_messages_and_logs(github, clock):
    leaky = {"message": f"Bad credentials for {WRITE_TOKEN}"}
    github.fail("GET", "comments$", 502, leaky)
    github.fail("GET", "comments$", 401, leaky)
    logs: list[str] = []
    with pytest.raises(GitHubApiError) as e:
        list(client_for(github, clock, log=logs.append).list_issue_comments(REPO, 5))
    text = str(e.value) + e.value.message + "\n".join(logs) + repr(e.value)
    assert WRITE_TOKEN not in text and "Bad credentials for ***" in str(e.value) and logs


def test_unknown_token_and_unknown_repository(github, clock):
    with pytest.raises(GitHubApiError) as e:
        list(client_for(github, clock, token="ghs_wrong").list_issue_comments(REPO, 5))
    assert e.value.status == 401 and "Bad credentials" in e.value.message
    with pytest.raises(GitHubApiError) as e:
        client_for(github, clock).get_pull_request("octo-org/nope", 5)
    assert e.value.status == 404


def test_get_pull_request(github, clock):
    github.add_pull(9, "a" * 40, head_repo="mallory-contrib/vision-models")
    pr = client_for(github, clock).get_pull_request(REPO, 9)
    assert (pr.number, pr.state, pr.head_sha, pr.head_repo) == (
        9,
        "open",
        "a" * 40,
        "mallory-contrib/vision-models",
    )


def test_malformed_answers_are_api_errors(github, clock):
    github.fail("GET", r"/pulls/9$", 200, {"number": 9})
    with pytest.raises(GitHubApiError, match="fields missing"):
        client_for(github, clock).get_pull_request(REPO, 9)
    github.fail("GET", "comments$", 200, "<html>captive portal</html>")
    with pytest.raises(GitHubApiError, match="not JSON"):
        list(client_for(github, clock).list_issue_comments(REPO, 5))
