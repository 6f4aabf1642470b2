"""``edgegate edgetpu MODEL.tflite``: the Edge TPU analysis of one model, for people or as JSON.

Exit codes: 0 when the model compiles with every op on the Edge TPU, 1 when it is rejected
or some ops run on the CPU, 2 when the file (or the configured compiler) is unusable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from edgegate.cli.errors import ERROR_PREFIX
from edgegate.targets.edgetpu.interface import EdgeTpuResult
from edgegate.targets.edgetpu.select import analyze
from edgegate.errors import InputError, PolicyError
from edgegate.log_output import say
from edgegate.policy.load import parse_edgetpu
from edgegate.results.codec import encode


def _emit(stream: TextIO | None, text: str = "") -> None:
    # Op, tensor and file names come from the model: no line may start a workflow command.
    say(text, stream=stream)


def describe(model: Path, r: EdgeTpuResult) -> list[str]:
    """The human report: who answered, totals, the first blocker with its fix, then the op table."""
    who = {
        "static": f"static prediction (edgetpu_compiler {r.compiler_version.split()[0]} rules, runtime "
        f"{r.runtime_version}; no compiler was run)",
        "compiler": f"edgetpu_compiler {r.compiler_version} (runtime {r.runtime_version})",
        "compiled-model": "an already compiled model (its edgetpu-custom-op partitions)",
    }[r.analyzer]
    lines = [f"{model}: Edge TPU analysis by {who}"]
    if not r.compiles:
        lines.append(f"Does not compile: {r.rejection}")
    else:
        lines.append(
            f"Compiles: {r.ops_on_tpu}/{r.ops_total} ops on the Edge TPU, {r.ops_on_cpu} on the CPU, "
            f"{r.partitions} Edge TPU partition(s)."
        )
    b = r.first_unmapped
    if b is not None:
        lines.append(
            f"First blocking op: #{b.index} {b.op} (tensor '{b.tensor}'): {b.status}"
            + (f" — {b.reason}" if b.reason else "")
        )
    if r.hint:
        lines.append(f"Fix: {r.hint}")
    uncertain = [o for o in r.ops if o.uncertain]
    if uncertain:
        # Each is counted where the prediction puts it: on the Edge TPU only when the model
        # compiles and its partition reaches it (the totals above say the same).
        lines.append(
            f"Uncertain ({len(uncertain)}): rules the file cannot settle; confirm with edgetpu_compiler:"
        )
        lines += [
            f"  #{o.index} {o.op} (tensor '{o.tensor}'): counted on the "
            f"{'Edge TPU' if o.mapped and r.compiles else 'CPU'}; {o.reason}"
            for o in uncertain
        ]
    lines += [f"Note: {n}" for n in r.notes]
    if r.log:
        lines += ["", r.log.rstrip("\n")]
    return lines


def edgetpu(
    model: Path,
    compiler_version: int = 16,
    runtime: int | None = None,
    compiler: str = "auto",
    as_json: bool = False,
    stream: TextIO | None = None,
) -> int:
    """The analysis printed (to ``stream``, else stdout); the exit code as in the module doc."""
    try:
        # Validated like the policy's edgetpu: block, so the flags get the same checks and messages.
        spec = parse_edgetpu(
            {"level": "error", "compiler_version": compiler_version, "runtime": runtime, "compiler": compiler}
        )
    except PolicyError as e:
        _emit(stream, ERROR_PREFIX + "; ".join(e.problems))
        return 2
    try:
        result = analyze(Path(model), spec)
    except InputError as e:
        if as_json:
            _emit(stream, json.dumps({"error": str(e)}, indent=2))
        else:
            _emit(stream, f"{ERROR_PREFIX}{e}")
        return 2
    if as_json:
        _emit(stream, json.dumps(encode(result), indent=2))
    else:
        for line in describe(Path(model), result):
            _emit(stream, line)
    return 0 if result.compiles and result.ops_on_cpu == 0 and result.ops_total > 0 else 1
