"""Reading a converted ``.tflite``'s weights, so tests can check that sparsity and clusters
survived conversion and quantization.

The constant buffers are read with LiteRT's flatbuffer schema, independently of the converter
and of tfmot's own bookkeeping (``edgegate.recipes.training.figures`` reads the Keras side).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgegate.recipes.quantizer_proposals import WEIGHTED_OPS


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


# Ops whose input 1 is the weight tensor (filter, or the embedding table): the one list.
_WEIGHT_OPS = WEIGHTED_OPS
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
