"""The ``compute`` target: exact multiply-accumulates (MACs) per op, read from the flatbuffer.

A MAC is one weight multiplied into an accumulator: the arithmetic of convolutions and matrix
products, which is what MCU and accelerator run times scale with. Counts follow the usual
convention (the MobileNet papers' "MAdds"): every output element of a convolution costs
kernel-area × input-channels MACs, padded positions included (the im2col/GEMM kernels compute
them), bias additions and fused activations excluded. Counted ops:

==================  ===========================================================================
CONV_2D             output elements × kh × kw × filter input channels (groups included)
DEPTHWISE_CONV_2D   output elements × kh × kw
TRANSPOSE_CONV      input elements × kh × kw × output channels (each input scatters a kernel)
FULLY_CONNECTED     output elements × input features (the weights' second dimension)
BATCH_MATMUL        output elements × K (the reduced dimension)
CONV_3D             output elements × kd × kh × kw × filter input channels
CONV_3D_TRANSPOSE   input elements × kd × kh × kw × output channels
==================  ===========================================================================

Every other builtin counts 0: elementwise arithmetic (ADD, MUL, ...), activations, pooling,
reductions (MEAN, SUM), SOFTMAX, normalizations, data movement (RESHAPE, CONCATENATION, PAD,
GATHER, ...), QUANTIZE/DEQUANTIZE. Ops that do multiply weights but whose arithmetic EdgeGate
does not model (recurrent cells, SVDF, custom ops, control flow running other subgraphs, StableHLO
convolutions and dot products) are reported as *not counted*, so the total is then a lower
bound and the ``macs`` budget says so instead of passing.

Counts are for the shapes the LiteRT interpreter gives every tensor once it has allocated them
(batch 1 for a dynamic batch), in the first subgraph, the one the interpreter runs. Those are the
shapes that run: the shapes stored in the file are only a claim (an output stored as 1×1 is
recomputed by the interpreter), so a file whose stored shapes disagree is counted at the
interpreter's and the report says how many disagreed. When the interpreter cannot allocate the
model (a custom or Flex op, a damaged file), the stored shapes are counted and the ``macs``
budget warns that the count is not confirmed instead of passing.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

from edgegate.targets.flatbuffer import OperatorInfo, TfliteModel, read_tflite
from edgegate.status import Level, Status
from edgegate.targets.interface import Conversion, PolicyPlace, Target
from edgegate.units import Change
from edgegate.targets.child_process import child_env, death, run_child
from edgegate.checks import Check, Place, budget, growth
from edgegate.target_reports.compute import ComputeReport, OpMacs

# --- MAC counts as text, both ways ---------------------------------------------------------------

_MAC_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}
_MAC_TEXT = re.compile(
    r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([kKmMgGtT]?)\s*(?:MACs?|macs?)?\s*$"
)


def parse_macs(text: str | int | float) -> int:
    """``"300M"`` → 300_000_000; ``"1.2G"``, ``"850K"``, ``"300 MMACs"``, a bare integer.

    Suffixes are powers of 1000 and case-insensitive (a thousandth of a MAC means nothing, so
    ``m`` is mega); a count must be a whole, non-negative number of MACs.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a MAC count, got {text!r}")
    if isinstance(text, (int, float)):
        value, factor = float(text), 1
    else:
        m = _MAC_TEXT.match(str(text))
        if not m:
            raise ValueError(f"cannot read {text!r} as a MAC count; write e.g. 300M, 1.2G or 850K")
        value, factor = float(m.group(1)), _MAC_UNITS[m.group(2).lower()]
    count = value * factor
    if count < 0:
        raise ValueError(f"a MAC count must not be negative: {text!r}")
    if abs(count - round(count)) > 1e-6 * max(1.0, count):
        raise ValueError(f"a MAC count is a whole number: {text!r}")
    return int(round(count))


def parse_macs_change(text: str | int | float) -> Change:
    """An allowed MAC increase: ``"5%"`` of the base version's count, or absolute (``"10M"``)."""
    shown = str(text).strip() if isinstance(text, str) else f"{text:g}"
    if isinstance(text, str) and shown.endswith("%"):
        try:
            pct = float(shown[:-1])
        except ValueError:
            raise ValueError(f"cannot read {text!r} as a MAC change; write e.g. 5% or 10M") from None
        if pct < 0:
            raise ValueError(f"a change limit must not be negative: {text!r}")
        return Change(pct / 100.0, True, shown)
    return Change(float(parse_macs(text)), False, shown)


