"""Reading a ``.tflite`` flatbuffer into typed values, without TensorFlow.

The Edge TPU rules need the first subgraph's operators in execution order (the order the
converter stores them), each with its builtin name, version and the builtin options the
rules look at, and every tensor with its type, shape, shape signature, quantization and
whether its buffer holds constant data.

Names (operators, tensor types, options tables, activations) come from the enums of
``ai_edge_litert.schema_py_generated``; fields are read with ``struct`` at the slots that
schema defines (tests check the two agree), because the generated accessors cost about 20x
more per field. Weights are never copied, so MobileNetV2 reads in about a millisecond.
Anything that is not a complete TFLite flatbuffer raises ``InputError``.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from edgegate.errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

TFLITE_IDENTIFIER = b"TFL3"


@dataclass(frozen=True)
class Quantization:
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    dtype: str  # lower-case TFLite type name: int8, uint8, float32, ...
    shape: tuple[int, ...]
    signature: tuple[int, ...]  # shape_signature (-1 = dynamic); the shape when the file has none
    quantization: Quantization | None
    constant: bool  # its buffer holds data (weights, biases, constant operands)
    buffer: int

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def dynamic(self) -> bool:
        return any(d < 0 for d in self.signature) or any(d < 0 for d in self.shape)

    @property
    def elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class OpOptions:
    """The builtin options the Edge TPU rules read; absent ones keep their schema default."""

    fused_activation: str = "NONE"
    stride: tuple[int, int] = (1, 1)  # (h, w)
    dilation: tuple[int, int] = (1, 1)  # (h, w)
    align_corners: bool = False
    half_pixel_centers: bool = False
    begin_mask: int = 0
    end_mask: int = 0
    ellipsis_mask: int = 0
    new_axis_mask: int = 0
    shrink_axis_mask: int = 0
    offset: bool = False
    keep_dims: bool = False
    keep_num_dims: bool = False
    weights_format: int = 0
    axis: int | None = None  # CONCATENATION, PACK, ONE_HOT
    beta: float = 1.0  # SOFTMAX (the GPU delegate takes only 1)


@dataclass(frozen=True)
class OperatorInfo:
    index: int
    op: str  # builtin name (CONV_2D, ...); CUSTOM for custom ops
    version: int
    inputs: tuple[int, ...]  # tensor indices; -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: OpOptions = OpOptions()
    custom_code: str | None = None  # for CUSTOM ops, e.g. "edgetpu-custom-op"


@dataclass(frozen=True)
class MetadataEntry:
    """One ``Model.metadata`` entry: a named buffer (TFLite metadata, the converter's runtime version)."""

    name: str
    buffer: int


@dataclass(frozen=True)
class TfliteModel:
    path: Path
    subgraphs: int
    tensors: tuple[TensorInfo, ...]  # of the first subgraph
    operators: tuple[OperatorInfo, ...]  # of the first subgraph, in execution order
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    description: str | None = None
    metadata: tuple[MetadataEntry, ...] = ()
    _data: bytes = field(repr=False, compare=False, default=b"")
    _buffers: tuple[tuple[int, int] | None, ...] = field(repr=False, compare=False, default=())

    def tensor(self, index: int) -> TensorInfo | None:
        return self.tensors[index] if 0 <= index < len(self.tensors) else None

    def constant_values(self, index: int) -> NDArray[Any] | None:
        """The constant data of one tensor as a flat numpy array, or None when it is not constant."""
        import numpy as np

        t = self.tensor(index)
        dtype = _NUMPY_TYPES.get(t.dtype) if t is not None else None
        span = self._buffers[t.buffer] if t is not None and t.constant else None
        if span is None or dtype is None:
            return None
        start, size = span
        return np.frombuffer(self._data, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=start)

    def buffer_bytes(self, index: int) -> memoryview:
        """The bytes buffer ``index`` holds (empty when it holds none): weights, or a metadata
        buffer; a view, not a copy."""
        span = self._buffers[index] if 0 <= index < len(self._buffers) else None
        return memoryview(self._data)[span[0] : span[0] + span[1]] if span else memoryview(b"")


_NUMPY_TYPES = {
    "int8": "int8",
    "uint8": "uint8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "float32": "float32",
    "float16": "float16",
}


@lru_cache(maxsize=1)
def _enum_names() -> tuple[dict[int, str], dict[int, str], dict[int, str], dict[int, str]]:
    """Names of the schema's enums (operators, tensor types, options tables, activations)."""
    from ai_edge_litert import schema_py_generated as schema

    def names(cls: type) -> dict[int, str]:
        return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}

    return (
        names(schema.BuiltinOperator),
        names(schema.TensorType),
        names(schema.BuiltinOptions),
        names(schema.ActivationFunctionType),
    )


