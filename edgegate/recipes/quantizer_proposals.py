"""Which quantizer recipes a ``.tflite`` can take, read from its weights (parent-side, pure).

What ``edgegate init`` proposes for a ``.tflite`` source (docs/quantizer.md): the weights of the ops that carry them (convolutions,
fully-connected, embeddings) say what the file is. Float32 weights: ``float16``, ``dynamic``,
``int8``. Float16 weights (MediaPipe's: each behind a DEQUANTIZE, unpacked before quantizing):
``dynamic``, ``int8`` (float16 is what it already is). Integer weights only: nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgegate.targets.flatbuffer import TfliteModel, read_tflite

# Ops whose input 1 is the weight tensor (the filter, the matrix, the embedding table).
WEIGHTED_OPS = frozenset(
    {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "TRANSPOSE_CONV",
        "CONV_3D",
        "EMBEDDING_LOOKUP",
        "BATCH_MATMUL",
    }
)


@dataclass(frozen=True)
class WeightKinds:
    """The dtypes of the constant weights the weighted ops read (through a DEQUANTIZE too)."""

    dtypes: frozenset[str]

    @property
    def float32(self) -> bool:
        return "float32" in self.dtypes

    @property
    def float16(self) -> bool:
        return "float16" in self.dtypes


def weight_kinds(model: TfliteModel) -> WeightKinds:
    produced_by_dequantize = {
        op.outputs[0]: op.inputs[0]
        for op in model.operators
        if op.op == "DEQUANTIZE" and op.inputs and op.outputs
    }
    dtypes = set()
    for op in model.operators:
        if op.op not in WEIGHTED_OPS:
            continue
        for index in op.inputs[1:2]:  # the weights operand (the filter, the matrix)
            t = model.tensor(produced_by_dequantize.get(index, index))
            if t is not None and t.constant:
                dtypes.add(t.dtype)
    return WeightKinds(frozenset(dtypes))


def proposals(path: Path) -> tuple[str, ...]:
    """The quantizer recipes worth proposing for the ``.tflite`` at ``path`` (none when integer)."""
    kinds = weight_kinds(read_tflite(path))
    if kinds.float32:
        return ("float16", "dynamic", "int8")
    if kinds.float16:
        return ("dynamic", "int8")
    return ()
