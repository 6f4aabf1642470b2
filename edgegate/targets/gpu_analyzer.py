"""Worker side of the GPU target: delegate compatibility and fp16 range of one ``.tflite``.

Compatibility comes from TensorFlow's own checker (``tf.lite.experimental.Analyzer`` with
``gpu_compatibility=True``, i.e. ``CheckGpuDelegateCompatibility`` of
``tensorflow/lite/tools/versioning/gpu_compatibility.cc``) when the installed build has it.
It is a C++ extension that returns its report as text, so:

- it runs in a child process (``python -I``, loading the extension file directly, which skips
  the seconds of ``import tensorflow``): a hostile flatbuffer that crashes the C++ reader kills
  the child, not the worker, and becomes an ``InputError`` naming the file;
- its text is not a stable interface, so it is parsed line by line and any line of the op
  listing that is neither an op nor a warning fails loudly, naming the line; the op list it
  prints must also match the flatbuffer's own (``read_tflite``);
- a canary model with a custom op, which every version of the checker rejects, is analyzed
  first. The TensorFlow 2.21 wheels (and ai-edge-litert 2.3) ship an analyzer whose GPU
  rules are compiled out: it passes the canary (and a Flex op, which TensorFlow's own
  ``analyzer_test`` expects it to flag). Trusting that would pass every model, so EdgeGate
  then applies its own port of the rules (``_rule``), and ``checker`` says so.

On top of either, the delegate's own tensor-type rule (``IsAllAllowedTensors`` in
``tensorflow/lite/delegates/gpu/common/model_builder.cc``), which the checker does not apply:
every non-constant tensor of a delegated op is float32 or float16, or int8/uint8 since
quantized models are allowed by default (``TFLITE_GPU_EXPERIMENTAL_FLAGS_ENABLE_QUANT`` in
``TfLiteGpuDelegateOptionsV2Default``, ``quantizedModelsAllowed = true`` on Android).

fp16: the model runs on LiteRT's CPU interpreter with ``experimental_preserve_all_tensors``
(and without the XNNPACK delegate, which would hide intermediate tensors) on the samples
given, or on seeded random inputs when none are; each op output's largest magnitude is kept.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgegate.edgetpu.flatbuffer import OperatorInfo, TensorInfo, TfliteModel, parse_tflite
from edgegate.errors import InputError
from edgegate.exception_text import bounded, first_line
from edgegate.model_files import is_lfs_pointer
from edgegate.target_reports.gpu import Fp16Risk, GpuFallback, GpuReport
from edgegate.targets.gpu import FP16_MAX, NEAR_FACTOR, GpuSettings
from edgegate.workers.lifetime import child_options

if TYPE_CHECKING:
    import numpy as np

CHECKER_TIMEOUT_S = 300  # the checker reads MobileNetV2 in well under a second; this bounds a hang
RANDOM_SAMPLES = 8  # inputs the fp16 observation draws when the run gives no samples
RANDOM_FLOAT_RANGE = (-1.0, 1.0)  # a float input records no range: the usual normalized image range
CANARY_OP = "EdgeGateCanary"  # a custom op no GPU delegate knows

TYPE_RULE = "delegate tensor-type rule"
NOT_OBSERVED = "not observed"  # how data_source starts when the fp16 observation could not run


class CheckerOutputError(RuntimeError):
    """The checker printed something EdgeGate does not understand: never read as a pass."""


def analyze(model: Path, settings: GpuSettings, samples: Path | None) -> GpuReport:
    """The worker's entry point (via ``GpuTarget.analyze``)."""
    model = Path(model)
    tfl = _read(model)
    verdicts, checker = delegation(model, tfl)
    fallbacks = tuple(
        GpuFallback(op.index, _op_name(op), why) for op, why in zip(tfl.operators, verdicts) if why
    )
    if settings.fp16_overflow == "off":
        over: tuple[Fp16Risk, ...] = ()
        near: tuple[Fp16Risk, ...] = ()
        used, source = 0, "no data (fp16_overflow: off)"
    else:
        over, near, used, source = observe_fp16(model, tfl, samples, settings.max_samples)
    return GpuReport(
        ops_total=len(tfl.operators),
        ops_delegated=len(tfl.operators) - len(fallbacks),
        fallbacks=fallbacks,
        fp16_overflows=over,
        fp16_near=near,
        samples_used=used,
        data_source=source,
        checker=checker,
    )


def _read(model: Path) -> TfliteModel:
    try:
        data = model.read_bytes()
    except OSError as e:
        raise InputError(f"{model}: cannot read the model file ({e.strerror or e}).") from None
    if is_lfs_pointer(data[:1024]):
        raise InputError(
            f"{model}: a Git LFS pointer, not the model; fetch LFS files "
            "(actions/checkout with lfs: true, or git lfs pull)."
        )
    return parse_tflite(data, model)


