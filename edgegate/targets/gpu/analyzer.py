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

On top of either, the rules only the delegate applies (what runs on the phone), ported from
LiteRT's ``tflite/delegates/gpu/common/model_builder.cc`` (``_delegate_rule``): the ops it has
a parser for, its per-op tensor types and its rank limit (``GetOpsToReplace``,
``IsAllAllowedTensors``), its bool-CAST pattern, and the standard broadcast rule for ADD / MUL
(the offline checker assumes "enhanced" broadcast; the delegate does not). Where the two
differ, EdgeGate follows the delegate.

fp16: the model runs on LiteRT's CPU interpreter with ``experimental_preserve_all_tensors``
(and without the XNNPACK delegate, which would hide intermediate tensors) on the model's eval
samples, read through ``datasets/`` as evaluation reads them, or on seeded random inputs when
there are none; each op output's largest magnitude is kept. The model is the pull request's,
so it runs in a child process (``fp16_child.py``) under the time limit (``timeout_s``) and
memory limit every child of this analysis gets (``child_process.run_child``), and only after
the sizes its tensors declare are checked: a model that cannot run within them is reported as
not observed, with the reason, never a pass and never a hung worker.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from edgegate.targets.flatbuffer import OperatorInfo, TensorInfo, TfliteModel, parse_tflite
from edgegate.errors import InputError
from edgegate.exception_text import bounded, first_line
from edgegate.model_files import is_lfs_pointer
from edgegate.target_reports.gpu import Fp16Risk, GpuFallback, GpuReport
from edgegate.targets.child_process import child_env, death, run_child, run_script_child
from edgegate.targets.gpu.settings import FP16_MAX, NEAR_FACTOR, GpuSettings
from edgegate.targets.mcu.target import activation_bytes

if TYPE_CHECKING:
    import numpy as np

    from edgegate.policy.sections import Dataset

RANDOM_SAMPLES = 8  # inputs the fp16 observation draws when the run gives no samples
FP16_CHILD = Path(__file__).with_name("fp16_child.py")
# Bounds of the fp16 observation (a PR's model declares its tensors' sizes; nothing trusts them):
MAX_INPUT_BYTES, MAX_INPUT_SHOWN = 256 << 20, "256 MiB"  # one sample of all its inputs
MAX_TENSOR_BYTES, MAX_TENSOR_SHOWN = 1 << 30, "1 GiB"  # all its non-constant tensors (every one is kept)
CHILD_MEMORY_BYTES, CHILD_MEMORY_SHOWN = 4 << 30, "4 GiB"  # what each child of the analysis may write
CANARY_OP = "EdgeGateCanary"  # a custom op no GPU delegate knows

TYPE_RULE = "LiteRT GPU delegate's own rules (op parsers, tensor types and ranks, broadcast)"
NOT_OBSERVED = "not observed"  # how data_source starts when the fp16 observation could not run
COULD_NOT_RUN = f"{NOT_OBSERVED}: could not run"


class CheckerOutputError(RuntimeError):
    """The checker printed something EdgeGate does not understand: never read as a pass."""


def analyze(model: Path, settings: GpuSettings, data: Dataset | None, root: Path | None) -> GpuReport:
    """The worker's entry point (via ``GpuTarget.analyze``): ``data`` is the model's eval data,
    its paths relative to the repository ``root``."""
    model = Path(model)
    tfl = _read(model)
    verdicts, checker = delegation(model, tfl, settings.timeout_s)
    fallbacks = tuple(
        GpuFallback(op.index, _op_name(op), why) for op, why in zip(tfl.operators, verdicts) if why
    )
    if settings.fp16_overflow == "off":
        over: tuple[Fp16Risk, ...] = ()
        near: tuple[Fp16Risk, ...] = ()
        used, source = 0, "no data (fp16_overflow: off)"
    else:
        over, near, used, source = observe_fp16(model, tfl, data, root, settings)
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


