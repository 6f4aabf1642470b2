"""Running the real ``edgetpu_compiler`` and reading its answer.

The compiler runs on a copy of the model in a temporary directory (``-s`` prints the op
table, ``-o`` keeps its output there), in its own process group so a hang is ended with
everything it spawned. Its stdout is parsed for the 14.1, 15 and 16 formats, including the
all-mapped case (no ``Number of operations that will run on ...`` lines) and the whole-run
failures; the compiled ``*_edgetpu.tflite`` is then inspected (``compiled.py``) for its
partitions and CPU ops. Output we cannot read never counts as "compiles".
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgegate.targets.edgetpu import hints, oplog
from edgegate.targets.edgetpu.compiled import explain_compiled, is_partition
from edgegate.targets.flatbuffer import TfliteModel, read_tflite
from edgegate.targets.edgetpu.interface import (
    AFTER_CUT,
    MAPPED,
    UNSPECIFIED,
    EdgeTpuAnalyzer,
    EdgeTpuResult,
)
from edgegate.target_reports.edgetpu import OpMapping
from edgegate.targets.edgetpu.rules import DEFAULT_RUNTIME, Target, evaluate_op, introduced_in
from edgegate.errors import InputError
from edgegate.workers.lifetime import child_options

# Seconds past the timeout before the process group is killed (lets the compiler report first).
KILL_GRACE_S = 2
_VERSION = re.compile(r"Edge TPU Compiler version (\d+(?:\.\d+)+)")
_MISSING_OP = re.compile(r"Didn't find op for builtin opcode '(\w+)' version '(\d+)'")
_FAILURES = (
    "Invalid model",
    "Model not quantized",
    "Model could not be parsed",
    "Didn't find op",
    "Internal compiler error",
    "Compilation failed",
    "ERROR:",
    "terminating with uncaught exception",
)


@dataclass(frozen=True)
class CompilerReport:
    """What the compiler's stdout says."""

    version: str | None
    succeeded: bool  # "Model compiled successfully"
    failure: str | None  # its failure lines, joined
    subgraphs: int | None  # Number of Edge TPU subgraphs
    total: int | None  # Total number of operations
    on_tpu: int | None  # absent when every op maps
    on_cpu: int | None
    table: list[oplog.LogRow] | None


def _number(text: str, label: str) -> int | None:
    m = re.search(rf"^{re.escape(label)}:\s*(\d+)\s*$", text, re.M)
    return int(m.group(1)) if m else None


def parse_stdout(text: str) -> CompilerReport:
    version = _VERSION.search(text)
    failures = [line.strip() for line in text.splitlines() if any(f in line for f in _FAILURES)]
    specific = [f for f in failures if f != "Compilation failed!"]
    return CompilerReport(
        version=version.group(1) if version else None,
        succeeded="Model compiled successfully" in text,
        failure=" / ".join(dict.fromkeys(specific or failures)) or None,
        subgraphs=_number(text, "Number of Edge TPU subgraphs"),
        total=_number(text, "Total number of operations"),
        on_tpu=_number(text, "Number of operations that will run on Edge TPU"),
        on_cpu=_number(text, "Number of operations that will run on CPU"),
        table=oplog.parse_table(text),
    )


@dataclass(frozen=True)
class CompilerRun:
    returncode: int | None  # None: stopped after the timeout
    stdout: str
    log: str  # the <name>_edgetpu.log, "" when none was written
    output: Path | None  # the compiled model, when written