def format_macs(n: int | float | None) -> str:
    """Three significant digits: ``11.0M``, ``1.23G``, ``850K``, ``512``."""
    if n is None:
        return "–"
    for unit, factor in (("T", 1000**4), ("G", 1000**3), ("M", 1000**2), ("K", 1000)):
        if abs(n) >= factor:
            x = n / factor
            return (f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}" if abs(x) < 100 else f"{x:.0f}") + unit
    return f"{n:.0f}"


def format_exact_macs(n: int) -> str:
    """``144,320 (144K)``: the exact count, since a budget can break by one MAC."""
    return f"{n:,}" if abs(n) < 1000 else f"{n:,} ({format_macs(n)})"


# --- the report ------------------------------------------------------------------------------------


# --- counting ----------------------------------------------------------------------------------


class _Uncountable(Exception):
    """The op's tensors do not have the shapes its kind implies (a damaged or unusual file)."""


def _shape(model: TfliteModel, index: int, rank: int | None = None, what: str = "tensor") -> tuple[int, ...]:
    t = model.tensor(index)
    if t is None:
        raise _Uncountable(f"its {what} is missing")
    if any(d < 0 for d in t.shape):
        raise _Uncountable(f"its {what} '{t.name}' has an unknown shape {list(t.shape)}")
    if rank is not None and len(t.shape) != rank:
        raise _Uncountable(f"its {what} '{t.name}' has shape {list(t.shape)}, expected rank {rank}")
    return t.shape


def _input(op: OperatorInfo, i: int) -> int:
    return op.inputs[i] if i < len(op.inputs) else -1


def _out(op: OperatorInfo) -> int:
    return op.outputs[0] if op.outputs else -1  # _shape says "its output is missing"


def _prod(dims: tuple[int, ...]) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def _agree(ok: bool, why: str) -> None:
    if not ok:
        raise _Uncountable(why)


def _conv2d(m: TfliteModel, op: OperatorInfo) -> int:
    out = _shape(m, _out(op), 4, "output")
    co, kh, kw, ci = _shape(m, _input(op, 1), 4, "filter")  # OHWI; ci = input channels per group
    _agree(out[3] == co, f"its filter has {co} output channels but its output {out[3]}")
    return _prod(out) * kh * kw * ci


def _depthwise(m: TfliteModel, op: OperatorInfo) -> int:
    out = _shape(m, _out(op), 4, "output")
    _, kh, kw, c = _shape(m, _input(op, 1), 4, "filter")  # 1HWC, C = input channels × multiplier
    _agree(out[3] == c, f"its filter has {c} channels but its output {out[3]}")
    return _prod(out) * kh * kw


def _transpose_conv(m: TfliteModel, op: OperatorInfo) -> int:
    co, kh, kw, ci = _shape(m, _input(op, 1), 4, "filter")  # inputs: output_shape, OHWI filter, input
    x = _shape(m, _input(op, 2), 4, "input")
    _agree(x[3] == ci, f"its filter takes {ci} input channels but its input has {x[3]}")
    return _prod(x) * kh * kw * co


def _fully_connected(m: TfliteModel, op: OperatorInfo) -> int:
    out = _shape(m, _out(op), None, "output")
    units, features = _shape(m, _input(op, 1), 2, "weights")
    _agree(
        len(out) >= 1 and out[-1] == units, f"its weights have {units} units but its output is {list(out)}"
    )
    return _prod(out) * features


def _batch_matmul(m: TfliteModel, op: OperatorInfo) -> int:
    x = _shape(m, _input(op, 0), None, "first input")
    out = _shape(m, _out(op), None, "output")
    _agree(len(x) >= 2 and len(out) >= 2, "its operands are not matrices")
    # x's last two dims are (M, K), or (K, M) with adj_x; the output's are (M, N). K is their
    # product over M either way, so the adj flags (not read by the flatbuffer reader) do not matter.
    rows = out[-2]
    if rows == 0:
        return 0
    k, rest = divmod(x[-1] * x[-2], rows)
    _agree(rest == 0 and k in (x[-1], x[-2]), f"its output {list(out)} does not match its input {list(x)}")
    return _prod(out) * k


