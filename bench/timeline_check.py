"""Where an `edgegate check` run's time goes, job by job: the timeline the scheduling work used.

Builds the same MobileNetV2 repository as `bench_check.py` (or takes `--repo DIR`), runs
`run_check` in this process with a progress callback that records when each job started and
finished, and prints the timeline, the time per kind of job, and how much of the run the
workers sat idle (worker-seconds available minus worker-seconds busy). For what happens inside
a job (conversion, calibration, TensorFlow start-up), profile the workers with py-spy:
`py-spy record --subprocesses --idle --format raw -o out.txt -- python -m edgegate check --all`.
Run: python bench/timeline_check.py [--repo DIR] [--jobs N]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_check import _mobilenet, _repo  # bench/ is on sys.path when a bench runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgegate.progress import Progress  # noqa: E402
from edgegate.run import run_check  # noqa: E402
from edgegate.run.options import CheckOptions  # noqa: E402


class Timeline(Progress):
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.started_at: dict[str, float] = {}
        self.spans: list[tuple[str, float, float, bool]] = []  # label, start, end, ok
        self.totals: list[tuple[float, int]] = []  # (when, the total announced then)
        self.total = 0

    def now(self) -> float:
        return time.monotonic() - self.t0

    def plan(self, added: int) -> None:
        self.total += added
        self.totals.append((self.now(), self.total))

    def started(self, label: str) -> None:
        self.started_at[label] = self.now()

    def finished(self, label: str, ok: bool) -> None:
        self.spans.append((label, self.started_at.pop(label, self.now()), self.now(), ok))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, help="a git repository with an edgegate.yml (default: MobileNetV2)")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: the cores)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = args.repo
        if repo is None:
            folder = Path(tmp)
            _mobilenet(folder, 64)
            repo = _repo(folder, folder / "model.keras", folder / "eval.npz", folder / "calibration.npz")
        timeline = Timeline()
        run_check(CheckOptions(repo=repo, all_models=True, latency=False, jobs=args.jobs), timeline)
        wall = timeline.now()
    workers = args.jobs or os.cpu_count() or 1
    print(f"{'start':>6} {'end':>6} {'took':>6}  job")
    for label, start, end, ok in sorted(timeline.spans, key=lambda s: s[1]):
        print(f"{start:6.1f} {end:6.1f} {end - start:6.1f}  {label}{'' if ok else '  (failed)'}")
    per_kind: collections.Counter[str] = collections.Counter()
    for label, start, end, _ in timeline.spans:
        per_kind[label.rsplit(" · ", 1)[-1]] += end - start
    busy = sum(per_kind.values())
    print(f"\nwall {wall:.1f} s with {workers} workers; busy {busy:.1f} worker-s of {wall * workers:.1f}:")
    for kind, seconds in per_kind.most_common():
        print(f"  {kind:12s} {seconds:6.1f} s")
    print(
        f"  {'idle':12s} {wall * workers - busy:6.1f} s  (before the first job, between jobs, after the last)"
    )
    grown = [total for (_, total) in timeline.totals[1:] if total > timeline.totals[0][1]]
    print(
        f"progress total announced first: {timeline.totals[0][1]}, jobs run: {len(timeline.spans)}"
        + (f", grew to {max(grown)} while running" if grown else ", never grew")
    )


if __name__ == "__main__":
    main()
