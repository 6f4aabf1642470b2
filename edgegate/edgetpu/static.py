"""The static Edge TPU check: predicts ``edgetpu_compiler`` from the .tflite alone (no TensorFlow).

Whole-model rules first (``rules.model_rejections``), then every op on its own
(``rules.evaluate_op``), then the partition rule: the compiler maps ops in execution order
until the first op it cannot map; that op and every op after it run on the CPU, the mappable
ones with the status ``More than one subgraph is not supported``. A float input's QUANTIZE
and an output's DEQUANTIZE sit on the graph's boundary and stay on the CPU without cutting
it (google-coral/edgetpu logs, e.g. f0cal/google-coral#20).
"""

from __future__ import annotations

from pathlib import Path

from edgegate.edgetpu import oplog
from edgegate.edgetpu.flatbuffer import OperatorInfo, TfliteModel, read_tflite
from edgegate.edgetpu.interface import AFTER_CUT, EdgeTpuAnalyzer, EdgeTpuResult, OpMapping
from edgegate.edgetpu.rules import (
    DEFAULT_RUNTIME,
    MAX_RUNTIME,
    Finding,
    Rejection,
    Target,
    evaluate_op,
    model_rejections,
)


def make_target(compiler_version: int, runtime: int | None) -> tuple[Target, tuple[str, ...]]:
    """The compiler/runtime pair to predict, and a note when the runtime had to be lowered."""
    if runtime is None:
        return Target(compiler_version, DEFAULT_RUNTIME[compiler_version]), ()
    if runtime > MAX_RUNTIME[compiler_version]:
        top = MAX_RUNTIME[compiler_version]
        return Target(compiler_version, top), (
            f"compiler {compiler_version} targets runtime {top} at most; predicted for {top}, not {runtime}",
        )
    return Target(compiler_version, runtime), ()


def _tensor_name(model: TfliteModel, op: OperatorInfo) -> str:
    return model.tensors[op.outputs[0]].name if op.outputs else ""


def _is_boundary(model: TfliteModel, op: OperatorInfo) -> bool:
    """A type conversion at a model input or output, which the compiler leaves on the CPU without a cut."""
    if op.op not in ("QUANTIZE", "DEQUANTIZE"):
        return False
    if op.inputs and op.inputs[0] in model.inputs:
        return True
    consumed = {i for other in model.operators for i in other.inputs}
    return bool(op.outputs) and all(o in model.outputs and o not in consumed for o in op.outputs)


def partition(model: TfliteModel, findings: list[Finding]) -> tuple[list[OpMapping], int | None]:
    """Apply the partition rule; return per-op mappings and the index of the op that cuts the graph."""
    cut = next(
        (
            op.index
            for op, f in zip(model.operators, findings)
            if not f.mapped and not _is_boundary(model, op)
        ),
        None,
    )
    ops = []
    for op, f in zip(model.operators, findings):
        name = _tensor_name(model, op)
        if cut is not None and op.index > cut and f.mapped:
            cutter = model.operators[cut]
            ops.append(
                OpMapping(
                    op.index,
                    op.op,
                    name,
                    AFTER_CUT,
                    False,
                    f"after op #{cut} {cutter.op}, the first op the Edge TPU cannot map",
                )
            )
        else:
            ops.append(OpMapping(op.index, op.op, name, f.status, f.mapped, f.reason, f.uncertain))
    return ops, cut


class StaticAnalyzer(EdgeTpuAnalyzer):
    """Predicts the compiler's answer from the flatbuffer, following docs/edgetpu.md's rule table."""

    name = "static"

    def __init__(self, compiler_version: int = 16, runtime: int | None = None):
        self.target, self._notes = make_target(compiler_version, runtime)

    def analyze(self, model: Path) -> EdgeTpuResult:
        return self.analyze_tflite(read_tflite(model))

    def analyze_tflite(self, model: TfliteModel) -> EdgeTpuResult:
        notes = list(self._notes)
        if model.subgraphs > 1:
            notes.append(
                f"the model has {model.subgraphs} subgraphs; only the first is mapped, the others "
                "(e.g. control-flow bodies) run on the CPU and are not counted"
            )
        rejections = model_rejections(model, self.target)
        if rejections:
            return self._rejected(model, rejections, notes)
        findings = [evaluate_op(model, op, self.target) for op in model.operators]
        ops, cut = partition(model, findings)
        on_tpu = sum(o.mapped for o in ops)
        blocker = cut if cut is not None else next((o.index for o in ops if not o.mapped), None)
        uncertain = [o for o in ops if o.uncertain]
        if uncertain:
            notes.append(
                f"{len(uncertain)} op(s) are predicted mapped but depend on rules the file cannot settle "
                f"(first: #{uncertain[0].index} {uncertain[0].op}); confirm with edgetpu_compiler"
            )
        return EdgeTpuResult(
            analyzer=self.name,
            compiler_version=f"{self.target.compiler_version} (static rules)",
            runtime_version=self.target.runtime,
            compiles=True,
            ops_total=len(ops),
            ops_on_tpu=on_tpu,
            ops_on_cpu=len(ops) - on_tpu,
            partitions=1 if on_tpu else 0,
            first_unmapped=ops[blocker] if blocker is not None else None,
            hint=findings[blocker].hint if blocker is not None else None,
            ops=tuple(ops),
            uncertain=len(uncertain),
            log=oplog.format_table(ops),
            notes=tuple(notes),
        )

    def _rejected(self, model: TfliteModel, rejections: list[Rejection], notes: list[str]) -> EdgeTpuResult:
        first = rejections[0]
        notes += [f"also: {r.message.splitlines()[0]} ({r.reason})" for r in rejections[1:]]
        blocker = None
        if first.op is not None:
            blocker = OpMapping(
                first.op.index, first.op.op, _tensor_name(model, first.op), first.status, False, first.reason
            )
        total = len(model.operators)
        # Quantization is the root cause whenever it is among the failures: fix it first.
        hint = next((r.hint for r in rejections if r.message == "Model not quantized"), first.hint)
        return EdgeTpuResult(
            analyzer=self.name,
            compiler_version=f"{self.target.compiler_version} (static rules)",
            runtime_version=self.target.runtime,
            compiles=False,
            ops_total=total,
            ops_on_tpu=0,
            ops_on_cpu=total,
            partitions=0,
            rejection=f"{first.message} — {first.reason}",
            first_unmapped=blocker,
            hint=hint,
            notes=tuple(notes),
        )
