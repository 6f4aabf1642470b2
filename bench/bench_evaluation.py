"""Evaluation throughput of EdgeGate vs a bare LiteRT interpreter loop on the same data.

Builds a small int8 CNN (28x28x1 -> 10 classes) and 2000 samples, then alternates, for
several repetitions, EdgeGate's ``evaluate`` and hand-written loops (the usual one sample per
``invoke()``, and one batched like EdgeGate), each timed from opening the model to the
accuracy. Prints medians over the repetitions and the throughput ratios.

    PYTHONPATH=. python bench/bench_evaluation.py [--samples 2000] [--repeats 5] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from edgegate.datasets.interface import Dataset
from edgegate.measurements.accuracy import evaluate
from edgegate.metrics.classification import TopK


def build_model(path: Path, calibration: np.ndarray) -> None:
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([calibration[i : i + 1]] for i in range(len(calibration)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    with warnings.catch_warnings():  # TF's own notice for int io without legacy input statistics
        warnings.filterwarnings("ignore", "Statistics for quantized inputs")
        path.write_bytes(converter.convert())


def bare_loop(path: Path, x: np.ndarray, y: np.ndarray, batch: int) -> float:
    """What one writes by hand: quantize, set_tensor, invoke, get_tensor, dequantize, argmax."""
    interpreter = Interpreter(model_path=str(path), num_threads=1)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], [batch, *x.shape[1:]])
    interpreter.allocate_tensors()
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    correct = 0
    for start in range(0, len(x) - len(x) % batch, batch):
        q = np.clip(np.round(x[start : start + batch] / in_scale + in_zero), -128, 127).astype(np.int8)
        interpreter.set_tensor(inp["index"], q)
        interpreter.invoke()
        scores = (interpreter.get_tensor(out["index"]).astype(np.float32) - out_zero) * out_scale
        correct += int(np.sum(scores.argmax(axis=1) == y[start : start + batch]))
    return correct / (len(x) - len(x) % batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=args.samples)
    samples = args.samples - args.samples % args.batch_size  # the batched bare loop drops a partial batch
    data = Dataset(x[:samples], y[:samples], "bench")
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "cnn_int8.tflite"
        build_model(model, x[:100])
        runs = {
            "edgegate": lambda: (
                evaluate(model, data, TopK(1), name="cnn", batch_size=args.batch_size).accuracy.value
            ),
            "bare, 1 sample per invoke": lambda: bare_loop(model, x[:samples], y[:samples], 1),
            f"bare, batch {args.batch_size}": lambda: bare_loop(
                model, x[:samples], y[:samples], args.batch_size
            ),
        }
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        accuracies: dict[str, float] = {}
        for repeat in range(args.repeats + 1):  # repetition 0 warms caches up and is not counted
            names = list(runs)
            names = names[repeat % len(names) :] + names[: repeat % len(names)]  # rotate who goes first
            for name in names:
                start = time.perf_counter()
                accuracies[name] = runs[name]()
                if repeat:
                    seconds[name].append(time.perf_counter() - start)

    throughput = {name: samples / statistics.median(s) for name, s in seconds.items()}
    for name, value in throughput.items():
        print(f"{name:28s} {value:10.0f} samples/s   top1 {accuracies[name]:.4f}")
    ours, bare = throughput["edgegate"], throughput["bare, 1 sample per invoke"]
    print(f"evaluation throughput: edgegate / bare interpreter loop = {ours / bare:.2f}")
    print(
        f"evaluation throughput: edgegate / bare loop at batch {args.batch_size} = "
        f"{ours / throughput[f'bare, batch {args.batch_size}']:.2f}"
    )
    if len({round(a, 6) for a in accuracies.values()}) != 1:
        sys.exit(f"the loops disagree on accuracy: {accuracies}")


if __name__ == "__main__":
    main()
