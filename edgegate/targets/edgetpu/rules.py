"""The Edge TPU compiler's rules, as data and small functions, for the static check.

Two kinds of rule, applied in the compiler's own order:

* whole-model rules (``model_rejections``): op versions the compiler's embedded TFLite cannot
  read, models that are not 8-bit quantized, dynamic shapes. Any of these fails the compile.
* per-op rules (``evaluate_op``): data types, the supported-op table and its runtime versions
  (``ops.json``), op versions the Edge TPU does not map, compile-time constant parameters,
  tensor rank, then each op's documented limitations (``OP_LIMITS``, one function per op).

A rule that cannot be decided from the file alone (resize precision, large reshapes, ops
Table 1 does not list) gives an *uncertain* finding: a prediction, learnt from real compiled
pairs where they show one (reference §2), that is flagged so it never passes silently.
Sources: ``docs/edgetpu.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, cast

from edgegate.targets.edgetpu import graph as dataflow
from edgegate.targets.edgetpu import hints
from edgegate.targets.flatbuffer import OperatorInfo, TensorInfo, TfliteModel
from edgegate.targets.edgetpu.interface import (
    BAD_RANK,
    BAD_TYPE,
    BAD_VERSION,
    MAPPED,
    NOT_CONSTANT,
    UNSPECIFIED,
    UNSUPPORTED,
)

EIGHT_BIT = ("int8", "uint8")
DEFAULT_RUNTIME = {14: 13, 15: 13, 16: 14}  # runtime each compiler targets without -m
MAX_RUNTIME = {14: 13, 15: 13, 16: 14}
SIGNED_INT8_RUNTIME = 12  # -m 10/11 put every int8 op on the CPU (google-coral/edgetpu#222, #439)
SOFTMAX_MAX_ELEMENTS = 16000
# Our own threshold for Table 1's "depending on input/output size, [a resize] may not be mapped ... to
# avoid loss in precision": Coral gives none. Public compiler-16 logs show 2x upsampling mapped
# (WongKinYiu/yolov7#1672); the compiled DeepLab pairs (google-coral test_data) keep a 33x one, from the
# 1x1 image pooling to 33x33, on the CPU. We predict the CPU above 8x per axis, uncertain either way.
RESIZE_MAX_FACTOR = 8
# Our own threshold for "certain reshapes might not be mapped for large tensor sizes": Coral gives none.
LARGE_RESHAPE_ELEMENTS = 1 << 16

# Inputs that must be compile-time constants, by op (filters, biases, shapes, axes, paddings).
PARAM_INPUTS: dict[str, tuple[int, ...]] = {
    "CONV_2D": (1, 2),
    "DEPTHWISE_CONV_2D": (1, 2),
    "FULLY_CONNECTED": (1, 2),
    "TRANSPOSE_CONV": (0, 1, 3),
    "RESHAPE": (1,),
    "RESIZE_BILINEAR": (1,),
    "RESIZE_NEAREST_NEIGHBOR": (1,),
    "PAD": (1,),
    "MEAN": (1,),
    "SUM": (1,),
    "REDUCE_MAX": (1,),
    "REDUCE_MIN": (1,),
    "STRIDED_SLICE": (1, 2, 3),
    "SLICE": (1, 2),
    "TRANSPOSE": (1,),
    "SPLIT": (0,),
    "EXPAND_DIMS": (1,),
    "PRELU": (1,),
    # Weights (1-8), peepholes (9-11), gate biases (12-15), projection (16-17), layer norms (20-23);
    # 0 is the sequence, 18/19 the output and cell state (variables the kernel updates).
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (*range(1, 18), 20, 21, 22, 23),
}

# Data tensors an op's int8 kernel spec makes wider than 8 bits, by input position. TFLite's integer
# LSTM (lstm_eval.cc EvalInteger8x8_16) keeps its cell state in int16; reference §2: "ops with
# int16/int32 internals by their int8 kernel spec (the LSTM's cell state and biases) still map".
WIDE_INTERNALS: dict[str, dict[int, tuple[str, ...]]] = {
    "UNIDIRECTIONAL_SEQUENCE_LSTM": {19: ("int16",)},
}

# Ops Table 1 does not list that public compiler logs show as "Operation not supported" (or that Coral
# says it will not support). Other unlisted ops are uncertain: compiled models show some mapped.
SEEN_UNSUPPORTED: dict[str, str] = {
    "LEAKY_RELU": "google-coral/edgetpu#165 and #272 (compiler 15)",
    "HARD_SWISH": "google-coral/edgetpu#272 (compiler 15)",
    "DEPTH_TO_SPACE": "google-coral/edgetpu#386 (Coral: no plans to support it)",
    "GATHER_ND": "google-coral/edgetpu#720 (compiler 16)",
}


@dataclass(frozen=True)
class Target:
    compiler_version: int  # 14, 15 or 16
    runtime: int  # 10..14


@dataclass(frozen=True)
class Finding:
    """What the compiler does with one op (or the whole model)."""

    status: str  # one of the compiler's status strings
    reason: str = ""  # plain words; empty when mapped for certain
    hint: str = ""  # one-line fix
    uncertain: bool = False

    @property
    def mapped(self) -> bool:
        return self.status == MAPPED


MAPPED_FINDING = Finding(MAPPED)


@dataclass(frozen=True)
class Rejection:
    """A whole-model failure: the compiler writes no model at all."""

    message: str  # the compiler's own words where known
    reason: str
    hint: str
    op: OperatorInfo | None = None  # the op that triggers it, when there is one
    status: str = BAD_VERSION  # status shown for that op


# --- data files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Support:
    min_runtime: int
    max_runtime: int | None


@lru_cache(maxsize=1)
def op_table() -> dict[str, tuple[_Support, ...]]:
    """Coral's supported-operation table (``ops.json``), by TFLite builtin name."""
    data = json.loads(resources.files("edgegate.targets.edgetpu").joinpath("ops.json").read_text())
    table: dict[str, list[_Support]] = {}
    for row in data["ops"]:
        table.setdefault(row["tflite_builtin"], []).append(
            _Support(row["min_runtime_version"], row["max_runtime_version"])
        )
    return {k: tuple(v) for k, v in table.items()}