def _op_name(op: OperatorInfo) -> str:
    """The name the checker prints: the builtin name, or the custom code of a custom op."""
    return op.custom_code if op.op == "CUSTOM" and op.custom_code is not None else op.op


# --- which ops delegate -------------------------------------------------------------------------


def delegation(model: Path, tfl: TfliteModel) -> tuple[list[str | None], str]:
    """Per op (execution order) why it falls back, None when it delegates; and who said so."""
    so = _analyzer_extension()
    from_checker: list[str | None] | None = None
    if so is None:
        checker = "EdgeGate's port of the LiteRT GPU rules (TensorFlow's analyzer is not installed)"
    else:
        version = _tensorflow_version()
        canary_text, model_text = run_checker(so, model)
        if checker_is_live(canary_text):
            from_checker = parse_checker_output(model_text, tfl, model)
            checker = f"TensorFlow {version} GPU compatibility checker"
        else:
            checker = (
                f"EdgeGate's port of the LiteRT GPU rules (TensorFlow {version}'s analyzer has no GPU "
                "rules compiled in)"
            )
    seen = with_fp16_weights_constant(tfl)
    verdicts: list[str | None] = []
    for i, op in enumerate(seen.operators):
        why = from_checker[i] if from_checker is not None else _rule(op, seen)
        verdicts.append(why or _type_rule(op, seen))
    return verdicts, checker + f", with the {TYPE_RULE}"


def with_fp16_weights_constant(tfl: TfliteModel) -> TfliteModel:
    """``tfl`` with the float32 outputs of DEQUANTIZE ops on constant float16 weights marked constant.

    A float16 conversion stores weights as float16 constants behind DEQUANTIZE ops. The
    delegate's partitioner (``FP16GraphPartitionHelper``) reads those weights directly and
    drops the DEQUANTIZE nodes, so the ops consuming them see constant inputs, as here.
    """
    dequantized = {
        op.outputs[0]
        for op in tfl.operators
        if op.op == "DEQUANTIZE"
        and len(op.inputs) == 1
        and len(op.outputs) == 1
        and (t := tfl.tensor(op.inputs[0])) is not None
        and t.constant
        and t.dtype == "float16"
    }
    if not dequantized:
        return tfl
    tensors = tuple(replace(t, constant=True) if t.index in dequantized else t for t in tfl.tensors)
    return replace(tfl, tensors=tensors)


def _analyzer_extension() -> Path | None:
    """The checker's extension file in the installed TensorFlow, found without importing it."""
    spec = importlib.util.find_spec("tensorflow")  # a top-level find_spec does not run the package
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        hits = sorted((Path(root) / "lite" / "python").glob("_pywrap_analyzer_wrapper*.so"))
        if hits:
            return hits[0]
    return None


def _tensorflow_version() -> str:
    try:
        return importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        return "(unknown version)"


# The child: load the extension by path (no `import tensorflow`), analyze each path, print JSON.
_CHILD = r"""
import importlib.machinery, importlib.util, json, sys
loader = importlib.machinery.ExtensionFileLoader("_pywrap_analyzer_wrapper", sys.argv[1])
spec = importlib.util.spec_from_loader("_pywrap_analyzer_wrapper", loader)
module = importlib.util.module_from_spec(spec)
loader.exec_module(module)
texts = [module.ModelAnalyzer(p, True, True) for p in sys.argv[2:]]
sys.stdout.write(json.dumps(texts))
"""


def run_checker(so: Path, model: Path) -> tuple[str, str]:
    """The checker's text for the canary and for ``model``."""
    with tempfile.TemporaryDirectory(prefix="edgegate-gpu-") as tmp:
        canary = Path(tmp) / "canary.tflite"
        canary.write_bytes(canary_model())
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", _CHILD, str(so), str(canary), str(model.resolve())],
                capture_output=True,
                timeout=CHECKER_TIMEOUT_S,
                check=False,
                **child_options(),  # killed when its worker ends
            )
        except subprocess.TimeoutExpired:
            raise InputError(
                f"{model}: the GPU compatibility checker did not finish within {CHECKER_TIMEOUT_S} s."
            ) from None
    if done.returncode < 0:  # killed by a signal: the C++ reader crashed on this file
        raise InputError(
            f"{model}: the GPU compatibility checker crashed reading the model (signal "
            f"{-done.returncode}); the flatbuffer is malformed, re-export the model."
        )
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(
            f"the GPU compatibility checker failed (exit {done.returncode}): {bounded(tail[0])}"
        )
    try:
        texts = json.loads(done.stdout.decode("utf-8", "replace"))
    except ValueError:
        texts = None
    if not (isinstance(texts, list) and len(texts) == 2 and all(isinstance(t, str) for t in texts)):
        raise CheckerOutputError(
            f"the GPU compatibility checker's child printed something unexpected: {bounded(done.stdout[:200].decode('utf-8', 'replace'))!r}"
        )
    return texts[0], texts[1]


