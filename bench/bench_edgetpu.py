"""Time the static Edge TPU check on MobileNetV2 int8 (python bench/bench_edgetpu.py).

Builds keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3)) with a fixed
batch of 1, converts it to full int8 with a few random calibration samples, then times
``StaticAnalyzer.analyze`` (read the flatbuffer + rules) in a fresh process: the first call
(imports the schema bindings) and the median of repeated calls. TensorFlow is used only to
build the model; the timed process never imports it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mobilenet import build_int8_mobilenet_v2  # bench/ is on sys.path when a bench runs

ROOT = Path(__file__).resolve().parents[1]
RUNS = 50


def time_static_check(path: Path) -> None:
    """Runs in a child process so the timing never includes (or benefits from) TensorFlow."""
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    from edgegate.targets.edgetpu.static import StaticAnalyzer

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
        build_int8_mobilenet_v2(path, alpha=1.0, size=224, io="uint8", calibration_samples=4)
        subprocess.run([sys.executable, __file__, "--time", str(path)], check=True)


if __name__ == "__main__":
    main()
