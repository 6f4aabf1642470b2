"""What the results cache saves (docs/cache.md), measured side by side in one run.

1. MobileNetV2 (alpha 0.35, 96×96, weights=None) with four PTQ recipes (float16, dynamic, int8,
   int16x8; plus the float32 reference), evaluated on 64 synthetic samples, ``--no-latency``:
   ``edgegate check --all`` without a cache, with an empty one (cold) and again (warm). Prints
   warm / cold (the goal: ≤ 0.1) and cold / no cache (what filling the cache costs).
2. A repository with two models where a pull request changes one: the base branch's run fills a
   cache; the PR run gates both models (``--all``) with that cache restored, and with an empty
   one. Prints the jobs each ran (the goal: only the changed model's head version built; its
   base version and the unchanged model come from the base branch's entries), and the same for
   a PR run that gates only the changed model (the default).

Run from the repository root: python bench/bench_cache.py [--skip-mobilenet]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["float16", "dynamic", "int8", "int16x8"]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@b",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@b",
}
NOTE = re.compile(r"^cache: (\d+) of (\d+) jobs reused from \S+(?: \(([^)]*)\))?")

MOBILENET = textwrap.dedent("""
    import os, sys
    os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tf_keras
    folder = sys.argv[1]
    tf_keras.utils.set_random_seed(0)
    m = tf_keras.applications.MobileNetV2(alpha=0.35, weights=None, input_shape=(96, 96, 3), classes=10)
    m.save(f"{folder}/m/model.keras")
    rng = np.random.default_rng(0)
    np.savez(f"{folder}/m/eval.npz", x=rng.random((64, 96, 96, 3), dtype=np.float32), y=rng.integers(0, 10, 64))
""")

SMALL = textwrap.dedent("""
    import os, sys
    os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tf_keras
    path, seed = sys.argv[1], int(sys.argv[2])
    tf_keras.utils.set_random_seed(seed)
    m = tf_keras.Sequential([
        tf_keras.Input((32, 32, 3)),
        tf_keras.layers.Conv2D(16, 3, activation="relu"),
        tf_keras.layers.MaxPooling2D(),
        tf_keras.layers.Conv2D(32, 3, activation="relu"),
        tf_keras.layers.Flatten(),
        tf_keras.layers.Dense(10, activation="softmax"),
    ])
    m.save(path)
    if len(sys.argv) > 3:
        rng = np.random.default_rng(0)
        np.savez(sys.argv[3], x=rng.random((64, 32, 32, 3), dtype=np.float32), y=rng.integers(0, 10, 64))
""")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, env={**os.environ, **GIT_ENV}, capture_output=True)


def check(repo: Path, cache: Path | None, *args: str) -> tuple[float, dict]:
    """Wall time of one ``edgegate check --no-latency`` and its results."""
    out = repo.parent / "results.json"
    cmd = [sys.executable, "-m", "edgegate", "check", "--no-latency", "--quiet", "--json", str(out), *args]
    if cache is not None:
        cmd += ["--cache", str(cache)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, json.loads(out.read_text())


def cache_note(results: dict) -> tuple[int, int, dict[str, tuple[int, int]]]:
    """(reused, total, {kind: (reused, total)}) from the run's cache note."""
    for note in results["notes"]:
        m = NOTE.match(note)
        if m:
            kinds = {}
            for part in (m.group(3) or "").split(", "):
                name, _, counts = part.rpartition(" ")
                if "/" in counts:
                    a, b = counts.split("/")
                    kinds[name] = (int(a), int(b))
            return int(m.group(1)), int(m.group(2)), kinds
    sys.exit("no cache note in the results")


def ran(results: dict) -> str:
    reused, total, kinds = cache_note(results)
    per_kind = ", ".join(f"{name} {t - r}" for name, (r, t) in kinds.items())
    return f"{total - reused:3d} of {total} jobs ran ({per_kind})"


def failures(results: dict) -> str:
    """The candidates that failed: a failure is never stored, so a warm run reruns its job."""
    failed = [
        f"{m['name']} · {c['recipe']}" for m in results["models"] for c in m["candidates"] if c.get("error")
    ]
    return f"; failed, so rerun: {', '.join(failed)}" if failed else ""


