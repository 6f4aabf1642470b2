"""How long selecting the changed models of a large zoo takes: `edgegate needs` on 1k, 5k, 20k files.

For each size, ``zoo_repo.make_zoo`` builds a git repository of that many tiny ``.tflite`` files
under one policy glob (``models/**/*.tflite``) and a feature branch changing every one of them
(the worst case: every model is selected), then ``edgegate needs --base main`` runs there in a
fresh interpreter (imports counted). Prints wall seconds, CPU seconds (the child's user + system,
git included: on a shared machine wall time also counts waiting for a core) and seconds per
1,000 files, which stays flat when the selection is linear. Goal: 20k under 5 s on 2 cores.

    python bench/bench_selection.py [--sizes 1000 5000 20000] [--changed N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zoo_repo import make_zoo  # noqa: E402  (a sibling script, not a package)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_needs(repo: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``edgegate needs`` in ``repo``."""
    cpu, started = _children_cpu(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "edgegate", "needs", "--base", "main"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_OUTPUT": ""},
    )
    wall = time.perf_counter() - started
    if proc.returncode or "not needed" not in proc.stdout:
        raise SystemExit(f"edgegate needs failed in {repo}:\n{proc.stdout}{proc.stderr}")
    return wall, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--changed", type=int, default=None, help="files the branch changes (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (the fastest is shown)")
    args = parser.parse_args()
    print(f"{'files':>7} {'changed':>8} {'wall s':>8} {'cpu s':>8} {'wall s / 1k':>12}")
    with tempfile.TemporaryDirectory(prefix="edgegate-bench-zoo-") as tmp:
        for size in args.sizes:
            repo = make_zoo(Path(tmp) / f"zoo{size}", size, args.changed)
            wall, cpu = min(time_needs(repo) for _ in range(args.runs))
            changed = args.changed or size
            print(f"{size:>7} {changed:>8} {wall:>8.2f} {cpu:>8.2f} {wall / size * 1000:>12.3f}", flush=True)
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
