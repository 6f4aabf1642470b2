"""Time the GPU delegate analysis on MobileNetV2 float32 (python bench/bench_gpu.py).

Builds keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None) with
a batch of 1, converts it to float32, then times ``GpuTarget.analyze`` in a fresh process
that never imports TensorFlow: the first call, and the median of repeated calls, split into
the op compatibility part (the checker's child process, the canary, the rules) and the fp16
observation (one CPU invoke per sample with every tensor kept).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 10


def build_mobilenet_v2(path: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf_keras as keras

    inputs = keras.Input((96, 96, 3), batch_size=1)
    model = keras.applications.MobileNetV2(alpha=0.35, weights=None, input_tensor=inputs)
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def time_analysis(path: Path) -> None:
    """Runs in a child process so the timing never includes (or benefits from) TensorFlow."""
    import statistics
    import time

    sys.path.insert(0, str(ROOT))
    from edgegate.targets.flatbuffer import read_tflite
    from edgegate.targets.gpu import analyzer as gpu_analyzer
    from edgegate.targets.gpu.target import GpuSettings, GpuTarget

    target = GpuTarget(GpuSettings())
    start = time.perf_counter()
    report = target.analyze(path)
    first = time.perf_counter() - start
    whole, delegation, fp16 = [], [], []
    tfl = read_tflite(path)
    for _ in range(RUNS):
        t0 = time.perf_counter()
        target.analyze(path)
        t1 = time.perf_counter()
        gpu_analyzer.delegation(path, tfl)
        t2 = time.perf_counter()
        gpu_analyzer.observe_fp16(path, tfl, None, None, GpuSettings())
        t3 = time.perf_counter()
        whole.append(t1 - t0)
        delegation.append(t2 - t1)
        fp16.append(t3 - t2)
    assert "tensorflow" not in sys.modules
    print(f"model: {path.stat().st_size / 1e6:.2f} MB, {report.ops_total} ops")
    print(f"report: {target.summary(report)}; fp16 on {report.data_source}")
    print(f"checker: {report.checker}")
    print(f"first analyze (cold imports):  {first * 1000:8.1f} ms")
    print(f"analyze, median of {RUNS}:        {statistics.median(whole) * 1000:8.1f} ms")
    print(f"  op compatibility, median:    {statistics.median(delegation) * 1000:8.1f} ms")
    print(
        f"  fp16 observation, median:    {statistics.median(fp16) * 1000:8.1f} ms "
        f"({report.samples_used} samples)"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--time":
        time_analysis(Path(sys.argv[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mobilenet_v2_035_96.tflite"
        build_mobilenet_v2(path)
        subprocess.run([sys.executable, __file__, "--time", str(path)], check=True)


if __name__ == "__main__":
    main()