def policy(models: list[tuple[str, str]], eval_data: str, calibration: bool = True) -> str:
    entries = "\n".join(f"  - {{name: {name}, path: {path}}}" for name, path in models)
    calib = f"  calibration: {{data: {eval_data}, samples: 64}}\n" if calibration else ""
    return (
        "version: 1\ndefaults:\n"
        f"  recipes: {RECIPES}\n"
        f"  eval: {{data: {eval_data}, metric: top1}}\n{calib}"
        "models:\n" + entries + "\n"
    )


def bench_mobilenet(tmp: Path) -> None:
    repo = tmp / "mobilenet"
    (repo / "m").mkdir(parents=True)
    subprocess.run([sys.executable, "-c", MOBILENET, str(repo)], check=True, capture_output=True)
    (repo / "edgegate.yml").write_text(policy([("mobilenet", "m/model.keras")], "m/eval.npz"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "bench")
    none, _ = check(repo, None, "--all")
    cold, cold_results = check(repo, tmp / "mobilenet-cache", "--all")
    warm, warm_results = check(repo, tmp / "mobilenet-cache", "--all")
    size = sum(p.stat().st_size for p in (tmp / "mobilenet-cache").rglob("*") if p.is_file())
    print(
        f"MobileNetV2 0.35 96x96, {len(RECIPES)} PTQ recipes, 64 eval samples, --no-latency:\n"
        f"  no cache {none:6.1f} s\n"
        f"  cold     {cold:6.1f} s   {ran(cold_results)}\n"
        f"  warm     {warm:6.1f} s   {ran(warm_results)}{failures(warm_results)}\n"
        f"  warm / cold = {warm / cold:.3f}   (goal ≤ 0.1);  cold / no cache = {cold / none:.2f};"
        f"  cache {size / 1e6:.1f} MB"
    )


def bench_pull_request(tmp: Path) -> None:
    repo = tmp / "zoo"
    (repo / "models").mkdir(parents=True)
    (repo / "data").mkdir()
    subprocess.run(
        [sys.executable, "-c", SMALL, str(repo / "models/a.keras"), "1", str(repo / "data/eval.npz")],
        check=True,
    )
    subprocess.run(
        [sys.executable, "-c", SMALL, str(repo / "models/b.keras"), "2"], check=True, capture_output=True
    )
    (repo / "edgegate.yml").write_text(
        policy([("a", "models/a.keras"), ("b", "models/b.keras")], "data/eval.npz")
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "main")
    # The base branch's run (a push to main) gates its models and saves the cache.
    base_time, base_results = check(repo, tmp / "main-cache", "--all")
    # The pull request changes model a only.
    git(repo, "checkout", "-qb", "feature")
    subprocess.run(
        [sys.executable, "-c", SMALL, str(repo / "models/a.keras"), "3"], check=True, capture_output=True
    )
    git(repo, "commit", "-qam", "retrain a")
    print(
        f"\nPR changing model a of two ({len(RECIPES)} PTQ recipes + float32 each; the base branch's run: "
        f"{base_time:.1f} s, {ran(base_results)}):"
    )
    for label, args in (
        ("--all (both models)", ("--all", "--base", "main")),
        ("changed only", ("--base", "main")),
    ):
        pr_cache = tmp / f"pr-cache-{len(args)}"
        shutil.copytree(tmp / "main-cache", pr_cache)  # what actions/cache restores in the PR
        warm, warm_results = check(repo, pr_cache, *args)
        cold, cold_results = check(repo, tmp / f"empty-cache-{len(args)}", *args)
        w_reused, w_total, w_kinds = cache_note(warm_results)
        c_reused, c_total, c_kinds = cache_note(cold_results)
        built_w = w_kinds["builds"][1] - w_kinds["builds"][0]
        built_c = c_kinds["builds"][1] - c_kinds["builds"][0]
        print(
            f"  {label}:\n"
            f"    base branch's cache {warm:5.1f} s   {ran(warm_results)}\n"
            f"    empty cache         {cold:5.1f} s   {ran(cold_results)}\n"
            f"    work done / both: jobs {w_total - w_reused}/{c_total - c_reused} = "
            f"{(w_total - w_reused) / (c_total - c_reused):.2f}, builds {built_w}/{built_c}; "
            f"time {warm / cold:.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-mobilenet", action="store_true")
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_mobilenet:
            bench_mobilenet(Path(tmp))
        bench_pull_request(Path(tmp))


if __name__ == "__main__":
    main()