def canary_model() -> bytes:
    """A one-op model whose op (a custom op no delegate knows) every GPU checker must reject."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = CANARY_OP
    code.version = 1
    tensors = []
    for name in ("x", "y"):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name, [1, 4], schema.TensorType.FLOAT32, 0
        tensors.append(t)
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    graph = schema.SubGraphT()
    graph.name, graph.tensors, graph.inputs, graph.outputs, graph.operators = "main", tensors, [0], [1], [op]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = (
        3,
        [code],
        [graph],
        [schema.BufferT()],
    )
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


_SUBGRAPH = re.compile(r"^Subgraph#(\d+)\b")
_OP = re.compile(r"^  Op#(\d+) (\S+)\(.*\) -> \[.*\]$")
_WARNING = "GPU COMPATIBILITY WARNING: "
_NODES = re.compile(
    r"^GPU COMPATIBILITY WARNING: Subgraph#(\d+) has GPU delegate compatibility issues at nodes ([\d, ]+?)(?: with| on|$)"
)
_COMPATIBLE = "Your model looks compatible with GPU delegate"
_TENSORS = re.compile(r"^Tensors of Subgraph#(\d+)")


@dataclass
class _Listing:
    """Subgraph 0 as the checker printed it."""

    ops: list[tuple[int, str]]
    warnings: dict[int, list[str]]  # op index -> the checker's messages for it
    flagged: set[int] | None  # the nodes its summary line lists, when it printed one
    compatible: bool  # it printed its "looks compatible" verdict


def _listing(text: str, model: Path) -> _Listing:
    if text.startswith("Failed to mmap") or "\nFailed to mmap" in text:
        raise InputError(
            f"{model}: the GPU compatibility checker cannot open the model ({first_line(Exception(text))})."
        )
    lines = text.splitlines()
    ops: list[tuple[int, str]] = []
    warnings: dict[int, list[str]] = {}
    flagged: set[int] | None = None
    section = None  # "ops" while inside Subgraph#0's op listing
    for line in lines:
        sub = _SUBGRAPH.match(line)
        if sub:
            section = "ops" if sub.group(1) == "0" else None
            continue
        if _TENSORS.match(line) or line.startswith(("Your TFLite model has", _COMPATIBLE)):
            section = None
            continue
        nodes = _NODES.match(line)
        if nodes:
            if nodes.group(1) == "0":
                flagged = {int(n) for n in nodes.group(2).replace(" ", "").split(",") if n}
            section = None
            continue
        if section != "ops":
            continue
        op = _OP.match(line)
        if op:
            ops.append((int(op.group(1)), op.group(2)))
        elif line.startswith(_WARNING) and ops:
            warnings.setdefault(ops[-1][0], []).append(line[len(_WARNING) :].strip())
        elif line.strip():
            raise CheckerOutputError(
                f"unrecognised line in the GPU compatibility checker's output: {bounded(line)!r}"
            )
    compatible = any(line.startswith(_COMPATIBLE) for line in lines)
    return _Listing(ops, warnings, flagged, compatible)


def checker_is_live(canary_text: str) -> bool:
    """Whether the checker rejected the canary (its GPU rules are compiled in)."""
    listing = _listing(canary_text, Path("canary.tflite"))
    if [name for _, name in listing.ops] != [CANARY_OP]:
        raise CheckerOutputError(
            f"the GPU compatibility checker listed the canary's ops as {listing.ops!r}; expected one {CANARY_OP} op"
        )
    if listing.warnings and listing.compatible:
        raise CheckerOutputError(
            "the GPU compatibility checker both flagged the canary and called it compatible"
        )
    if not listing.warnings and not listing.compatible:
        raise CheckerOutputError("the GPU compatibility checker printed no verdict on the canary")
    return bool(listing.warnings)


def parse_checker_output(text: str, tfl: TfliteModel, model: Path) -> list[str | None]:
    """Per op of subgraph 0, the checker's reason it falls back (None: compatible)."""
    listing = _listing(text, model)
    expected = [(op.index, _op_name(op)) for op in tfl.operators]
    if listing.ops != expected:
        raise CheckerOutputError(
            f"the GPU compatibility checker listed {len(listing.ops)} ops for {model.name} where the file has "
            f"{len(expected)} (first difference: "
            f"{next((a, b) for a, b in zip(listing.ops + [None] * len(expected), expected + [None] * len(listing.ops)) if a != b)!r})"
        )
    if listing.warnings and listing.compatible:
        raise CheckerOutputError(
            f"the GPU compatibility checker both flagged ops of {model.name} and called it compatible"
        )
    if not listing.warnings and not listing.compatible:
        raise CheckerOutputError(f"the GPU compatibility checker printed no verdict for {model.name}")
    if listing.flagged is not None and listing.flagged != set(listing.warnings):
        raise CheckerOutputError(
            f"the GPU compatibility checker's summary lists nodes {sorted(listing.flagged)} of {model.name} "
            f"but warned on {sorted(listing.warnings)}"
        )
    return ["; ".join(listing.warnings[i]) if i in listing.warnings else None for i, _ in expected]


