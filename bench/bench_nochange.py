"""How long `edgegate check` takes when no model changed, and whether it imported TensorFlow.

Builds a throwaway git repository with a policy and a committed model, changes only an
unrelated file, then runs ``python -m edgegate check`` there in a fresh interpreter (so the
import cost counts) and prints the wall time, the exit code and whether ``tensorflow`` ended
up in ``sys.modules``. The target: well under a second, and no TensorFlow.

    python bench/bench_nochange.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

# Runs the CLI exactly as `python -m edgegate check` would, in-process, then reports.
PROBE = """
import json, runpy, sys, time
started = time.perf_counter()
sys.argv = ["edgegate", "check"]
code = 0
try:
    runpy.run_module("edgegate", run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
print("EDGEGATE-BENCH " + json.dumps({"in_process_s": time.perf_counter() - started, "exit": code,
                                      "tensorflow_imported": "tensorflow" in sys.modules}))
"""

POLICY = """version: 1
models:
  - name: digits
    path: models/digits.tflite
    budgets:
      size: {max: 1MB}
"""


def make_repo(path: Path, env: dict[str, str]) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (path / "models").mkdir()
    (path / "models/digits.tflite").write_bytes(os.urandom(4096))
    (path / "edgegate.yml").write_text(POLICY)
    (path / "README.md").write_text("bench\n")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "feature")
    (path / "README.md").write_text("an unrelated change\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgegate-bench-") as tmp:
        repo, home = Path(tmp) / "repo", Path(tmp) / "home"
        repo.mkdir()
        home.mkdir()
        env = {
            **os.environ,
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")])),
        }
        make_repo(repo, env)
        walls = []
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", PROBE], cwd=repo, env=env, capture_output=True, text=True
            )
            wall = time.perf_counter() - started
            line = next((x for x in proc.stdout.splitlines() if x.startswith("EDGEGATE-BENCH ")), None)
            if line is None:
                print(f"run {run}: the CLI did not run (exit {proc.returncode}):\n{proc.stderr.strip()}")
                return 1
            report = json.loads(line.split(" ", 1)[1])
            walls.append(wall)
            print(
                f"run {run}: wall {wall:.3f}s (in process {report['in_process_s']:.3f}s), "
                f"exit {report['exit']}, tensorflow imported: {report['tensorflow_imported']}"
            )
            if report["tensorflow_imported"]:
                print("FAIL: a run with no changed model imported TensorFlow")
                return 1
        walls.sort()
        print(f"median wall time over {len(walls)} runs: {walls[len(walls) // 2]:.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
