"""The static Edge TPU check: predicts ``edgetpu_compiler`` from the .tflite alone (no TensorFlow).

Whole-model rules first (``rules.model_rejections``), then every op on its own
(``rules.evaluate_op``), then the partition rule on the data-flow graph (reference §2, as
corrected after real compiled models contradicted "the first unmapped op cuts the rest"):

* the compiler builds one Edge TPU partition; every other op stays on the CPU;
* an op it cannot map that depends on no mapped op (a *prologue*: an input CAST, the QUANTIZE
  of a float input) runs on the CPU before the partition and does not stop mapping;
* once the partition has started, an op runs on the CPU when it cannot be mapped, or when it
  depends, through its inputs and transitively, on such an op: the mappable ones get the
  status ``More than one subgraph is not supported``. Ops on branches that do not depend on
  one stay mapped, even when they come later in execution order (DeepLab's ASPP branch beside
  its image-pooling resize, in the google-coral test_data pairs).

An output's DEQUANTIZE is simply a CPU op nothing depends on, so it needs no special case.
"""

from __future__ import annotations

from pathlib import Path

from edgegate.targets.edgetpu import graph as dataflow
from edgegate.targets.edgetpu import oplog
from edgegate.targets.flatbuffer import OperatorInfo, TfliteModel, read_tflite
from edgegate.targets.edgetpu.interface import AFTER_CUT, EdgeTpuAnalyzer, EdgeTpuResult
from edgegate.target_reports.edgetpu import OpMapping
from edgegate.targets.edgetpu.rules import (
    DEFAULT_RUNTIME,
    MAX_RUNTIME,
    Finding,
    Rejection,
    Target,
    evaluate_op,
    dynamic_batch_note,
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


_TPU, _PROLOGUE, _AFTER = "tpu", "prologue", "after"


def partition(model: TfliteModel, findings: list[Finding]) -> list[OpMapping]:
    """Apply the partition rule on the data-flow graph; one OpMapping per op, in execution order."""
    g = dataflow.build(model)
    place: dict[int, str] = {}
    cause: dict[int, int] = {}  # for ops on the CPU after the partition started: the op that put them there
    settled: dict[int, bool] = {}  # ... and whether that placement is certain (no uncertain rule decides it)
    for i in g.order:
        f = findings[i]
        # A producer not placed yet only happens in a cyclic (malformed) graph: assume the worst.
        after = [p for p in g.producers[i] if place.get(p, _AFTER) == _AFTER]
        for p in after:
            if p not in place:
                cause[p], settled[p] = p, True
        certain_after = [p for p in after if settled[p]]
        if f.mapped and not after:
            place[i] = _TPU
        elif f.mapped:
            place[i] = _AFTER
            chosen = certain_after[0] if certain_after else after[0]
            cause[i], settled[i] = cause[chosen], bool(certain_after)
        elif after or any(place.get(p) == _TPU for p in g.producers[i]):
            place[i], cause[i] = _AFTER, i
            settled[i] = not f.uncertain or bool(certain_after)
        else:
            place[i] = _PROLOGUE
    ops = []
    for op, f in zip(model.operators, findings):
        i, name = op.index, _tensor_name(model, op)
        if place[i] == _AFTER and f.mapped:
            root = model.operators[cause[i]]
            why = (
                f"depends on op #{root.index} {root.op}, which runs on the CPU after the Edge TPU "
                "partition started"
            )
            if not settled[i]:
                why += f" (predicted by an uncertain rule: if #{root.index} maps, this op maps too)"
            ops.append(OpMapping(i, op.op, name, AFTER_CUT, False, why, not settled[i]))
        elif place[i] == _AFTER:
            ops.append(OpMapping(i, op.op, name, f.status, False, f.reason, not settled[i]))
        else:
            ops.append(OpMapping(i, op.op, name, f.status, f.mapped, f.reason, f.uncertain))
    return ops


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
        batch = dynamic_batch_note(model)  # compiles at the stored batch: say that it runs only that one
        if batch is not None:
            notes.append(batch)
        findings = [evaluate_op(model, op, self.target) for op in model.operators]
        ops = partition(model, findings)
        on_tpu = sum(o.mapped for o in ops)
        # The first op on the CPU in execution order: a cause always runs before the ops it pushes off.
        blocker = next((o for o in ops if not o.mapped), None)
        uncertain = [o for o in ops if o.uncertain]
        if uncertain:
            mapped = sum(o.mapped for o in uncertain)
            notes.append(
                f"{len(uncertain)} op(s) depend on rules the file cannot settle ({mapped} predicted on the "
                f"Edge TPU, {len(uncertain) - mapped} on the CPU; first: #{uncertain[0].index} "
                f"{uncertain[0].op}); confirm with edgetpu_compiler"
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
            first_unmapped=blocker,
            hint=(findings[blocker.index].hint or None) if blocker is not None else None,
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
