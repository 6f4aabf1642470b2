"""Time the Ethos-U analysis (Vela in a child process) on MobileNetV2 int8 (python bench/bench_ethos_u.py).

Builds keras.applications.MobileNetV2(alpha=0.35, input 96×96×3, weights=None) with a fixed
batch of 1, converts it to full int8 (int8 input and output) with a few random calibration
samples, then times ``EthosUTarget.analyze`` (read the model, run ``python -m ethosu.vela`` in
a fresh child, read its outputs) for the default Ethos-U55-128 and for an Ethos-U65-256,
and prints Vela's own figures beside the wall times. TensorFlow is used only to build the
model; the timed process never imports it.
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
RUNS = 5


def time_analysis(path: Path) -> None:
    """Runs in a child process so the timing never includes (or benefits from) TensorFlow."""
    sys.path.insert(0, str(ROOT))
    from edgegate.targets.ethos_u.target import EthosUSettings, EthosUTarget, size_text

    print(f"model: MobileNetV2 0.35 96x96 int8, {path.stat().st_size / 1e6:.2f} MB")
    for accelerator in ("ethos-u55-128", "ethos-u65-256"):
        target = EthosUTarget(EthosUSettings(accelerator=accelerator))
        times = []
        report = None
        for _ in range(RUNS):
            start = time.perf_counter()
            report = target.analyze(path)
            times.append(time.perf_counter() - start)
        assert report is not None
        print(
            f"{target.title} ({report.system_config}, {report.memory_mode}): "
            f"{report.ops_on_npu}/{report.ops_total} ops on the NPU, {report.npu_partitions} partition(s), "
            f"SRAM {size_text(report.sram_bytes)}, compiled model {size_text(report.flash_bytes)}, "
            f"{report.weights_area} {size_text(report.weights_area_bytes)}, "
            f"~{report.inference_ms:.2f} ms Vela estimate ({report.cycles_total} cycles)"
        )
        print(
            f"  analysis wall time: median {statistics.median(times):.2f} s, "
            f"min {min(times):.2f} s, max {max(times):.2f} s over {RUNS} runs (Vela {report.vela_version})"
        )
    assert "tensorflow" not in sys.modules, "the Ethos-U analysis imported TensorFlow"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--time":
        time_analysis(Path(sys.argv[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mobilenet_v2_035_96_int8.tflite"
        start = time.perf_counter()
        build_int8_mobilenet_v2(path)
        print(f"built and converted in {time.perf_counter() - start:.1f} s")
        subprocess.run([sys.executable, __file__, "--time", str(path)], check=True)


if __name__ == "__main__":
    main()