def delegation(model: Path, tfl: TfliteModel, timeout_s: float = 300.0) -> tuple[list[str | None], str]:
    """Per op (execution order) why it falls back, None when it delegates; and who said so."""
    so = _analyzer_extension()
    from_checker: list[str | None] | None = None
    if so is None:
        checker = "EdgeGate's port of the LiteRT GPU rules (TensorFlow's analyzer is not installed)"
    else:
        version = _tensorflow_version()
        canary_text, model_text = run_checker(so, model, timeout_s)
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
        verdicts.append(why or _delegate_rule(op, seen))
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


def run_checker(so: Path, model: Path, timeout_s: float = 300.0) -> tuple[str, str]:
    """The checker's text for the canary and for ``model``."""
    with tempfile.TemporaryDirectory(prefix="edgegate-gpu-") as tmp:
        canary = Path(tmp) / "canary.tflite"
        canary.write_bytes(canary_model())
        (Path(tmp) / "home").mkdir()
        done = run_child(
            [sys.executable, "-I", "-c", _CHILD, str(so), str(canary), str(model.resolve())],
            cwd=Path(tmp),
            env=child_env(Path(tmp) / "home"),
            timeout_s=timeout_s,
            memory_bytes=CHILD_MEMORY_BYTES,
        )
    if done.returncode is None:
        raise InputError(f"{model}: the GPU compatibility checker did not finish within {timeout_s:g} s.")
    if done.returncode < 0:  # killed by a signal: the C++ reader crashed on this file
        raise InputError(
            f"{model}: the GPU compatibility checker crashed reading the model ({death(done.returncode)}); "
            "the flatbuffer is malformed, re-export the model."
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
# Source: google-ai-edge/LiteRT (the repository LiteRT, formerly TensorFlow Lite, lives in),
# RULES_SOURCE below; CheckGpuDelegateCompatibility of tflite/tools/versioning/
# gpu_compatibility.cc, messages as it words them, with the flags the delegate passes
# (kStandard: see _broadcast). Ops whose rules read options EdgeGate's flatbuffer reader does
# not (DEPTH_TO_SPACE / SPACE_TO_DEPTH block size, MIRROR_PAD mode, LSTM kernel,
# EMBEDDING_LOOKUP, DYNAMIC_UPDATE_SLICE, STABLEHLO_CLAMP, CUMSUM, DENSIFY) are judged by
# their runtime-input count, type and rank only.
RULES_SOURCE = (
    "google-ai-edge/LiteRT main: tflite/tools/versioning/gpu_compatibility.cc at 007226f4, "
    "tflite/delegates/gpu/common/model_builder.cc at e3b6183f"
)

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
# UNPACK is not in the checker's switch ("Not supported op UNPACK"), but the delegate has a parser
# for it whose IsSupported takes every node (UnpackOperationParser): the delegate decides.
_ALWAYS = frozenset(
    "PACK RELU_N1_TO_1 PRELU SPLIT SPLIT_V RELU RELU6 LEAKY_RELU CONCATENATION "
    "EMBEDDING_LOOKUP DYNAMIC_UPDATE_SLICE STABLEHLO_CLAMP LSTM DENSIFY UNPACK".split()
)
_OTHERS = frozenset(
    "ADD ADD_N AVERAGE_POOL_2D MAX_POOL_2D BATCH_MATMUL CAST CONV_2D DEPTHWISE_CONV_2D "
    "TRANSPOSE_CONV CUMSUM DEQUANTIZE FULLY_CONNECTED GATHER MEAN MUL ONE_HOT PAD PADV2 MIRROR_PAD "
    "SELECT SELECT_V2 SLICE SOFTMAX STRIDED_SLICE CUSTOM".split()
)
SUPPORTED_OPS = _UNARY | _BINARY | _ONE_IN_ONE_OUT | _REDUCE | _ALWAYS | _OTHERS
SUPPORTED_CUSTOM_OPS = frozenset(
    ("Convolution2DTransposeBias", "MaxPoolingWithArgmax2D", "MaxUnpooling2D", "Resampler")
)
_ACTIVATION_RULE_OPS = frozenset("CONV_2D DEPTHWISE_CONV_2D AVERAGE_POOL_2D MAX_POOL_2D MUL DIV SUB".split())
_FLOATS = ("float32", "float16")


def _inputs(op: OperatorInfo, tfl: TfliteModel) -> list[TensorInfo | None]:
    return [tfl.tensor(i) if i >= 0 else None for i in op.inputs]


@dataclass(frozen=True)
class _Node:
    """One op as the rules read it: its inputs (None for an omitted optional one) and their counts."""

    op: OperatorInfo
    tfl: TfliteModel
    ins: list[TensorInfo | None]
    runtime: int  # inputs that are not constants
    const: int
    outs: int

    @staticmethod
    def of(op: OperatorInfo, tfl: TfliteModel) -> _Node:
        ins = _inputs(op, tfl)
        present = [t for t in ins if t is not None]
        runtime = sum(1 for t in present if not t.constant)
        return _Node(op, tfl, ins, runtime, len(present) - runtime, len(op.outputs))

    @property
    def output(self) -> TensorInfo | None:
        return self.tfl.tensor(self.op.outputs[0]) if self.op.outputs else None


def _rule(op: OperatorInfo, tfl: TfliteModel) -> str | None:
    """Why the checker's rules reject ``op``; None when they accept it."""
    name = op.op
    if name not in SUPPORTED_OPS:
        return f"Not supported op {name}"
    if name == "CUSTOM":
        custom = op.custom_code or ""
        return None if custom in SUPPORTED_CUSTOM_OPS else f"Not supported custom op {custom}"
    if name in _ACTIVATION_RULE_OPS and op.options.fused_activation == "SIGN_BIT":
        return "TfLiteFusedActivation.kTfLiteActSignBit"
    check = _OP_RULES.get(name)
    return check(_Node.of(op, tfl)) if check is not None else None  # _ALWAYS, and ops judged by types only


def _unary(n: _Node) -> str | None:
    return _counts(n.runtime, n.const, n.outs, 1, 0)


def _one_or_two_operands(n: _Node) -> str | None:
    if not ((n.runtime == 2 and n.const == 0) or (n.runtime == 1 and n.const == 1)) or n.outs != 1:
        return "Op can only handle 1 or 2 operand(s)."
    return None


def _one_in_one_out(n: _Node) -> str | None:
    why = _io(n.runtime, n.outs, 1, 1)
    o = n.op.options
    if why is None and n.op.op == "RESIZE_BILINEAR" and o.align_corners and o.half_pixel_centers:
        return "If half_pixel_centers is True, align_corners must be False."
    return why


def _reduce(n: _Node) -> str | None:
    return _io(n.runtime, n.outs, 1, 1) or _const_int32_axes(n.op.op, n.ins, 1)


def _add_or_mul(n: _Node) -> str | None:
    name = n.op.op
    if len(n.ins) != 2:
        return f"{name} requires two input tensors."
    a, b = n.ins
    if a is None or b is None:
        return f"{name} requires two input tensors."
    return _broadcast(a, b)


def _add_n(n: _Node) -> str | None:
    return None if len(n.ins) == 2 else "ADD_N only supports 2 inputs."


def _pool(n: _Node) -> str | None:
    return _io(n.runtime, n.outs, 1, 1) or _positive("stride", n.op.options.stride)


def _batch_matmul(n: _Node) -> str | None:
    if len(n.ins) != 2 or n.outs != 1:
        return f"Expected 2 inputs and 1 output, got: {len(n.ins)} inputs and {n.outs} outputs"
    return None


def _cast_op(n: _Node) -> str | None:
    return _io(n.runtime, n.outs, 1, 1) or _cast(n.ins[0], n.tfl.tensor(n.op.outputs[0]))


def _convolution(n: _Node) -> str | None:
    if n.runtime > 2:
        return f"Expected 1 or 2 input tensor(s), but node has {n.runtime} runtime inputs."
    if n.outs != 1:
        return f"Expected 1 output tensor(s), but node has {n.outs} runtime outputs."
    why = _positive("stride", n.op.options.stride)
    if why or n.op.op == "TRANSPOSE_CONV":
        return why
    why = _positive("dilation", n.op.options.dilation)
    if why or n.op.op == "CONV_2D":
        return why
    return _depthwise(n.ins, n.tfl.tensor(n.op.outputs[0]))


def _dequantize(n: _Node) -> str | None:
    if len(n.ins) != 1 or n.outs != 1:
        return f"Expected 1 input & output each from Dequantize, got: {len(n.ins)}, {n.outs}"
    return "Unsupported dequantization type." if n.ins[0] is not None and n.ins[0].dtype == "int16" else None


def _fully_connected(n: _Node) -> str | None:
    o, x = n.op.options, (n.ins[0] if n.ins else None)
    if o.weights_format != 0:
        return f"Unsupported FullyConnected weights format: {o.weights_format}"
    if n.runtime > 2:
        return "FullyConnected doesn't support more than 2 runtime inputs."
    if x is not None and x.constant:
        return "FullyConnected doesn't support constant input."
    out = n.output
    if o.keep_num_dims and x is not None and out is not None and x.rank != out.rank:
        return "Input and output dimensions different and FullyConnected doesn't support keep_num_dims."
    return None


def _gather(n: _Node) -> str | None:
    why = _one_or_two_operands(n)
    if why:
        return why
    indices = n.ins[1] if len(n.ins) > 1 else None
    if indices is not None and indices.rank != 1:
        return "Only support 1D indices"
    return None if indices is not None and indices.dtype == "int32" else "Only accept INT32 indices"


def _one_hot(n: _Node) -> str | None:
    """CheckOneHotGpuDelegateCompatibility: int32 indices, one-hot on the last axis, constant
    scalar float on/off values, only batch and channels non-singleton."""
    if len(n.ins) != 4 and n.outs != 1:  # sic: "&&" in the source
        return "Expects 4 inputs and 1 output"
    error = (
        "Indices must be int32 type, on/off tensors must be constant, scalar, float type, "
        "axis must be -1 or last dim"
    )
    indices = n.ins[0] if n.ins else None
    if indices is None or indices.dtype != "int32":
        return error
    dims = indices.shape
    axis = n.op.options.axis
    if axis != -1 and (not dims or axis != dims[-1]):  # sic: compared with the last dim's size
        return error
    for i in range(len(dims) - 1):
        if not (len(dims) > 3 and i == 0) and dims[i] != 1:
            return f"Unspported non-singleton dim at {i}"
    on_off = n.ins[2:4]
    if len(on_off) != 2 or any(t is None or t.dtype != "float32" for t in on_off):
        return error
    if any(t is None or not t.constant or t.rank > 1 or (t.rank == 1 and t.shape[0] > 1) for t in on_off):
        return error
    return None


def _select(n: _Node) -> str | None:
    """CheckSelectV2GpuDelegateCompatibility: a bool or float condition; if / else shaped as the
    output or scalar, and a 2-D one only when constant."""
    if len(n.ins) != 3 or n.outs != 1:
        return "Expected 3 inputs and 1 output"
    cond, then, other = n.ins
    out = n.output
    error = (
        "Cond must be float or bool type, if, else tensors must be either be same the shape as "
        "output or constant, scalar."
    )
    if cond is None or cond.dtype not in ("bool", *_FLOATS):
        return error
    out_dims = out.shape if out is not None else ()
    for t, name in ((then, "if"), (other, "else")):
        if t is None:
            return error
        if t.shape and t.shape != out_dims and (t.rank > 1 or t.shape[0] > 1):
            return error
        if t.constant and t.rank == 2:
            return f"2-D {name} tensor only supported if constant."  # sic: the source's wording
    return None


def _softmax(n: _Node) -> str | None:
    return None if n.op.options.beta == 1 else "Softmax.beta != 1 is not supported."


def _mean(n: _Node) -> str | None:
    return _counts(n.runtime, n.const, n.outs, 1, 1) or _const_int32_axes("MEAN", n.ins, 1)


def _pad(n: _Node) -> str | None:
    why = _io(n.runtime, n.outs, 1, 1)
    if why:
        return why
    pads = n.ins[1] if len(n.ins) > 1 else None
    if pads is None:
        return f"Requested index goes beyond array size: 1 vs {len(n.ins)}"
    if pads.rank != 2:
        return f"Invalid paddings tensor dimension: expected 2 dim, got {pads.rank} dim"
    if pads.shape[0] not in (3, 4) or pads.shape[1] != 2:
        return f"Invalid paddings tensor shape: expected 4x2 or 3x2, got {pads.shape[0]}x{pads.shape[1]}"
    return None


def _slice(n: _Node) -> str | None:
    if len(n.ins) < 3:
        return f"SLICE requires 3 inputs, but node has {len(n.ins)} inputs."
    rank = n.ins[0].rank if n.ins[0] is not None else 0
    if rank not in (3, 4):
        return f"SLICE supports for 3 or 4 dimensional tensors only, but node has {rank} dimensional tensors."
    return None


def _strided_slice(n: _Node) -> str | None:
    o = n.op.options
    if o.ellipsis_mask:
        return "Slice does not support ellipsis_mask."
    if o.new_axis_mask:
        return "Slice does not support new_axis_mask."
    if o.shrink_axis_mask:
        return "Slice does not support shrink_axis_mask parameter. "
    if len(n.ins) < 4:
        return "STRIDED_SLICE requires 4 inputs."
    if (n.ins[0].rank if n.ins[0] is not None else 0) not in (3, 4):
        return "STRIDED_SLICE supports for 3 or 4 dimensional tensors only."
    return None


# Each op's rule; ops of _ALWAYS (and CUMSUM, MIRROR_PAD's mode, ...) have none beyond types.
_OP_RULES: dict[str, Callable[[_Node], str | None]] = {
    **dict.fromkeys(_UNARY, _unary),
    **dict.fromkeys(_BINARY, _one_or_two_operands),
    **dict.fromkeys(_ONE_IN_ONE_OUT, _one_in_one_out),
    **dict.fromkeys(_REDUCE, _reduce),
    "ADD": _add_or_mul,
    "MUL": _add_or_mul,
    "ADD_N": _add_n,
    "AVERAGE_POOL_2D": _pool,
    "MAX_POOL_2D": _pool,
    "BATCH_MATMUL": _batch_matmul,
    "CAST": _cast_op,
    "CONV_2D": _convolution,
    "DEPTHWISE_CONV_2D": _convolution,
    "TRANSPOSE_CONV": _convolution,
    "DEQUANTIZE": _dequantize,
    "FULLY_CONNECTED": _fully_connected,
    "GATHER": _gather,
    "MEAN": _mean,
    "ONE_HOT": _one_hot,
    "SELECT": _select,
    "SELECT_V2": _select,
    "SOFTMAX": _softmax,
    "PAD": _pad,
    "PADV2": _pad,
    "MIRROR_PAD": _pad,
    "SLICE": _slice,
    "STRIDED_SLICE": _strided_slice,
}


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
    """CheckAddMulBroadcastCompatibility with kStandard, the flags the delegate passes (the
    offline checker, ``CheckGpuDelegateCompatibility(op_code, op, subgraph, model)``, assumes
    kEnhancedBroadcast, which takes any numpy-style broadcast): between ranks > 1 that differ,
    only 3-D to 4-D with batch 1, [1, 1] to 4-D with batch 1, and [b, c] to [b, x, y, c]."""
    if a.rank > 1 and b.rank > 1 and a.rank != b.rank:
        long, short = (a.shape, b.shape) if a.rank >= b.rank else (b.shape, a.shape)
        ok = len(long) == 4 and (
            (len(short) == 3 and long[0] == 1)
            or (len(short) == 2 and long[0] == 1 and short == (1, 1))
            or (len(short) == 2 and long[0] == short[0] and long[3] == short[1])
        )
        if not ok:
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


# --- the delegate's own rules (what runs on the phone) -------------------------------------------
#
# From LiteRT's tflite/delegates/gpu/common/model_builder.cc (RULES_SOURCE), applied on top of
# the checker or the port: the offline checker does not apply them, the delegate does when it
# partitions the graph. Where the two differ, the delegate decides.

# Ops NewOperationParser has a parser for; any other gets UnsupportedOperationParser. (The
# checker also knows ATAN2, CEIL, EMBEDDING_LOOKUP, DYNAMIC_UPDATE_SLICE, STABLEHLO_CLAMP, ...;
# the delegate has no parser for them. UNPACK has one, whose IsSupported takes every node.)
_PARSED = frozenset(
    "ABS ADD ADD_N AVERAGE_POOL_2D BATCH_MATMUL CAST CONCATENATION CONV_2D COS CUMSUM DENSIFY "
    "DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE DIV EQUAL ELU EXP FLOOR FLOOR_DIV FLOOR_MOD "
    "FULLY_CONNECTED GATHER GELU GREATER GREATER_EQUAL HARD_SWISH LESS LESS_EQUAL LOGISTIC LOG "
    "LOGICAL_AND LSTM MAXIMUM MAX_POOL_2D MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL ONE_HOT PACK "
    "PAD PADV2 POW REDUCE_MAX REDUCE_MIN REDUCE_PROD QUANTIZE RELU RELU6 RELU_N1_TO_1 LEAKY_RELU "
    "PRELU RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR RSQRT SELECT SELECT_V2 SIGN SIN SLICE "
    "SOFTMAX SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE STRIDED_SLICE SUB SUM "
    "TANH TILE TRANSPOSE TRANSPOSE_CONV UNPACK CUSTOM".split()
)
_LOGICAL = frozenset("GREATER GREATER_EQUAL LESS LESS_EQUAL EQUAL NOT_EQUAL".split())  # IsLogicalCode
# GetOpsToReplace's allowed types for non-constant tensors: float32 / float16, and int8 / uint8
# since quantized models are allowed by default (TFLITE_GPU_EXPERIMENTAL_FLAGS_ENABLE_QUANT in
# TfLiteGpuDelegateOptionsV2Default, quantizedModelsAllowed = true on Android); plus, per op:
_BASE_TYPES = ("float32", "float16", "int8", "uint8")
_EXTRA_IN: dict[str, tuple[str, ...]] = {
    "CAST": ("bool", "int32"),
    "ONE_HOT": ("int32",),
    "SELECT": ("bool",),
    "SELECT_V2": ("bool",),
    "LOGICAL_AND": ("bool",),
    "GATHER": ("int32",),
}
_EXTRA_OUT: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(_LOGICAL, ("bool",)),
    "CAST": ("int32", "bool"),
    "LOGICAL_AND": ("bool",),
}
MAX_RANK = 4  # IsAllAllowedTensors: a tensor of rank 5 or more is refused


