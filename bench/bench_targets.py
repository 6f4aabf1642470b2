"""Time the compute and mcu targets on MobileNetV2 int8 (python bench/bench_targets.py).

Builds keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None) with a
fixed batch of 1, converts it to full int8 (int8 I/O) with a few random calibration samples, and
times each target's ``analyze`` in a fresh process that never imports TensorFlow: the first call
(imports included) and the median of repeated calls.

With random weights the logits are nearly constant, so the calibrated SOFTMAX input scale is
tiny and TFLite Micro's int8 SOFTMAX aborts while preparing (a ``TFLITE_CHECK``): the mcu
target then takes its op-by-op path. To time the arena bisection as well, the same file with
its final SOFTMAX edited out is measured too.
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


def without_softmax(source: Path, target: Path) -> None:
    """The same model ending at the logits: the last op (SOFTMAX) removed, its input the output."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(source))
    graph = model.subgraphs[0]
    last = graph.operators[-1]
    assert model.operatorCodes[last.opcodeIndex].builtinCode == schema.BuiltinOperator.SOFTMAX
    graph.operators.pop()
    graph.outputs = [last.inputs[0]]
    flatbuffer_utils.write_model(model, str(target))


def time_targets(paths: list[Path]) -> None:
    """Runs in a child process, so no timing includes (or benefits from) TensorFlow."""
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    from edgegate.targets.compute.target import ComputeTarget, format_macs
    from edgegate.targets.mcu.target import McuTarget

    imports = time.perf_counter() - start
    print(f"imports of both target modules: {imports * 1000:.0f} ms")
    for path in paths:
        print(f"\n== {path.name}: {path.stat().st_size / 1e6:.2f} MB")
        for target, runs in ((ComputeTarget(), 20), (McuTarget(), 3)):
            times, report = [], None
            for _ in range(runs):
                t = time.perf_counter()
                report = target.analyze(path)
                times.append(time.perf_counter() - t)
            print(f"{target.summary(report)}")
            print(
                f"  {target.name}: first {times[0] * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms, "
                f"min {min(times) * 1000:.0f} ms over {runs} runs"
            )
            if target.name == "compute":
                top = ", ".join(f"#{o.index} {o.op} {format_macs(o.macs)}" for o in report.top(3))
                print(f"  total {report.total:,} MACs in {len(report.ops)} ops; top: {top}")
            else:
                print(
                    f"  arena {report.arena}, {report.attempts} interpreters built, {report.crashes} crashed TFLM"
                )
                for u in report.unsupported:
                    print(f"  refused: #{u.index} {u.op}: {u.message[:160]}")
    assert "tensorflow" not in sys.modules, "a target imported TensorFlow"
    assert "tflite_micro" not in sys.modules, "TFLite Micro ran in the analyzing process"


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--time":
        time_targets([Path(p) for p in sys.argv[2:]])
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "mobilenet_v2_0.35_96_int8.tflite"
        stripped = Path(tmp) / "mobilenet_v2_0.35_96_int8_no_softmax.tflite"
        t = time.perf_counter()
        build_int8_mobilenet_v2(model)
        without_softmax(model, stripped)
        print(f"built and converted in {time.perf_counter() - t:.0f} s (not timed below)")
        subprocess.run([sys.executable, __file__, "--time", str(model), str(stripped)], check=True)


if __name__ == "__main__":
    main()
