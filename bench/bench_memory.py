"""The memory measurement's cost next to the latency measurement's, and the run-to-run spread of each.

For MobileNetV2 (alpha 0.35, 96×96: float32, float16 weights, int8) and an empty model (the
interpreter's own floor), repeated ``--repeats`` times, alternating:

- latency: ``measure_latency`` of the model alone with the policy's defaults (30 runs after 3
  warm-up, 1 thread), wall time and its median;
- memory: ``measure_memory`` (a fresh child process), wall time and its figure;
- memory beside a busy neighbour: the same with ``--busy`` processes spinning on every core, the
  condition of a memory job running beside evaluations (it is not exclusive).

Prints, per model, the median wall time of each measurement and the spread of each figure over the
repetitions ((max − min) / median), side by side.

    PYTHONPATH=. python bench/bench_memory.py [--repeats 7] [--busy 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.mobilenet import build_int8_mobilenet_v2  # noqa: E402
from edgegate.measurements.latency import measure_latency  # noqa: E402
from edgegate.measurements.memory import measure_memory  # noqa: E402


def build_float_models(folder: Path) -> dict[str, Path]:
    """MobileNetV2 0.35 96×96 in float32 and with float16 weights, and a model doing almost nothing."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    import tf_keras as keras

    inputs = keras.Input((96, 96, 3), batch_size=1)
    model = keras.applications.MobileNetV2(alpha=0.35, weights=None, input_tensor=inputs)
    paths = {}
    for name, fp16 in (("mobilenet float32", False), ("mobilenet float16", True)):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if fp16:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        paths[name] = folder / f"{name.replace(' ', '_')}.tflite"
        paths[name].write_bytes(converter.convert())

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def double(x):
        return x * 2.0

    paths["empty (x * 2)"] = folder / "empty.tflite"
    converter = tf.lite.TFLiteConverter.from_concrete_functions([double.get_concrete_function()], double)
    paths["empty (x * 2)"].write_bytes(converter.convert())
    return paths


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def spread(values: list[float]) -> float:
    return (max(values) - min(values)) / statistics.median(values) if statistics.median(values) else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--busy", type=int, default=2, help="spinning processes beside the busy measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            models = build_float_models(folder)
            models["mobilenet int8"] = folder / "mobilenet_int8.tflite"
            build_int8_mobilenet_v2(models["mobilenet int8"])
        print(
            f"{'model':<20}{'file':>10}  {'latency: time':>14}{'median':>9}{'spread':>8}"
            f"  {'memory: time':>13}{'figure':>10}{'spread':>8}  {'busy: figure':>13}{'spread':>8}"
        )
        for name, path in models.items():
            lat_s, lat_ms, mem_s, mem, busy = [], [], [], [], []
            for _ in range(args.repeats):
                start = time.perf_counter()
                lat_ms.append(measure_latency({name: path}, runs=30, warmup=3, threads=1)[name].median_ms)
                lat_s.append(time.perf_counter() - start)
                start = time.perf_counter()
                mem.append(measure_memory(path, name=name, threads=1).peak_bytes)
                mem_s.append(time.perf_counter() - start)
                stop = multiprocessing.Event()
                spinners = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(args.busy)]
                for p in spinners:
                    p.start()
                try:
                    busy.append(measure_memory(path, name=name, threads=1).peak_bytes)
                finally:
                    stop.set()
                    for p in spinners:
                        p.join()
            print(
                f"{name:<20}{path.stat().st_size / 1e6:>8.2f}MB  {statistics.median(lat_s):>13.2f}s"
                f"{statistics.median(lat_ms):>7.2f}ms{spread(lat_ms):>7.1%}"
                f"  {statistics.median(mem_s):>12.2f}s{statistics.median(mem) / 1e6:>8.2f}MB{spread(mem):>7.2%}"
                f"  {statistics.median(busy) / 1e6:>11.2f}MB{spread(busy):>7.2%}"
            )


if __name__ == "__main__":
    main()
