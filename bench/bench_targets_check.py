"""What the targets add to a check: `edgegate check` on MobileNetV2 with four PTQ recipes, every
target off vs on (edgetpu static, compute, mcu, ethos-u, gpu), alternating in one run.

Goal (issue 11): all targets together add under 30 % to the four-recipe check. Their analyses are
jobs on the same worker pool as the conversions and evaluations, so they overlap with them.
Run: python bench/bench_targets_check.py [--repeat 2] [--size 96]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = """\
    edgetpu: {level: warn, compiler: static}
    targets:
      compute: {macs: {max: 1G}}
      mcu: {arena: 4 MiB, level: warn}
      ethos-u: {accelerator: ethos-u55-128, level: warn}
      gpu: {min_delegated: 50%, level: warn}
"""


def _repo(folder: Path, size: int, with_targets: bool) -> Path:
    repo = folder / ("on" if with_targets else "off")
    (repo / "m").mkdir(parents=True)
    script = textwrap.dedent(f'''
        import os; os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, tf_keras
        tf_keras.utils.set_random_seed(0)
        m = tf_keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=({size}, {size}, 3))
        m.save("{repo}/m/model.keras")
        rng = np.random.default_rng(0)
        np.savez("{repo}/m/eval.npz", x=rng.random((64, {size}, {size}, 3), dtype=np.float32),
                 y=rng.integers(0, 1000, 64))
    ''')
    subprocess.run([sys.executable, "-c", script], check=True)
    policy = textwrap.dedent("""\
        version: 1
        models:
          - name: bench
            path: m/model.keras
            recipes: [float16, dynamic, int8, int16x8]
            deploy: int8
            eval: {data: m/eval.npz}
        """) + (TARGETS if with_targets else "")
    (repo / "edgegate.yml").write_text(policy)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *cmd], cwd=repo, check=True, env=env)
    return repo


def _time(repo: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "edgegate", "check", "--all", "--no-latency", "--quiet", "--json", "r.json"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 1):
        sys.exit(f"failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--size", type=int, default=96)
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        off, on = _repo(Path(tmp), args.size, False), _repo(Path(tmp), args.size, True)
        times: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.repeat):
            times["off"].append(_time(off))
            times["on"].append(_time(on))
        a, b = statistics.median(times["off"]), statistics.median(times["on"])
        print(
            f"MobileNetV2 0.35 {args.size}x{args.size}, 4 PTQ recipes + float32, eval 64 samples, cores {os.cpu_count()}"
        )
        print(
            f"targets off {a:.1f} s   targets on {b:.1f} s   on / off = {b / a:.2f}   (added {100 * (b / a - 1):.0f} %)"
        )
        print(f"runs: off {[round(v, 1) for v in times['off']]}, on {[round(v, 1) for v in times['on']]}")
        import json

        run = json.loads((on / "r.json").read_text())
        int8 = next(c for c in run["models"][0]["candidates"] if c["recipe"] == "int8")
        for line in int8["target_lines"]:
            print("  int8 ·", line)


if __name__ == "__main__":
    main()