# --- EdgeGate's port of the rules ---------------------------------------------------------------
#
# From CheckGpuDelegateCompatibility (tensorflow/lite/tools/versioning/gpu_compatibility.cc),
# messages as the checker words them. Ops whose rules read options EdgeGate's flatbuffer
# reader does not (SOFTMAX beta, DEPTH_TO_SPACE / SPACE_TO_DEPTH block size, MIRROR_PAD mode,
# ONE_HOT axis, LSTM kernel, SELECT shapes, EMBEDDING_LOOKUP, DYNAMIC_UPDATE_SLICE,
# STABLEHLO_CLAMP, CUMSUM, DENSIFY) are judged by their runtime-input count and type only.

_UNARY = frozenset("ABS CEIL COS ELU EXP FLOOR GELU LOG LOGISTIC NEG RSQRT SIGN SIN SQRT SQUARE TANH".split())
_BINARY = frozenset(
    "ATAN2 DIV EQUAL FLOOR_DIV FLOOR_MOD GREATER GREATER_EQUAL LOGICAL_AND LESS LESS_EQUAL "
    "MAXIMUM MINIMUM NOT_EQUAL POW SQUARED_DIFFERENCE SUB".split()
)
_ONE_IN_ONE_OUT = frozenset(
    "RESHAPE QUANTIZE TILE TRANSPOSE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR HARD_SWISH "
    "DEPTH_TO_SPACE SPACE_TO_DEPTH".split()
)
_REDUCE = frozenset("REDUCE_MAX REDUCE_MIN REDUCE_PROD SUM".split())
_ALWAYS = frozenset(
    "PACK RELU_N1_TO_1 PRELU SPLIT SPLIT_V RELU RELU6 LEAKY_RELU CONCATENATION SOFTMAX ONE_HOT "
    "SELECT SELECT_V2 EMBEDDING_LOOKUP DYNAMIC_UPDATE_SLICE STABLEHLO_CLAMP LSTM DENSIFY".split()
)
_OTHERS = frozenset(
    "ADD ADD_N AVERAGE_POOL_2D MAX_POOL_2D BATCH_MATMUL CAST CONV_2D DEPTHWISE_CONV_2D "
    "TRANSPOSE_CONV CUMSUM DEQUANTIZE FULLY_CONNECTED GATHER MEAN MUL PAD PADV2 MIRROR_PAD SLICE "
    "STRIDED_SLICE CUSTOM".split()
)
SUPPORTED_OPS = _UNARY | _BINARY | _ONE_IN_ONE_OUT | _REDUCE | _ALWAYS | _OTHERS
SUPPORTED_CUSTOM_OPS = frozenset(
    ("Convolution2DTransposeBias", "MaxPoolingWithArgmax2D", "MaxUnpooling2D", "Resampler")
)
_ACTIVATION_RULE_OPS = frozenset("CONV_2D DEPTHWISE_CONV_2D AVERAGE_POOL_2D MAX_POOL_2D MUL DIV SUB".split())
_FLOATS = ("float32", "float16")
_DELEGATE_TYPES = frozenset(("float32", "float16", "int8", "uint8"))


def _inputs(op: OperatorInfo, tfl: TfliteModel) -> list[TensorInfo | None]:
    return [tfl.tensor(i) if i >= 0 else None for i in op.inputs]


