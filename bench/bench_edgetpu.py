"""Time the static Edge TPU check on MobileNetV2 int8 (python bench/bench_edgetpu.py).

Builds keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3)) with a fixed
batch of 1, converts it to full int8 with a few random calibration samples, then times
``StaticAnalyzer.analyze`` (read the flatbuffer + rules) in a fresh process: the first call
(imports the schema bindings) and the median of repeated calls. TensorFlow is used only to
build the model; the timed process never imports it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 50


def build_mobilenet_v2(path: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf
    import tf_keras as keras

    inputs = keras.Input((224, 224, 3), batch_size=1)
    model = keras.applications.MobileNetV2(weights=None, input_tensor=inputs)
    rng = np.random.default_rng(0)

    def calibration():
        for _ in range(4):
            yield [rng.random((1, 224, 224, 3), dtype=np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    path.write_bytes(converter.convert())


def time_static_check(path: Path) -> None:
    """Runs in a child process so the timing never includes (or benefits from) TensorFlow."""
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    from edgegate.edgetpu.static import StaticAnalyzer

    analyzer = StaticAnalyzer(compiler_version=16)
    result = analyzer.analyze(path)
    first = time.perf_counter() - start
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        analyzer.analyze(path)
        times.append(time.perf_counter() - t)
    assert "tensorflow" not in sys.modules, "the static check imported TensorFlow"
    print(f"model: MobileNetV2 int8, {path.stat().st_size / 1e6:.1f} MB, {result.ops_total} ops")
    print(
        f"prediction: {result.ops_on_tpu}/{result.ops_total} ops on the Edge TPU, "
        f"{result.partitions} partition(s), "
        f"{result.uncertain} uncertain"
    )
    print(f"first call (imports + analysis): {first * 1000:.1f} ms")
    print(
        f"static check per model: median {statistics.median(times) * 1000:.2f} ms, "
        f"min {min(times) * 1000:.2f} ms over {RUNS} runs"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--time":
        time_static_check(Path(sys.argv[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mobilenet_v2_int8.tflite"
        print("building and converting MobileNetV2 (int8)...", flush=True)
        build_mobilenet_v2(path)
        subprocess.run([sys.executable, __file__, "--time", str(path)], check=True)


if __name__ == "__main__":
    main()