def _conv3d(m: TfliteModel, op: OperatorInfo) -> int:
    out = _shape(m, _out(op), 5, "output")
    kd, kh, kw, ci, co = _shape(m, _input(op, 1), 5, "filter")  # DHWIO
    _agree(out[4] == co, f"its filter has {co} output channels but its output {out[4]}")
    return _prod(out) * kd * kh * kw * ci


def _conv3d_transpose(m: TfliteModel, op: OperatorInfo) -> int:
    kd, kh, kw, co, ci = _shape(m, _input(op, 1), 5, "filter")  # inputs: output_shape, DHWOI, input
    x = _shape(m, _input(op, 2), 5, "input")
    _agree(x[4] == ci, f"its filter takes {ci} input channels but its input has {x[4]}")
    return _prod(x) * kd * kh * kw * co


COUNTED: dict[str, Callable[[TfliteModel, OperatorInfo], int]] = {
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise,
    "TRANSPOSE_CONV": _transpose_conv,
    "FULLY_CONNECTED": _fully_connected,
    "BATCH_MATMUL": _batch_matmul,
    "CONV_3D": _conv3d,
    "CONV_3D_TRANSPOSE": _conv3d_transpose,
}

# Ops that multiply weights but are not modelled: counting them 0 would understate the total.
_RECURRENT = "a recurrent cell: its matrix products are not modelled"
_SUBGRAPH = "runs other subgraphs, which are not counted"
NOT_MODELLED: dict[str, str] = {
    "LSTM": _RECURRENT,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _RECURRENT,
    "BIDIRECTIONAL_SEQUENCE_LSTM": _RECURRENT,
    "RNN": _RECURRENT,
    "UNIDIRECTIONAL_SEQUENCE_RNN": _RECURRENT,
    "BIDIRECTIONAL_SEQUENCE_RNN": _RECURRENT,
    "SVDF": "an SVDF layer: its matrix products are not modelled",
    "EMBEDDING_LOOKUP_SPARSE": "a weighted embedding sum: not modelled",
    "WHILE": _SUBGRAPH,
    "IF": _SUBGRAPH,
    "CALL": _SUBGRAPH,
    "CALL_ONCE": _SUBGRAPH,
    "DELEGATE": "a delegate's partition: its arithmetic is not visible in the file",
    "STABLEHLO_CONVOLUTION": "a StableHLO convolution: not modelled",
    "STABLEHLO_DOT_GENERAL": "a StableHLO dot product: not modelled",
    "STABLEHLO_COMPOSITE": _SUBGRAPH,
    "STABLEHLO_WHILE": _SUBGRAPH,
    "STABLEHLO_CASE": _SUBGRAPH,
    "STABLEHLO_CUSTOM_CALL": "a StableHLO custom call: its arithmetic is unknown",
}


def _op_name(op: OperatorInfo) -> str:
    return f"CUSTOM({op.custom_code})" if op.op == "CUSTOM" else op.op


def op_macs(model: TfliteModel, op: OperatorInfo) -> OpMacs:
    out = model.tensor(op.outputs[0]) if op.outputs else None
    name = out.name if out is not None else "–"
    counter = COUNTED.get(op.op)
    if counter is not None:
        try:
            return OpMacs(op.index, op.op, name, counter(model, op))
        except _Uncountable as e:
            return OpMacs(op.index, op.op, name, None, f"not counted: {e}")
    if op.op == "CUSTOM":
        return OpMacs(op.index, _op_name(op), name, None, "a custom op: its arithmetic is unknown")
    if op.op in NOT_MODELLED:
        return OpMacs(op.index, op.op, name, None, NOT_MODELLED[op.op])
    if op.op.startswith("BUILTIN_"):  # a code newer than the schema EdgeGate reads with
        return OpMacs(op.index, op.op, name, None, "an operator code this schema does not know")
    return OpMacs(op.index, op.op, name, 0)