def _delegate_rule(op: OperatorInfo, tfl: TfliteModel) -> str | None:
    """Why the delegate itself refuses ``op`` where the checker (or the port) accepted it."""
    if op.op not in _PARSED:
        return "Operation is not supported."  # UnsupportedOperationParser
    return _bool_cast(op, tfl) or _broadcast_rule(op, tfl) or _allowed_tensors(op, tfl)


def _broadcast_rule(op: OperatorInfo, tfl: TfliteModel) -> str | None:
    """The standard broadcast rule, for a checker that applied the enhanced one (the port's is
    already standard, so this never speaks after it)."""
    if op.op not in ("ADD", "MUL") or len(op.inputs) != 2:
        return None
    a, b = (tfl.tensor(i) if i >= 0 else None for i in op.inputs)
    return _broadcast(a, b) if a is not None and b is not None else None


def _bool_cast(op: OperatorInfo, tfl: TfliteModel) -> str | None:
    """CastOperationParser::IsSupported: a bool -> float CAST must read a tensor one op makes and
    only it reads, and feed exactly one op (the delegate casts a bool output on the CPU)."""
    if op.op != "CAST" or not op.inputs or not op.outputs:
        return None
    src, dst = tfl.tensor(op.inputs[0]), tfl.tensor(op.outputs[0])
    if src is None or dst is None or src.dtype != "bool" or dst.dtype not in _FLOATS:
        return None
    makers = sum(o.outputs.count(src.index) for o in tfl.operators)
    if makers != 1 or _readers(src.index, tfl) != 1:
        return "Not supported cast case"
    if _readers(dst.index, tfl) != 1:
        return "Cast from bool not supported for outputs"
    return None


