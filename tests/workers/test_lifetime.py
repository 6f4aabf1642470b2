"""No process EdgeGate starts outlives the process that started it, even one killed with
SIGKILL (no handler runs then): the kernel's parent-death signal ends workers and their children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.workers import procs

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG, /proc")

CHECKOUT = Path(__file__).resolve().parents[2]
BOUND_S = 60  # against a hang, never a speed requirement

# A worker of a real pool busy in a task of ten minutes; its parent then waits to be killed.
POOL = """
import sys, time
from pathlib import Path
from edgegate.workers.interface import Task
from edgegate.workers.pool import WorkerPool
with WorkerPool(1, Path(sys.argv[1]), import_paths=(Path.cwd(),)) as pool:  # the checkout: tests.workers
    pool.run([Task("long", "tests.workers.crashers:sleep", (600,), "long")], lambda o: None)
"""
# What a worker does to start TFLite Micro's child, Vela, the compiler: Popen with child_options().
POPEN = """
import subprocess, sys, time
from edgegate.workers.lifetime import child_options
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], **child_options())
time.sleep(600)
"""


@pytest.mark.parametrize(
    "script, child", [(POOL, "edgegate.workers.child"), (POPEN, "time.sleep(600)")], ids=["worker", "popen"]
)
def test_a_child_ends_when_its_parent_is_killed(tmp_path, script, child):
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT), "PYTHONDONTWRITEBYTECODE": "1"}
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), str(tmp_path)],
        cwd=CHECKOUT,
        env=env,
        start_new_session=True,
    )
    below: dict[int, int] = {}
    try:

        def started() -> bool:
            below.update(procs.tree(parent.pid))
            return any(child in procs.cmdline(p) for p in below)

        procs.wait_until(started, BOUND_S, f"the parent started its child ({child})")
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        procs.wait_until(
            lambda: not procs.alive(below),
            BOUND_S,
            lambda: (
                f"the child ends with its parent (left: {[procs.cmdline(p) for p in procs.alive(below)]})"
            ),
        )
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        procs.kill_all(below)