class CompilerAnalyzer(EdgeTpuAnalyzer):
    """Answers with the installed ``edgetpu_compiler`` itself."""

    name = "compiler"

    def __init__(
        self,
        binary: str | Path,
        runtime: int | None = None,
        timeout_s: int = 180,
        compiler_version: int | None = None,
    ):
        self.binary = Path(binary)
        self.runtime = runtime
        self.timeout_s = timeout_s
        self.wanted_version = compiler_version  # the policy's compiler_version, to flag a mismatch

    def analyze(self, model: Path) -> EdgeTpuResult:
        source = read_tflite(model)  # unreadable input fails here, before the compiler runs
        with tempfile.TemporaryDirectory(prefix="edgegate-edgetpu-") as tmp:
            run = self._run(Path(model), Path(tmp))
            return self._result(source, run)

    def _run(self, model: Path, workdir: Path) -> CompilerRun:
        name = model.name if model.suffix == ".tflite" else model.name + ".tflite"
        shutil.copyfile(model, workdir / name)
        out = workdir / "out"
        out.mkdir()
        cmd = [str(self.binary), "-s", "-o", str(out)]
        if self.runtime is not None:
            cmd += ["-m", str(self.runtime)]
        cmd.append(name)
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **child_options(),  # killed when its worker ends
            )
        except OSError as e:
            raise InputError(
                f"edgetpu_compiler at {self.binary} could not be started ({e.strerror or e}); it runs "
                "only on x86-64 Linux. Set edgetpu.compiler: static to use the static check."
            ) from e
        try:
            raw, _ = proc.communicate(timeout=self.timeout_s + KILL_GRACE_S)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the compiler forks a child: end the whole group
            raw, _ = proc.communicate()
            code = None
        stem = Path(name).stem
        log = next(
            (p for p in (out / f"{stem}_edgetpu.log", workdir / f"{stem}_edgetpu.log") if p.is_file()), None
        )
        compiled = next(
            (
                p
                for p in (out / f"{stem}_edgetpu.tflite", workdir / f"{stem}_edgetpu.tflite")
                if p.is_file() and p.stat().st_size > 0
            ),
            None,
        )
        return CompilerRun(
            code, raw.decode("utf-8", "replace"), log.read_text("utf-8", "replace") if log else "", compiled
        )

    # --- interpreting a run ----------------------------------------------------------------

    def _result(self, source: TfliteModel, run: CompilerRun) -> EdgeTpuResult:
        report = parse_stdout(run.stdout)
        major = int(report.version.split(".")[0]) if report.version else None
        runtime = self.runtime or DEFAULT_RUNTIME.get(major or 16, 13)
        notes = []
        if major is not None and self.wanted_version is not None and major != self.wanted_version:
            notes.append(
                f"the policy asks for compiler {self.wanted_version}, but edgetpu_compiler "
                f"{report.version} is installed; its answer is reported"
            )
        failed = self._failure(run, report)
        if failed:
            return self._rejected(source, report, runtime, failed, notes)
        version, total, subgraphs = report.version, report.total, report.subgraphs
        assert version is not None and total is not None and subgraphs is not None  # _failure said so
        table = report.table if report.table is not None else oplog.parse_table(run.log)
        on_tpu = report.on_tpu if report.on_tpu is not None else total
        on_cpu = report.on_cpu if report.on_cpu is not None else 0
        ops, partitions, blocker, hint = self._ops(source, run, table, major or 16, runtime, report, notes)
        if report.total != len(source.operators):
            notes.append(
                f"the compiler counted {report.total} operations; the file has {len(source.operators)}"
            )
        log = run.log or (oplog.format_rows(table) if table else "")
        return EdgeTpuResult(
            analyzer=self.name,
            compiler_version=version,
            runtime_version=runtime,
            compiles=True,
            ops_total=total,
            ops_on_tpu=on_tpu,
            ops_on_cpu=on_cpu,
            partitions=partitions if partitions is not None else subgraphs,
            first_unmapped=blocker,
            hint=hint,
            ops=ops,
            log=log,
            notes=tuple(notes),
        )

    def _failure(self, run: CompilerRun, report: CompilerReport) -> str | None:
        """Why the run gives no usable answer, or None when it compiled and its output reads well."""
        if run.returncode is None:
            return f"edgetpu_compiler timed out: no answer within {self.timeout_s} s, so it was stopped"
        if run.returncode < 0:
            try:
                name = signal.Signals(-run.returncode).name
            except ValueError:
                name = f"signal {-run.returncode}"
            return f"edgetpu_compiler crashed ({name})" + (f": {report.failure}" if report.failure else "")
        if report.version is None:
            first = next((line.strip() for line in run.stdout.splitlines() if line.strip()), "(no output)")
            return (
                "edgetpu_compiler printed an output EdgeGate cannot read "
                "(no 'Edge TPU Compiler version' line; "
                f"first line: {first[:120]!r}); treated as not compiled"
            )
        if run.returncode != 0 or not report.succeeded:
            if report.failure:
                return report.failure
            last = next(
                (line.strip() for line in reversed(run.stdout.splitlines()) if line.strip()), "(no output)"
            )
            return (
                f"edgetpu_compiler exited with code {run.returncode} without compiling "
                f"(last line: {last[:120]!r})"
            )
        if report.total is None or report.subgraphs is None:
            return (
                "edgetpu_compiler said it compiled, but printed no 'Total number of operations' / 'Number of "
                "Edge TPU subgraphs' lines: unknown output format, treated as not compiled"
            )
        if (
            report.on_tpu is not None
            and report.on_cpu is not None
            and report.on_tpu + report.on_cpu != report.total
        ):
            return (
                f"edgetpu_compiler's counts do not add up ({report.on_tpu} on the Edge TPU + {report.on_cpu} "
                f"on the CPU != {report.total}): unknown output format, treated as not compiled"
            )
        return None

    def _rejected(
        self, source: TfliteModel, report: CompilerReport, runtime: int, failure: str, notes: list[str]
    ) -> EdgeTpuResult:
        total = len(source.operators)
        hint = hints.failure_hint(failure)
        missing = _MISSING_OP.search(failure)
        if missing:
            op, version = missing.group(1), int(missing.group(2))
            major = int(report.version.split(".")[0]) if report.version else 16
            hint = hints.version_hint(op, version, introduced_in(op, version), major)
        return EdgeTpuResult(
            analyzer=self.name,
            compiler_version=report.version or "unknown",
            runtime_version=runtime,
            compiles=False,
            ops_total=total,
            ops_on_tpu=0,
            ops_on_cpu=total,
            partitions=0,
            rejection=failure,
            hint=hint,
            notes=tuple(notes),
        )

    def _ops(
        self,
        source: TfliteModel,
        run: CompilerRun,
        table: list[oplog.LogRow] | None,
        major: int,
        runtime: int,
        report: CompilerReport,
        notes: list[str],
    ) -> tuple[tuple[OpMapping, ...], int | None, OpMapping | None, str | None]:
        """Per-op mappings: CPU ops found in the compiled file, statuses taken from the compiler's table."""
        if run.output is None:
            notes.append("the compiler wrote no *_edgetpu.tflite, so per-op results are not available")
            return (), None, None, None
        try:
            compiled = read_tflite(run.output)
        except InputError as e:
            notes.append(f"the compiled model could not be read ({e})")
            return (), None, None, None
        found = explain_compiled(compiled, min(major, 16), runtime)
        if report.subgraphs is not None and found.partitions != report.subgraphs:
            notes.append(
                f"the compiler reported {report.subgraphs} Edge TPU subgraph(s); the compiled file has "
                f"{found.partitions}"
            )
        cpu_keys = {
            (op.op, compiled.tensors[op.outputs[0]].name)
            for op in compiled.operators
            if not is_partition(op) and op.outputs
        }
        pools: dict[str, list[str]] = {}
        for row in table or ():
            if row.status != MAPPED:
                # A row's own reason comes before "behind the cut", which only ops after the blocker get.
                pools.setdefault(row.op, []).extend([row.status] * row.count)
        for pool in pools.values():
            pool.sort(key=lambda s: s == AFTER_CUT)
        target = Target(min(major, 16), runtime)
        ops = []
        for op in source.operators:
            tensor = source.tensors[op.outputs[0]].name if op.outputs else ""
            if (op.op, tensor) not in cpu_keys:
                ops.append(OpMapping(op.index, op.op, tensor, MAPPED, True))
                continue
            predicted = evaluate_op(source, op, target)
            pool = pools.get(op.op, [])
            wanted = AFTER_CUT if predicted.mapped else predicted.status
            status = wanted if wanted in pool else (pool[0] if pool else UNSPECIFIED)
            if status in pool:
                pool.remove(status)
            reason = predicted.reason if status == predicted.status else "status from the compiler's log"
            ops.append(OpMapping(op.index, op.op, tensor, status, False, reason))
        cpu = [o for o in ops if not o.mapped]
        if len(cpu) != found.cpu_ops:
            notes.append(
                f"{found.cpu_ops} CPU op(s) in the compiled file, {len(cpu)} matched to the source model"
            )
        blocker = next(
            (o for o in cpu if o.status != AFTER_CUT and o.op not in ("QUANTIZE", "DEQUANTIZE")),
            cpu[0] if cpu else None,
        )
        hint = None
        if blocker is not None:
            predicted = evaluate_op(source, source.operators[blocker.index], target)
            hint = predicted.hint if predicted.status == blocker.status else hints.status_hint(blocker.status)
        return tuple(ops), found.partitions, blocker, hint
