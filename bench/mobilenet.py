"""The model the target benchmarks share: MobileNetV2 (alpha 0.35, 96×96, weights=None), int8.

Built and converted inside the benchmark with random calibration data: nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path


def build_int8_mobilenet_v2(path: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import numpy as np
    import tensorflow as tf
    import tf_keras as keras

    inputs = keras.Input((96, 96, 3), batch_size=1)
    model = keras.applications.MobileNetV2(alpha=0.35, weights=None, input_tensor=inputs)
    rng = np.random.default_rng(0)

    def calibration():
        for _ in range(8):
            yield [rng.random((1, 96, 96, 3), dtype=np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())
