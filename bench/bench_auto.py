"""Wall time and peak memory of `recipes: auto` through `edgegate check`.

A gzip budget no PTQ candidate can meet forces the whole decision path: PTQ batch → pruning
/ clustering (with fine-tuning) → the verdict. Models: the digits example (its own training
data), and Keras' MobileNetV2 (weights=None, 96×96×3, 10 classes) with 64 synthetic
training samples. Peak memory is the largest resident set of any process of the run (the
parent or a worker), from the kernel's accounting of waited-for children.
Run: python bench/bench_auto.py [--skip-mobilenet]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _repo(folder: Path, model: Path, train: Path, evaluation: Path, gzip_budget: str) -> Path:
    repo = folder / "repo"
    (repo / "m").mkdir(parents=True)
    for src in (model, train, evaluation):
        shutil.copy(src, repo / "m" / src.name)
    (repo / "edgegate.yml").write_text(
        textwrap.dedent(f"""\
        version: 1
        models:
          - name: bench
            path: m/{model.name}
            recipes: auto
            objective: smallest
            eval: {{data: m/{evaluation.name}}}
            calibration: {{data: m/{train.name}, samples: 32}}
            training: {{data: m/{train.name}, epochs: 1, batch_size: 16}}
            budgets: {{gzip_size: {gzip_budget}, accuracy: {{max_drop: 50pt}}}}
    """)
    )
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


def _run(name: str, repo: Path) -> None:
    t = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgegate",
            "check",
            "--all",
            "--no-latency",
            "--quiet",
            "--report",
            str(repo / "report.md"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = (repo / "report.md").read_text() if (repo / "report.md").exists() else proc.stderr[-2000:]
    path = [ln for ln in report.splitlines() if re.match(r"\d+\. ", ln)]
    print(
        f"{name:12s} recipes: auto   wall {wall:6.1f} s   peak RSS {peak_mb:6.0f} MB   exit {proc.returncode}"
    )
    for line in path:
        print(f"    {line}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-mobilenet", action="store_true")
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    d = ROOT / "examples" / "digits"
    with tempfile.TemporaryDirectory() as tmp:
        _run(
            "digits",
            _repo(Path(tmp), d / "model.keras", d / "data" / "train.npz", d / "data" / "eval.npz", "30 KB"),
        )
    if args.skip_mobilenet:
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(f'''
            import os; os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
            import numpy as np, tf_keras
            m = tf_keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=10)
            m.save("{folder}/mobilenetv2.keras")
            rng = np.random.default_rng(0)
            np.savez("{folder}/train.npz", x=rng.random((64, 96, 96, 3), dtype=np.float32), y=rng.integers(0, 10, 64))
            np.savez("{folder}/eval.npz", x=rng.random((64, 96, 96, 3), dtype=np.float32), y=rng.integers(0, 10, 64))
        '''),
            ],
            check=True,
        )
        _run(
            "MobileNetV2",
            _repo(folder, folder / "mobilenetv2.keras", folder / "train.npz", folder / "eval.npz", "1 MB"),
        )


if __name__ == "__main__":
    main()