@lru_cache(maxsize=1)
def _versions() -> dict[str, Any]:
    return cast(
        "dict[str, Any]",
        json.loads(resources.files("edgegate.targets.edgetpu").joinpath("op_versions.json").read_text()),
    )


def _tf(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def introduced_in(op: str, version: int) -> str | None:
    """The TFLite release that introduced ``op`` version ``version``; None when unknown (newer)."""
    first: str | None = _versions()["ops"].get(op, {}).get(str(version))
    return first


def compiler_tflite(compiler_version: int) -> str:
    release: str = _versions()["compiler_tflite"][str(compiler_version)]
    return release


def compiler_reads(op: str, version: int, compiler_version: int) -> bool:
    first = introduced_in(op, version)
    return first is not None and _tf(first) <= _tf(compiler_tflite(compiler_version))


def edgetpu_max_version(op: str) -> int | None:
    most: int | None = _versions()["edgetpu_max_version"].get(op)
    return most


def min_runtime(op: str) -> int | None:
    rows = op_table().get(op)
    return min(r.min_runtime for r in rows) if rows else None


def available(op: str, runtime: int) -> bool:
    return any(
        r.min_runtime <= runtime and (r.max_runtime is None or runtime <= r.max_runtime)
        for r in op_table().get(op, ())
    )


# --- per-op context -----------------------------------------------------------------------


@dataclass(frozen=True)
class OpContext:
    model: TfliteModel
    op: OperatorInfo
    target: Target

    def input(self, i: int) -> TensorInfo | None:
        return self.model.tensor(self.op.inputs[i]) if i < len(self.op.inputs) else None

    def output(self, i: int = 0) -> TensorInfo | None:
        return self.model.tensor(self.op.outputs[i]) if i < len(self.op.outputs) else None

    def values(self, i: int) -> list[int] | None:
        """Constant integer values of input ``i`` (axes, paddings, strides), flattened."""
        if i >= len(self.op.inputs):
            return None
        data = self.model.constant_values(self.op.inputs[i])
        return [int(v) for v in data.reshape(-1)] if data is not None else None

    @property
    def activations(self) -> list[tuple[str, TensorInfo]]:
        """(role, tensor) of the non-constant inputs that are data, and of every output."""
        return [(role, t) for role, _, t in self.data_tensors]

    @property
    def data_tensors(self) -> list[tuple[str, int, TensorInfo]]:
        """(role, position, tensor) of the non-constant data inputs and of every output."""
        params = PARAM_INPUTS.get(self.op.op, ())
        found = [
            ("input", i, t)
            for i, idx in enumerate(self.op.inputs)
            if idx >= 0 and i not in params and (t := self.model.tensor(idx)) and not t.constant
        ]
        return found + [
            ("output", i, t) for i, idx in enumerate(self.op.outputs) if (t := self.model.tensor(idx))
        ]

    def narrow_enough(self, role: str, position: int, t: TensorInfo) -> bool:
        """8-bit, or a wider internal the op's int8 kernel spec requires (the LSTM's int16 cell state)."""
        if t.dtype in EIGHT_BIT:
            return True
        return role == "input" and t.dtype in WIDE_INTERNALS.get(self.op.op, {}).get(position, ())


def _shape(t: TensorInfo) -> str:
    return "[" + ", ".join(str(d) for d in t.shape) + "]"


def _innermost_only(shape: tuple[int, ...]) -> bool:
    """Only the innermost dimension is larger than 1 (a 1-D vector, maybe with leading 1s)."""
    return all(d == 1 for d in shape[:-1])


def _batch_axes(rank: int, axes: list[int]) -> list[int]:
    """Axes outside the 3 innermost (y, x, z) dimensions: the batch side of the tensor."""
    normal = [a + rank if a < 0 else a for a in axes]
    return [a for a in normal if a < rank - 3]


def _limit(reason: str, hint: str) -> Finding:
    return Finding(UNSPECIFIED, reason, hint)


# --- per-op limitations (Coral Table 1), one function per op --------------------------------


def _no_fused_activation(ctx: OpContext) -> Finding | None:
    act = ctx.op.options.fused_activation
    if act != "NONE":
        return _limit(
            f"{ctx.op.op} has a fused {act} activation; the Edge TPU maps it only without one",
            hints.hint("fused-activation", op=ctx.op.op, act=act),
        )
    return None


def _conv_2d(ctx: OpContext) -> Finding | None:
    h, w = ctx.op.options.dilation
    if h != w:
        return _limit(f"dilation {h}x{w} differs between y and x", hints.hint("dilation-mismatch"))
    return None


def _depthwise_conv_2d(ctx: OpContext) -> Finding | None:
    h, w = ctx.op.options.dilation
    if ctx.target.runtime <= 12 and (h, w) != (1, 1):
        return _limit(
            f"dilated depthwise convolution ({h}x{w}) maps only from runtime 13",
            hints.hint("runtime", op="dilated DEPTHWISE_CONV_2D", runtime=13),
        )
    if h != w:
        return _limit(f"dilation {h}x{w} differs between y and x", hints.hint("dilation-mismatch"))
    return None


def _concatenation(ctx: OpContext) -> Finding | None:
    found = _no_fused_activation(ctx)
    if found:
        return found
    constants = [i for i, idx in enumerate(ctx.op.inputs) if idx >= 0 and ctx.model.tensors[idx].constant]
    if not constants:
        return None
    if len(ctx.op.inputs) != 2:
        return _limit(
            f"a constant input among {len(ctx.op.inputs)} inputs (only 2 are allowed with a constant)",
            hints.hint("concat-constant"),
        )
    t = ctx.model.tensors[ctx.op.inputs[constants[0]]]
    data = ctx.model.constant_values(t.index)
    zero = t.quantization.zero_points[0] if t.quantization and t.quantization.zero_points else 0
    if data is None or any(int(v) != zero for v in data.reshape(-1)):
        return _limit(f"constant input '{t.name}' is not all zeros", hints.hint("concat-constant"))
    return None


def _fully_connected(ctx: OpContext) -> Finding | None:
    if ctx.op.options.weights_format != 0:
        return _limit("weights use a shuffled format; only the default format maps", hints.hint("fc-format"))
    out = ctx.output()
    if out is not None and not _innermost_only(out.shape):
        return _limit(f"output '{out.name}' {_shape(out)} is not one-dimensional", hints.hint("fc-output"))
    return None


def _reduce_axes(ctx: OpContext) -> tuple[TensorInfo, list[int]] | None:
    t, axes = ctx.input(0), ctx.values(1)
    return (t, [a + t.rank if a < 0 else a for a in axes]) if t is not None and axes is not None else None


def _reduction(ctx: OpContext) -> Finding | None:
    found = _reduce_axes(ctx)
    if found is None:
        return None
    t, axes = found
    if _batch_axes(t.rank, axes):
        return _limit(
            f"{ctx.op.op} reduces over the batch dimension (axes {axes} of {_shape(t)})",
            hints.hint("batch-axis", op=ctx.op.op),
        )
    return None


def _mean(ctx: OpContext) -> Finding | None:
    reduced = _reduce_axes(ctx)
    if reduced is None:
        return None
    found = _reduction(ctx)
    if found:
        return found
    t, axes = reduced
    if ctx.target.runtime <= 12 and any(a not in (t.rank - 3, t.rank - 2) for a in axes):
        return _limit(
            f"MEAN over axes {axes} of {_shape(t)}: runtime {ctx.target.runtime} reduces only along y/x",
            hints.hint("runtime", op="MEAN over channels", runtime=13),
        )
    if t.rank - 1 in axes and t.shape[-1] % 4:
        return _limit(
            f"MEAN over the z (channel) axis needs a multiple of 4 channels, got {t.shape[-1]}",
            hints.hint("mean-z"),
        )
    return None


def _pad(ctx: OpContext) -> Finding | None:
    # Padding the batch dimension makes it larger than 1, which the rank rule already refuses.
    t, pads = ctx.input(0), ctx.values(1)
    if t is None or pads is None or len(pads) != 2 * t.rank or ctx.target.runtime > 12:
        return None
    padded = [axis for axis in range(t.rank) if pads[2 * axis] or pads[2 * axis + 1]]
    if any(a not in (t.rank - 3, t.rank - 2) for a in padded):
        return _limit(
            f"PAD along axes {padded}: runtime {ctx.target.runtime} pads only along y/x",
            hints.hint("runtime", op="PAD of channels", runtime=13),
        )
    return None


def _prelu(ctx: OpContext) -> Finding | None:
    alpha = ctx.input(1)
    if alpha is not None and not _innermost_only(alpha.shape):
        return _limit(f"alpha '{alpha.name}' {_shape(alpha)} is not 1-dimensional", hints.hint("prelu-alpha"))
    return None


def _softmax(ctx: OpContext) -> Finding | None:
    t = ctx.input(0)
    if t is None:
        return None
    if not _innermost_only(t.shape):
        return _limit(f"SOFTMAX input {_shape(t)} is not a 1-D vector", hints.hint("softmax"))
    if t.elements > SOFTMAX_MAX_ELEMENTS:
        return _limit(
            f"SOFTMAX over {t.elements} elements (at most {SOFTMAX_MAX_ELEMENTS:,})", hints.hint("softmax")
        )
    return None


def _squeeze(ctx: OpContext) -> Finding | None:
    t, out = ctx.input(0), ctx.output()
    if ctx.target.runtime > 12 or t is None or out is None:
        return None

    def strip(shape: tuple[int, ...]) -> tuple[int, ...]:
        i = 0
        while i < len(shape) - 1 and shape[i] == 1:
            i += 1
        return shape[i:]

    if strip(t.shape) != strip(out.shape):
        return _limit(
            f"SQUEEZE {_shape(t)} -> {_shape(out)} needs a relayout (runtime {ctx.target.runtime} "
            "removes only leading 1s)",
            hints.hint("runtime", op="this SQUEEZE", runtime=13),
        )
    return None


def _strided_slice(ctx: OpContext) -> Finding | None:
    o = ctx.op.options
    strides = ctx.values(3)
    if strides is not None and any(s != 1 for s in strides):
        return _limit(f"STRIDED_SLICE strides {strides} (only strides of 1 map)", hints.hint("strided-slice"))
    if o.ellipsis_mask or o.new_axis_mask:
        return _limit(
            f"STRIDED_SLICE with ellipsis_mask={o.ellipsis_mask} new_axis_mask={o.new_axis_mask} "
            "(both must be 0)",
            hints.hint("strided-slice-mask"),
        )
    return None


def _resize_factor(t: TensorInfo | None, out: TensorInfo | None) -> int | None:
    """How many times the resize enlarges its most enlarged spatial axis (y, x), rounded up."""
    if t is None or out is None or t.rank < 3 or out.rank < 3:
        return None
    pairs = list(zip(t.shape[-3:-1], out.shape[-3:-1]))
    if any(a <= 0 or b <= 0 for a, b in pairs):
        return None
    return max(-(-b // a) for a, b in pairs)


def _resize(ctx: OpContext) -> Finding | None:
    t, out = ctx.input(0), ctx.output()
    size = f"{_shape(t)} -> {_shape(out)}" if t and out else ""
    factor = _resize_factor(t, out)
    if (
        factor is not None
        and factor > RESIZE_MAX_FACTOR
        and not (ctx.op.version >= 3 and ctx.target.compiler_version <= 15)
    ):
        return Finding(
            UNSPECIFIED,
            f"{ctx.op.op} {size} enlarges {factor}x: the compiler keeps resizes that large on the CPU to "
            "avoid precision loss (compiled DeepLab models), with no public rule; we predict the CPU "
            f"above {RESIZE_MAX_FACTOR}x",
            hints.hint("resize-factor", factor=factor),
            uncertain=True,
        )
    if ctx.op.version >= 3:
        # v3 = half_pixel_centers (or align_corners, for nearest neighbor) in any resize of the model:
        # TFLite versions an operator code, which all ops of that kind share.
        flags = (
            "half_pixel_centers or align_corners"
            if ctx.op.op == "RESIZE_NEAREST_NEIGHBOR"
            else "half_pixel_centers"
        )
        if ctx.target.compiler_version <= 15:
            return Finding(
                BAD_VERSION,
                f"{ctx.op.op} v{ctx.op.version} ({flags}) is not mapped by compiler "
                f"{ctx.target.compiler_version}",
                hints.hint("resize-half-pixel"),
            )
        return Finding(
            MAPPED,
            f"{ctx.op.op} v{ctx.op.version} ({flags}): compiler 16 logs show such resizes both "
            "mapped and 'Operation version not supported'",
            hints.hint("resize-half-pixel"),
            uncertain=True,
        )
    return Finding(
        MAPPED,
        f"{ctx.op.op} {size}: the compiler may keep a resize on the CPU to avoid precision "
        "loss, depending on the sizes (no public rule)",
        hints.hint("resize-size"),
        uncertain=True,
    )


def _reshape(ctx: OpContext) -> Finding | None:
    t, out = ctx.input(0), ctx.output()
    if t is None or out is None or t.elements < LARGE_RESHAPE_ELEMENTS:
        return None
    if t.shape and out.shape and t.shape[-1] == out.shape[-1]:
        return None  # regroups outer dimensions only: no data moves across the innermost axis
    return Finding(
        MAPPED,
        f"RESHAPE of a large tensor {_shape(t)} -> {_shape(out)}: Coral documents that "
        "certain large reshapes are not mapped, without a rule",
        hints.hint("reshape-large"),
        uncertain=True,
    )


def _transpose(ctx: OpContext) -> Finding | None:
    return Finding(
        MAPPED,
        "TRANSPOSE maps from runtime 14, but real logs also show it 'not mapped due to some "
        "unspecified limitation' (google-coral/edgetpu#433)",
        hints.hint("transpose"),
        uncertain=True,
    )


OP_LIMITS: dict[str, Callable[[OpContext], Finding | None]] = {
    "AVERAGE_POOL_2D": _no_fused_activation,
    "MAX_POOL_2D": _no_fused_activation,
    "CONCATENATION": _concatenation,
    "CONV_2D": _conv_2d,
    "DEPTHWISE_CONV_2D": _depthwise_conv_2d,
    "FULLY_CONNECTED": _fully_connected,
    "MEAN": _mean,
    "SUM": _reduction,
    "REDUCE_MAX": _reduction,
    "REDUCE_MIN": _reduction,
    "PAD": _pad,
    "PRELU": _prelu,
    "SOFTMAX": _softmax,
    "SQUEEZE": _squeeze,
    "STRIDED_SLICE": _strided_slice,
    "RESIZE_BILINEAR": _resize,
    "RESIZE_NEAREST_NEIGHBOR": _resize,
    "RESHAPE": _reshape,
    "TRANSPOSE": _transpose,
}


# --- per-op evaluation, in the compiler's order ---------------------------------------------


def _cast_input(model: TfliteModel, tensor: int) -> TensorInfo | None:
    """The model input that ``tensor`` was CAST from, when a CAST of a model input produces it."""
    for op in model.operators:
        if op.op == "CAST" and tensor in op.outputs and op.inputs and op.inputs[0] in model.inputs:
            return model.tensor(op.inputs[0])
    return None


def _data_type(ctx: OpContext) -> Finding | None:
    op, model = ctx.op.op, ctx.model
    if op == "QUANTIZE":
        src, out = ctx.input(0), ctx.output()
        if src is not None and src.dtype not in EIGHT_BIT and out is not None and out.dtype in EIGHT_BIT:
            cast = _cast_input(model, src.index)
            if cast is not None:  # the second half of a CPU prologue: input -> CAST -> QUANTIZE
                hint = hints.hint("cast-input", tensor=cast.name)
            else:
                rule = "float-input" if src.index in model.inputs else "float-island"
                hint = hints.hint(rule, tensor=src.name)
            return _limit(f"QUANTIZE of the {src.dtype} tensor '{src.name}' runs on the CPU", hint)
    for role, position, t in ctx.data_tensors:
        if op == "QUANTIZE" and role == "input":
            continue
        if not ctx.narrow_enough(role, position, t):
            if op == "DEQUANTIZE":
                rule = "float-output" if t.index in model.outputs else "float-island"
            else:
                rule = {"float32": "float-op", "int16": "int16"}.get(t.dtype, "int-op")
            first = ctx.input(0)
            if op == "CAST" and first is not None and first.index in model.inputs:
                hint = hints.hint("cast-input", tensor=first.name)
            else:
                hint = hints.hint(rule, op=op, dtype=t.dtype, tensor=t.name)
            return Finding(
                BAD_TYPE,
                f"{role} '{t.name}' is {t.dtype}; the Edge TPU runs int8/uint8 tensors only",
                hint,
            )
        if t.dtype == "int8" and ctx.target.runtime < SIGNED_INT8_RUNTIME:
            return Finding(
                BAD_TYPE,
                f"{role} '{t.name}' is int8, which runtime {ctx.target.runtime} does not map",
                hints.hint("int8-runtime"),
            )
    return None


def _support(ctx: OpContext) -> Finding | None:
    op = ctx.op.op
    if op == "CUSTOM":
        return Finding(
            UNSUPPORTED,
            f"custom op '{ctx.op.custom_code}' runs on the CPU",
            hints.hint("custom-op", code=ctx.op.custom_code),
        )
    if op in SEEN_UNSUPPORTED:
        return Finding(
            UNSUPPORTED,
            f"{op} is not in the Edge TPU's supported-operation table, and compiler logs show it on the CPU "
            f"({SEEN_UNSUPPORTED[op]})",
            hints.hint("unsupported-op", op=op),
        )
    if op not in op_table():
        return None  # decided after the other rules: see _unlisted
    if not available(op, ctx.target.runtime):
        first = min_runtime(op)
        return Finding(
            UNSUPPORTED,
            f"{op} maps from Edge TPU runtime {first}; the target is runtime {ctx.target.runtime}",
            hints.hint("runtime", op=op, runtime=first),
        )
    return None


def _version(ctx: OpContext) -> Finding | None:
    cap = edgetpu_max_version(ctx.op.op)
    if cap is not None and ctx.op.version > cap:
        return Finding(
            BAD_VERSION,
            f"{ctx.op.op} v{ctx.op.version} (the Edge TPU maps up to v{cap})",
            hints.hint("op-version-mapped", op=ctx.op.op, version=ctx.op.version),
        )
    return None


def _constant_params(ctx: OpContext) -> Finding | None:
    for i in PARAM_INPUTS.get(ctx.op.op, ()):
        t = ctx.input(i)
        if t is not None and not t.constant:
            return Finding(
                NOT_CONSTANT,
                f"input {i} '{t.name}' of {ctx.op.op} is computed at run time",
                hints.hint("not-constant", op=ctx.op.op, tensor=t.name),
            )
    return None


def _rank(ctx: OpContext) -> Finding | None:
    for role, t in ctx.activations:
        if t.rank > 3 and any(d > 1 for d in t.shape[:-3]):
            rule = "batch" if t.rank == 4 else "rank"
            return Finding(
                BAD_RANK,
                f"{role} '{t.name}' has shape {_shape(t)}: only the 3 innermost dimensions "
                "may be larger than 1",
                hints.hint(rule, batch=t.shape[0], shape=_shape(t)),
            )
    return None


def _unlisted(ctx: OpContext) -> Finding:
    """An op Table 1 does not list, with 8-bit data and nothing else against it (reference §2)."""
    return Finding(
        MAPPED,
        f"{ctx.op.op} is not in Coral's supported-operation table, but compiled models show some unlisted ops "
        "mapped (reference §2): it may map, unconfirmed",
        hints.hint("unlisted-op", op=ctx.op.op),
        uncertain=True,
    )


def evaluate_op(model: TfliteModel, op: OperatorInfo, target: Target) -> Finding:
    """What the compiler does with ``op`` on its own (the partition rule is applied later)."""
    ctx = OpContext(model, op, target)
    for check in (_data_type, _support, _version, _constant_params, _rank):
        found = check(ctx)
        if found:
            return found
    if op.op not in op_table():
        return _unlisted(ctx)
    limit = OP_LIMITS.get(op.op)
    found = limit(ctx) if limit else None
    return found or MAPPED_FINDING


# --- whole-model rules ---------------------------------------------------------------------


def _unreadable_version(model: TfliteModel, target: Target) -> Rejection | None:
    for op in model.operators:
        if op.op != "CUSTOM" and not compiler_reads(op.op, op.version, target.compiler_version):
            first = introduced_in(op.op, op.version)
            message = (
                f"Didn't find op for builtin opcode '{op.op}' version '{op.version}'. An older version of "
                "this builtin might be supported. Are you using an old TFLite binary with a newer model?"
            )
            reason = (
                f"{op.op} v{op.version} (TFLite {first or 'newer than any edgetpu_compiler'}) is newer than "
                f"the TFLite {compiler_tflite(target.compiler_version)} inside compiler "
                f"{target.compiler_version}"
            )
            return Rejection(
                message, reason, hints.version_hint(op.op, op.version, first, target.compiler_version), op=op
            )
    return None


def _is_eight_bit_op(model: TfliteModel, op: OperatorInfo) -> bool:
    if op.op in ("QUANTIZE", "DEQUANTIZE", "CUSTOM"):
        return False
    ctx = OpContext(model, op, Target(16, 14))
    tensors = ctx.data_tensors
    return bool(tensors) and all(ctx.narrow_enough(role, i, t) for role, i, t in tensors)


def _hybrid_op(model: TfliteModel, op: OperatorInfo) -> bool:
    """Dynamic-range quantization: float activations computed with 8-bit constant weights."""
    ins = [model.tensors[i] for i in op.inputs if i >= 0]
    if op.op == "DEQUANTIZE":
        return any(t.constant and t.dtype in EIGHT_BIT for t in ins)
    return any(not t.constant and t.dtype == "float32" for t in ins) and any(
        t.constant and t.dtype in EIGHT_BIT for t in ins
    )


def computes_in_eight_bit(model: TfliteModel) -> bool:
    """An integer model: its ops compute on 8-bit quantized tensors, as the Edge TPU needs."""
    return _not_quantized(model) is None


def _not_quantized(model: TfliteModel) -> Rejection | None:
    hybrid = next((op for op in model.operators if _hybrid_op(model, op)), None)
    if hybrid is None and any(_is_eight_bit_op(model, op) for op in model.operators):
        return None
    dtypes = {t.dtype for t in model.tensors}
    if hybrid is not None:
        kind, why = (
            "dynamic",
            f"{hybrid.op} #{hybrid.index} computes in float with int8 weights (dynamic-range)",
        )
    elif "float16" in dtypes:
        kind, why = "float16", "weights are float16 and every op computes in float32"
    elif "int16" in dtypes:
        kind, why = "int16x8", "activations are int16 (16x8 quantization); the Edge TPU needs 8-bit tensors"
    else:
        kind, why = "float32", "no op computes on 8-bit quantized tensors"
    return Rejection(
        "Model not quantized", why, hints.hint("not-quantized-" + kind), op=hybrid, status=BAD_TYPE
    )


# Inputs whose *values* give an op's output shape. edgetpu_compiler 16 loads the model in its
# TFLite (2.5/2.6 era), which sizes every tensor at allocation from the stored shapes and the
# constant inputs; an op whose shape input is computed at run time gets a dynamic-sized output
# (``SetTensorToDynamic``), and applying the delegate then fails the whole compile. The shape
# signature's -1 plays no part: the interpreter never reads it.
SHAPE_INPUTS: dict[str, tuple[int, ...]] = {
    "RESHAPE": (1,),
    "RESIZE_BILINEAR": (1,),
    "RESIZE_NEAREST_NEIGHBOR": (1,),
    "TRANSPOSE_CONV": (0,),
    "PAD": (1,),
    "PADV2": (1,),
    "MIRROR_PAD": (1,),
    "FILL": (0,),
    "BROADCAST_TO": (1,),
    "TILE": (1,),
    "SLICE": (1, 2),
    "STRIDED_SLICE": (1, 2, 3),
    "TRANSPOSE": (1,),
    "EXPAND_DIMS": (1,),
    "SPLIT": (0,),
    "SPLIT_V": (1, 2),
    "MEAN": (1,),
    "SUM": (1,),
    "REDUCE_MAX": (1,),
    "REDUCE_MIN": (1,),
    "REDUCE_PROD": (1,),
    "REDUCE_ANY": (1,),
    "ARG_MAX": (1,),
    "ARG_MIN": (1,),
    "SPACE_TO_BATCH_ND": (1, 2),
    "BATCH_TO_SPACE_ND": (1, 2),
    "RANGE": (0, 1, 2),
}

_STATIC_ONLY = (
    "ERROR: Attempting to use a delegate that only supports static-sized tensors with a graph "
    "that has dynamic-sized tensors."
)


def _run_time_shape(model: TfliteModel) -> tuple[OperatorInfo, TensorInfo] | None:
    """The first op whose output size the interpreter learns only when it runs, and the input that decides it."""
    for op in model.operators:
        for i in SHAPE_INPUTS.get(op.op, ()):
            t = model.tensor(op.inputs[i]) if i < len(op.inputs) and op.inputs[i] >= 0 else None
            if t is not None and not t.constant:
                return op, t
    return None


def _dynamic_batch(model: TfliteModel) -> TensorInfo | None:
    return next((t for t in model.tensors if t.signature[:1] == (-1,)), None)


def _dynamic_shape(model: TfliteModel) -> Rejection | None:
    """Sizes the compiler's interpreter cannot fix at allocation; a dynamic batch alone is not one.

    A -1 batch in the shape signature (every default Keras export) compiles at the stored batch,
    1: Coral's TF2 retraining tutorial runs ``edgetpu_compiler`` on exactly such a file. The
    compile fails when some op's output size hangs on a run-time value (tensorflow#88361:
    EfficientNet's squeeze-excite ``Reshape`` becomes SHAPE → STRIDED_SLICE → PACK → RESHAPE
    with a dynamic batch). Other -1 dimensions leave only a placeholder stored size (1), so no
    prediction is made at it: the model is rejected, saying so.
    """
    found = _run_time_shape(model)
    batch = _dynamic_batch(model)
    if found is not None:
        op, t = found
        why = (
            f"{op.op} #{op.index} takes its output shape from '{t.name}', which is computed when the "
            "model runs, so the interpreter cannot size its output before the delegate is applied"
        )
        rule = "dynamic-batch" if batch is not None else "dynamic-shape"
        return Rejection(
            _STATIC_ONLY, why, hints.hint(rule, tensor=(batch or t).name), op=op, status=UNSPECIFIED
        )
    sized = next((t for t in model.tensors if any(d < 0 for d in t.signature[1:] + t.shape)), None)
    if sized is None:
        return None
    sig = "[" + ", ".join(str(d) for d in sized.signature) + "]"
    return Rejection(
        _STATIC_ONLY,
        f"tensor '{sized.name}' has a dynamic shape signature {sig}: the file stores only a placeholder "
        f"size {list(sized.shape)} for it, so the compile is not predicted",
        hints.hint("dynamic-shape", tensor=sized.name),
    )


def dynamic_batch_note(model: TfliteModel) -> str | None:
    """What a -1 batch means for the compile, when the model has one and compiles."""
    t = _dynamic_batch(model)
    if t is None:
        return None
    return (
        f"'{t.name}' has a dynamic batch (shape_signature {list(t.signature)}): edgetpu_compiler "
        f"compiles the stored shape {list(t.shape)}, so the compiled model runs that batch only"
    )


def _cyclic_graph(model: TfliteModel) -> Rejection | None:
    """Ops that read their own outputs, through other ops: no execution order exists (a damaged file)."""
    g = dataflow.build(model)
    if not g.unordered:
        return None
    op = model.operators[g.unordered[0]]
    return Rejection(
        "Invalid model: the data-flow graph has a cycle",
        f"op #{op.index} {op.op} reads, through other ops, a tensor it produces itself; "
        f"{len(g.unordered)} op(s) have no execution order",
        "the file is damaged: re-export the model from its source.",
        op=op,
        status=UNSPECIFIED,
    )


def model_rejections(model: TfliteModel, target: Target) -> list[Rejection]:
    """Every whole-model failure: a damaged graph, then as the compiler meets them (parse, quantization, delegate)."""
    found = [
        _cyclic_graph(model),
        _unreadable_version(model, target),
        _not_quantized(model),
        _dynamic_shape(model),
    ]
    return [r for r in found if r is not None]
