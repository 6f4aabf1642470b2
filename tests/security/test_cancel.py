"""Cancelling ``edgegate check`` (SIGTERM from a cancelled job or an outer timeout, SIGINT from
Ctrl-C) while a model that loops forever is being analysed: every process it started ends, its
temp folders go, and it exits with 128 + the signal and one line (issue 22, item 5).

The model is a real ``.tflite`` whose WHILE condition is always true; the run is the real
command line on a real pull request, started as a session of its own so that whatever it
started can be found in ``/proc``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.workers import procs

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CHECKOUT = Path(__file__).resolve().parents[2]
BOUND_S = 600  # waits are bounded against a hang, never a speed requirement
SPINNING_TICKS = 300  # 3 s of CPU: more than any start-up, so the model's loop is running


def endless_tflite() -> bytes:
    """A real model whose WHILE loop never ends: ``i`` only grows and must stay above -1."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    class Endless(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1], tf.float32)])
        def __call__(self, x):
            _, y = tf.while_loop(lambda i, y: i > -1.0, lambda i, y: (i + 1.0, y + x), [tf.constant(0.0), x])
            return y

    m = Endless()
    return tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m).convert()


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.mark.parametrize(
    "signum, gate, spinner",
    [
        # TFLite Micro's child of a worker runs the model's one inference: a grandchild spins.
        (signal.SIGTERM, "targets: {mcu: {}}", "tflm_child.py"),
        # The latency job invokes it in the worker itself.
        (signal.SIGINT, "budgets: {latency: 10ms}", "edgegate.workers.child"),
    ],
    ids=["SIGTERM-tflm-grandchild", "SIGINT-worker"],
)
def test_a_cancelled_check_leaves_no_process_and_no_temp_folder(tmp_path, monkeypatch, signum, gate, spinner):
    for name, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "t@t")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    root, temp = tmp_path / "repo", tmp_path / "tmp"
    (root / "models").mkdir(parents=True)
    temp.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("project\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feature")
    (root / "models/endless.tflite").write_bytes(endless_tflite())
    (root / "edgegate.yml").write_text(
        textwrap.dedent(
            f"""\
            version: 1
            models:
              - name: endless
                path: models/endless.tflite
                {gate}
            """
        )
    )
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a model that never ends")

    env = {**os.environ, "PYTHONPATH": str(CHECKOUT), "TMPDIR": str(temp), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgegate", "check", "--base", "main", "--quiet"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a session of its own: what it starts is found by session too
    )
    started: dict[int, int] = {}
    try:

        def spinning() -> bool:
            started.update(procs.tree(proc.pid))
            return any(
                spinner in procs.cmdline(p) and (s := procs.stat(p)) is not None and s[3] >= SPINNING_TICKS
                for p in started
            )

        procs.wait_until(spinning, BOUND_S, f"a process running {spinner} busy in the model's loop")
        assert proc.poll() is None
        os.kill(proc.pid, signum)
        try:
            out, err = proc.communicate(timeout=BOUND_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError("edgegate did not end after the signal") from None
        assert proc.returncode == 128 + signum, (proc.returncode, out, err)
        name = signal.Signals(signum).name
        assert err.strip().splitlines() == [
            f"edgegate: cancelled by {name}: stopped every process it started, removed its temp folders"
        ], err
        assert "Traceback" not in out + err
        # Its children were killed (not asked) before it exited: a moment for the kernel to end
        # them. Left alone, they would spin on until their own time limits (minutes).
        procs.wait_until(
            lambda: not procs.alive(started) and not procs.in_session(proc.pid),
            10,
            lambda: (
                f"every process edgegate started ends (left: {[procs.cmdline(p) for p in procs.alive(started)]})"
            ),
        )
        assert sorted(os.listdir(temp)) == []  # edgegate-worker-*, edgegate-* (candidates), exports
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        procs.kill_all(started)
