"""The worker pool runs tasks in real spawned processes and survives their crashes."""

from pathlib import Path

from edgegate.workers.interface import Task
from edgegate.workers.pool import WorkerPool

M = "tests.workers.crashers"
TESTS = (Path(__file__).resolve().parents[2],)  # where the tasks live: workers import them from there


def _run(pool, tasks, follow=None):
    outcomes = {}

    def on_outcome(o):
        outcomes[o.task.key] = o
        return follow(o) if follow else None

    pool.run(tasks, on_outcome)
    return outcomes


def test_crash_fails_only_its_task(tmp_path):
    tasks = [
        Task("a", f"{M}:square", (3,), "a"),
        Task("crash", f"{M}:segfault", (), "crash"),
        Task("killed", f"{M}:oom_killed", (), "killed"),
        Task("b", f"{M}:square", (4,), "b"),
        Task("err", f"{M}:raise_value_error", ("bad input",), "err"),
    ]
    with WorkerPool(2, tmp_path, import_paths=TESTS) as pool:
        out = _run(pool, tasks)
    assert out["a"].value == 9 and out["b"].value == 16
    assert "crashed (SIGSEGV)" in out["crash"].error
    assert "ran out of memory" in out["killed"].error
    assert out["err"].error == "ValueError: bad input"


def test_follow_up_tasks_and_recycling(tmp_path):
    def follow(o):
        if o.task.key.startswith("p") and int(o.task.key[1:]) < 5:
            n = int(o.task.key[1:]) + 1
            return [Task(f"p{n}", f"{M}:pid", (), "pid")]
        return None

    with WorkerPool(1, tmp_path, max_tasks=2, import_paths=TESTS) as pool:
        out = _run(pool, [Task("p0", f"{M}:pid", (), "pid")], follow)
    pids = [out[f"p{i}"].value for i in range(6)]
    assert len(set(pids)) == 3  # recycled every two tasks


def test_timeout_kills_the_task(tmp_path):
    with WorkerPool(1, tmp_path, import_paths=TESTS) as pool:
        out = _run(
            pool,
            [
                Task("slow", f"{M}:sleep", (30,), "slow", timeout_s=1),
                Task("after", f"{M}:square", (5,), "after"),
            ],
        )
    assert out["slow"].error == "timed out after 1 s"
    assert out["after"].value == 25


def test_exclusive_task_runs_alone(tmp_path):
    import time

    with WorkerPool(2, tmp_path, import_paths=TESTS) as pool:
        spans = {}

        def on_start(t):
            spans[t.key] = [time.monotonic(), None]

        def on_outcome(o):
            spans[o.task.key][1] = time.monotonic()

        pool.run(
            [
                Task("s1", f"{M}:sleep", (0.3,), "s"),
                Task("x", f"{M}:sleep", (0.3,), "x", exclusive=True),
                Task("s2", f"{M}:sleep", (0.3,), "s"),
            ],
            on_outcome,
            on_start,
        )
    x0, x1 = spans["x"]
    for k in ("s1", "s2"):
        a, b = spans[k]
        assert b <= x0 or a >= x1, "a task overlapped the exclusive one"


def test_workers_do_not_rerun_an_unguarded_main_script(tmp_path):
    """A script without `if __name__ == "__main__"` must not run again inside each worker."""
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[2])
    marker = tmp_path / "runs.txt"
    script = tmp_path / "script.py"
    script.write_text(
        "from pathlib import Path\n"
        f"with open({str(marker)!r}, 'a') as f: f.write('run\\n')\n"
        "from edgegate.workers.pool import WorkerPool\n"
        "from edgegate.workers.interface import Task\n"
        "out = []\n"
        f"with WorkerPool(2, Path({str(tmp_path / 'logs')!r}), import_paths=(Path({root!r}),)) as pool:\n"
        "    pool.run([Task(str(i), 'tests.workers.crashers:square', (i,), 'sq') for i in range(4)],\n"
        "             lambda o: out.append(o.value))\n"
        "print(sorted(out))\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**__import__("os").environ, "PYTHONPATH": root},
    )
    assert proc.stdout.strip() == "[0, 1, 4, 9]", proc.stderr
    assert marker.read_text() == "run\n"