_I8, _U8, _U16, _I32, _U32, _U64 = (struct.Struct(f) for f in ("<b", "<B", "<H", "<i", "<I", "<Q"))
_F32 = struct.Struct("<f")


class _Table:
    """One flatbuffer table, read with ``struct`` (the generated accessors cost ~20x more per field)."""

    __slots__ = ("buf", "pos", "_slots")

    def __init__(self, buf: bytes, pos: int):
        if not 0 <= pos <= len(buf) - 4:
            raise ValueError(f"table offset {pos} outside the file")
        self.buf, self.pos = buf, pos
        vtable = pos - _I32.unpack_from(buf, pos)[0]
        if not 0 <= vtable <= len(buf) - 4:
            raise ValueError(f"vtable offset {vtable} outside the file")
        # Every field offset at once: one unpack instead of one per field read.
        self._slots = struct.unpack_from(f"<{(_U16.unpack_from(buf, vtable)[0] - 4) // 2}H", buf, vtable + 4)

    def _field(self, slot: int) -> int:
        i = (slot - 4) >> 1
        return self._slots[i] if i < len(self._slots) else 0

    def scalar(self, slot: int, kind: struct.Struct, default: int = 0) -> int:
        o = self._field(slot)
        return kind.unpack_from(self.buf, self.pos + o)[0] if o else default

    def _target(self, slot: int) -> int | None:
        o = self._field(slot)
        if not o:
            return None
        at = self.pos + o
        return at + int(_U32.unpack_from(self.buf, at)[0])

    def table(self, slot: int) -> _Table | None:
        at = self._target(slot)
        return _Table(self.buf, at) if at is not None else None

    def vector(self, slot: int) -> tuple[int, int] | None:
        """(offset of the first element, element count), or None when the field is absent."""
        at = self._target(slot)
        if at is None:
            return None
        count = _U32.unpack_from(self.buf, at)[0]
        return at + 4, count

    def numbers(self, slot: int, code: str) -> tuple[Any, ...]:
        span = self.vector(slot)
        return struct.unpack_from(f"<{span[1]}{code}", self.buf, span[0]) if span and span[1] else ()

    def tables(self, slot: int) -> list[_Table]:
        span = self.vector(slot)
        if not span:
            return []
        start, count = span
        offsets = struct.unpack_from(f"<{count}I", self.buf, start)
        return [_Table(self.buf, start + 4 * i + off) for i, off in enumerate(offsets)]

    def string(self, slot: int) -> str | None:
        span = self.vector(slot)
        if span is None:
            return None
        start, count = span
        if start + count > len(self.buf):
            raise ValueError("string runs past the end of the file")
        return self.buf[start : start + count].decode("utf-8", "replace")


# Field slots of the TFLite schema (vtable offsets, as in ai_edge_litert.schema_py_generated).
class _Model:
    OPERATOR_CODES, SUBGRAPHS, DESCRIPTION, BUFFERS, METADATA = 6, 8, 10, 12, 16


class _Metadata:
    NAME, BUFFER = 4, 6


class _OperatorCode:
    DEPRECATED_BUILTIN_CODE, CUSTOM_CODE, VERSION, BUILTIN_CODE = 4, 6, 8, 10


class _SubGraph:
    TENSORS, INPUTS, OUTPUTS, OPERATORS = 4, 6, 8, 10


class _Tensor:
    SHAPE, TYPE, BUFFER, NAME, QUANTIZATION, SHAPE_SIGNATURE = 4, 6, 8, 10, 12, 18


class _Quantization:
    SCALE, ZERO_POINT, QUANTIZED_DIMENSION = 8, 10, 16


class _Operator:
    OPCODE_INDEX, INPUTS, OUTPUTS, BUILTIN_OPTIONS_TYPE, BUILTIN_OPTIONS = 4, 6, 8, 10, 12


class _Buffer:
    DATA, OFFSET, SIZE = 4, 6, 8