def count(
    model: TfliteModel, run: dict[int, tuple[int, ...]] | None = None, unchecked: str | None = None
) -> ComputeReport:
    """MACs at the shapes ``run`` gives each tensor index (the interpreter's), else at the stored ones."""
    recomputed = 0
    if run is not None:
        tensors = []
        for t in model.tensors:
            shape = run.get(t.index, t.shape)
            recomputed += shape != t.shape
            tensors.append(dataclasses.replace(t, shape=shape) if shape != t.shape else t)
        model = dataclasses.replace(model, tensors=tuple(tensors))
    ops = tuple(op_macs(model, op) for op in model.operators)
    return ComputeReport(
        total=sum(o.macs or 0 for o in ops),
        ops=ops,
        dynamic_shapes=any(t.dynamic for t in model.tensors),
        subgraphs=model.subgraphs,
        shapes_recomputed=recomputed,
        shapes_unchecked=unchecked,
    )


# Run as ``python -I -c``: the LiteRT interpreter allocates the model and prints every tensor's shape.
# A bounded child (``child_process.run_child``): a damaged file can crash the interpreter, and a
# file can declare tensors of gigabytes.
_SHAPES = """
import json, sys
from ai_edge_litert.interpreter import Interpreter, OpResolverType
try:
    it = Interpreter(model_path=sys.argv[1], num_threads=1,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
except (ValueError, RuntimeError, MemoryError) as e:
    print(json.dumps({"error": str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}))
else:
    print(json.dumps({"shapes": {str(d["index"]): [int(x) for x in d["shape"]] for d in it.get_tensor_details()}}))
"""
SHAPES_TIMEOUT_S = 120.0
SHAPES_MEMORY_BYTES = 4 << 30  # what the child may write; a model's arena past it is refused in the child


