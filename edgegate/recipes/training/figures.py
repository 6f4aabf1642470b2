"""What pruning and clustering achieved: sparsity and unique weight values.

Two readers of the same figures. ``keras_kernels`` reads a tf-keras model (stripped, or still
wrapped by tfmot for QAT), so a recipe can report what fine-tuning reached.
``tflite_weights`` reads a converted ``.tflite``'s constant buffers with LiteRT's flatbuffer
schema, without TensorFlow, so tests (and reports) can check that sparsity and clusters
survived conversion and quantization.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

# The weights tfmot prunes and clusters (its registries name these attributes).
KERNEL_ATTRS = ("kernel", "pointwise_kernel", "embeddings")


def _layers(model):
    """(layer, innermost layer) pairs, descending into nested models and through tfmot's wrappers."""
    import tf_keras

    for layer in model.layers:
        if isinstance(layer, tf_keras.Model):
            yield from _layers(layer)
            continue
        inner = layer
        while isinstance(inner, tf_keras.layers.Wrapper):  # prune / cluster / quantize wrappers
            inner = inner.layer
        yield layer, inner


def keras_kernels(model) -> dict[str, np.ndarray]:
    """Each layer's prunable/clusterable kernel, by the name of the (unwrapped) layer.

    Reads variables, not just attributes: QAT wrappers replace ``layer.kernel`` by the
    fake-quantized tensor of the last trace, while the variable keeps the trained weights.
    """
    import tensorflow as tf

    kernels: dict[str, np.ndarray] = {}
    for layer, inner in _layers(model):
        for attr in KERNEL_ATTRS:
            var = getattr(inner, attr, None)
            if not isinstance(var, tf.Variable):
                suffix = f"{inner.name}/{attr}:0"
                var = next(
                    (w for w in layer.weights if w.name == suffix or w.name.endswith("/" + suffix)), None
                )
            if var is not None:
                kernels[inner.name] = var.numpy()
                break
    return kernels


def sparsity(kernels: Mapping[str, np.ndarray]) -> float | None:
    """Fraction of exact zeros over all given kernels; None when there are none."""
    total = sum(k.size for k in kernels.values())
    if not total:
        return None
    return float(sum(int(np.count_nonzero(k == 0)) for k in kernels.values()) / total)


def unique_counts(kernels: Mapping[str, np.ndarray]) -> dict[str, int]:
    return {name: int(np.unique(k).size) for name, k in kernels.items()}


# --- .tflite -------------------------------------------------------------------------


@dataclass(frozen=True)
class TfliteWeight:
    """One constant weight operand of a converted model."""

    name: str  # the tensor's name (carries the Keras layer name)
    op: str  # the op that consumes it: CONV_2D, FULLY_CONNECTED, ...
    shape: tuple[int, ...]
    dtype: str  # float32 / float16 / int8 ...
    elements: int
    zeros: int  # elements equal to zero (quantized: equal to their zero point)
    unique: int  # distinct stored values over the whole tensor
    unique_per_channel: int | None  # the most distinct values in one channel (per-channel quantized)


# Ops whose input 1 is the weight tensor (filter, or the embedding table).
_WEIGHT_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "TRANSPOSE_CONV",
    "CONV_3D",
    "EMBEDDING_LOOKUP",
    "BATCH_MATMUL",
)
_NUMPY = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "INT8": np.int8,
    "UINT8": np.uint8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FLOAT64": np.float64,
}


def _enum_names(cls) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


def tflite_weights(model: bytes | Path) -> tuple[TfliteWeight, ...]:
    """The weight operands of every conv / fully-connected / embedding op, with their statistics.

    Weights stored as float16 or int8 and dequantized at load time (float16 and
    dynamic-range models) are followed back through their DEQUANTIZE op.
    """
    from ai_edge_litert import schema_py_generated as schema

    buf = bytearray(Path(model).read_bytes() if isinstance(model, (str, Path)) else model)
    m = schema.ModelT.InitFromPackedBuf(buf, 0)
    op_names = _enum_names(schema.BuiltinOperator)
    type_names = _enum_names(schema.TensorType)
    codes = [op_names.get(max(c.builtinCode, c.deprecatedBuiltinCode), "CUSTOM") for c in m.operatorCodes]

    def data_of(buffer_index: int) -> bytes:
        b = m.buffers[buffer_index]
        if b.offset > 1:  # stored after the flatbuffer (models over 2 GB)
            return bytes(buf[b.offset : b.offset + b.size])
        return bytes(np.asarray(b.data, dtype=np.uint8)) if b.data is not None else b""

    found: list[TfliteWeight] = []
    for graph in m.subgraphs:
        producer = {
            out: op for op in graph.operators for out in (op.outputs if op.outputs is not None else ())
        }
        seen: set[int] = set()
        for op in graph.operators:
            name = codes[op.opcodeIndex]
            if name not in _WEIGHT_OPS or op.inputs is None or len(op.inputs) < 2:
                continue
            index = int(op.inputs[1])
            source = producer.get(index)
            if source is not None and codes[source.opcodeIndex] == "DEQUANTIZE":
                index = int(source.inputs[0])
            if index < 0 or index in seen:
                continue
            tensor = graph.tensors[index]
            raw = data_of(tensor.buffer)
            dtype = type_names.get(tensor.type, str(tensor.type))
            if not raw or dtype not in _NUMPY:
                continue  # not a constant (e.g. a BATCH_MATMUL of two activations)
            seen.add(index)
            found.append(_weight_stats(tensor, name, dtype, np.frombuffer(raw, dtype=_NUMPY[dtype])))
    return tuple(found)


def _weight_stats(tensor, op: str, dtype: str, values: np.ndarray) -> TfliteWeight:
    shape = tuple(int(d) for d in tensor.shape) if tensor.shape is not None else (values.size,)
    elements = int(np.prod(shape)) if shape else 1
    q = tensor.quantization
    zero_points = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [0])
    per_channel = None
    if tensor.sparsity is None and values.size == elements:
        values = values.reshape(shape)
        if zero_points.size > 1:  # per-channel: zero point and distinct values differ per channel
            axis = q.quantizedDimension
            zp = np.expand_dims(zero_points, [d for d in range(len(shape)) if d != axis])
            zeros = int(np.count_nonzero(values == zp))
            per_channel = max(int(np.unique(np.take(values, c, axis=axis)).size) for c in range(shape[axis]))
        else:
            zeros = int(np.count_nonzero(values == zero_points[0]))
    else:
        # Sparse-encoded: only stored blocks are in the buffer; everything else is zero.
        zeros = elements - int(np.count_nonzero(values != zero_points[0]))
    name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)
    return TfliteWeight(
        name, op, shape, dtype.lower(), elements, zeros, int(np.unique(values).size), per_channel
    )


def tflite_sparsity(weights: tuple[TfliteWeight, ...]) -> float | None:
    total = sum(w.elements for w in weights)
    return sum(w.zeros for w in weights) / total if total else None
