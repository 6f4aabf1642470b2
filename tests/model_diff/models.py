"""Small real models for the model-diff tests: tf-keras networks with named layers, converted by
the real TFLite converter, and a .tflite edited with LiteRT's flatbuffer tools (metadata, names)."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def net(size: int = 8, filters: int = 4, hidden: bool = False, seed: int = 0) -> Any:
    """``conv`` → ``pool`` → (``hidden``, a Dense with a tanh) → ``head``: the layers the diff names."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras as k

    k.utils.set_random_seed(seed)
    layers = [
        k.Input((size, size, 1), name="image"),
        k.layers.Conv2D(filters, 3, activation="relu", name="conv"),
        k.layers.GlobalAveragePooling2D(name="pool"),
    ]
    if hidden:
        layers += [k.layers.Dense(8, name="hidden"), k.layers.Activation("tanh", name="squash")]
    layers.append(k.layers.Dense(3, activation="softmax", name="head"))
    return k.Sequential(layers, name="net")


def tflite(model: Any) -> bytes:
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def with_metadata(data: bytes, name: str, content: bytes, labels: str | None = None) -> bytes:
    """``data`` with one more ``Model.metadata`` buffer, and a zip of ``labels.txt`` appended as
    TFLite metadata packs associated files; the graph and its weights untouched."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    buffer = schema.BufferT()
    buffer.data = list(content)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = (model.metadata or []) + [entry]
    out = bytes(flatbuffer_utils.convert_object_to_bytearray(model))
    if labels is None:
        return out
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as z:
        z.writestr("labels.txt", labels)
    return out + packed.getvalue()


def renamed_input(data: bytes, name: str) -> bytes:
    """``data`` with its first input tensor renamed ``name`` (a name a pull request chose)."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    graph = model.subgraphs[0]
    graph.tensors[graph.inputs[0]].name = name
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def with_conv_padding_flipped(data: bytes) -> bytes:
    """``data`` with its first CONV_2D's padding flipped (SAME ↔ VALID), nothing else: an option
    the Edge TPU rules never read, and no stored shape changes."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    conv = next(
        op
        for op in model.subgraphs[0].operators
        if max(
            model.operatorCodes[op.opcodeIndex].builtinCode,
            model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode,
        )
        == schema.BuiltinOperator.CONV_2D
    )
    conv.builtinOptions.padding = 1 - conv.builtinOptions.padding
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