def _rule(op: OperatorInfo, tfl: TfliteModel) -> str | None:
    """Why the checker's rules reject ``op``; None when they accept it."""
    name = op.op
    if name not in SUPPORTED_OPS:
        return f"Not supported op {name}"
    ins = _inputs(op, tfl)
    present = [t for t in ins if t is not None]
    runtime = sum(1 for t in present if not t.constant)
    const = sum(1 for t in present if t.constant)
    outs = len(op.outputs)
    if name == "CUSTOM":
        custom = op.custom_code or ""
        return None if custom in SUPPORTED_CUSTOM_OPS else f"Not supported custom op {custom}"
    if name in _ACTIVATION_RULE_OPS and op.options.fused_activation == "SIGN_BIT":
        return "TfLiteFusedActivation.kTfLiteActSignBit"
    if name in _UNARY:
        return _counts(runtime, const, outs, 1, 0)
    if name in _BINARY:
        if not ((runtime == 2 and const == 0) or (runtime == 1 and const == 1)) or outs != 1:
            return "Op can only handle 1 or 2 operand(s)."
        return None
    if name in _ONE_IN_ONE_OUT:
        why = _io(runtime, outs, 1, 1)
        if (
            why is None
            and name == "RESIZE_BILINEAR"
            and op.options.align_corners
            and op.options.half_pixel_centers
        ):
            return "If half_pixel_centers is True, align_corners must be False."
        return why
    if name in _REDUCE:
        return _io(runtime, outs, 1, 1) or _const_int32_axes(name, ins, 1)
    if name in ("ADD", "MUL"):
        if len(ins) != 2:
            return f"{name} requires two input tensors."
        a, b = ins
        if a is None or b is None:
            return f"{name} requires two input tensors."
        if name == "MUL" and a.rank == b.rank:
            smaller_a = any(x < y for x, y in zip(a.shape, b.shape))
            smaller_b = any(y < x for x, y in zip(a.shape, b.shape))
            if smaller_a and smaller_b:
                return "MUL requires one tensor that not less than second in all dimensions."
            return None
        return _broadcast(a, b)
    if name == "ADD_N":
        return None if len(ins) == 2 else "ADD_N only supports 2 inputs."
    if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return _io(runtime, outs, 1, 1) or _positive("stride", op.options.stride)
    if name == "BATCH_MATMUL":
        if len(ins) != 2 or outs != 1:
            return f"Expected 2 inputs and 1 output, got: {len(ins)} inputs and {outs} outputs"
        return None
    if name == "CAST":
        return _io(runtime, outs, 1, 1) or _cast(ins[0], tfl.tensor(op.outputs[0]))
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"):
        if runtime > 2:
            return f"Expected 1 or 2 input tensor(s), but node has {runtime} runtime inputs."
        if outs != 1:
            return f"Expected 1 output tensor(s), but node has {outs} runtime outputs."
        why = _positive("stride", op.options.stride)
        if why or name == "TRANSPOSE_CONV":
            return why
        why = _positive("dilation", op.options.dilation)
        if why or name == "CONV_2D":
            return why
        return _depthwise(ins, tfl.tensor(op.outputs[0]))
    if name == "DEQUANTIZE":
        if len(ins) != 1 or outs != 1:
            return f"Expected 1 input & output each from Dequantize, got: {len(ins)}, {outs}"
        return "Unsupported dequantization type." if ins[0] is not None and ins[0].dtype == "int16" else None
    if name == "FULLY_CONNECTED":
        if op.options.weights_format != 0:
            return f"Unsupported FullyConnected weights format: {op.options.weights_format}"
        if runtime > 2:
            return "FullyConnected doesn't support more than 2 runtime inputs."
        if ins and ins[0] is not None and ins[0].constant:
            return "FullyConnected doesn't support constant input."
        out = tfl.tensor(op.outputs[0]) if op.outputs else None
        if (
            op.options.keep_num_dims
            and ins
            and ins[0] is not None
            and out is not None
            and ins[0].rank != out.rank
        ):
            return "Input and output dimensions different and FullyConnected doesn't support keep_num_dims."
        return None
    if name == "GATHER":
        if not ((runtime == 2 and const == 0) or (runtime == 1 and const == 1)) or outs != 1:
            return "Op can only handle 1 or 2 operand(s)."
        data, indices = (ins + [None, None])[:2]
        if data is not None and data.dtype == "int32":
            return "Does not accept INT32 input."
        if indices is not None and indices.rank != 1:
            return "Only support 1D indices"
        return None if indices is not None and indices.dtype == "int32" else "Only accept INT32 indices"
    if name == "MEAN":
        return _counts(runtime, const, outs, 1, 1) or _const_int32_axes(name, ins, 1)
    if name in ("PAD", "PADV2", "MIRROR_PAD"):
        why = _io(runtime, outs, 1, 1)
        if why:
            return why
        pads = ins[1] if len(ins) > 1 else None
        if pads is None:
            return f"Requested index goes beyond array size: 1 vs {len(ins)}"
        if pads.rank != 2:
            return f"Invalid paddings tensor dimension: expected 2 dim, got {pads.rank} dim"
        if pads.shape[0] not in (3, 4) or pads.shape[1] != 2:
            return f"Invalid paddings tensor shape: expected 4x2 or 3x2, got {pads.shape[0]}x{pads.shape[1]}"
        return None
    if name == "SLICE":
        if len(ins) < 3:
            return f"SLICE requires 3 inputs, but node has {len(ins)} inputs."
        rank = ins[0].rank if ins[0] is not None else 0
        if rank not in (3, 4):
            return f"SLICE supports for 3 or 4 dimensional tensors only, but node has {rank} dimensional tensors."
        return None
    if name == "STRIDED_SLICE":
        o = op.options
        if o.ellipsis_mask:
            return "Slice does not support ellipsis_mask."
        if o.new_axis_mask:
            return "Slice does not support new_axis_mask."
        if o.shrink_axis_mask:
            return "Slice does not support shrink_axis_mask parameter. "
        if len(ins) < 4:
            return "STRIDED_SLICE requires 4 inputs."
        if (ins[0].rank if ins[0] is not None else 0) not in (3, 4):
            return "STRIDED_SLICE supports for 3 or 4 dimensional tensors only."
        return None
    return None  # _ALWAYS and the ops whose remaining rules read options EdgeGate does not


