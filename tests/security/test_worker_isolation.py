"""Workers start without the parent's secrets, in private folders, and whatever text they send
back reaches the parent scrubbed of secret values. Real spawned workers, real TensorFlow errors."""

import base64
import os
from pathlib import Path

import pytest

from edgegate.workers.interface import Task
from edgegate.workers.pool import WorkerPool

M = "tests.security.worker_tasks"
TESTS = (Path(__file__).resolve().parents[2],)  # where the tasks live: workers import them from there
TOKEN = "ghs_" + "Zq8xVt3LmN0pRa7sKe2wYb5c"
AWS = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SECRETS = {
    "GITHUB_TOKEN": TOKEN,
    "ACTIONS_RUNTIME_TOKEN": "eyJhbGciOiJSUzI1NiJ9.runtime.token",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "id-token-request-0123456789",
    "AWS_SECRET_ACCESS_KEY": AWS,
    "TF_API_TOKEN": "tf-prefix-does-not-let-this-through",
}


@pytest.fixture
def secret_env(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RUNNER_TEMP", "/home/runner/work/_temp")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def run(tasks, tmp_path):
    outcomes = {}

    def on_outcome(o):
        outcomes[o.task.key] = o

    with WorkerPool(1, tmp_path / "logs", import_paths=TESTS) as pool:
        pool.run(tasks, on_outcome)
    return outcomes


def test_a_worker_has_no_secrets_and_a_private_cwd_and_home(secret_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the repository, as far as the parent is concerned
    out = run([Task("env", f"{M}:environment", (), "env")], tmp_path)["env"]
    assert out.ok, out.error
    env, cwd, raw = out.value
    for name, value in SECRETS.items():
        assert name not in env
        assert value.encode() not in raw  # not even in the environment the process was exec'd with
    assert "RUNNER_TEMP" not in env and env["OMP_NUM_THREADS"] == "1" and "PATH" in env
    assert not cwd.startswith(str(tmp_path)) and os.path.basename(cwd) == "work"
    assert os.path.dirname(env["HOME"]) == os.path.dirname(cwd) == os.path.dirname(env["TMPDIR"])
    assert not os.path.exists(os.path.dirname(cwd))  # removed with the pool
    assert os.environ["GITHUB_TOKEN"] == TOKEN  # the parent keeps its own environment


def test_secret_values_in_errors_notes_and_log_tails_reach_the_parent_scrubbed(secret_env, tmp_path):
    header = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()  # git's basic auth
    tasks = [
        Task("raise", f"{M}:raise_with", (f"token={TOKEN} header=basic {header}",), "raise"),
        Task("tf", f"{M}:tf_assert", (AWS,), "tf"),
        Task("note", f"{M}:candidate_noting", (TOKEN,), "note"),
        Task("crash", f"{M}:print_then_crash", (f"aws={AWS}",), "crash"),
    ]
    out = run(tasks, tmp_path)

    texts = [out["raise"].error, out["tf"].error, out["crash"].error, repr(out["note"].value)]
    assert "InvalidArgumentError" in out["tf"].error and "crashed (SIGSEGV)" in out["crash"].error
    for text in texts:
        assert TOKEN not in text and AWS not in text and header[8:40] not in text, text
        assert "***" in text
    note = out["note"].value
    assert note.notes == ("note ***",) and note.error == "failed: ***" and str(note.path) == "/tmp/***.tflite"
