"""What the SavedModel scan costs next to the conversion it guards, on MobileNetV2.

Builds MobileNetV2 (224×224, ``weights=None``: the graph is what matters, not the values),
saves it as a tf-keras SavedModel (with ``keras_metadata.pb``, which the scan also reads), then
times, in this one process, ``check_saved_model`` (parse ``saved_model.pb`` and the Keras
metadata, walk every node of the graph and the function library) against a float32
``TFLiteConverter.from_saved_model`` conversion, and prints the ratio. The goal: under 5 %.

It also measures what parsing would cost in a process without TensorFlow: importing the
generated ``saved_model_pb2`` alone (``protobuf`` plus the ``_pb2`` files, reached through empty
package shells so ``tensorflow/__init__`` never runs) against ``import tensorflow``, each in a
fresh interpreter. Workers import TensorFlow for the conversion anyway, so the scan uses the
ordinary import; the figure says what a TensorFlow-free scan would save.

    python bench/bench_savedmodel_scan.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROTO_ONLY = """
import importlib.util, os, sys, time, types
started = time.perf_counter()
root = os.path.dirname(importlib.util.find_spec("tensorflow").origin)
for name in ("tensorflow", "tensorflow.core", "tensorflow.core.protobuf", "tensorflow.core.framework"):
    shell = types.ModuleType(name)
    shell.__path__ = [os.path.join(root, *name.split(".")[1:])]
    sys.modules[name] = shell
from tensorflow.core.protobuf import saved_model_pb2
message = saved_model_pb2.SavedModel()
message.ParseFromString(open(sys.argv[1], "rb").read())
assert "tensorflow.python" not in sys.modules
print(time.perf_counter() - started)
"""
FULL_IMPORT = """
import sys, time
started = time.perf_counter()
from tensorflow.core.protobuf import saved_model_pb2
message = saved_model_pb2.SavedModel()
message.ParseFromString(open(sys.argv[1], "rb").read())
print(time.perf_counter() - started)
"""


def _fresh(code: str, pb: Path) -> float:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(pb)], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf_keras

    from edgegate.recipes.interface import SourceModel
    from edgegate.recipes.savedmodel_scan import check_saved_model, read_saved_model

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "mobilenet_v2")
        tf_keras.applications.MobileNetV2(input_shape=(224, 224, 3), weights=None).save(
            folder, save_format="tf"
        )
        graph = read_saved_model(folder)
        nodes = sum(len(m.graph_def.node) for m in graph.meta_graphs)
        functions = [f for m in graph.meta_graphs for f in m.graph_def.library.function]
        source = SourceModel(folder, "savedmodel", "models/mobilenet_v2")

        check_saved_model(source)  # warm: the op table and the protobuf modules are loaded once
        scans = []
        for _ in range(args.runs):
            started = time.perf_counter()
            check_saved_model(source)
            scans.append(time.perf_counter() - started)
        conversions = []
        for _ in range(max(1, args.runs // 2)):
            started = time.perf_counter()
            tf.lite.TFLiteConverter.from_saved_model(str(folder)).convert()
            conversions.append(time.perf_counter() - started)
        proto_only = _fresh(PROTO_ONLY, folder / "saved_model.pb")
        full_import = _fresh(FULL_IMPORT, folder / "saved_model.pb")

    scan, conversion = statistics.median(scans), statistics.median(conversions)
    print(
        f"MobileNetV2 SavedModel: {nodes} graph nodes, {len(functions)} functions, "
        f"{sum(len(f.node_def) for f in functions)} function nodes"
    )
    print(f"scan (median of {len(scans)}):        {scan * 1000:8.1f} ms")
    print(f"conversion (median of {len(conversions)}): {conversion * 1000:8.1f} ms")
    print(f"scan / conversion:             {scan / conversion:8.2%}   (goal: under 5 %)")
    print(f"fresh process, parse with protobuf + _pb2 only: {proto_only:6.2f} s")
    print(f"fresh process, parse after import tensorflow:  {full_import:6.2f} s")


if __name__ == "__main__":
    main()
