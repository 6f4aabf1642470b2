"""Tiny models for the Edge TPU tests, built with the real TFLite converter (once per session).

``model(name)`` returns the path of corpus model ``name``. Most are ``tf.function`` graphs
converted to full int8 with a few random calibration samples (about 0.1 s each). The few
layouts today's converter no longer emits (a custom op, a second subgraph, runtime weights,
a SQUEEZE, a fused concatenation activation, set strided-slice masks, an
``edgetpu_compiler`` output) are made by editing a converted model with
``ai_edge_litert.tools.flatbuffer_utils``, and are loaded by the LiteRT interpreter where the
edit should keep them runnable.
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CORPUS: dict[str, Callable] = {}
RNG = np.random.default_rng(0)


def corpus(name: str):
    def register(build):
        CORPUS[name] = build
        return build

    return register


def _tf():
    import tensorflow as tf

    return tf


def weights(*shape) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def convert(fn, shapes, mode: str = "int8") -> bytes:
    """Convert a tf.function taking float32 inputs of ``shapes``.

    Modes: int8 / uint8 (full integer, 8-bit io), float-io (int8 inside, float io),
    fallback (int8 where possible, float ops allowed), float32, float16, dynamic, int16x8.
    """
    tf = _tf()
    concrete = fn.get_concrete_function(*[tf.TensorSpec(s, tf.float32) for s in shapes])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn)
    return _quantize(converter, shapes, mode)


def convert_keras(model, mode: str = "int8") -> bytes:
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    shapes = [(1, *t.shape[1:]) for t in model.inputs]
    return _quantize(converter, shapes, mode)


def _quantize(converter, shapes, mode: str) -> bytes:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return _convert_as(converter, shapes, mode)


def _convert_as(converter, shapes, mode: str) -> bytes:
    tf = _tf()
    if mode == "float32":
        return converter.convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
        return converter.convert()
    if mode == "dynamic":
        return converter.convert()
    rng = np.random.default_rng(1)
    converter.representative_dataset = lambda: (
        [rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)
    )
    if mode == "int16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        return converter.convert()
    if mode == "fallback":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        return converter.convert()
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if mode in ("int8", "uint8"):
        converter.inference_input_type = getattr(tf, mode)
        converter.inference_output_type = getattr(tf, mode)
    return converter.convert()


# --- editing converted models (layouts today's converter does not emit) ----------------------


def edit(source: Path, target: Path, change) -> Path:
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(source)
    change(model)
    flatbuffer_utils.write_model(model, target)
    return target


def _opcode(model, builtin: int, custom: str | None = None, version: int = 1) -> int:
    from ai_edge_litert import schema_py_generated as s

    code = s.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, 127)
    code.version = version
    code.customCode = custom
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def as_custom(model, index: int, name: str) -> None:
    """Turn op ``index`` of the first subgraph into a custom op named ``name`` (same tensors)."""
    from ai_edge_litert import schema_py_generated as s

    op = model.subgraphs[0].operators[index]
    op.opcodeIndex = _opcode(model, s.BuiltinOperator.CUSTOM, name)
    op.builtinOptionsType, op.builtinOptions = 0, None
    op.customOptions = list(b"\x00")


def compile_like_edgetpu(model, start: int, stop: int) -> None:
    """Replace ops start..stop-1 (a chain) by one edgetpu-custom-op, as edgetpu_compiler writes it."""
    from ai_edge_litert import schema_py_generated as s

    graph = model.subgraphs[0]
    ops = graph.operators
    constant = {
        i
        for i, t in enumerate(graph.tensors)
        if t.buffer and model.buffers[t.buffer].data is not None and len(model.buffers[t.buffer].data)
    }
    partition = s.OperatorT()
    partition.opcodeIndex = _opcode(model, s.BuiltinOperator.CUSTOM, "edgetpu-custom-op")
    partition.inputs = [i for i in ops[start].inputs if i >= 0 and i not in constant]
    partition.outputs = list(ops[stop - 1].outputs)
    partition.customOptions = list(b"\x00")
    graph.operators = ops[:start] + [partition] + ops[stop:]


def add_subgraph_copy(model) -> None:
    import copy

    model.subgraphs.append(copy.deepcopy(model.subgraphs[0]))


# --- the corpus -------------------------------------------------------------------------------


def _conv_chain():
    tf = _tf()
    w1, w2, w3 = weights(3, 3, 3, 8), weights(3, 3, 8, 1), weights(1, 1, 8, 8)

    @tf.function
    def f(x):
        y = tf.nn.relu(tf.nn.conv2d(x, w1, 1, "SAME"))
        y = tf.nn.depthwise_conv2d(y, w2, [1, 1, 1, 1], "SAME")
        y = tf.nn.conv2d(y, w3, 1, "SAME")
        return tf.nn.avg_pool2d(y, 2, 2, "VALID")

    return f, [(1, 8, 8, 3)]


for _mode in ("int8", "uint8", "float-io", "float32", "float16", "int16x8"):
    corpus(f"conv_chain_{_mode}")(lambda mode=_mode: convert(*_conv_chain(), mode))


@corpus("dense_dynamic_range")
def _():
    tf = _tf()
    w = weights(64, 300)
    return convert(tf.function(lambda x: tf.nn.relu(tf.matmul(x, w))), [(1, 64)], "dynamic")


def _mobilenet_like(batch: int | None, squeeze_excite: bool = False):
    """A small Keras MobileNet: conv, depthwise-separable blocks, pooling, dense, softmax."""
    import tf_keras as keras

    L = keras.layers
    inputs = keras.Input((16, 16, 3), batch_size=batch)  # None: shape_signature [-1, 16, 16, 3]
    x = L.ReLU(6.0)(L.Conv2D(8, 3, strides=2, padding="same")(inputs))
    for filters in (16, 16, 32):
        x = L.ReLU(6.0)(L.DepthwiseConv2D(3, padding="same")(x))
        x = L.ReLU(6.0)(L.Conv2D(filters, 1)(x))
    if squeeze_excite:  # Keras Reshape of a pooled tensor: a run-time shape when the batch is None
        s = L.Reshape((1, 1, 32))(L.GlobalAveragePooling2D()(x))
        x = L.Multiply()([x, L.Conv2D(32, 1, activation="sigmoid")(s)])
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, L.Softmax()(L.Dense(10)(x)))


@corpus("keras_dynamic_batch")
def _():
    return convert_keras(_mobilenet_like(None))


@corpus("keras_batch_1")
def _():
    return convert_keras(_mobilenet_like(1))


@corpus("keras_dynamic_batch_se")
def _():
    return convert_keras(_mobilenet_like(None, squeeze_excite=True))


@corpus("keras_batch_1_se")
def _():
    return convert_keras(_mobilenet_like(1, squeeze_excite=True))


@corpus("keras_dynamic_size")
def _():
    import tf_keras as keras

    inputs = keras.Input((None, None, 3))  # stored as [1, 1, 1, 3]: a placeholder size
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return _quantize(converter, [(1, 8, 8, 3)], "int8")


def _single(fn_of_x, shape, mode="int8"):
    tf = _tf()
    return convert(tf.function(fn_of_x), [shape], mode)


@corpus("grouped_conv")
def _():
    tf, w = _tf(), weights(3, 3, 2, 4)
    return _single(lambda x: tf.nn.conv2d(x, w, 1, "SAME"), (1, 8, 8, 4))


@corpus("exp_int8")
def _():
    tf = _tf()
    return _single(lambda x: tf.exp(x), (1, 8, 8, 3))


@corpus("rsqrt_int8")
def _():
    tf = _tf()
    return _single(lambda x: tf.math.rsqrt(x * x + 1.0), (1, 8, 8, 3))


@corpus("leaky_relu_middle")
def _():
    tf = _tf()
    w1, w2, w3 = weights(3, 3, 3, 4), weights(1, 1, 4, 4), weights(1, 1, 4, 4)

    def f(x):
        y = tf.nn.conv2d(x, w1, 1, "SAME")
        y = tf.nn.leaky_relu(y)
        y = tf.nn.conv2d(y, w2, 1, "SAME")
        return tf.nn.conv2d(y, w3, 1, "SAME")

    return _single(f, (1, 8, 8, 3))


@corpus("unsupported_after_cut")
def _():
    tf = _tf()
    w1, w2, w3 = weights(3, 3, 3, 4), weights(1, 1, 4, 4), weights(1, 1, 4, 4)

    def f(x):
        y = tf.nn.leaky_relu(tf.nn.conv2d(x, w1, 1, "SAME"))
        y = tf.nn.conv2d(y, w2, 1, "SAME")
        y = y * tf.nn.relu6(y + 3.0) / 6.0  # HARD_SWISH, also not supported
        return tf.nn.conv2d(y, w3, 1, "SAME")

    return _single(f, (1, 8, 8, 3))


@corpus("float_fallback_middle")
def _():
    tf = _tf()
    w1, w2 = weights(3, 3, 3, 4), weights(1, 1, 4, 4)
    return _single(
        lambda x: tf.nn.conv2d(tf.cos(tf.nn.conv2d(x, w1, 1, "SAME")), w2, 1, "SAME"),
        (1, 8, 8, 3),
        "fallback",
    )


@corpus("transpose")
def _():
    tf = _tf()
    return _single(lambda x: tf.transpose(x, [0, 2, 1, 3]), (1, 4, 6, 8))


@corpus("batch2_conv")
def _():
    tf, w = _tf(), weights(3, 3, 3, 4)
    return _single(lambda x: tf.nn.conv2d(x, w, 1, "SAME"), (2, 8, 8, 3))


@corpus("dense")
def _():
    tf, w = _tf(), weights(16, 8)
    return _single(lambda x: tf.matmul(x, w), (1, 16))


@corpus("fc_runtime_weights")
def _(model):
    def weights_as_input(m):
        graph = m.subgraphs[0]
        fc = graph.operators[0]
        weight = fc.inputs[1]
        m.buffers[graph.tensors[weight].buffer].data = None
        graph.inputs = list(graph.inputs) + [weight]

    return edit(model("dense"), model.out / "fc_runtime_weights.tflite", weights_as_input)


@corpus("fc_rows")
def _():
    tf, w = _tf(), weights(8, 3)
    return _single(lambda x: tf.matmul(x, w), (4, 8))


@corpus("fc_keep_dims")
def _():
    tf, w = _tf(), weights(8, 3)
    return _single(lambda x: tf.matmul(x, w), (1, 4, 8))


@corpus("conv_dilation_1x2")
def _():
    tf, w = _tf(), weights(3, 3, 3, 4)
    return _single(lambda x: tf.nn.conv2d(x, w, 1, "SAME", dilations=[1, 2]), (1, 8, 8, 3))


@corpus("depthwise_dilation_2x2")
def _():
    tf, w = _tf(), weights(3, 3, 4, 1)
    return _single(
        lambda x: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME", dilations=[2, 2]), (1, 8, 8, 4)
    )


@corpus("maxpool_fused_relu")
def _():
    tf = _tf()
    return _single(lambda x: tf.nn.relu(tf.nn.max_pool2d(x, 2, 2, "VALID")), (1, 8, 8, 4))


def _concat(constant: np.ndarray | None, extra_input: bool = False):
    tf = _tf()
    shapes = [(1, 4, 4, 4)] * (2 if extra_input or constant is None else 1)

    def f(x, y=None):
        parts = (
            [x] + ([y] if y is not None else []) + ([tf.constant(constant)] if constant is not None else [])
        )
        return tf.concat(parts, -1)

    return convert(tf.function(f), shapes)


corpus("concat_zeros")(lambda: _concat(np.zeros((1, 4, 4, 4), np.float32)))
corpus("concat_ones")(lambda: _concat(np.ones((1, 4, 4, 4), np.float32)))
corpus("concat3_zeros")(lambda: _concat(np.zeros((1, 4, 4, 4), np.float32), extra_input=True))
corpus("concat2")(lambda: _concat(None))


@corpus("concat_fused_relu")
def _(model):
    from ai_edge_litert import schema_py_generated as s

    def fuse(m):
        m.subgraphs[0].operators[0].builtinOptions.fusedActivationFunction = s.ActivationFunctionType.RELU

    return edit(model("concat2"), model.out / "concat_fused_relu.tflite", fuse)


def _reduce(op: str, axis, channels: int = 6):
    tf = _tf()
    return _single(lambda x: getattr(tf, op)(x, axis), (1, 4, 4, channels))


corpus("mean_xy")(lambda: _reduce("reduce_mean", [1, 2]))
corpus("mean_batch_axis")(lambda: _reduce("reduce_mean", 0))
corpus("mean_channels_6")(lambda: _reduce("reduce_mean", -1))
corpus("mean_channels_8")(lambda: _reduce("reduce_mean", -1, 8))
corpus("sum_batch_axis")(lambda: _reduce("reduce_sum", 0))
corpus("reduce_max_batch_axis")(lambda: _reduce("reduce_max", 0))
corpus("reduce_min_xy")(lambda: _reduce("reduce_min", [1, 2]))


@corpus("pad_channels")
def _():
    tf = _tf()
    return _single(lambda x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 2]]), (1, 4, 4, 4))


@corpus("pad_xy")
def _():
    tf = _tf()
    return _single(lambda x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), (1, 4, 4, 4))


def _prelu(shared_axes):
    import tf_keras as keras

    inputs = keras.Input((8, 8, 4), batch_size=1)
    return convert_keras(keras.Model(inputs, keras.layers.PReLU(shared_axes=shared_axes)(inputs)))


corpus("prelu_shared")(lambda: _prelu([1, 2]))
corpus("prelu_full_alpha")(lambda: _prelu(None))


corpus("softmax_vector")(lambda: _single(lambda x: _tf().nn.softmax(x), (1, 10)))
corpus("softmax_rank3")(lambda: _single(lambda x: _tf().nn.softmax(x), (1, 4, 10)))
corpus("softmax_20000")(lambda: _single(lambda x: _tf().nn.softmax(x), (1, 20000)))


@corpus("reshape_small")
def _():
    tf = _tf()
    return _single(lambda x: tf.reshape(x, (1, 4 * 4 * 8)), (1, 4, 4, 8))


@corpus("reshape_large")
def _():
    tf = _tf()
    return _single(lambda x: tf.reshape(x, (1, 64 * 64 * 32)), (1, 64, 64, 32))


@corpus("squeeze_relayout")
def _(model):
    from ai_edge_litert import schema_py_generated as s

    def to_squeeze(m):
        op = m.subgraphs[0].operators[0]  # RESHAPE [1, 5, 1, 10] -> [1, 5, 10]
        op.opcodeIndex = _opcode(m, s.BuiltinOperator.SQUEEZE)
        options = s.SqueezeOptionsT()
        options.squeezeDims = [2]
        op.builtinOptionsType, op.builtinOptions = s.BuiltinOptions.SqueezeOptions, options
        op.inputs = op.inputs[:1]

    return edit(model("reshape_squeeze_source"), model.out / "squeeze_relayout.tflite", to_squeeze)


corpus("reshape_squeeze_source")(lambda: _single(lambda x: _tf().reshape(x, (1, 5, 10)), (1, 5, 1, 10)))


@corpus("strided_slice_unit")
def _():
    return _single(lambda x: x[:, 1:3], (1, 8, 8, 4))


@corpus("strided_slice_stride2")
def _():
    return _single(lambda x: x[:, ::2], (1, 8, 8, 4))


@corpus("strided_slice_new_axis_mask")
def _(model):
    def mask(m):
        m.subgraphs[0].operators[0].builtinOptions.newAxisMask = 1

    return edit(model("strided_slice_unit"), model.out / "strided_slice_new_axis_mask.tflite", mask)


@corpus("resize_bilinear_half_pixel")
def _():
    return _single(lambda x: _tf().image.resize(x, (8, 8), "bilinear"), (1, 4, 4, 4))


@corpus("resize_nearest_plain")
def _():
    return _single(lambda x: _tf().compat.v1.image.resize_nearest_neighbor(x, (8, 8)), (1, 4, 4, 4))


@corpus("transpose_conv")
def _():
    tf, w = _tf(), weights(3, 3, 4, 3)
    return _single(lambda x: tf.nn.conv2d_transpose(x, w, (1, 16, 16, 4), 2, "SAME"), (1, 8, 8, 3))


@corpus("supported_ops_mix")
def _():
    tf = _tf()

    def f(x, y):
        a = tf.sigmoid(x) + tf.tanh(y) - tf.maximum(x, y) * tf.minimum(x, y)
        b = tf.nn.avg_pool2d(tf.nn.relu6(a), 2, 2, "VALID")
        c = tf.nn.space_to_depth(tf.math.l2_normalize(x, -1), 2)
        return (
            tf.concat([b, c], -1),
            tf.math.squared_difference(x, y),
            tf.slice(x, [0, 0, 0, 0], [1, 2, 2, 4]),
        )

    return convert(tf.function(f), [(1, 8, 8, 4), (1, 8, 8, 4)])


@corpus("custom_op_middle")
def _(model):
    return edit(
        model("conv_chain_int8"), model.out / "custom_op_middle.tflite", lambda m: as_custom(m, 1, "MyOp")
    )


@corpus("two_subgraphs")
def _(model):
    return edit(model("conv_chain_int8"), model.out / "two_subgraphs.tflite", add_subgraph_copy)


@corpus("conv_chain_int8_edgetpu")
def _(model):
    return edit(
        model("conv_chain_int8"),
        model.out / "conv_chain_int8_edgetpu.tflite",
        lambda m: compile_like_edgetpu(m, 0, 4),
    )


@corpus("leaky_relu_middle_edgetpu")
def _(model):
    return edit(
        model("leaky_relu_middle"),
        model.out / "leaky_relu_middle_edgetpu.tflite",
        lambda m: compile_like_edgetpu(m, 0, 1),
    )


@corpus("conv_chain_float-io_edgetpu")
def _(model):
    return edit(
        model("conv_chain_float-io"),
        model.out / "conv_chain_float-io_edgetpu.tflite",
        lambda m: compile_like_edgetpu(m, 1, 5),
    )


# --- graph partitioning and the rules learnt from compiled pairs (reference §2) ----------------


@corpus("branch_after_cpu_op")
def _() -> bytes:
    """conv -> LEAKY_RELU -> conv, and conv -> RELU -> conv beside it: a branch that does not read the CPU op.

    The converter writes the second branch after the first, so execution order alone would cut it.
    """
    tf = _tf()
    w1, w2, w3 = weights(3, 3, 3, 4), weights(1, 1, 4, 4), weights(1, 1, 4, 4)

    def f(x):
        a = tf.nn.conv2d(x, w1, 1, "SAME")
        return tf.nn.conv2d(tf.nn.leaky_relu(a), w2, 1, "SAME"), tf.nn.conv2d(tf.nn.relu(a), w3, 1, "SAME")

    return _single(f, (1, 8, 8, 3))


@corpus("deeplab_head")
def _() -> bytes:
    """DeepLab's decoder in small: image pooling (1x1) resized 16x beside an ASPP conv, concatenated."""
    tf = _tf()
    w1, w2, w3, w4 = weights(3, 3, 3, 8), weights(1, 1, 8, 4), weights(1, 1, 8, 4), weights(1, 1, 8, 3)

    def f(x):
        features = tf.nn.relu(tf.nn.conv2d(x, w1, 1, "SAME"))
        pooled = tf.nn.relu(tf.nn.conv2d(tf.nn.avg_pool2d(features, 16, 16, "VALID"), w2, 1, "SAME"))
        pooled = tf.compat.v1.image.resize_bilinear(pooled, (16, 16), align_corners=True)
        aspp = tf.nn.relu(tf.nn.conv2d(features, w3, 1, "SAME"))
        return tf.nn.conv2d(tf.concat([pooled, aspp], -1), w4, 1, "SAME")

    return _single(f, (1, 16, 16, 3))


