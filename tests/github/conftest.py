"""Fixtures for the GitHub integration: a local server that answers like GitHub's REST API,
realistic event payloads, real git repositories and tiny real .tflite models.

``FakeGitHub`` runs ``http.server`` on 127.0.0.1 in a thread and keeps issue comments in
memory. It implements the endpoints EdgeGate uses (list with ``per_page``/``page`` and
``Link`` headers, create, update; get a pull request), checks the token like GitHub (401
unknown token, 403 "Resource not accessible by integration" for a read-only one, 404 unknown
repository, 422 body too long), and can be scripted to answer the next matching requests with
any status and headers (5xx, 429, rate limits), optionally after applying the request.

Each token acts as an account, as on GitHub: the installation tokens (``WRITE_TOKEN``,
``READ_TOKEN``, like the Actions ``GITHUB_TOKEN``) post as ``github-actions[bot]`` and get 403
from ``GET /user``; ``PAT_TOKEN``, a person's personal access token, posts as ``PAT_USER``,
and ``GET /user`` names them.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest


EVENTS = Path(__file__).parent / "events"
WRITE_TOKEN = "ghs_writeToken0123456789abcdefABCDEF"
READ_TOKEN = "ghs_readOnlyToken0123456789abcdefABC"
PAT_TOKEN = "ghp_personalToken0123456789abcdefABCDEF"
REPO = "octo-org/vision-models"
BOT = "github-actions[bot]"
PAT_USER = "release-captain"


@dataclass
class Recorded:
    method: str
    path: str  # without the API prefix and query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: dict | None


@dataclass
class Scripted:
    method: str
    path: re.Pattern
    status: int
    body: dict | str
    headers: dict[str, str] = field(default_factory=dict)
    apply: bool = False  # perform the request, then answer with this status anyway
    times: int = 1


class FakeGitHub:
    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.repos = {REPO}
        self.tokens = {WRITE_TOKEN: "write", READ_TOKEN: "read", PAT_TOKEN: "write"}
        self.accounts = {WRITE_TOKEN: BOT, READ_TOKEN: BOT, PAT_TOKEN: PAT_USER}  # who each token is
        self.comments: dict[tuple[str, int], list[dict]] = {}
        self.pulls: dict[tuple[str, int], dict] = {}
        self.requests: list[Recorded] = []
        self.script: list[Scripted] = []
        self._next_id = 1000
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def start(self) -> FakeGitHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- test helpers ---------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        body: dict | str | None = None,
        headers: dict[str, str] | None = None,
        *,
        apply: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and the ``path`` regex with ``status``."""
        self.script.append(
            Scripted(
                method,
                re.compile(path),
                status,
                body if body is not None else {"message": "Server Error"},
                headers or {},
                apply,
                times,
            )
        )

    def add_comment(self, number: int, body: str, author: str = "octocat", repo: str = REPO) -> dict:
        with self._lock:
            return self._create(repo, number, body, author)

    def comments_on(self, number: int, repo: str = REPO) -> list[dict]:
        return list(self.comments.get((repo, number), []))

    def add_pull(self, number: int, head_sha: str, head_repo: str = REPO, repo: str = REPO) -> None:
        self.pulls[(repo, number)] = {
            "number": number,
            "state": "open",
            "head": {"sha": head_sha, "ref": "feature", "repo": {"full_name": head_repo}},
        }

    def calls(self, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if method is None or r.method == method]

    # --- the API --------------------------------------------------------------------------------

    def _create(self, repo: str, number: int, body: str, author: str) -> dict:
        self._next_id += 1
        cid = self._next_id
        comment = {
            "id": cid,
            "node_id": f"IC_kwDO{cid}",
            "body": body,
            "user": {"login": author, "type": "Bot" if author.endswith("[bot]") else "User"},
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"https://api.github.com/repos/{repo}/issues/{number}",
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
            "author_association": "NONE",
        }
        self.comments.setdefault((repo, number), []).append(comment)
        return comment

    def _find(self, repo: str, cid: int) -> dict | None:
        for (r, _), comments in self.comments.items():
            for c in comments:
                if r == repo and c["id"] == cid:
                    return c
        return None

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: dict | None, host: str):
        parts = urlsplit(raw_path)
        path = parts.path[len(self.prefix) :] if parts.path.startswith(self.prefix) else "/<outside prefix>"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(Recorded(method, path, query, headers, body))
            scripted = next((s for s in self.script if s.method == method and s.path.search(path)), None)
            if scripted:
                scripted.times -= 1
                if scripted.times <= 0:
                    self.script.remove(scripted)
                if not scripted.apply:
                    return scripted.status, scripted.body, scripted.headers
            status, answer, extra = self._route(method, path, query, headers, body, host)
            if scripted:
                return scripted.status, scripted.body, scripted.headers
            return status, answer, extra

    def _route(self, method, path, query, headers, body, host):
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").removeprefix("token ") if auth else None
        access = self.tokens.get(token) if token else "anonymous"
        if access is None:
            return (
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                {},
            )
        if path == "/user" and method == "GET":
            account = self.accounts.get(token or "")
            if account is None:
                return 401, {"message": "Requires authentication"}, {}
            if account.endswith("[bot]"):  # installation tokens are not a user
                return (
                    403,
                    {
                        "message": "Resource not accessible by integration",
                        "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
                        "status": "403",
                    },
                    {},
                )
            return 200, {"login": account, "id": 583231, "type": "User"}, {}
        by_id = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)
        m = by_id or re.fullmatch(r"/repos/([^/]+/[^/]+)/(issues|pulls)/(\d+)(/comments)?", path)
        if not m or m.group(1) not in self.repos:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
        repo = m.group(1)
        writing = method in ("POST", "PATCH", "DELETE")
        if writing and access == "anonymous":
            return 401, {"message": "Requires authentication"}, {}
        if writing and access == "read":
            return (
                403,
                {
                    "message": "Resource not accessible by integration",
                    "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
                    "status": "403",
                },
                {},
            )
        if writing and len((body or {}).get("body", "")) > 65536:
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "IssueComment",
                            "code": "custom",
                            "field": "body",
                            "message": "body is too long (maximum is 65536 characters)",
                        }
                    ],
                },
                {},
            )
        if by_id:
            comment = self._find(repo, int(by_id.group(2)))
            if comment is None or method != "PATCH":
                return 404, {"message": "Not Found"}, {}
            comment["body"] = body["body"]
            comment["updated_at"] = "2025-01-02T00:00:00Z"
            return 200, comment, {}
        kind, number, comments = m.group(2), int(m.group(3)), m.group(4)
        if kind == "pulls" and not comments and method == "GET":
            pull = self.pulls.get((repo, number))
            return (200, pull, {}) if pull else (404, {"message": "Not Found"}, {})
        if kind == "issues" and comments and method == "GET":
            items = self.comments.get((repo, number), [])
            per_page = min(int(query.get("per_page", 30)), 100)
            page = int(query.get("page", 1))
            pages = max(1, -(-len(items) // per_page))
            extra = {}
            if page < pages:
                base = f"http://{host}{self.prefix}{path}?per_page={per_page}"
                extra["Link"] = f'<{base}&page={page + 1}>; rel="next", <{base}&page={pages}>; rel="last"'
            return 200, items[(page - 1) * per_page : page * per_page], extra
        if kind == "issues" and comments and method == "POST":
            return 201, self._create(repo, number, body["body"], self.accounts.get(token or "", BOT)), {}
        return 404, {"message": "Not Found"}, {}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer, extra = fake.handle(
                    self.command, self.path, headers, body, self.headers["Host"]
                )
                data = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-ratelimit-limit", "1000")
                if "x-ratelimit-remaining" not in {k.lower() for k in extra}:
                    self.send_header("x-ratelimit-remaining", "999")
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

            def log_message(self, *args):  # keep test output clean
                pass

        return Handler


@pytest.fixture
def github():
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


def actions_env(github: FakeGitHub, tmp: Path, event: dict) -> dict[str, str]:
    """What the runner gives a ``pull_request`` job's step: the event written to ``tmp``, an
    empty job summary there, the stand-in API and a write token."""
    (tmp / "event.json").write_text(json.dumps(event))
    (tmp / "summary.md").write_text("")
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": github.url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(tmp / "event.json"),
        "GITHUB_RUN_ID": "4242",
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "RUNNER_TEMP": str(tmp / "temp"),
        "GITHUB_TOKEN": WRITE_TOKEN,
    }


def load_event(name: str, **replace: str) -> dict:
    """A payload from tests/github/events with nested keys replaced: ``pull_request__base__sha=...``."""
    data = json.loads((EVENTS / f"{name}.json").read_text())
    for dotted, value in replace.items():
        target = data
        *parents, last = dotted.split("__")
        for p in parents:
            target = target[p]
        target[last] = value
    return data


# --- real git repositories and models ---------------------------------------------------------


@pytest.fixture(scope="session")
def tflite_models() -> dict[str, bytes]:
    """Two real .tflite models, one dense layer each: ``small`` (~1 KB) and ``big`` (~14 KB)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    def convert(units: int) -> bytes:
        class Dense(tf.Module):
            def __init__(self):
                self.w = tf.Variable(tf.random.stateless_normal([8, units], seed=[1, 2]))

            @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
            def __call__(self, x):
                return tf.matmul(x, self.w)

        m = Dense()
        return tf.lite.TFLiteConverter.from_concrete_functions(
            [m.__call__.get_concrete_function()], m
        ).convert()

    return {"small": convert(4), "big": convert(400)}


# --- results --------------------------------------------------------------------------------------


def make_run(
    *models,
    policy: str = "edgegate.yml",
    shard: str | None = None,
    head_sha: str = "c" * 40,
    base_sha: str = "b" * 40,
):
    """A ``RunResult`` holding ``models`` (see ``make_model``), as the pipeline would write it."""
    from edgegate.results import GitRef, RunResult

    run = RunResult(
        RunResult.status_of(models),
        GitRef("main", base_sha),
        GitRef("feature", head_sha),
        (),
        policy,
        {"edgegate": "0.1.0"},
        1.5,
        shard,
    )
    return run.with_models(models)


def make_model(name: str, *checks, path: str | None = None, error: str | None = None, deploy: bool = True):
    """A model with one ``int8`` candidate judged by ``checks`` (``(name, status, message, line)`` tuples)."""
    from edgegate.results import CandidateResult, ModelResult
    from edgegate.checks import Check
    from edgegate.status import Status

    built = tuple(
        Check(n, Status(s), msg, "≤ 10 KB", "12 KB", f"models[0].budgets.{n}", line)
        for n, s, msg, line in checks
    )
    status = Status.worst(c.status for c in built)
    if error:
        return ModelResult(name, path or f"models/{name}.tflite", Status.ERROR, error=error)
    cand = CandidateResult(
        "int8", "int8", status, 12_000, 10_000, 1.5, checks=built, deploy=deploy and not status.fails
    )
    return ModelResult(
        name,
        path or f"models/{name}.tflite",
        status,
        candidates=(cand,),
        deploy="int8" if cand.deploy else None,
    )