def interpreter_shapes(path: Path) -> tuple[dict[int, tuple[int, ...]] | None, str | None]:
    """Each tensor's shape once LiteRT has allocated the model; or why there is none."""
    with tempfile.TemporaryDirectory(prefix="edgegate-shapes-") as tmp:
        (Path(tmp) / "home").mkdir()
        done = run_child(
            [sys.executable, "-I", "-c", _SHAPES, str(Path(path).resolve())],
            cwd=Path(tmp),
            env=child_env(Path(tmp) / "home"),
            timeout_s=SHAPES_TIMEOUT_S,
            memory_bytes=SHAPES_MEMORY_BYTES,
        )
    if done.returncode is None:
        return None, f"the LiteRT interpreter did not allocate the model within {SHAPES_TIMEOUT_S:.0f} s"
    try:
        answer = json.loads(done.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None, f"the LiteRT interpreter stopped ({death(done.returncode)}) loading the model"
    if "error" in answer:
        return None, f"the LiteRT interpreter cannot allocate the model ({answer['error'][:300]})"
    return {int(k): tuple(v) for k, v in answer["shapes"].items()}, None


# --- settings and the target -------------------------------------------------------------------


@dataclass(frozen=True)
class ComputeSettings:
    """``targets: {compute: {macs: {max: 300M}, vs_base: {macs: 5%}, level: error}}``."""

    level: Level = Level.ERROR
    max_macs: int | None = None
    max_increase: Change | None = None  # vs the base version's total

    @staticmethod
    def parse(section: Mapping[str, Any] | None) -> ComputeSettings:
        """Read the policy section; ``ValueError`` naming the key for anything it does not know."""
        section = dict(section or {})
        unknown = set(section) - {"macs", "vs_base", "level"}
        if unknown:
            raise ValueError(f"compute: unknown key(s) {sorted(unknown)}; use macs, vs_base, level")
        level = _level(section.get("level", "error"), "compute.level")
        max_macs = None
        if "macs" in section:
            macs = section["macs"]
            if not isinstance(macs, Mapping) or set(macs) != {"max"}:
                raise ValueError("compute.macs: write {max: 300M}")
            max_macs = _read(parse_macs, macs["max"], "compute.macs.max")
        max_increase = None
        if "vs_base" in section:
            vs = section["vs_base"]
            if not isinstance(vs, Mapping) or set(vs) - {"macs"}:
                raise ValueError("compute.vs_base: write {macs: 5%} (or an absolute count, 10M)")
            if "macs" in vs:
                max_increase = _read(parse_macs_change, vs["macs"], "compute.vs_base.macs")
        return ComputeSettings(level, max_macs, max_increase)


def _level(text: Any, key: str) -> Level:
    try:
        return Level(str(text))
    except ValueError:
        raise ValueError(f"{key}: {text!r} is not a level; use error or warn") from None


def _read(parse: Callable[[Any], Any], text: Any, key: str) -> Any:
    try:
        return parse(text)
    except ValueError as e:
        raise ValueError(f"{key}: {e}") from None


@dataclass(frozen=True)
class ComputeTarget(Target[ComputeReport]):
    settings: ComputeSettings = ComputeSettings()

    name: ClassVar[str] = "compute"
    title: ClassVar[str] = "MAC count"
    headline: ClassVar[str] = ""  # no budget set: one check named "compute"

    def never_applies(self, conversion: Conversion) -> str | None:
        return None  # every model has a MAC count, whatever made it

    def analyze(self, model: Path) -> ComputeReport:
        info = read_tflite(model)  # InputError, naming the file, for anything that is not a .tflite
        run, unchecked = interpreter_shapes(model)
        return count(info, run, unchecked)

    def needs_base(self) -> bool:
        return self.settings.max_increase is not None

    def when_broken(self) -> Status:
        return self.settings.level.status_when_broken()

    def checks(
        self, report: ComputeReport, base: ComputeReport | None, where: PolicyPlace
    ) -> tuple[Check, ...]:
        s, checks = self.settings, []
        if s.max_macs is not None:
            p = self.place(where, "macs", "macs.max")
            check = budget(p, "MACs", report.total, s.max_macs, format_exact_macs)
            if not report.exact and check.status is Status.PASS:
                # The counted part fits, the rest is unknown: report it, never pass it.
                check = p.check(
                    Status.WARN,
                    f"MACs are at least {format_macs(report.total)} (within ≤ {format_macs(s.max_macs)}), "
                    f"but {_uncounted_text(report)}: the budget cannot be confirmed.",
                    check.limit,
                    f"≥ {format_macs(report.total)}",
                )
            checks.append(dataclasses.replace(check, message=check.message + _recomputed_text(report)))
        if s.max_increase is not None:
            p = self.place(where, "vs_base.macs", "vs_base.macs")
            if base is not None and not (report.exact and base.exact):
                side, which = ("this version", report) if not report.exact else ("the base version", base)
                message = (
                    f"MACs vs base cannot be confirmed: {side} has {_uncounted_text(which)}; "
                    f"counted {format_macs(base.total)} → {format_macs(report.total)}."
                )
                checks.append(p.check(Status.WARN, message, f"max +{s.max_increase.text}"))
            else:
                total = base.total if base is not None else None
                missing = "there is no base version report"
                checks.append(
                    growth(p, "MACs", report.total, total, s.max_increase, format_exact_macs, missing=missing)
                )
        return tuple(checks)

    def places(self, where: PolicyPlace) -> tuple[Place, ...]:
        s = self.settings
        places = []
        if s.max_macs is not None:
            places.append(self.place(where, "macs", "macs.max"))
        if s.max_increase is not None:
            places.append(self.place(where, "vs_base.macs", "vs_base.macs"))
        return tuple(places) or (self.place(where, ""),)

    def summary(self, report: ComputeReport) -> str:
        total = report.total or 1
        parts = ", ".join(f"{op} {macs / total * 100:.0f}%" for op, macs in report.by_op()[:3])
        text = f"Compute: {'' if report.exact else '≥ '}{format_macs(report.total)} MACs"
        text += f" ({parts})" if parts else ""
        if not report.exact:
            text += f"; {_uncounted_text(report)}"
        return text + _recomputed_text(report)


def _uncounted_text(report: ComputeReport) -> str:
    ops = report.uncounted_ops
    kinds = sorted({o.op for o in ops})
    parts = [f"{len(ops)} op(s) not counted ({', '.join(kinds)})"] if ops else []
    if report.shapes_unchecked:
        parts.append(f"shapes unconfirmed by the interpreter ({report.shapes_unchecked})")
    return "; ".join(parts)


def _recomputed_text(report: ComputeReport) -> str:
    n = report.shapes_recomputed
    if not n:
        return ""
    return (
        f" ({n} tensor shape(s) stored in the file differ from those the interpreter computes: "
        "counted at the interpreter's)"
    )
