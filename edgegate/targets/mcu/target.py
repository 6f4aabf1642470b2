"""The ``mcu`` target: can TFLite Micro run the candidate, in how much RAM and flash.

Everything here is TFLite Micro's own answer, from its Python interpreter (the ``tflite-micro``
package), run in a child process (``tflm_child.py``) because a too-small arena or a kernel's
``TFLITE_CHECK`` kills the process:

- **op support**: the whole model is allocated (``AllocateTensors`` prepares every op); when
  TFLM refuses it for any reason but memory, each op is prepared alone in a single-op copy of
  the model, so every op TFLM cannot run is listed with TFLM's own message, not just the first;
- **tensor arena**: the smallest ``arena_size`` TFLM accepts, by bisection (the recording
  allocator's total is tried first: it usually is the answer, and ``N`` accepted with ``N - 1``
  refused proves it); an attempt that crashes counts as refused. The accepted arena then runs
  one inference on zero inputs, so kernels that refuse only at ``Eval`` are caught too;
- **head/tail split** at that arena, from the recording allocator's printout (the Python
  package exposes it only as text on stderr, ``print_allocations``);
- **flash**: the model's bytes (the flatbuffer is linked as a constant array); code size of the
  kernels is not included.

The arena is the host build's figure (64-bit pointers, reference kernels, the recording
allocator's own bookkeeping in the tail): docs/targets.md says how it relates to a Cortex-M
firmware.
"""

from __future__ import annotations

import json
import math
import re
import select
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Mapping, TypeVar

from edgegate.targets.flatbuffer import OperatorInfo, TfliteModel, read_tflite
from edgegate.errors import EdgeGateError
from edgegate.python_child import start_python
from edgegate.status import Level, Status
from edgegate.conversions.interface import Produces
from edgegate.targets.child_process import death
from edgegate.targets.interface import PolicyPlace, Target
from edgegate.units import Change, format_bytes, parse_change, parse_size
from edgegate.checks import Check, Place, budget, growth, no_base
from edgegate.target_reports.mcu import ArenaPart, ArenaSplit, McuReport, TflmRefusal
from edgegate.workers.lifetime import child_options

CHILD = Path(__file__).with_name("tflm_child.py")
ARENA_CAP = 256 << 20  # beyond any microcontroller's RAM (external SDRAM included): more is reported as such
ATTEMPT_TIMEOUT_S = 120.0  # one interpreter build; MobileNetV2 takes ~0.1 s, a hang is a TFLM bug


class TflmUnavailable(EdgeGateError):
    """The ``tflite-micro`` package is missing or its interpreter does not start."""


# --- the report ------------------------------------------------------------------------------------


# --- TFLM in a child process -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Reply:
    ok: bool
    log: str = ""
    error: str | None = None
    allocations: str | None = None
    invoke_error: str | None = None
    crashed: str | None = None  # "SIGSEGV", "exit status 1", "timed out after 120 s"