def _readers(tensor: int, tfl: TfliteModel) -> int:
    """How many times ops read ``tensor`` (GetTensorInfo counts an op once per input slot)."""
    return sum(o.inputs.count(tensor) for o in tfl.operators)


def _allowed_tensors(op: OperatorInfo, tfl: TfliteModel) -> str | None:
    """IsAllAllowedTensors on the op's inputs and outputs: no tensor (constant or not) of rank 5
    or more, and each non-constant tensor of the op's allowed types."""
    for indices, extra in ((op.inputs, _EXTRA_IN), (op.outputs, _EXTRA_OUT)):
        allowed = (*_BASE_TYPES, *extra.get(op.op, ()))
        for index in indices:
            t = tfl.tensor(index) if index >= 0 else None
            if t is None:
                continue
            if t.rank > MAX_RANK:
                return (
                    f"OP is supported, but tensor type/shape isn't compatible: '{t.name}' has rank "
                    f"{t.rank} (the delegate takes up to {MAX_RANK})"
                )
            if not t.constant and t.dtype not in allowed:
                return (
                    f"OP is supported, but tensor type/shape isn't compatible: '{t.name}' is {t.dtype} "
                    f"(the delegate takes {', '.join(dict.fromkeys(allowed))} here)"
                )
    return None