def _io(runtime: int, outs: int, want_runtime: int, want_outs: int) -> str | None:
    if runtime != want_runtime:
        return f"Expected {want_runtime} runtime input tensor(s), but node has {runtime} runtime input(s)."
    if outs != want_outs:
        return f"Expected {want_outs} output tensor(s), but node has {outs} output(s)."
    return None


def _counts(runtime: int, const: int, outs: int, want_runtime: int, want_const: int) -> str | None:
    if const != want_const:
        return f"Expected {want_const} const input tensor(s), but node has {const} const input(s)."
    return _io(runtime, outs, want_runtime, 1)


def _positive(what: str, hw: tuple[int, int]) -> str | None:
    if hw[0] <= 0 or hw[1] <= 0:
        return f"Incorrect {what} values: {what}_height = {hw[0]}, {what}_width = {hw[1]}"
    return None


def _const_int32_axes(name: str, ins: list[TensorInfo | None], at: int) -> str | None:
    axes = ins[at] if len(ins) > at else None
    if axes is None or not axes.constant:
        return f"{name} is only supported with constant axes."
    if axes.dtype != "int32":
        return f"{name} supports int32 tensor for axes. But node has {axes.dtype}"
    return None


def _broadcast(a: TensorInfo, b: TensorInfo) -> str | None:
    """The checker's broadcast rule for ADD / MUL (offline it assumes enhanced broadcast)."""
    if a.rank > 1 and b.rank > 1 and a.rank != b.rank:
        longer, shorter = (a.shape, b.shape) if a.rank >= b.rank else (b.shape, a.shape)
        for i in range(1, max(len(longer), len(shorter)) + 1):
            x = longer[-i] if i <= len(longer) else 1
            y = shorter[-i] if i <= len(shorter) else 1
            if x != y and x != 1 and y != 1:
                return (
                    f"Doesn't support broadcasting - input0: [{','.join(map(str, a.shape))}], "
                    f"input1: [{','.join(map(str, b.shape))}]"
                )
    return None


def _cast(src: TensorInfo | None, dst: TensorInfo | None) -> str | None:
    s, d = (src.dtype if src else "none"), (dst.dtype if dst else "none")
    if (s == "bool" and d in _FLOATS) or (s in _FLOATS and d == "bool"):
        return None
    if s in ("float32", "int32") and d in ("float32", "int32"):
        return None
    return f"Not supported Cast case. Input type: {s.upper()} and output type: {d.upper()}"


def _depthwise(ins: list[TensorInfo | None], out: TensorInfo | None) -> str | None:
    x, w = (ins + [None, None])[:2]
    bias = ins[2] if len(ins) > 2 else None
    if x is None or x.rank != 4:
        return "input.dims.size != 4"
    if w is None or w.rank != 4:
        return "filter.dims.size != 4"
    if out is None or out.rank != 4:
        return "output.dims.size != 4"
    if x.shape[0] != out.shape[0]:
        return "input.b != output.b"
    in_c, out_c = x.shape[3], out.shape[3]
    if w.shape[3] != out_c:
        return "filter.i != output.c"
    if in_c <= 0 or out_c % in_c:
        return "output.c != input.c * depth_multiplier"
    if bias is not None and bias.elements != out_c:
        return "bias.size != output.c"
    if out_c // in_c != 1 and in_c != 1:
        return "depth_multiplier != 1 && input.c != 1"
    return None


def _type_rule(op: OperatorInfo, tfl: TfliteModel) -> str | None:
    """The delegate's tensor-type rule: non-constant tensors of a delegated op are of its types."""
    for index in (*op.inputs, *op.outputs):
        t = tfl.tensor(index) if index >= 0 else None
        if t is not None and not t.constant and t.dtype not in _DELEGATE_TYPES:
            return (
                f"OP is supported, but tensor type isn't matched: '{t.name}' is {t.dtype} "
                "(the delegate takes float32, float16, int8, uint8)"
            )
    return None