class _Child:
    """``tflm_child.py`` for one model; started again after each crash."""

    def __init__(self, model: Path, workdir: Path, timeout_s: float = ATTEMPT_TIMEOUT_S):
        self.model, self.workdir, self.timeout_s = model, workdir, timeout_s
        self.log = workdir / "tflm.log"
        self.proc: subprocess.Popen[str] | None = None
        self.version = ""
        self.attempts = 0
        self.crashes = 0

    def _start(self) -> None:
        self.proc = start_python(  # isolated: nothing of the folder or of CHILD's own folder on its path
            [str(CHILD), str(self.model.resolve()), str(self.log)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # the child sends fd 2 to its log at once
            text=True,
            cwd=self.workdir,
            **child_options(),  # killed when its worker ends
        )
        try:
            hello = self._read_line()
        except TimeoutError:
            hello = None
        if hello is None or "version" not in hello:
            self.close()
            log = self._log_tail()
            fix = " (pip install tflite-micro)" if "No module named 'tflite_micro'" in log else ""
            raise TflmUnavailable(
                f"TFLite Micro's interpreter process did not start{fix}: {log or 'no output'}"
            )
        self.version = hello["version"]

    def _read_line(self) -> dict[str, Any] | None:
        """The child's next line; None when it died (EOF); raises TimeoutError when it hangs."""
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout_s)
        if not ready:
            raise TimeoutError
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def _log_tail(self) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return text.strip()[-2000:]

    def ask(self, cmd: dict[str, Any]) -> _Reply:
        if self.proc is not None and self.proc.poll() is not None:
            self.close()  # a dead child's pipes
        if self.proc is None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        self.attempts += 1
        timed_out = False
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
            reply = self._read_line()
        except TimeoutError:
            reply, timed_out = None, True
            self.proc.kill()
        except (BrokenPipeError, ValueError):  # died before reading the command; bad JSON: a dying child
            reply = None
        if reply is not None:
            return _Reply(
                ok=bool(reply.get("ok")),
                log=str(reply.get("log") or ""),
                error=reply.get("error"),
                allocations=reply.get("allocations"),
                invoke_error=reply.get("invoke_error"),
            )
        rc = self.proc.wait()
        self.close()
        self.crashes += 1
        how = f"timed out after {self.timeout_s:.0f} s" if timed_out else death(rc)
        return _Reply(ok=False, log=self._log_tail(), crashed=how)

    def allocate(self, arena: int, inputs: int = 0, record: bool = False, invoke: bool = False) -> _Reply:
        return self.ask(
            {"cmd": "allocate", "arena": arena, "inputs": inputs, "record": record, "invoke": invoke}
        )

    def op(self, index: int, arena: int, invoke: bool = True) -> _Reply:
        return self.ask({"cmd": "op", "index": index, "arena": arena, "invoke": invoke})

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None


# --- reading TFLM's words --------------------------------------------------------------------------

_TOO_SMALL = re.compile(r"missing: \d+|Failed to allocate|Failed to resize buffer|too small", re.I)
_BOILERPLATE = re.compile(
    r"^(Failed starting model allocation\.|Node \S+ \(number \d+\) failed to (prepare|invoke) with status \d+)$"
)
_FAILED_NODE = re.compile(r"Node (\S+) \(number (\d+)\) failed to (prepare|invoke)")
_TOTALS = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_PART = re.compile(r"'([^']+)' used (\d+) bytes with alignment overhead \(requested (\d+) bytes for (\d+) ")


def _too_small(reply: _Reply) -> bool:
    return reply.crashed is None and bool(_TOO_SMALL.search(reply.log))


def _words(reply: _Reply, doing: str) -> str:
    """TFLM's message, without the generic lines every failure adds."""
    lines = [ln.strip() for ln in reply.log.splitlines()]
    said = "; ".join(ln for ln in lines if ln and not _BOILERPLATE.match(ln))
    if reply.crashed:
        return f"TFLite Micro crashed ({reply.crashed}) {doing}" + (
            f"; its last words: {said}" if said else ""
        )
    return said or reply.error or "refused without a message"


def parse_allocations(text: str) -> ArenaSplit | None:
    totals = {m.group(1): int(m.group(2)) for m in _TOTALS.finditer(text)}
    if set(totals) != {"total", "head", "tail"}:
        return None
    parts = tuple(
        ArenaPart(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))) for m in _PART.finditer(text)
    )
    return ArenaSplit(totals["total"], totals["head"], totals["tail"], parts)


# --- the measurement -------------------------------------------------------------------------------

_ITEM_BYTES = {"int8": 1, "uint8": 1, "bool": 1, "int16": 2, "uint16": 2, "float16": 2, "int64": 8}
_ITEM_BYTES |= {"uint64": 8, "float64": 8, "complex64": 8, "complex128": 16, "int4": 1}


def activation_bytes(model: TfliteModel, tensors: Iterable[int]) -> int:
    """The bytes the non-constant ones of ``tensors`` declare in their stored shapes (a dynamic
    dimension counted as 1; 4 bytes an element of a type not listed)."""
    total = 0
    for i in tensors:
        t = model.tensor(i)
        if t is not None and not t.constant:
            total += math.prod(max(d, 1) for d in t.shape) * _ITEM_BYTES.get(t.dtype, 4)
    return total


