"""Reading an already compiled ``*_edgetpu.tflite``: its Edge TPU partitions and its CPU ops.

The compiler replaces each mapped segment with one CUSTOM op ``edgetpu-custom-op`` and keeps
every other op as an ordinary op of the same subgraph, under its own output tensor names.
So partitions = edgetpu-custom-op count and CPU ops = every other op. Why each CPU op stayed
there is not recorded in the file; the static rules explain it: an op they would map that
reads, through its inputs, a partition's output is one the compiler left behind the cut
(reference §2, on the data-flow graph: op order says nothing about it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgegate.targets.edgetpu import graph as dataflow
from edgegate.targets.edgetpu import oplog
from edgegate.targets.flatbuffer import OperatorInfo, TfliteModel, read_tflite
from edgegate.targets.edgetpu.interface import (
    AFTER_CUT,
    MAPPED,
    UNSPECIFIED,
    EdgeTpuAnalyzer,
    EdgeTpuResult,
)
from edgegate.target_reports.edgetpu import OpMapping
from edgegate.targets.edgetpu.rules import Finding, evaluate_op
from edgegate.targets.edgetpu.static import make_target
from edgegate.errors import InputError

EDGETPU_CUSTOM_OP = "edgetpu-custom-op"


def is_partition(op: OperatorInfo) -> bool:
    return op.op == "CUSTOM" and op.custom_code == EDGETPU_CUSTOM_OP


def is_compiled(model: TfliteModel) -> bool:
    return any(is_partition(op) for op in model.operators)


@dataclass(frozen=True)
class CompiledOps:
    """A compiled model's ops, one OpMapping each (partitions as edgetpu-custom-op), CPU ops explained."""

    partitions: int
    cpu_ops: int
    ops: tuple[OpMapping, ...]
    blocker: OpMapping | None  # the first CPU op that is not merely behind the cut
    hint: str | None


def explain_compiled(
    model: TfliteModel, compiler_version: int = 16, runtime: int | None = None
) -> CompiledOps:
    target, _ = make_target(compiler_version, runtime)
    downstream = dataflow.depends_on(
        dataflow.build(model), {op.index for op in model.operators if is_partition(op)}
    )
    ops: list[OpMapping] = []
    findings: dict[int, Finding] = {}
    for op in model.operators:
        tensor = model.tensors[op.outputs[0]].name if op.outputs else ""
        if is_partition(op):
            ops.append(OpMapping(op.index, EDGETPU_CUSTOM_OP, tensor, MAPPED, True, "Edge TPU partition"))
            continue
        f = findings[op.index] = evaluate_op(model, op, target)
        if not f.mapped:
            ops.append(OpMapping(op.index, op.op, tensor, f.status, False, f"{f.reason} (static rules)"))
        elif op.index in downstream:
            ops.append(
                OpMapping(
                    op.index,
                    op.op,
                    tensor,
                    AFTER_CUT,
                    False,
                    "on the CPU after an Edge TPU partition (behind the compiler's cut)",
                )
            )
        else:
            ops.append(
                OpMapping(
                    op.index,
                    op.op,
                    tensor,
                    UNSPECIFIED,
                    False,
                    "the compiler left it on the CPU; the static rules see no reason",
                )
            )
    cpu = [o for o in ops if not o.mapped]
    blocker = next(
        (o for o in cpu if o.status != AFTER_CUT and o.op not in ("QUANTIZE", "DEQUANTIZE")),
        cpu[0] if cpu else None,
    )
    hint = findings[blocker.index].hint if blocker is not None and blocker.index in findings else None
    partitions = sum(o.mapped for o in ops)
    return CompiledOps(partitions, len(cpu), tuple(ops), blocker, hint or None)


class CompiledModelAnalyzer(EdgeTpuAnalyzer):
    """Reports the partitions and CPU ops of a model ``edgetpu_compiler`` already produced."""

    name = "compiled-model"

    def __init__(self, runtime: int | None = None):
        self.runtime = runtime

    def analyze(self, model: Path) -> EdgeTpuResult:
        return self.analyze_tflite(read_tflite(model))

    def analyze_tflite(self, model: TfliteModel) -> EdgeTpuResult:
        if not is_compiled(model):
            raise InputError(
                f"{model.path}: has no {EDGETPU_CUSTOM_OP}: it was not compiled by edgetpu_compiler "
                "(analyze it with the static check or the compiler instead)."
            )
        found = explain_compiled(model, runtime=self.runtime)
        notes = [
            "counts are ops of the compiled file: each Edge TPU partition counts as one op, because the file "
            "does not record how many source ops it holds"
        ]
        if model.subgraphs > 1:
            notes.append(f"the model has {model.subgraphs} subgraphs; only the first is reported")
        return EdgeTpuResult(
            analyzer=self.name,
            compiler_version="unknown (compiled model)",
            runtime_version=make_target(16, self.runtime)[0].runtime,
            compiles=True,
            ops_total=len(found.ops),
            ops_on_tpu=found.partitions,
            ops_on_cpu=found.cpu_ops,
            partitions=found.partitions,
            first_unmapped=found.blocker,
            hint=found.hint,
            ops=found.ops,
            log=oplog.format_table(found.ops),
            notes=tuple(notes),
        )
