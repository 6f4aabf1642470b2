"""LiteRT Quantizer int8 of a float MobileNetV2 .tflite vs TensorFlow's converter int8 of the same
Keras model, each from a cold process (issue 17). Goal: wall time ratio <= 0.25.

Setup (not timed): MobileNetV2 alpha 0.35 at 96×96 (weights=None, nothing downloaded) is saved
as a Keras file and converted to a float32 .tflite; 8 random calibration samples are saved.
Timed, each in a fresh `python` process from its start to its end (imports included):
- litert: `edgegate.recipes.litert_quantize.quantize(float.tflite, int8, samples)`, which itself
  starts the isolated quantizer child (what a run does);
- tensorflow: load the Keras model, `TFLiteConverter` int8 with the same samples (float I/O,
  as the quantizer keeps).
Run: python bench/bench_litert_quantizer.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SETUP = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"; os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np, tensorflow as tf, tf_keras as keras
out = sys.argv[1]
inputs = keras.Input((96, 96, 3), batch_size=1)
model = keras.applications.MobileNetV2(alpha=0.35, weights=None, input_tensor=inputs)
model.save(out + "/m.h5")
open(out + "/float.tflite", "wb").write(tf.lite.TFLiteConverter.from_keras_model(model).convert())
np.save(out + "/x.npy", np.random.default_rng(0).random((8, 96, 96, 3), dtype=np.float32))
"""

_LITERT = r"""
import sys
from pathlib import Path
import numpy as np
from edgegate.recipes import litert_quantize as lq
from edgegate.recipes.quantizer_recipes import RECIPES
out = Path(sys.argv[1]); model = out / "float.tflite"
samples = lq.match_inputs(model.read_bytes(), np.load(out / "x.npy"), "calibration", model)
(out / "litert_int8.tflite").write_bytes(lq.quantize(model, RECIPES["int8"], samples=samples).data)
"""

_TENSORFLOW = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"; os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np, tensorflow as tf, tf_keras as keras
out = sys.argv[1]
model = keras.models.load_model(out + "/m.h5", compile=False)
x = np.load(out + "/x.npy")
converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = lambda: ([x[i : i + 1]] for i in range(len(x)))
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
open(out + "/tf_int8.tflite", "wb").write(converter.convert())
"""


def _timed(code: str, folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-litert-") as tmp:
        folder = Path(tmp)
        subprocess.run([sys.executable, "-c", _SETUP, tmp], check=True, capture_output=True)
        float_size = (folder / "float.tflite").stat().st_size
        t_litert = _timed(_LITERT, folder)
        t_tf = _timed(_TENSORFLOW, folder)
        s_litert = (folder / "litert_int8.tflite").stat().st_size
        s_tf = (folder / "tf_int8.tflite").stat().st_size
    print(
        "MobileNetV2 0.35 96x96, float32 .tflite: %.2f MB; int8, 8 calibration samples" % (float_size / 1e6)
    )
    print(f"{'':12}{'litert-quantizer':>18}{'TF converter':>15}{'ratio':>9}")
    print(f"{'wall (cold)':12}{t_litert:>16.1f} s{t_tf:>13.1f} s{t_litert / t_tf:>9.2f}   goal <= 0.25")
    print(f"{'size':12}{s_litert / 1e6:>15.2f} MB{s_tf / 1e6:>12.2f} MB{s_litert / s_tf:>9.2f}")
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
