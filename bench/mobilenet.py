"""The int8 MobileNetV2 the benchmarks share, built (weights=None) and converted in the benchmark
with random calibration data: nothing is downloaded.

The target benchmarks use alpha 0.35 at 96×96 with int8 I/O (the default); the Edge TPU one uses
the full 1.0 at 224×224 with uint8 I/O.
"""

from __future__ import annotations

import os
from pathlib import Path


def build_int8_mobilenet_v2(
    path: Path, *, alpha: float = 0.35, size: int = 96, io: str = "int8", calibration_samples: int = 8
) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import numpy as np
    import tensorflow as tf
    import tf_keras as keras

    inputs = keras.Input((size, size, 3), batch_size=1)
    model = keras.applications.MobileNetV2(alpha=alpha, weights=None, input_tensor=inputs)
    rng = np.random.default_rng(0)

    def calibration():
        for _ in range(calibration_samples):
            yield [rng.random((1, size, size, 3), dtype=np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = getattr(tf, io)
    converter.inference_output_type = getattr(tf, io)
    path.write_bytes(converter.convert())
