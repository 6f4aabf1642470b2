"""False alarms and detections of a `vs_base.latency: {max_increase: 5%}` budget, with each judge.

Two cases, each timed ``--reps`` times exactly as a run times a model's versions (one
``measure_latency`` session: warm-up, then ``--runs`` interleaved rounds, order rotating):

- **A/A**: the same float32 model as head and base (two interpreters of one file). Every
  failure is a false alarm.
- **slowdown**: head is the base plus one more identical conv block (14 → 15 blocks of
  conv 3×3 + ReLU, about +7 %; the true slowdown is measured first, over ``--truth-runs``
  interleaved rounds). Every failure is a detection.

Each session is judged by EdgeGate's own verdict (``verdicts/budgets.budget_check``) with
``judge: point`` (the change of the medians) and ``judge: significant`` (the low end of the
paired sign-test interval, ``metrics/paired_latency.py``); the script prints both rates side by
side, how often the interval covered the measured truth, and (for comparison, not a judge
EdgeGate has) the point rule applied to the paired estimate, the median of the per-round
ratios. Goal: ≤ 1 % false alarms and ≥ 95 % detection at the 5 % budget. The models are converted in a child process (TensorFlow
stays out of the timing process, as in a worker); timing uses one interpreter thread.

    python bench/bench_latency_judge.py [--reps 400] [--runs 30,100] [--truth-runs 3000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOCKS = 14  # conv blocks of the base model; the slowdown model has one more (≈ 1/14 ≈ +7 %)
BUDGET = "5%"
LIMIT = 0.05  # the budget as a fraction of the base's time

BUILD = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf

out, blocks = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
kernels = [tf.constant(rng.normal(0, 0.1, (3, 3, 16, 16)).astype(np.float32)) for _ in range(blocks + 1)]

def model(n):
    @tf.function(input_signature=[tf.TensorSpec([1, 24, 24, 16], tf.float32)])
    def f(x):
        for k in kernels[:n]:
            x = tf.nn.relu(tf.nn.conv2d(x, k, 1, "SAME"))
        return x
    return f

for name, n in (("base", blocks), ("slower", blocks + 1)):
    f = model(n)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    with open(os.path.join(out, name + ".tflite"), "wb") as fh:
        fh.write(converter.convert())
"""


def build(folder: Path) -> tuple[Path, Path]:
    subprocess.run([sys.executable, "-c", BUILD, str(folder), str(BLOCKS)], check=True)
    return folder / "base.tflite", folder / "slower.tflite"


def true_slowdown(base: Path, slower: Path, runs: int) -> float:
    """The slowdown over one long interleaved session: the median of the per-round ratios."""
    from edgegate.measurements.latency import measure_latency
    from edgegate.metrics.paired_latency import paired_estimate

    figures = measure_latency({"slower": slower, "base": base}, runs=runs, warmup=20, threads=1)
    return paired_estimate(figures["slower"].rounds_ms, figures["base"].rounds_ms)


def judged(head_path: Path, base_path: Path, runs: int) -> tuple[bool, bool, float, float, float, float]:
    """One session timed and judged: (point fails, significant fails, change of medians, paired
    estimate, CI low, CI high)."""
    from edgegate.measurements.latency import measure_latency
    from edgegate.metrics.paired_latency import latency_change, paired_estimate
    from edgegate.policy.sections import Budget
    from edgegate.results import BaseFigures, CandidateResult
    from edgegate.results.model import LatencyChanges
    from edgegate.status import Level, Status
    from edgegate.units import parse_change
    from edgegate.verdicts.budgets import budget_check

    figures = measure_latency({"head": head_path, "base": base_path}, runs=runs, warmup=3, threads=1)
    head, base = figures["head"], figures["base"]
    interval = latency_change(head.rounds_ms, base.rounds_ms)
    candidate = CandidateResult(
        "c",
        "c",
        Status.PASS,
        latency_ms=head.median_ms,
        base=BaseFigures(latency_ms=base.median_ms),
        latency_changes=LatencyChanges(vs_base=interval),
    )
    fails = []
    for judge in ("point", "significant"):
        budget = Budget(
            "latency",
            "base",
            Level.ERROR,
            BUDGET,
            "models[0].budgets.vs_base.latency",
            None,
            change=parse_change(BUDGET, "latency"),
            judge=judge,  # type: ignore[arg-type]
        )
        fails.append(budget_check(budget, candidate, latency_measured=True).status is Status.FAIL)
    estimate = paired_estimate(head.rounds_ms, base.rounds_ms)
    change = head.median_ms / base.median_ms - 1
    return fails[0], fails[1], change, estimate, interval.low, interval.high


def case(name: str, head: Path, base: Path, runs: int, reps: int, truth: float) -> dict[str, float]:
    point = significant = paired = covered = 0
    changes, estimates, widths = [], [], []
    started = time.perf_counter()
    for _ in range(reps):
        p, s, change, estimate, low, high = judged(head, base, runs)
        point, significant, paired = point + p, significant + s, paired + (estimate > LIMIT)
        covered += low <= truth <= high
        changes.append(change)
        estimates.append(estimate)
        widths.append(high - low)
    return {
        "point": point / reps,
        "significant": significant / reps,
        "paired": paired / reps,
        "covered": covered / reps,
        "change_sd": statistics.stdev(changes),
        "estimate_sd": statistics.stdev(estimates),
        "width": statistics.median(widths),
        "seconds": time.perf_counter() - started,
    }


def _load() -> str:
    try:
        return f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    except OSError:
        return "load average unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400, help="timed sessions per case and run count")
    parser.add_argument("--runs", default="30,100", help="timed rounds per session (comma-separated)")
    parser.add_argument("--truth-runs", type=int, default=3000, help="rounds of the long session")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgegate-bench-latency-") as tmp:
        base, slower = build(Path(tmp))
        print(f"models: {BLOCKS} vs {BLOCKS + 1} conv blocks (1×24×24×16, 3×3, float32), 1 thread; {_load()}")
        truth = true_slowdown(base, slower, args.truth_runs)
        print(
            f"true slowdown (one session of {args.truth_runs} rounds, median of the per-round ratios): "
            f"{truth * 100:+.2f}%"
        )
        print(f"budget vs_base.latency max_increase {BUDGET}; {args.reps} sessions per row\n")
        print(
            f"{'case':<10} {'runs':>5} | {'fails: point':>12} {'significant':>12} | "
            f"{'CI covers truth':>15} {'median CI width':>15} | {'sd: Δ medians':>13} {'paired':>7} | "
            f"{'paired point':>12} | {'time':>5}"
        )
        for runs in (int(r) for r in args.runs.split(",")):
            for name, head, truth_of_case in (("A/A", base, 0.0), ("slowdown", slower, truth)):
                r = case(name, head, base, runs, args.reps, truth_of_case)
                print(
                    f"{name:<10} {runs:>5} | {r['point'] * 100:>11.1f}% {r['significant'] * 100:>11.1f}% | "
                    f"{r['covered'] * 100:>14.1f}% {r['width'] * 100:>14.2f}% | "
                    f"{r['change_sd'] * 100:>12.2f}% {r['estimate_sd'] * 100:>6.2f}% | "
                    f"{r['paired'] * 100:>11.1f}% | {r['seconds']:>4.0f}s",
                    flush=True,
                )
        print(
            "\nA/A rows: false alarms; slowdown rows: detections. 'paired point': the point rule on the\n"
            f"median of the per-round ratios (not a judge EdgeGate offers; for comparison). {_load()}"
        )


if __name__ == "__main__":
    main()