# --- fp16 range, observed -----------------------------------------------------------------------


def observe_fp16(
    model: Path, tfl: TfliteModel, samples: Path | None, max_samples: int
) -> tuple[tuple[Fp16Risk, ...], tuple[Fp16Risk, ...], int, str]:
    """Ops whose outputs exceed float16's range, and those near it; samples used; what they were."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(
            model_path=str(model),
            num_threads=1,
            experimental_preserve_all_tensors=True,
            # The XNNPACK delegate would own the intermediate tensors and hide their values.
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    except (ValueError, RuntimeError) as e:
        return (), (), 0, f"{NOT_OBSERVED}: the LiteRT interpreter cannot load the model ({first_line(e)})"
    inputs = interpreter.get_input_details()
    if samples is not None:
        batches, source = _load_samples(samples, inputs, max_samples)
    else:
        batches, source = _random_inputs(inputs, interpreter)
    watched = [
        (op, index)
        for op in tfl.operators
        for index in op.outputs
        if (t := tfl.tensor(index)) is not None and not t.constant and t.dtype in _REAL_TYPES
    ]
    peak: dict[int, float] = {}
    for feed in batches:
        failure = _run(interpreter, inputs, feed)
        if failure:  # a Flex or custom op, say: the model runs only where its kernels are linked
            return (), (), 0, f"{NOT_OBSERVED}: the LiteRT interpreter cannot run the model ({failure})"
        for _, index in watched:
            value = _real(interpreter, tfl.tensors[index])
            if value.size:
                with np.errstate(invalid="ignore"):
                    m = float(np.max(np.abs(value)))
                if np.isnan(m):
                    m = float("inf")  # NaN in the float run: the range is already lost
                peak[index] = max(peak.get(index, 0.0), m)
    over, near = [], []
    for op, index in watched:
        m = peak.get(index, 0.0)
        name = tfl.tensors[index].name
        if m > FP16_MAX:
            over.append(Fp16Risk(op.index, _op_name(op), name, m))
        elif m > FP16_MAX / NEAR_FACTOR:
            near.append(Fp16Risk(op.index, _op_name(op), name, m))
    return tuple(over), tuple(near), len(batches), source


_REAL_TYPES = frozenset(("float32", "float16", "int8", "uint8", "int16"))


def _real(interpreter: Any, tensor: TensorInfo) -> np.ndarray:
    """A tensor's values as real numbers: dequantized when it is quantized."""
    import numpy as np

    raw = interpreter.get_tensor(tensor.index)
    q = tensor.quantization
    if raw.dtype.kind in "iu" and q is not None:
        scales, zeros = np.asarray(q.scales, np.float32), np.asarray(q.zero_points or (0,), np.float32)
        if scales.size > 1 and 0 <= q.axis < raw.ndim and raw.shape[q.axis] == scales.size:
            shape = [1] * raw.ndim
            shape[q.axis] = scales.size
            scales = scales.reshape(shape)
            zeros = zeros.reshape(shape) if zeros.size == scales.size else zeros[:1]
        else:
            scales, zeros = scales[:1], zeros[:1]
        return (raw.astype(np.float32) - zeros) * scales
    return np.asarray(raw, np.float32)


def _run(interpreter: Any, inputs: list[dict], feed: list[np.ndarray]) -> str | None:
    """One invoke on ``feed``; the interpreter's complaint when it cannot run the model."""
    try:
        for detail, value in zip(inputs, feed):
            if tuple(detail["shape"]) != value.shape:
                interpreter.resize_tensor_input(detail["index"], value.shape, strict=True)
        interpreter.allocate_tensors()
        for detail, value in zip(inputs, feed):
            interpreter.set_tensor(detail["index"], value)
        interpreter.invoke()
    except (ValueError, RuntimeError) as e:
        return first_line(e)
    return None


def _to_input(real: np.ndarray, detail: dict) -> np.ndarray:
    """Real-valued samples as the input tensor takes them: quantized for a quantized integer input."""
    import numpy as np

    dtype = np.dtype(detail["dtype"])
    params = detail["quantization_parameters"]
    if dtype.kind in "iu" and len(params["scales"]):
        # Per-tensor: model inputs are quantized with one scale (per-channel is for weights).
        scale, zero = float(params["scales"][0]), float(params["zero_points"][0])
        info = np.iinfo(dtype)
        return np.clip(np.rint(real / scale) + zero, info.min, info.max).astype(dtype)
    return np.ascontiguousarray(real, dtype=dtype)