# --- fp16 range, observed in a child process ---------------------------------------------------


def observe_fp16(
    model: Path, tfl: TfliteModel, data: Dataset | None, root: Path | None, settings: GpuSettings
) -> tuple[tuple[Fp16Risk, ...], tuple[Fp16Risk, ...], int, str]:
    """Ops whose outputs exceed float16's range, and those near it; samples used; what they were.

    The model runs in ``fp16_child.py`` under the analysis's time limit and memory limit,
    after its declared tensors are checked against ``MAX_INPUT_BYTES`` / ``MAX_TENSOR_BYTES``;
    when it cannot run, the source says why (``not observed: could not run: ...``).
    ``InputError`` naming the data when the eval data is unusable (read through ``datasets/``).
    """
    too_big = _too_big(tfl)
    if too_big:
        return (), (), 0, f"{COULD_NOT_RUN}: {too_big}"
    samples, source = _samples(data, root, tfl, settings.max_samples)
    watched = [
        (op, index)
        for op in tfl.operators
        for index in op.outputs
        if (t := tfl.tensor(index)) is not None and not t.constant and t.dtype in _REAL_TYPES
    ]
    answer = _run_observation(model, samples, [index for _, index in watched], settings.timeout_s)
    if isinstance(answer, str):
        return (), (), 0, f"{COULD_NOT_RUN}: {answer}"
    if answer.random is not None:
        source = f"{answer.used} random inputs ({', '.join(answer.random)}; {source})"
    over, near = [], []
    for op, index in watched:
        m = answer.peaks.get(index, 0.0)
        name = tfl.tensors[index].name
        if m > FP16_MAX:
            over.append(Fp16Risk(op.index, _op_name(op), name, m))
        elif m > FP16_MAX / NEAR_FACTOR:
            near.append(Fp16Risk(op.index, _op_name(op), name, m))
    return tuple(over), tuple(near), answer.used, source


