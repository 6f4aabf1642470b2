"""Tiny models for the target tests, converted with the real TFLite converter inside the session.

``models(name)`` converts model ``name`` once per session and returns its path. Each is a
``tf.function`` over ``tf.nn`` ops with fixed weights, so every MAC count in the tests can be
worked out by hand from the shapes written here; int8 models use a few random calibration
samples. TensorFlow is imported only when the first model is built.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

RNG = np.random.default_rng(0)
BUILDERS: dict[str, Callable[[], bytes]] = {}


def model(name: str):
    def register(build: Callable[[], bytes]) -> Callable[[], bytes]:
        BUILDERS[name] = build
        return build

    return register


def _tf():
    import tensorflow as tf

    return tf


def w(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def convert(fn, shapes: list[tuple[int, ...]], mode: str = "int8") -> bytes:
    """Convert a function of float32 inputs: ``int8`` (int8 I/O), ``int16x8`` (float I/O), ``float32``,
    ``float16``, ``dynamic``."""
    tf = _tf()
    concrete = tf.function(fn).get_concrete_function(*[tf.TensorSpec(s, tf.float32) for s in shapes])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode in ("int8", "int16x8"):
        rng = np.random.default_rng(1)
        converter.representative_dataset = lambda: (
            [rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(4)
        )
    if mode == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    if mode == "int16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        return converter.convert()


# --- the models (shapes in comments are what the MAC tests compute by hand) -----------------------


def _conv_stack(x):
    """Conv2D 3×3, 8→16 on 10×10 'same'; depthwise 3×3 multiplier 2 (16→32); ReLU; mean; dense 32→10."""
    tf = _tf()
    y = tf.nn.conv2d(x, CONV_W, 1, "SAME")  # [1, 10, 10, 16]
    y = tf.nn.depthwise_conv2d(y, DEPTHWISE_W, [1, 1, 1, 1], "SAME")  # [1, 10, 10, 32]
    y = tf.nn.relu(y)
    y = tf.reduce_mean(y, axis=[1, 2])  # [1, 32]
    return tf.matmul(y, DENSE_W)  # [1, 10]


CONV_W = w(3, 3, 8, 16)  # TF's HWIO
DEPTHWISE_W = w(3, 3, 16, 2)  # HW, in, multiplier
DENSE_W = w(32, 10)

for _mode in ("int8", "int16x8", "float32", "float16", "dynamic"):
    model(f"conv_stack_{_mode}")(lambda mode=_mode: convert(_conv_stack, [(1, 10, 10, 8)], mode))


@model("strided_valid")
def _() -> bytes:
    tf = _tf()
    k = w(3, 3, 3, 4)
    return convert(lambda x: tf.nn.conv2d(x, k, 2, "VALID"), [(1, 9, 9, 3)])  # → [1, 4, 4, 4]


@model("grouped_conv")
def _() -> bytes:
    tf = _tf()
    k = w(3, 3, 4, 6)  # 8 input channels in 2 groups of 4
    return convert(lambda x: tf.nn.conv2d(x, k, 1, "SAME"), [(1, 5, 5, 8)], "float32")  # → [1, 5, 5, 6]


@model("transpose_conv")
def _() -> bytes:
    tf = _tf()
    k = w(3, 3, 5, 8)  # conv2d_transpose filter: h, w, out, in
    return convert(
        lambda x: tf.nn.conv2d_transpose(x, k, [1, 12, 14, 5], 2, "SAME"), [(1, 6, 7, 8)], "float32"
    )


@model("batch_matmul")
def _() -> bytes:
    tf = _tf()
    return convert(lambda a, b: tf.linalg.matmul(a, b), [(2, 3, 4), (2, 4, 5)])


@model("batch_matmul_adjoint")
def _() -> bytes:
    tf = _tf()
    fn = lambda a, b: tf.linalg.matmul(a, b, transpose_a=True, transpose_b=True)  # noqa: E731
    return convert(fn, [(2, 4, 3), (2, 5, 4)], "float32")


@model("dense_3d")
def _() -> bytes:
    tf = _tf()
    k = w(6, 7)
    return convert(lambda x: tf.matmul(x, k), [(1, 4, 6)])  # 4 rows of 6 features → 7 units


@model("conv3d")
def _() -> bytes:
    tf = _tf()
    k = w(3, 3, 3, 4, 6)
    return convert(lambda x: tf.nn.conv3d(x, k, [1, 1, 1, 1, 1], "SAME"), [(1, 5, 6, 7, 4)], "float32")


@model("conv3d_transpose")
def _() -> bytes:
    tf = _tf()
    k = w(2, 2, 2, 3, 4)  # d, h, w, out, in
    return convert(
        lambda x: tf.nn.conv3d_transpose(x, k, [1, 6, 8, 10, 3], 2, "SAME"), [(1, 3, 4, 5, 4)], "float32"
    )


@model("elementwise")
def _() -> bytes:
    tf = _tf()
    return convert(lambda a, b: tf.nn.relu(a * b + a), [(1, 8, 8, 4), (1, 8, 8, 4)])


@model("unsupported_ops")
def _() -> bytes:
    """CONV_3D and GELU, which TFLite Micro lacks, around ops it has (ADD, RELU)."""
    tf = _tf()
    k = w(3, 3, 3, 2, 2)

    def fn(x):
        y = tf.nn.relu(tf.nn.conv3d(x, k, [1, 1, 1, 1, 1], "SAME"))
        return tf.nn.gelu(y + 1.0)

    return convert(fn, [(1, 4, 4, 4, 2)], "float32")


@model("log_int8")
def _() -> bytes:
    """int8 LOG: TFLite Micro prepares it, then refuses it when it runs (float only)."""
    tf = _tf()
    return convert(lambda x: tf.math.log(tf.abs(x) + 1.0), [(1, 8)])


@model("resize_bilinear_int16x8")
def _() -> bytes:
    """16-bit RESIZE_BILINEAR: prepared, refused when it runs (float or int8 only)."""
    tf = _tf()
    return convert(lambda x: tf.image.resize(x, (8, 8)), [(1, 4, 4, 3)], "int16x8")


@model("tiny_logits_softmax")
def _() -> bytes:
    """int8 SOFTMAX whose input scale is ~1e-11: TFLite Micro's Prepare aborts on it."""
    tf = _tf()
    k = w(16, 10, scale=1e-9)
    return convert(lambda x: tf.nn.softmax(tf.matmul(x, k)), [(1, 16)])


