"""The bounds every target's child process runs under (targets/child_process.py), on real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from edgegate.targets.child_process import child_env, death, run_child

MiB = 1 << 20


def _run(tmp_path: Path, code: str, **bounds) -> tuple[int | None, str, str]:
    done = run_child([sys.executable, "-I", "-c", code], cwd=tmp_path, env=child_env(tmp_path), **bounds)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_an_allocation_past_the_memory_limit_fails_inside_the_child(tmp_path):
    grab = "b = bytearray(512 << 20); b[::4096] = b'x' * len(b[::4096]); print(len(b))"
    assert _run(tmp_path, grab, timeout_s=120) == (0, f"{512 * MiB}\n", "")
    code, _, err = _run(tmp_path, grab, timeout_s=120, memory_bytes=256 * MiB)
    assert code == 1 and "MemoryError" in err


def test_the_limit_holds_from_the_childs_first_instruction_and_never_loosens_an_inherited_one(tmp_path):
    show = "import resource as r; print(r.getrlimit(r.RLIMIT_DATA))"
    assert _run(tmp_path, show, timeout_s=120, memory_bytes=256 * MiB)[1] == f"({256 * MiB}, {256 * MiB})\n"
    # A parent already held to 128 MiB (soft) asks for 256 MiB: its child gets 128 MiB.
    parent = (
        "import resource as r, sys; from pathlib import Path; "
        f"r.setrlimit(r.RLIMIT_DATA, ({128 * MiB}, r.RLIM_INFINITY)); "
        "from edgegate.targets.child_process import child_env, run_child; "
        f"done = run_child([sys.executable, '-I', '-c', {show!r}], cwd=Path('.'), env=child_env(Path('.')), "
        f"timeout_s=120, memory_bytes={256 * MiB}); print(done.stdout.decode(), end='')"
    )
    out = subprocess.run(
        [sys.executable, "-c", parent], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert out == f"({128 * MiB}, {128 * MiB})\n"


def test_a_timeout_ends_the_child_and_everything_it_started(tmp_path):
    pid_file = tmp_path / "grandchild"
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(600)"
    )
    # Long enough for two interpreters to start on a loaded machine: the grandchild must exist.
    returncode, _, _ = _run(tmp_path, code, timeout_s=8)
    assert returncode is None  # stopped at its time limit
    grandchild = int(pid_file.read_text())
    # SIGKILL is delivered when the kernel next schedules the process: wait (bounded) for it to
    # die rather than read its state at one instant; a survivor keeps sleeping ('S') for 600 s.
    state = _state(grandchild)
    for _ in range(300):
        if state in ("gone", "Z"):
            break
        time.sleep(0.1)
        state = _state(grandchild)
    assert state in ("gone", "Z"), state  # killed with its group (a zombie until init reaps it)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except FileNotFoundError:
        return "gone"


def test_the_child_sees_only_the_allow_listed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    _, out, _ = _run(tmp_path, "import os; print(sorted(os.environ))", timeout_s=120)
    assert "GITHUB_TOKEN" not in out and "ghs_secret" not in out


def test_death_names_the_signal():
    assert (death(-11), death(-9), death(1)) == ("SIGSEGV", "SIGKILL", "exit status 1")