def _random_inputs(inputs: list[dict], interpreter: Any) -> tuple[list[list[np.ndarray]], str]:
    """Seeded random inputs in each input tensor's range (a quantized one's, or ±1 for floats)."""
    import numpy as np

    rng = np.random.default_rng(0)
    batches = []
    for _ in range(RANDOM_SAMPLES):
        feed = []
        for d in inputs:
            shape = tuple(max(int(s), 1) for s in d["shape"])
            dtype = np.dtype(d["dtype"])
            if dtype.kind == "f":
                feed.append(rng.uniform(*RANDOM_FLOAT_RANGE, size=shape).astype(dtype))
            elif dtype.kind in "iu" and len(d["quantization_parameters"]["scales"]):
                info = np.iinfo(dtype)
                feed.append(rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype))
            else:  # ids, indices, flags: zeros are always in range
                feed.append(np.zeros(shape, dtype))
        batches.append(feed)
    kinds = sorted(
        {
            "±1 for float inputs"
            if np.dtype(d["dtype"]).kind == "f"
            else "the quantized range"
            if len(d["quantization_parameters"]["scales"])
            else "zeros for integer inputs"
            for d in inputs
        }
    )
    return batches, f"{RANDOM_SAMPLES} random inputs ({', '.join(kinds)}; no samples given)"


def _load_samples(path: Path, inputs: list[dict], max_samples: int) -> tuple[list[list[np.ndarray]], str]:
    """The samples file as feeds, one sample per invoke; ``InputError`` naming it when unusable."""
    import numpy as np

    arrays = _read_arrays(path)
    names = [d["name"] for d in inputs]
    if len(inputs) == 1:
        if len(arrays) == 1:
            chosen = list(arrays.values())
        elif "x" in arrays:
            chosen = [arrays["x"]]
        elif names[0] in arrays:
            chosen = [arrays[names[0]]]
        else:
            raise InputError(
                f"{path}: holds arrays {', '.join(sorted(arrays))}; name the samples 'x' (or "
                f"'{names[0]}', the model's input)."
            )
    else:
        missing = [n for n in names if n not in arrays]
        if missing:
            raise InputError(
                f"{path}: the model has {len(names)} inputs; give an .npz with one array per input, "
                f"named {', '.join(names)} (missing: {', '.join(missing)})."
            )
        chosen = [arrays[n] for n in names]
    per_input = []
    for detail, array in zip(inputs, chosen):
        if array.dtype.kind not in "biuf":
            raise InputError(f"{path}: samples must be numbers, not {array.dtype}.")
        want = tuple(int(s) for s in detail["shape"][1:])
        if array.ndim == len(want):  # one sample without its batch axis
            array = array[None]
        if array.ndim != len(want) + 1 or (tuple(array.shape[1:]) != want and not _resizable(detail, array)):
            raise InputError(
                f"{path}: samples shaped {tuple(array.shape)} do not fit the input '{detail['name']}' "
                f"shaped {tuple(int(s) for s in detail['shape'])} (axis 0 indexes the samples)."
            )
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise InputError(f"{path}: samples hold NaN or infinite values.")
        per_input.append(array)
    counts = {len(a) for a in per_input}
    if len(counts) != 1:
        raise InputError(f"{path}: the arrays hold different numbers of samples ({sorted(counts)}).")
    total = counts.pop()
    if total == 0:
        raise InputError(f"{path}: holds no samples.")
    used = min(total, max_samples)
    batches = [
        [_to_input(a[i : i + 1].astype(np.float32), d) for a, d in zip(per_input, inputs)]
        for i in range(used)
    ]
    return batches, f"{used} of {total} samples from {path.name}"


def _resizable(detail: dict, array: np.ndarray) -> bool:
    """A sample of another shape fits when the input's signature leaves those axes dynamic."""
    signature = detail.get("shape_signature")
    if signature is None or len(signature) != array.ndim:
        return False
    return all(int(s) < 0 or int(s) == n for s, n in zip(signature[1:], array.shape[1:]))


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    import numpy as np

    try:
        opened = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: samples file not found.") from None
    except ValueError as e:
        if "pickle" in str(e):  # object arrays need pickle, which would run code from the file
            raise InputError(
                f"{path}: holds Python objects, which cannot be read without pickle; save numbers."
            ) from None
        raise InputError(f"{path}: not a readable .npy/.npz file ({first_line(e)}).") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: not a readable .npy/.npz file ({first_line(e)}).") from None
    if not isinstance(opened, np.lib.npyio.NpzFile):
        return {"x": opened}
    try:
        with opened as npz:
            return {name: npz[name] for name in npz.files}
    except ValueError as e:
        raise InputError(
            f"{path}: an array cannot be read without pickle ({first_line(e)}); save numbers."
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: not a readable .npz file ({first_line(e)}).") from None