def convert_uint8(body, shape: tuple[int, ...]) -> bytes:
    """TF1-style quantization-aware conversion: fake-quant nodes in a graph, ``inference_type=uint8``.

    The way MobileNet v1's published uint8 models were made: every op computes on uint8 tensors.
    """
    tf = _tf()
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, shape, name="input")
        out = tf.identity(body(tf.quantization.fake_quant_with_min_max_args(x, -1.0, 1.0)), name="output")
        with tf1.Session(graph=graph) as session:
            converter = tf1.lite.TFLiteConverter.from_session(session, [x], [out])
            converter.inference_type = tf.uint8
            converter.quantized_input_stats = {"input": (128.0, 127.5)}
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore")
                return converter.convert()


def _fq(y, low: float, high: float, narrow: bool = False):
    return _tf().quantization.fake_quant_with_min_max_args(y, low, high, narrow_range=narrow)


def u8_conv(y):
    return _fq(_tf().nn.relu6(_tf().nn.conv2d(y, _fq(U8_CONV_W, -3.0, 3.0, True), 1, "SAME")), 0.0, 6.0)


def u8_depthwise(y):
    tf = _tf()
    return _fq(
        tf.nn.relu6(tf.nn.depthwise_conv2d(y, _fq(U8_DW_W, -3.0, 3.0, True), [1] * 4, "SAME")), 0.0, 6.0
    )


def u8_add(y):
    return _fq(y + y, 0.0, 12.0)


def u8_logistic(y):
    return _fq(_tf().sigmoid(y), 0.0, 1.0)


def u8_split(y):
    a, b = _tf().split(y, 2, axis=3)
    return _fq(_tf().concat([b, a], 3), 0.0, 1.0)  # SPLIT, then CONCATENATION


def u8_pool(y):
    return _fq(_tf().nn.avg_pool2d(y, 2, 2, "VALID"), 0.0, 1.0)


U8_CONV_W = w(3, 3, 8, 8)
U8_DW_W = w(3, 3, 8, 1)
U8_PARTS = {"conv": u8_conv, "depthwise": u8_depthwise, "add": u8_add, "logistic": u8_logistic}
U8_PARTS |= {"split": u8_split, "pool": u8_pool}
for _part, _body in U8_PARTS.items():
    model(f"u8_{_part}")(lambda body=_body: convert_uint8(body, (1, 8, 8, 8)))


@model("u8_mobilenet_like")
def _() -> bytes:
    """A uint8 MobileNet-like stack: TFLM refuses its CONV_2D and pooling when preparing them, its
    depthwise convs, ADD, LOGISTIC and SPLIT only when they run."""

    def body(x):
        y = u8_depthwise(u8_depthwise(u8_conv(x)))
        return u8_pool(u8_split(u8_logistic(u8_add(y))))

    return convert_uint8(body, (1, 8, 8, 8))


@model("relu_float32")
def _() -> bytes:
    return convert(lambda x: _tf().nn.relu(x), [(3, 3, 4)], "float32")


@model("floor_div_int32")
def _() -> bytes:
    """Two int32 FLOOR_DIVs (MoveNet's keypoint decoding): prepared, refused when they run."""
    tf = _tf()
    fn = tf.function(lambda a: tf.math.floordiv(a, 3) + tf.math.floordiv(a * 2, 5))
    concrete = fn.get_concrete_function(tf.TensorSpec((1, 8), tf.int32))
    return tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn).convert()


class _Models:
    def __init__(self, out: Path):
        self.out, self.built = out, {}

    def __call__(self, name: str) -> Path:
        if name not in self.built:
            path = self.out / f"{name}.tflite"
            path.write_bytes(BUILDERS[name]())
            self.built[name] = path
        return self.built[name]


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> _Models:
    return _Models(tmp_path_factory.mktemp("target_models"))