def read_tflite(path: Path) -> TfliteModel:
    """Read ``path``; raise ``InputError`` naming the file when it is not a complete .tflite."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the model file ({e.strerror or e}).") from e
    return parse_tflite(data, path)


def parse_tflite(data: bytes, path: Path) -> TfliteModel:
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise InputError(
            f"{path}: not a TensorFlow Lite model (no 'TFL3' flatbuffer identifier); "
            "give a .tflite file written by the TFLite converter."
        )
    try:
        return _parse(data, path)
    except InputError:
        raise
    except (struct.error, ValueError, IndexError, UnicodeError) as e:
        raise InputError(
            f"{path}: the .tflite flatbuffer is truncated or damaged ({e}); re-export the model."
        ) from e


def _parse(data: bytes, path: Path) -> TfliteModel:
    op_names, type_names, _, _ = _enum_names()
    model = _Table(data, _U32.unpack_from(data, 0)[0])
    graphs = model.tables(_Model.SUBGRAPHS)
    if not graphs:
        raise InputError(f"{path}: the .tflite has no subgraph; re-export the model.")
    buffers = model.tables(_Model.BUFFERS)
    constant = [_buffer_span(b, data, path) is not None for b in buffers]
    codes = []
    for oc in model.tables(_Model.OPERATOR_CODES):
        code = max(
            oc.scalar(_OperatorCode.BUILTIN_CODE, _I32), oc.scalar(_OperatorCode.DEPRECATED_BUILTIN_CODE, _I8)
        )
        codes.append(
            (
                op_names.get(code, f"BUILTIN_{code}"),
                oc.scalar(_OperatorCode.VERSION, _I32, 1),
                oc.string(_OperatorCode.CUSTOM_CODE),
            )
        )
    graph = graphs[0]
    tensors = tuple(
        _tensor(t, i, type_names, constant) for i, t in enumerate(graph.tables(_SubGraph.TENSORS))
    )
    operators = []
    for i, op in enumerate(graph.tables(_SubGraph.OPERATORS)):
        code_index = op.scalar(_Operator.OPCODE_INDEX, _U32)
        if code_index >= len(codes):
            raise InputError(
                f"{path}: operator {i} has opcode index {code_index} but the model lists {len(codes)} "
                "operator codes; the file is damaged, re-export the model."
            )
        name, version, custom = codes[code_index]
        inputs, outputs = op.numbers(_Operator.INPUTS, "i"), op.numbers(_Operator.OUTPUTS, "i")
        if any(not -1 <= t < len(tensors) for t in inputs) or any(not 0 <= t < len(tensors) for t in outputs):
            raise InputError(
                f"{path}: operator {i} ({name}) refers to a tensor that does not exist; "
                "the file is damaged, re-export the model."
            )
        operators.append(
            OperatorInfo(
                index=i,
                op=name,
                version=version,
                inputs=inputs,
                outputs=outputs,
                options=_options(op),
                custom_code=custom if name == "CUSTOM" else None,
            )
        )
    inputs, outputs = graph.numbers(_SubGraph.INPUTS, "i"), graph.numbers(_SubGraph.OUTPUTS, "i")
    if any(not 0 <= t < len(tensors) for t in inputs + outputs):
        raise InputError(
            f"{path}: the model's inputs or outputs name tensors that do not exist; "
            "the file is damaged, re-export the model."
        )
    return TfliteModel(
        path=path,
        subgraphs=len(graphs),
        tensors=tensors,
        operators=tuple(operators),
        inputs=inputs,
        outputs=outputs,
        description=_optional(lambda: model.string(_Model.DESCRIPTION), _UNREADABLE_TEXT),
        metadata=_optional(lambda: _metadata(model), (MetadataEntry(UNREADABLE, -1),)),
        _data=data,
        _buffers=tuple(_buffer_span(b, data, path) for b in buffers),
    )


UNREADABLE = "(unreadable)"  # a description or metadata table that points outside the file
_UNREADABLE_TEXT: str | None = UNREADABLE
T = TypeVar("T")


def _optional(read: Callable[[], T], unreadable: T) -> T:
    """A part nothing runs from (the description, the metadata table): a damaged one is shown as
    ``unreadable``, and the model is still read (its ops and tensors are what the rules need)."""
    try:
        return read()
    except (struct.error, ValueError, IndexError, UnicodeError):
        return unreadable


def _metadata(model: _Table) -> tuple[MetadataEntry, ...]:
    return tuple(
        MetadataEntry(m.string(_Metadata.NAME) or "", m.scalar(_Metadata.BUFFER, _U32))
        for m in model.tables(_Model.METADATA)
    )


def _buffer_span(buffer: _Table, data: bytes, path: Path) -> tuple[int, int] | None:
    """(start, size) of a buffer's bytes in the file, or None when it holds no data."""
    span = buffer.vector(_Buffer.DATA)
    if span is not None and span[1] > 0:
        if span[0] + span[1] > len(data):
            raise InputError(
                f"{path}: the .tflite is truncated (a weight buffer runs past the end of the file); "
                "re-export or re-download the model."
            )
        return span
    offset, size = buffer.scalar(_Buffer.OFFSET, _U64), buffer.scalar(_Buffer.SIZE, _U64)
    if offset > 1 and size > 0:  # weights stored after the flatbuffer (models over 2 GB)
        if offset + size > len(data):
            raise InputError(
                f"{path}: the .tflite is truncated (external weights run past the end of the file)."
            )
        return offset, size
    return None