def _first_guess(model: TfliteModel, tensors: Iterable[int]) -> int:
    """An arena large enough for most models at once: activations twice over plus TFLM's structs."""
    structs = 512 * (len(model.tensors) + len(model.operators))
    guess = 2 * activation_bytes(model, tensors) + structs + 64 * 1024
    # A whole number of KiB: with an arena end that is not 16-byte aligned the recorded total
    # grows by the tail's alignment slack, and the bisection's first pivot would miss.
    return min(ARENA_CAP, -(-guess // 1024) * 1024)


def _name(op: OperatorInfo) -> str:
    return f"CUSTOM({op.custom_code})" if op.op == "CUSTOM" else op.op


def _output(model: TfliteModel, op: OperatorInfo) -> str:
    t = model.tensor(op.outputs[0]) if op.outputs else None
    return t.name if t is not None else "–"


def _softmax_hint(model: TfliteModel, op: OperatorInfo, reply: _Reply) -> str:
    """The one TFLM abort seen on converter output: int8 SOFTMAX with a tiny input scale."""
    t = model.tensor(op.inputs[0]) if op.inputs else None
    if op.op != "SOFTMAX" or reply.crashed != "SIGABRT" or t is None or t.quantization is None:
        return ""
    if t.dtype not in ("int8", "uint8") or t.quantization.scales[0] * 2**26 > 1:
        return ""
    return (
        f" (TFLM's {t.dtype} SOFTMAX aborts when beta × input scale × 2^26 ≤ 1, a TFLITE_CHECK in "
        f"QuantizeMultiplierGreaterThanOne; this input scale is {t.quantization.scales[0]:.3g}: "
        "the logits were calibrated to a near-zero range)"
    )


MAX_PROBE_CRASHES = 10  # a damaged file can crash TFLM on every op: stop restarting it after this


def _probe_ops(child: _Child, model: TfliteModel) -> tuple[tuple[TflmRefusal, ...], str | None]:
    """Every op TFLM refuses alone, preparing or running it, and why probing stopped early (if it did)."""
    refused: list[TflmRefusal] = []
    start = child.crashes
    for op in model.operators:
        if child.crashes - start >= MAX_PROBE_CRASHES:
            return tuple(refused), (
                f"TFLite Micro crashed on {MAX_PROBE_CRASHES} ops; ops from #{op.index} on were not checked"
            )
        arena = _first_guess(model, [*op.inputs, *op.outputs])
        reply = child.op(op.index, arena)
        while not reply.ok and _too_small(reply) and arena < ARENA_CAP:
            arena = min(ARENA_CAP, arena * 4)
            reply = child.op(op.index, arena)
        if reply.crashed and not reply.ok:
            # Preparing or running: one more attempt that only prepares says which it was.
            prepared = child.op(op.index, arena, invoke=False)
            if prepared.ok:
                text = f"prepared, but {_words(reply, 'running it alone')}"
                refused.append(TflmRefusal(op.index, _name(op), _output(model, op), text))
                continue
        if not reply.ok:
            text = _words(reply, "preparing it") + _softmax_hint(model, op, reply)
            refused.append(TflmRefusal(op.index, _name(op), _output(model, op), text))
        elif reply.invoke_error is not None:
            said = _words(_Reply(False, reply.log, reply.invoke_error), "")
            refused.append(TflmRefusal(op.index, _name(op), _output(model, op), _RUN_REFUSAL + said))
    return tuple(refused), None


_RUN_REFUSAL = "prepared, but refused when it runs: "


def _largest_tensor(model: TfliteModel) -> tuple[str, tuple[int, ...], int]:
    """The non-constant tensor of the most bytes (name, shape, bytes), counted without overflow."""
    best: tuple[str, tuple[int, ...], int] = ("", (), 0)
    for t in model.tensors:
        if not t.constant and t.elements > 0:
            size = t.elements * _ITEM_BYTES.get(t.dtype, 4)
            if size > best[2]:
                best = (t.name, t.shape, size)
    return best


def _beyond_any_arena(model: TfliteModel) -> str | None:
    """A tensor larger than any arena: TFLM is never handed it (its 32-bit size arithmetic would overflow)."""
    name, shape, size = _largest_tensor(model)
    if size <= ARENA_CAP:
        return None
    return (
        f"tensor '{name}' of shape {list(shape)} alone needs {size:,} bytes, more than a "
        f"{_binary(ARENA_CAP)} arena (any microcontroller's RAM): TFLite Micro cannot hold it"
    )


def _overflowed(model: TfliteModel, arena: int) -> str | None:
    """An arena TFLM accepted that is smaller than one of the model's tensors is an overflow, not a figure.

    TFLM computes tensor sizes in ``int``/``size_t`` arithmetic it does not check for overflow:
    a [2^31-1, 2^31-1, 4] input "fits" a 984-byte arena.
    """
    name, shape, size = _largest_tensor(model)
    if arena >= size:
        return None
    return (
        f"TFLite Micro accepted a {arena:,}-byte arena, smaller than tensor '{name}' of shape "
        f"{list(shape)} ({size:,} bytes): its size arithmetic overflowed, so no arena figure is given"
    )


def measure(path: Path, model: TfliteModel, workdir: Path) -> McuReport:
    child = _Child(path, workdir)
    inputs = len(model.inputs)
    too_big = _beyond_any_arena(model)
    if too_big is not None:  # never handed to TFLM, whose sizes would overflow
        return _report(child, path, model, None, None, (), too_big)
    try:
        arena = _first_guess(model, range(len(model.tensors)))
        reply = child.allocate(arena, record=True)
        while not reply.ok and _too_small(reply) and arena < ARENA_CAP:
            arena = min(ARENA_CAP, arena * 4)
            reply = child.allocate(arena, record=True)
        if not reply.ok and reply.crashed:
            # A crash at the first guess may still be a too-small arena: one much larger try.
            bigger = min(ARENA_CAP, arena * 16)
            retry = child.allocate(bigger, record=True) if bigger > arena else reply
            if retry.ok:
                arena, reply = bigger, retry
        if not reply.ok:
            refusal: str | None
            if _too_small(reply):
                refusal = f"TFLite Micro needs more than a {_binary(ARENA_CAP)} arena: {_words(reply, '')}"
                unsupported: tuple[TflmRefusal, ...] = ()
            else:
                unsupported, stopped = _probe_ops(child, model)
                refusal = stopped or (None if unsupported else _words(reply, "allocating the model"))
            return _report(child, path, model, None, None, unsupported, refusal)

        # Bisection between a refused size (0: no room for even the allocator) and an accepted one,
        # trying the recorded total and the byte below it first: N ok with N - 1 refused ends it.
        split = parse_allocations(reply.allocations or "")
        low, high = 0, arena
        pivots = [split.total, split.total - 1] if split else []
        while high - low > 1:
            mid = pivots.pop(0) if pivots else (low + high) // 2
            if not low < mid < high:
                continue
            if child.allocate(mid).ok:
                high = mid
            else:
                low = mid
        final = child.allocate(high, record=True)
        if not final.ok:  # TFLM is deterministic: this would be a TFLM bug, reported as such
            why = _words(final, f"with the {high}-byte arena it had just accepted")
            return _report(child, path, model, None, None, (), why)
        split = parse_allocations(final.allocations or "") or split
        overflow = _overflowed(model, high)
        if overflow is not None:
            return _report(child, path, model, None, None, (), overflow)
        # One inference, in its own attempt: a crash now is the inference's, not the allocation's.
        ran = child.allocate(high, inputs=inputs, invoke=True)
        unsupported, refusal = (), None
        if not ran.ok or ran.invoke_error is not None:
            said = _words(
                _Reply(False, ran.log, ran.invoke_error or ran.error, crashed=ran.crashed),
                "running one inference on zero inputs",
            )
            text = said if ran.crashed else _RUN_REFUSAL + said
            # TFLM names only the first node it stops at: every op is run alone to list them all.
            unsupported, stopped = _probe_ops(child, model)
            node = _FAILED_NODE.search(ran.log)
            if stopped is not None or not unsupported:
                if node and int(node.group(2)) < len(model.operators) and not unsupported:
                    op = model.operators[int(node.group(2))]
                    unsupported = (TflmRefusal(op.index, _name(op), _output(model, op), text),)
                else:
                    refusal = stopped or text
        return _report(child, path, model, high, split, unsupported, refusal)
    finally:
        child.close()


def _report(
    child: _Child,
    path: Path,
    model: TfliteModel,
    arena: int | None,
    split: ArenaSplit | None,
    unsupported: tuple[TflmRefusal, ...],
    refusal: str | None,
) -> McuReport:
    return McuReport(
        tflm_version=child.version,
        pointer_bits=struct.calcsize("P") * 8,
        flash=path.stat().st_size,
        ops=len(model.operators),
        arena=arena,
        split=split,
        unsupported=unsupported,
        refusal=refusal,
        attempts=child.attempts,
        crashes=child.crashes,
    )


# --- settings and the target -------------------------------------------------------------------


@dataclass(frozen=True)
class McuSettings:
    """``targets: {mcu: {arena: 256 KiB, flash: 1 MiB, level: error, vs_base: {arena: 10%, flash: 5%}}}``."""

    level: Level = Level.ERROR
    max_arena: int | None = None  # bytes
    max_flash: int | None = None  # bytes
    max_arena_increase: Change | None = None  # vs the base version's arena
    max_flash_increase: Change | None = None

    @staticmethod
    def parse(section: Mapping[str, Any] | None) -> McuSettings:
        """Read the policy section; ``ValueError`` naming the key for anything it does not know."""
        section = dict(section or {})
        unknown = set(section) - {"arena", "flash", "vs_base", "level"}
        if unknown:
            raise ValueError(f"mcu: unknown key(s) {sorted(unknown)}; use arena, flash, vs_base, level")
        try:
            level = Level(str(section.get("level", "error")))
        except ValueError:
            raise ValueError(f"mcu.level: {section['level']!r} is not a level; use error or warn") from None
        sizes = {k: _read(parse_size, section[k], f"mcu.{k}") for k in ("arena", "flash") if k in section}
        vs = section.get("vs_base", {})
        if not isinstance(vs, Mapping) or set(vs) - {"arena", "flash"}:
            raise ValueError("mcu.vs_base: write {arena: 10%, flash: 5%} (or absolute sizes, 4 KiB)")
        changes = {k: _read(lambda t: parse_change(t, "size"), vs[k], f"mcu.vs_base.{k}") for k in vs}
        return McuSettings(
            level, sizes.get("arena"), sizes.get("flash"), changes.get("arena"), changes.get("flash")
        )


T = TypeVar("T")


def _read(parse: Callable[[Any], T], text: Any, key: str) -> T:
    try:
        return parse(text)
    except ValueError as e:
        raise ValueError(f"{key}: {e}") from None


def _binary(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB" if n >= 1024 else f"{n} B"


def format_exact_bytes(n: int) -> str:
    """``218,016 B (218.0 KB)``: an arena is typed into firmware to the byte."""
    return f"{n:,} B" if abs(n) < 1000 else f"{n:,} B ({format_bytes(n)})"


_FLOAT16_WEIGHTS = (
    "TFLite Micro cannot run float16 weights: the converter stores them as float16 constants "
    "feeding DEQUANTIZE ops, and TFLM's DEQUANTIZE takes only int8, int16 or uint8 input "
    "(dequantize_common.cc: 'input->type == kTfLiteInt8 || input->type == kTfLiteInt16 || "
    "input->type == kTfLiteUInt8 was not true')"
)


@dataclass(frozen=True)
class McuTarget(Target[McuReport]):
    settings: McuSettings = McuSettings()

    name: ClassVar[str] = "mcu"
    title: ClassVar[str] = "MCU (TFLite Micro)"
    headline: ClassVar[str] = "runs"

    def never_runs(self, produced: Produces) -> str | None:
        # dynamic-range is analyzed: TFLM refuses its hybrid ops (weights of 1024+ elements), but
        # a model whose weights are all smaller stays float and runs; float32 and int16x8 run.
        return _FLOAT16_WEIGHTS if produced.float16_weights else None

    def analyze(self, model: Path) -> McuReport:
        info = read_tflite(model)  # InputError, naming the file, for anything that is not a .tflite
        with tempfile.TemporaryDirectory(prefix="edgegate-tflm-") as workdir:
            return measure(Path(model), info, Path(workdir))

    def needs_base(self) -> bool:
        return self.settings.max_arena_increase is not None or self.settings.max_flash_increase is not None

    def when_broken(self) -> Status:
        return self.settings.level.status_when_broken()

    def checks(self, report: McuReport, base: McuReport | None, where: PolicyPlace) -> tuple[Check, ...]:
        s = self.settings
        checks = [self._runs(report, where)]
        if s.max_arena is not None:
            p = self.place(where, "arena", "arena")
            if report.arena is None:
                checks.append(p.skip("arena not measured: TFLite Micro cannot run the model (see mcu.runs)."))
            else:
                checks.append(budget(p, "tensor arena", report.arena, s.max_arena, format_exact_bytes))
        if s.max_flash is not None:
            p = self.place(where, "flash", "flash")
            checks.append(budget(p, "flash (model bytes)", report.flash, s.max_flash, format_exact_bytes))
        for what, change, value, base_value in (
            ("arena", s.max_arena_increase, report.arena, base.arena if base else None),
            ("flash", s.max_flash_increase, report.flash, base.flash if base else None),
        ):
            if change is None:
                continue
            p = self.place(where, f"vs_base.{what}", f"vs_base.{what}")
            if base is None:
                checks.append(no_base(p, what, "there is no base version report"))
            elif value is None or base_value is None:
                side = "this version" if value is None else "the base version"
                checks.append(no_base(p, what, f"TFLite Micro cannot run {side}"))
            else:
                label = "tensor arena" if what == "arena" else "flash (model bytes)"
                checks.append(growth(p, label, value, base_value, change, format_exact_bytes, missing=""))
        return tuple(checks)

    def _runs(self, r: McuReport, where: PolicyPlace) -> Check:
        who = f"TFLite Micro {r.tflm_version}".rstrip()
        p = self.place(where, "runs")
        if r.runs:
            assert r.arena is not None
            return p.check(
                Status.PASS,
                f"runs on {who}: all {r.ops} ops prepared and one inference ran, "
                f"in a {format_exact_bytes(r.arena)} arena.",
                "runs",
                "runs",
            )
        if r.unsupported:
            listed = "; ".join(f"#{u.index} {u.op} ('{u.output}'): {u.message}" for u in r.unsupported[:5])
            more = f"; and {len(r.unsupported) - 5} more" if len(r.unsupported) > 5 else ""
            message = f"{who} cannot run {len(r.unsupported)} of {r.ops} ops: {listed}{more}."
        else:
            message = f"{who} cannot run the model: {r.refusal}."
        return p.broke(message, "runs", "refused")

    def places(self, where: PolicyPlace) -> tuple[Place, ...]:
        s = self.settings
        places = [self.place(where, "runs")]
        for wanted, what in ((s.max_arena, "arena"), (s.max_flash, "flash")):
            if wanted is not None:
                places.append(self.place(where, what, what))
        for change, what in ((s.max_arena_increase, "arena"), (s.max_flash_increase, "flash")):
            if change is not None:
                places.append(self.place(where, f"vs_base.{what}", f"vs_base.{what}"))
        return tuple(places)

    def summary(self, report: McuReport) -> str:
        flash = f"flash {format_bytes(report.flash)}"
        if report.runs and report.arena is not None:
            split = f" (head {report.split.head:,} + tail {report.split.tail:,})" if report.split else ""
            return f"{self.title}: arena {report.arena:,} B{split}, {flash}"
        if report.unsupported:
            kinds = sorted({u.op for u in report.unsupported})
            return f"{self.title}: cannot run {len(report.unsupported)}/{report.ops} ops ({', '.join(kinds)}), {flash}"
        return f"{self.title}: cannot run the model, {flash}"
