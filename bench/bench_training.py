"""Wall time and peak memory of the training recipes (python bench/bench_training.py).

Each (model, recipe) runs in a fresh child process, as EdgeGate's workers run them: build the
model, fine-tune it with ``edgegate.recipes.training.train``, convert the result. The child
reports its phase times; the parent reads the child's peak RSS from ``os.wait4``. A ``float``
row (build + convert, no training) is the baseline the recipes add to. The last row per model
trains ``prune+int8`` then ``prune+qat`` in one process, the second reusing the pruned parent.

Models: a small conv net on sklearn's digits (1,200 samples), and Keras' MobileNetV2
(weights=None, 96×96×3, 10 classes) on 64 synthetic samples. One epoch, batch 16.

Cluster-preserving QAT (``cluster+qat``, ``prune+cluster+qat``) builds a per-channel graph for
every Conv2D: on MobileNetV2 it took 850 s and 12 GB peak on a 2-core machine, so it runs on
MobileNetV2 only with ``--cqat``. The default run takes about 6 minutes on 2 cores.
Run from the repository root: python bench/bench_training.py [--skip-mobilenet] [--cqat]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {
    "digits": ["float", "prune+int8", "cluster+int8", "qat", "prune+cluster+qat", "prune+int8,prune+qat"],
    "mobilenetv2": ["float", "prune+int8", "cluster+int8", "qat"],
}

CHILD = textwrap.dedent("""
    import json, os, sys, time
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    t0 = time.perf_counter()
    import numpy as np, tensorflow as tf, tf_keras
    from pathlib import Path
    from edgegate.datasets.interface import Dataset
    from edgegate.policy.load import parse_training
    from edgegate.policy.sections import Recipe
    from edgegate.recipes.interface import TrainingContext, stages_of
    from edgegate.recipes.training import train
    which, recipes = sys.argv[1], sys.argv[2].split(",")
    if which == "digits":
        from sklearn.datasets import load_digits
        d = load_digits()
        x, y = (d.images / 16.0).astype(np.float32)[..., None][:1200], d.target[:1200]
        inputs = tf_keras.Input((8, 8, 1))
        h = tf_keras.layers.Conv2D(8, 3, activation="relu")(inputs)
        h = tf_keras.layers.Dense(32, activation="relu")(tf_keras.layers.Flatten()(h))
        model = tf_keras.Model(inputs, tf_keras.layers.Dense(10, activation="softmax")(h))
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=3, verbose=0)
    else:
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (64, 96, 96, 3)).astype(np.float32)
        y = rng.integers(0, 10, 64)
        model = tf_keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=10)
    built = time.perf_counter()
    training = parse_training(dict(epochs=1, batch_size=16, learning_rate=1e-4))
    context = TrainingContext(which, training, Dataset(x, y, which), Path("."), 0)
    phases = {"import+build_s": built - t0, "train_s": [], "convert_s": [], "tflite_bytes": []}
    for label in recipes:
        t = time.perf_counter()
        if label == "float":
            tuned, qat = model, False
        else:
            recipe = Recipe(recipe=label)
            stages, _ = stages_of(recipe)
            tuned, qat = train(model, stages, recipe, context).model, "qat" in stages
        phases["train_s"].append(time.perf_counter() - t)
        t = time.perf_counter()
        converter = tf.lite.TFLiteConverter.from_keras_model(tuned)
        if label != "float":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if not qat:
                converter.representative_dataset = lambda: ([x[i: i + 1]] for i in range(32))
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.int8
        phases["tflite_bytes"].append(len(converter.convert()))
        phases["convert_s"].append(time.perf_counter() - t)
    print("RESULT " + json.dumps(phases))
""")


def run_child(which: str, recipes: str) -> tuple[dict, float, float]:
    """(phases, wall seconds, peak RSS in MiB) of one child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, which, recipes],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if child.returncode != 0 or line is None:
        raise SystemExit(f"{which} {recipes}: child failed (exit {child.returncode})")
    return json.loads(line[len("RESULT ") :]), wall, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-mobilenet", action="store_true")
    parser.add_argument(
        "--cqat", action="store_true", help="also prune+cluster+qat on MobileNetV2 (~15 min, 12 GB)"
    )
    args = parser.parse_args()
    if args.cqat:
        RECIPES["mobilenetv2"].append("prune+cluster+qat")
    models = ["digits"] + ([] if args.skip_mobilenet else ["mobilenetv2"])
    print(
        f"{'model':<12} {'recipe':<22} {'wall s':>7} {'build s':>8} {'train s':>12} {'convert s':>10} "
        f"{'peak MiB':>9} {'tflite KB':>12}"
    )
    for which in models:
        for recipes in RECIPES[which]:
            phases, wall, peak = run_child(which, recipes)
            train_s = "+".join(f"{t:.1f}" for t in phases["train_s"])
            convert_s = sum(phases["convert_s"])
            size = "/".join(f"{b / 1000:.0f}" for b in phases["tflite_bytes"])
            print(
                f"{which:<12} {recipes:<22} {wall:>7.1f} {phases['import+build_s']:>8.1f} {train_s:>12} "
                f"{convert_s:>10.1f} {peak:>9.0f} {size:>12}",
                flush=True,
            )


if __name__ == "__main__":
    main()
