"""The memory figure: a fresh process's peak resident memory above its baseline, on models built here.

The models are big enough (megabytes) that what they must hold stands far above the few pages the
figure varies by from run to run (bench/bench_memory.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edgegate.errors import InputError
from edgegate.measurements.memory import measure_memory

MiB = 1 << 20
TILED_ROWS, WIDTH = 262_144, 16  # the large intermediate: 262144 × 16 float32 = 16 MiB
HUGE_ROWS = 1 << 24  # 1 GiB intermediates: past the limit the test gives the child
IN, OUT = 1024, 2048  # the dense layer: 2 M weights, 8 MiB in float32


@dataclass(frozen=True)
class Built:
    large_intermediate: Path
    huge_intermediate: Path
    float32: Path
    float16: Path  # float16 weights, dequantized to float32 when loaded
    int8: Path  # full-integer candidate of the float32 model


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    import tensorflow as tf

    out = tmp_path_factory.mktemp("memory")

    @tf.function(input_signature=[tf.TensorSpec([1, WIDTH], tf.float32)])
    def large(x):
        return tf.reduce_sum(tf.tile(x, [TILED_ROWS, 1]) * 2.0, axis=0, keepdims=True)

    @tf.function(input_signature=[tf.TensorSpec([1, WIDTH], tf.float32)])
    def huge(x):
        return tf.reduce_sum(tf.tile(x, [HUGE_ROWS, 1]) * 2.0, axis=0, keepdims=True)

    rng = np.random.default_rng(0)
    kernel = tf.constant(rng.normal(size=(IN, OUT)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, IN], tf.float32)])
    def dense(x):
        return tf.nn.relu(tf.matmul(x, kernel))

    def convert(fn, mode: str) -> Path:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
        if mode == "float16":  # the converter's float16 recipe: float16 weights, float math
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        if mode == "int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            samples = [rng.normal(size=(1, IN)).astype(np.float32) for _ in range(8)]
            converter.representative_dataset = lambda: ([s] for s in samples)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        path = out / f"{fn.__name__}_{mode}.tflite"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Statistics for quantized inputs")
            path.write_bytes(converter.convert())
        return path

    return Built(
        convert(large, "float32"),
        convert(huge, "float32"),
        convert(dense, "float32"),
        convert(dense, "float16"),
        convert(dense, "int8"),
    )


def test_a_large_intermediate_tensor_is_counted(built):
    figures = measure_memory(built.large_intermediate, name="tiled", threads=1)
    tensor = TILED_ROWS * WIDTH * 4
    assert built.large_intermediate.stat().st_size < 64 * 1024  # the file holds no such bytes
    assert figures.peak_bytes >= tensor
    assert figures.stable and figures.invokes >= 2


def test_an_int8_candidate_needs_less_than_its_float_model(built):
    float32 = measure_memory(built.float32, name="dense (float32)", threads=1).peak_bytes
    int8 = measure_memory(built.int8, name="dense (int8)", threads=1).peak_bytes
    assert float32 >= IN * OUT * 4  # at least its float weights
    assert int8 < float32 - IN * OUT * 2  # int8 weights are a quarter: far less, not noise


def test_float16_weights_count_dequantized(built):
    """LiteRT runs a float16-weight model in float: the weights it holds are float32 copies, besides
    the float16 ones in the file it maps."""
    figures = measure_memory(built.float16, name="dense (float16)", threads=1)
    assert figures.peak_bytes >= IN * OUT * 4 + IN * OUT * 2


def test_threads_are_the_interpreters(built):
    """The latency measurement's thread count reaches the interpreter: more threads, not less memory."""
    one = measure_memory(built.float32, name="dense", threads=1).peak_bytes
    two = measure_memory(built.float32, name="dense", threads=2).peak_bytes
    assert two >= one - 64 * 1024


def test_a_model_that_cannot_be_read_is_named(tmp_path, built):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(built.float32.read_bytes()[:100])
    with pytest.raises(InputError, match=r"model dense \(int8\): broken.tflite cannot be loaded"):
        measure_memory(broken, name="dense (int8)", threads=1)
    garbage = tmp_path / "page.tflite"
    garbage.write_text("<html>not found</html>")
    with pytest.raises(InputError, match="page.tflite is not a TensorFlow Lite model"):
        measure_memory(garbage, name="page", threads=1)


def test_a_model_past_the_childs_memory_limit_fails_in_the_child(tmp_path, monkeypatch, built):
    """The child's own limit stops a model that allocates beyond it; the worker is untouched."""
    import edgegate.measurements.memory as memory

    monkeypatch.setattr(memory, "CHILD_MEMORY_BYTES", 512 * MiB)  # the imports fit, a 1 GiB tensor not
    monkeypatch.setattr(memory, "CHILD_MEMORY_SHOWN", "512 MiB")
    with pytest.raises(InputError, match="model huge failed to run .*more than the 512 MiB it may use"):
        memory.measure_memory(built.huge_intermediate, name="huge", threads=1)