@corpus("cast_prologue")
def _() -> bytes:
    """A uint8 image input cast to float in the graph: the converter writes CAST, then QUANTIZE."""
    tf = _tf()
    w1, w2 = weights(3, 3, 3, 4), weights(1, 1, 4, 4)

    @tf.function
    def f(x):
        y = tf.nn.relu(tf.nn.conv2d(tf.cast(x, tf.float32), w1, 1, "SAME"))
        return tf.nn.conv2d(y, w2, 1, "SAME")

    concrete = f.get_concrete_function(tf.TensorSpec((1, 8, 8, 3), tf.uint8))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], f)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(1)
    converter.representative_dataset = lambda: (
        [rng.integers(0, 256, (1, 8, 8, 3)).astype(np.uint8)] for _ in range(3)
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_output_type = tf.int8
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return converter.convert()


def _lstm(mode: str) -> bytes:
    import tf_keras as keras

    inputs = keras.Input((8, 6), batch_size=1)
    outputs = keras.layers.Dense(3)(keras.layers.LSTM(4)(inputs))
    return convert_keras(keras.Model(inputs, outputs), mode)


corpus("lstm_int8")(lambda: _lstm("int8"))


@corpus("lstm_int16_output_state")
def _(model: _Corpus) -> Path:
    """The int8 LSTM with its output state (input 18) widened to int16, which no int8 kernel spec allows.

    The converter cannot write a 16x8 LSTM ("Quantization to 16x8-bit not yet supported"), so an edit
    is the only way to put an int16 data tensor where the spec wants 8 bits.
    """
    from ai_edge_litert import schema_py_generated as s

    def widen(m) -> None:  # m: flatbuffer_utils' ModelT
        graph = m.subgraphs[0]
        graph.tensors[graph.operators[0].inputs[18]].type = s.TensorType.INT16

    return edit(model("lstm_int8"), model.out / "lstm_int16_output_state.tflite", widen)


@corpus("split_v_middle")
def _() -> bytes:
    """SPLIT_V (not in Table 1) between convs, with 8-bit data and constant sizes."""
    tf = _tf()
    w1, w2, w3 = weights(3, 3, 3, 8), weights(1, 1, 2, 4), weights(1, 1, 6, 4)

    def f(x):
        a, b = tf.split(tf.nn.conv2d(x, w1, 1, "SAME"), [2, 6], axis=-1)
        return tf.concat([tf.nn.conv2d(a, w2, 1, "SAME"), tf.nn.conv2d(b, w3, 1, "SAME")], -1)

    return _single(f, (1, 8, 8, 3))


@corpus("cyclic_graph")
def _(model: _Corpus) -> Path:
    """A damaged file: the first op reads the last op's output, so the graph has a cycle."""

    def close_the_loop(m) -> None:  # m: flatbuffer_utils' ModelT
        ops = m.subgraphs[0].operators
        ops[0].inputs = [ops[-1].outputs[0], *list(ops[0].inputs)[1:]]

    return edit(model("conv_chain_int8"), model.out / "cyclic_graph.tflite", close_the_loop)


class _Corpus:
    def __init__(self, out: Path):
        self.out = out
        self._paths: dict[str, Path] = {}

    def __call__(self, name: str) -> Path:
        if name not in self._paths:
            build = CORPUS[name]
            made = build(self) if "model" in inspect.signature(build).parameters else build()
            if isinstance(made, bytes):
                path = self.out / f"{name}.tflite"
                path.write_bytes(made)
                made = path
            self._paths[name] = made
        return self._paths[name]


@pytest.fixture(scope="session")
def model(tmp_path_factory) -> _Corpus:
    """model(name) -> Path of a corpus .tflite, built on first use and shared by the session."""
    return _Corpus(tmp_path_factory.mktemp("edgetpu-corpus"))


# --- a fake edgetpu_compiler ------------------------------------------------------------------

FAKE_COMPILER = '''#!{python}
"""A stand-in for edgetpu_compiler: prints a recorded output and writes recorded files."""
import os, shutil, signal, sys, time
args = sys.argv[1:]
out = args[args.index("-o") + 1] if "-o" in args else "."
model = args[-1]
stem = os.path.splitext(os.path.basename(model))[0]
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "argv.txt"), "w") as f:
    f.write(" ".join(args))
{body}
'''


@pytest.fixture
def fake_compiler(tmp_path):
    """fake_compiler(body) -> path of an executable ``edgetpu_compiler`` running the Python ``body``."""

    def make(body: str) -> Path:
        folder = tmp_path / "bin"
        folder.mkdir(exist_ok=True)
        path = folder / "edgetpu_compiler"
        path.write_text(FAKE_COMPILER.format(python=sys.executable, body=body))
        path.chmod(0o755)
        return path

    return make