def _tensor(t: _Table, index: int, type_names: dict[int, str], constant: list[bool]) -> TensorInfo:
    shape = t.numbers(_Tensor.SHAPE, "i")
    signature = t.numbers(_Tensor.SHAPE_SIGNATURE, "i") or shape
    q = t.table(_Tensor.QUANTIZATION)
    quantization = None
    if q is not None and (scales := q.numbers(_Quantization.SCALE, "f")):
        quantization = Quantization(
            scales=scales,
            zero_points=q.numbers(_Quantization.ZERO_POINT, "q"),
            axis=q.scalar(_Quantization.QUANTIZED_DIMENSION, _I32),
        )
    buffer = t.scalar(_Tensor.BUFFER, _U32)
    kind = t.scalar(_Tensor.TYPE, _I8)
    return TensorInfo(
        index=index,
        name=t.string(_Tensor.NAME) or f"tensor_{index}",
        dtype=type_names.get(kind, f"type_{kind}").lower(),
        shape=shape,
        signature=signature,
        quantization=quantization,
        constant=0 < buffer < len(constant) and constant[buffer],
        buffer=buffer,
    )


# BuiltinOptions tables the rules read: OpOptions field -> (slot, type, default).
_FUSED = "fused_activation"
_OPTION_SLOTS: dict[str, dict[str, tuple[int, struct.Struct, int]]] = {
    "Conv2DOptions": {
        "stride_w": (6, _I32, 0),
        "stride_h": (8, _I32, 0),
        _FUSED: (10, _I8, 0),
        "dilation_w": (12, _I32, 1),
        "dilation_h": (14, _I32, 1),
    },
    "DepthwiseConv2DOptions": {
        "stride_w": (6, _I32, 0),
        "stride_h": (8, _I32, 0),
        _FUSED: (12, _I8, 0),
        "dilation_w": (14, _I32, 1),
        "dilation_h": (16, _I32, 1),
    },
    "TransposeConvOptions": {"stride_w": (6, _I32, 0), "stride_h": (8, _I32, 0), _FUSED: (10, _I8, 0)},
    "Pool2DOptions": {"stride_w": (6, _I32, 0), "stride_h": (8, _I32, 0), _FUSED: (14, _I8, 0)},
    "FullyConnectedOptions": {
        _FUSED: (4, _I8, 0),
        "weights_format": (6, _I8, 0),
        "keep_num_dims": (8, _U8, 0),
    },
    "ConcatenationOptions": {"axis": (4, _I32, 0), _FUSED: (6, _I8, 0)},
    "AddOptions": {_FUSED: (4, _I8, 0)},
    "SubOptions": {_FUSED: (4, _I8, 0)},
    "MulOptions": {_FUSED: (4, _I8, 0)},
    "DivOptions": {_FUSED: (4, _I8, 0)},
    "PackOptions": {"axis": (6, _I32, 0)},
    "OneHotOptions": {"axis": (4, _I32, 0)},
    "SoftmaxOptions": {"beta": (4, _F32, 0)},  # a float: scalar() returns what the struct unpacks
    "ReducerOptions": {"keep_dims": (4, _U8, 0)},
    "ResizeBilinearOptions": {"align_corners": (8, _U8, 0), "half_pixel_centers": (10, _U8, 0)},
    "ResizeNearestNeighborOptions": {"align_corners": (4, _U8, 0), "half_pixel_centers": (6, _U8, 0)},
    "StridedSliceOptions": {
        "begin_mask": (4, _I32, 0),
        "end_mask": (6, _I32, 0),
        "ellipsis_mask": (8, _I32, 0),
        "new_axis_mask": (10, _I32, 0),
        "shrink_axis_mask": (12, _I32, 0),
        "offset": (14, _U8, 0),
    },
}