_REAL_TYPES = frozenset(("float32", "float16", "int8", "uint8", "int16"))


def _too_big(tfl: TfliteModel) -> str | None:
    """Why the model's declared tensors are too large to run, read from the file before anything
    is allocated (a 300-byte file may declare a [1, 500000000] input)."""
    inputs = activation_bytes(tfl, tfl.inputs)
    if inputs > MAX_INPUT_BYTES:
        return (
            f"the model's inputs declare {inputs:,} bytes for one sample, over the {MAX_INPUT_SHOWN} "
            "the fp16 observation feeds; it was not run"
        )
    total = activation_bytes(tfl, range(len(tfl.tensors)))
    if total > MAX_TENSOR_BYTES:
        return (
            f"the model's tensors declare {total:,} bytes, over the {MAX_TENSOR_SHOWN} the fp16 "
            "observation keeps (it keeps every tensor); it was not run"
        )
    return None


def _samples(
    data: Dataset | None, root: Path | None, tfl: TfliteModel, max_samples: int
) -> tuple[np.ndarray | None, str]:
    """The first ``max_samples`` eval samples, read through ``datasets/`` as evaluation reads them
    (reader, ``x_key``, limits, paths kept inside the repository), and what they are; ``None``
    (random inputs) with the reason when there are none to use."""
    if data is None or root is None:
        return None, "no samples given"
    if data.hook:
        return None, f"{data.key} is a hook, which the GPU target does not run"
    if len(tfl.inputs) != 1:
        return None, f"the model has {len(tfl.inputs)} inputs, {data.key} one array"
    import numpy as np

    from edgegate.datasets import load_dataset

    spec = tfl.tensors[tfl.inputs[0]]
    hw = (spec.shape[1], spec.shape[2]) if spec.rank == 4 else None
    dataset = load_dataset(data, root, key=data.key, input_hw=hw)
    x, want = dataset.x, spec.shape[1:]
    if x.ndim == len(want):  # one sample without its batch axis
        x = x[None]
    fits = x.ndim == len(want) + 1 and (
        tuple(x.shape[1:]) == want or all(s < 0 or s == n for s, n in zip(spec.signature[1:], x.shape[1:]))
    )
    if not fits:
        raise InputError(
            f"{dataset.source}: samples shaped {tuple(x.shape)} do not fit the model's input '{spec.name}' "
            f"shaped {spec.shape} (axis 0 indexes the samples)."
        )
    used = min(len(x), max_samples)
    array = f", array {data.x_key!r}" if data.path and data.path.lower().endswith(".npz") else ""
    return np.ascontiguousarray(x[:used]), f"{used} of {len(x)} samples from {dataset.source}{array}"


