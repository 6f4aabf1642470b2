"""End-to-end cost of `edgegate check` vs the bare TensorFlow work it needs.

For each model (the digits example, and Keras' MobileNetV2 with weights=None at 224×224 with
synthetic eval data), times:
  bare:     one plain Python process: import TF, load the model, convert float32 + four PTQ
            recipes (``from_keras_model``), evaluate each on the eval set with a LiteRT
            interpreter loop;
  bare, EdgeGate's conversion: the same, converting as EdgeGate does (a concrete function
            saved with a module of the variables, not the Keras model: same bytes, 4× faster),
            so that its ratio shows what EdgeGate's parallel workers buy;
  edgegate: `edgegate check --all --no-latency` on a temp git repo holding the same model,
            data and recipes (its worker processes run in parallel).
They alternate, `--repeat` times, so all see the same machine state; the ratios of the
medians are printed, and each one's cores busy (CPU time of it and its children / wall time). Run: python bench/bench_check.py [--repeat 3] [--skip-mobilenet]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["float16", "dynamic", "int8", "int16x8"]

BARE = textwrap.dedent("""
    import os, sys
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf, tf_keras
    from ai_edge_litert.interpreter import Interpreter
    model_path, eval_path, calib_path = sys.argv[1:4]
    model = tf_keras.models.load_model(model_path, compile=False)
    data = np.load(eval_path); x, y = data["x"].astype("float32"), data["y"]
    calib = np.load(calib_path)["x"].astype("float32")[:100]
    def rep():
        for i in range(len(calib)):
            yield [calib[i:i + 1]]
    light = sys.argv[4] == "light"
    def converter():
        if not light:  # what a script usually does
            return tf.lite.TFLiteConverter.from_keras_model(model)
        from edgegate.recipes.conversions import make_converter  # EdgeGate's own (PYTHONPATH)
        return make_converter(keras_model=model)
    def convert(kind):
        c = converter()
        if kind != "float32":
            c.optimizations = [tf.lite.Optimize.DEFAULT]
        if kind == "float16":
            c.target_spec.supported_types = [tf.float16]
        if kind == "int8":
            c.representative_dataset = rep
            c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            c.inference_input_type = c.inference_output_type = tf.int8
        if kind == "int16x8":
            c.representative_dataset = rep
            c.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        return c.convert()
    for kind in ["float32", "float16", "dynamic", "int8", "int16x8"]:
        it = Interpreter(model_content=convert(kind))
        try:
            it.allocate_tensors()
        except RuntimeError as e:  # EdgeGate reports it as the candidate's evaluation error
            print(kind, "cannot be prepared:", e)
            continue
        inp, out = it.get_input_details()[0], it.get_output_details()[0]
        correct = 0
        for i in range(len(x)):
            s = x[i:i + 1]
            if inp["dtype"] != np.float32:
                scale, zp = inp["quantization"]
                s = np.clip(np.round(s / scale + zp), -128, 127).astype(inp["dtype"])
            it.set_tensor(inp["index"], s); it.invoke()
            correct += int(np.argmax(it.get_tensor(out["index"])) == y[i])
""")


def _mobilenet(folder: Path, samples: int) -> None:
    script = textwrap.dedent(f'''
        import os; os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, tf_keras
        m = tf_keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
        m.save("{folder}/model.keras")
        rng = np.random.default_rng(0)
        np.savez("{folder}/eval.npz", x=rng.random(({samples}, 224, 224, 3), dtype=np.float32),
                 y=rng.integers(0, 1000, {samples}))
        np.savez("{folder}/calibration.npz", x=rng.random((100, 224, 224, 3), dtype=np.float32))
    ''')
    subprocess.run([sys.executable, "-c", script], check=True)


def _repo(folder: Path, model: Path, eval_npz: Path, calib_npz: Path) -> Path:
    repo = folder / "repo"
    (repo / "m").mkdir(parents=True)
    shutil.copy(model, repo / "m" / "model.keras")
    shutil.copy(eval_npz, repo / "m" / "eval.npz")
    shutil.copy(calib_npz, repo / "m" / "calibration.npz")
    (repo / "edgegate.yml").write_text(
        textwrap.dedent(f"""\
        version: 1
        models:
          - name: bench
            path: m/model.keras
            recipes: {RECIPES}
            eval: {{data: m/eval.npz, metric: top1, batch_size: 1}}
            calibration: {{data: m/calibration.npz, samples: 100}}
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


def _time(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """(wall seconds, cores busy: CPU seconds of the process and its children / wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1) or ("edgegate" not in cmd and proc.returncode):
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu / elapsed


def bench(name: str, model: Path, eval_npz: Path, calib_npz: Path, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = _repo(Path(tmp), model, eval_npz, calib_npz)
        commands = {
            "bare": [sys.executable, "-c", BARE, str(model), str(eval_npz), str(calib_npz), "keras"],
            "bare, EdgeGate's conversion": [
                sys.executable,
                "-c",
                BARE,
                str(model),
                str(eval_npz),
                str(calib_npz),
                "light",
            ],
            "edgegate": [sys.executable, "-m", "edgegate", "check", "--all", "--no-latency", "--quiet"],
        }
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
        for _ in range(repeat):  # alternating, so that each sees the same machine
            for kind, cmd in commands.items():
                runs[kind].append(_time(cmd, cwd=repo if kind == "edgegate" else None))
        wall = {k: statistics.median(t for t, _ in v) for k, v in runs.items()}
        busy = {k: statistics.median(b for _, b in v) for k, v in runs.items()}
        print(f"{name}: median of {repeat}")
        for kind in commands:
            print(
                f"  {kind:28s} {wall[kind]:7.1f} s   cores busy {busy[kind]:.2f}   "
                f"runs {[round(t, 1) for t, _ in runs[kind]]}"
            )
        e = wall["edgegate"]
        print(f"  edgegate time / bare time = {e / wall['bare']:.2f}")
        same = wall["bare, EdgeGate's conversion"]
        print(
            f"  edgegate time / bare time with the same conversion = {e / same:.2f}   (what the workers buy)"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-mobilenet", action="store_true")
    ap.add_argument("--mobilenet-samples", type=int, default=64)
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    print(f"cores: {os.cpu_count()}; recipes: float32 reference + {', '.join(RECIPES)}; no latency timing")
    d = ROOT / "examples" / "digits"
    bench("digits", d / "model.keras", d / "data" / "eval.npz", d / "data" / "calibration.npz", args.repeat)
    if not args.skip_mobilenet:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            _mobilenet(folder, args.mobilenet_samples)
            bench(
                "MobileNetV2",
                folder / "model.keras",
                folder / "eval.npz",
                folder / "calibration.npz",
                args.repeat,
            )


if __name__ == "__main__":
    main()