def _options(op: _Table) -> OpOptions:
    _, _, option_names, activation_names = _enum_names()
    slots = _OPTION_SLOTS.get(option_names.get(op.scalar(_Operator.BUILTIN_OPTIONS_TYPE, _U8), ""))
    table = op.table(_Operator.BUILTIN_OPTIONS) if slots else None
    if slots is None or table is None:
        return OpOptions()
    raw = {name: table.scalar(slot, kind, default) for name, (slot, kind, default) in slots.items()}
    # What the table holds; what this op type does not have keeps OpOptions' default.
    d = OpOptions()

    def flag(name: str, default: bool) -> bool:
        return bool(raw[name]) if name in raw else default

    def pair(name: str, default: tuple[int, int]) -> tuple[int, int]:
        return (raw[name + "_h"], raw[name + "_w"]) if name + "_h" in raw else default

    fused = raw.get(_FUSED)
    return OpOptions(
        fused_activation=d.fused_activation
        if fused is None
        else activation_names.get(fused, f"ACTIVATION_{fused}"),
        stride=pair("stride", d.stride),
        dilation=pair("dilation", d.dilation),
        align_corners=flag("align_corners", d.align_corners),
        half_pixel_centers=flag("half_pixel_centers", d.half_pixel_centers),
        begin_mask=raw.get("begin_mask", d.begin_mask),
        end_mask=raw.get("end_mask", d.end_mask),
        ellipsis_mask=raw.get("ellipsis_mask", d.ellipsis_mask),
        new_axis_mask=raw.get("new_axis_mask", d.new_axis_mask),
        shrink_axis_mask=raw.get("shrink_axis_mask", d.shrink_axis_mask),
        offset=flag("offset", d.offset),
        keep_dims=flag("keep_dims", d.keep_dims),
        keep_num_dims=flag("keep_num_dims", d.keep_num_dims),
        weights_format=raw.get("weights_format", d.weights_format),
        axis=raw.get("axis", d.axis),
        beta=float(raw.get("beta", d.beta)),
    )


def options_text(data: bytes) -> tuple[str, ...] | None:
    """Every builtin and custom option of each op of the first subgraph, as text (what the model
    diff digests: an option ``OpOptions`` does not read, a LeakyRelu's alpha, counts too). Read
    with the generated accessors, field by field; None when they cannot read the file."""
    from ai_edge_litert import schema_py_generated as schema

    _, _, option_names, _ = _enum_names()
    second = {
        v: k for k, v in vars(schema.BuiltinOptions2).items() if not k.startswith("_") and isinstance(v, int)
    }
    try:
        graph = schema.Model.GetRootAs(data, 0).Subgraphs(0)
        found = []
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            # An Edge TPU custom op's options are the compiled model (megabytes): its digest stands in.
            custom = "" if op.CustomOptionsIsNone() else hashlib.sha256(op.CustomOptionsAsNumpy()).hexdigest()
            found.append(
                " | ".join(
                    (
                        _fields(schema, option_names.get(op.BuiltinOptionsType()), op.BuiltinOptions()),
                        _fields(schema, second.get(op.BuiltinOptions2Type()), op.BuiltinOptions2()),
                        repr((custom, op.CustomOptionsFormat(), op.LargeCustomOptionsSize())),
                    )
                )
            )
        return tuple(found)
    except (struct.error, ValueError, IndexError, TypeError, AttributeError, UnicodeError):
        return None


def _fields(schema: Any, name: str | None, table: Any) -> str:
    """``Alpha=0.2, …``: each field of one options table, by its accessor (one taking no argument)."""
    cls = getattr(schema, name, None) if name else None
    if cls is None or table is None:
        return ""
    options = cls()
    options.Init(table.Bytes, table.Pos)
    shown = []
    for attr in sorted(vars(cls)):
        if attr.startswith(("_", "Init", "GetRootAs")) or attr.endswith("BufferHasIdentifier"):
            continue
        try:
            value = getattr(options, attr)()
        except TypeError:  # an element accessor (NewShape(j)): its AsNumpy twin reads the vector
            continue
        if hasattr(value, "tolist"):
            value = value.tolist()
        shown.append(f"{attr}={value!r}" if isinstance(value, (int, float, bool, bytes, str, list)) else attr)
    return ", ".join(shown)