@dataclass(frozen=True)
class _Observed:
    peaks: dict[int, float]  # tensor index -> largest magnitude seen
    used: int  # invokes
    random: list[str] | None  # what the random inputs were, when there were no samples


def _run_observation(
    model: Path, samples: np.ndarray | None, watched: list[int], timeout_s: float
) -> _Observed | str:
    """The child's answer, or why the model could not run."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="edgegate-gpu-fp16-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        job = {
            "model": str(model.resolve()),
            "samples": None,
            "watched": watched,
            "random": RANDOM_SAMPLES,
            "memory_shown": CHILD_MEMORY_SHOWN,
        }
        if samples is not None:
            np.save(work / "samples.npy", samples, allow_pickle=False)
            job["samples"] = str(work / "samples.npy")
        done = run_script_child(FP16_CHILD, job, work, timeout_s=timeout_s, memory_bytes=CHILD_MEMORY_BYTES)
    if done.returncode is None:
        return (
            f"timed out after {timeout_s:g} s (gpu.timeout_s; a WHILE loop that never ends, or a slow model)"
        )
    if done.returncode < 0:
        return (
            f"the LiteRT interpreter's process ended with {death(done.returncode)} (a kernel crashed, or "
            f"an allocation went past its {CHILD_MEMORY_SHOWN} memory limit)"
        )
    tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
    try:
        answer = json.loads(done.stdout.decode("utf-8", "replace")) if done.returncode == 0 else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise RuntimeError(
            f"the fp16 observation's process failed ({death(done.returncode)}): {bounded(tail[0])}"
        )
    if "failure" in answer:
        return str(answer["failure"])
    return _Observed({int(i): float(m) for i, m in answer["peaks"]}, int(answer["used"]), answer["random"])
