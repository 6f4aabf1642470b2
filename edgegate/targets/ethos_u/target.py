"""The Arm Ethos-U target: ``EthosUTarget`` compiles a candidate with Arm's Vela and checks ``ethos-u:``.

Vela (``ethos-u-vela``) compiles a full-integer ``.tflite`` for one Ethos-U55/65/85
configuration: ops it supports become NPU command streams (``ethos-u`` custom ops), the rest
stay TFLite ops for the CPU, each with the reason Vela prints. The report holds which ops run
where and why, Vela's SRAM figure, the compiled model's size, and Vela's cycle and inference-time
*estimates* (its performance model of the NPU; CPU ops are not in them).

Checks: ``ethos-u.compiles`` always (a model with no op on the NPU is not a pass), then those
the policy sets: ``all_on_npu``, ``min_on_npu``, ``sram``, ``flash``, ``latency`` and their
``*_vs_base`` growth limits. A broken check is FAIL at ``level: error`` and WARN at
``level: warn``. See docs/targets-ethos-u.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, ClassVar

from edgegate.targets.flatbuffer import TfliteModel, parse_tflite, read_tflite
from edgegate.errors import InputError, PolicyError
from edgegate.checks import Check, Place, all_on, budget, growth, share
from edgegate.status import Level, Status
from edgegate.targets.ethos_u import vela as _vela
from edgegate.targets.ethos_u.vela import VelaError
from edgegate.targets.child_process import death
from edgegate.targets.interface import Conversion, PolicyPlace, Target
from edgegate.units import Change, format_ms, parse_accuracy, parse_change, parse_duration_ms, parse_size
from edgegate.target_reports.ethos_u import CpuOp, EthosUReport

LEVELS = ("error", "warn", "off")

# Conversions whose candidates have float activations: Vela leaves every float op on the CPU
# ("Operation has tensor with unsupported DataType Float32"), so nothing would run on the NPU.
# int16x8 is not here: Vela compiles 16-bit-activation convolutions, pools and activations for
# the NPU (checked by the tests).
_NEVER = {
    "float32": (
        "a float32 model has no integer tensors and Vela leaves every float op on the CPU "
        "('unsupported DataType Float32'), so nothing would run on the Ethos-U; use the int8 recipe."
    ),
    "float16": (
        "float16 quantization keeps float32 activations (the float16 weights are dequantized at load) "
        "and Vela leaves float ops on the CPU, so nothing would run on the Ethos-U; use the int8 recipe."
    ),
    "dynamic": (
        "dynamic-range quantization quantizes only the weights and computes in float32, which Vela "
        "leaves on the CPU, so nothing would run on the Ethos-U; use the int8 recipe with calibration data."
    ),
}


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VsBase:
    """Largest growth allowed over the same candidate on the base branch (``vs_base:``)."""

    sram: Change | None = None
    flash: Change | None = None
    latency: Change | None = None

    def any(self) -> bool:
        return any(c is not None for c in (self.sram, self.flash, self.latency))


@dataclass(frozen=True, kw_only=True)
class EthosUSettings:
    """The ``ethos-u:`` section of one model's ``targets:`` (sizes in bytes, times in ms)."""

    level: str = "error"  # "error", "warn" or "off"
    accelerator: str = "ethos-u55-128"  # Vela's --accelerator-config
    system_config: str | None = (
        None  # a System_Config of Vela's vela.ini; None: Vela's default for the family
    )
    memory_mode: str | None = None  # a Memory_Mode of Vela's vela.ini; None: Vela's default for the family
    optimise: str = "Performance"  # Vela's --optimise: Performance or Size (trades SRAM for speed)
    timeout_s: float = 300.0
    sram_max: int | None = None  # Vela's "Total SRAM used"
    flash_max: int | None = None  # the compiled (_vela.tflite) model's size
    latency_max_ms: float | None = None  # Vela's estimated inference time
    all_on_npu: bool = False
    min_on_npu: float | None = None  # lowest share of the model's ops on the NPU, 0..1
    min_on_npu_written: str | None = None  # as the policy wrote it ("95%"), for messages
    vs_base: VsBase = field(default_factory=VsBase)

    def __post_init__(self) -> None:
        # Only what needs no Vela installation; the vela.ini names are checked by config_problems().
        problems = []
        if self.level not in LEVELS:
            problems.append(f"level must be one of {', '.join(LEVELS)}, got {self.level!r}")
        if self.accelerator not in _vela.ACCELERATORS:
            problems.append(
                f"accelerator must be one of {', '.join(_vela.ACCELERATORS)}, got {self.accelerator!r}"
            )
        if self.optimise not in _vela.OPTIMISE:
            problems.append(f"optimise must be Performance or Size, got {self.optimise!r}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            problems.append(f"timeout_s must be a positive number of seconds, got {self.timeout_s!r}")
        for name in ("sram_max", "flash_max", "latency_max_ms"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                problems.append(f"{name} must not be negative, got {value!r}")
        if self.min_on_npu is not None and not 0 <= self.min_on_npu <= 1:
            problems.append(f"min_on_npu must be between 0% and 100%, got {self.min_on_npu!r}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def system(self) -> str:
        return self.system_config or _vela.DEFAULT_SYSTEM_CONFIG[_vela.family(self.accelerator)]

    @property
    def memory(self) -> str:
        return self.memory_mode or _vela.DEFAULT_MEMORY_MODE[_vela.family(self.accelerator)]

    def config_problems(self) -> list[str]:
        """What Vela's bundled vela.ini says against accelerator / system_config / memory_mode."""
        configs = _vela.read_configs(_vela.bundled_ini())
        return _vela.config_problems(self.accelerator, self.system, self.memory, configs)

    @classmethod
    def from_policy(
        cls, raw: Mapping[str, Any], key: str = "ethos-u", line: int | None = None
    ) -> EthosUSettings:
        """Settings from the policy's ``ethos-u:`` mapping; ``PolicyError`` listing every problem."""
        where = f"line {line}: " if line is not None else ""
        problems: list[str] = []

        def problem(name: str, message: str) -> None:
            problems.append(f"{where}{key}.{name}: {message}")

        unknown = sorted(set(raw) - _POLICY_KEYS)
        for name in unknown:
            problem(name, f"unknown setting; the ethos-u keys are {', '.join(sorted(_POLICY_KEYS))}")
        values: dict[str, Any] = {}
        for name in ("level", "accelerator", "system_config", "memory_mode", "optimise"):
            if name in raw:
                if isinstance(raw[name], str):
                    values[name] = raw[name]
                else:
                    problem(name, f"expected a string, got {raw[name]!r}")
        if "all_on_npu" in raw:
            if isinstance(raw["all_on_npu"], bool):
                values["all_on_npu"] = raw["all_on_npu"]
            else:
                problem("all_on_npu", f"expected true or false, got {raw['all_on_npu']!r}")
        parsers: dict[str, tuple[str, Any]] = {
            "timeout_s": ("timeout_s", _seconds),
            "sram": ("sram_max", parse_size),
            "flash": ("flash_max", parse_size),
            "latency": ("latency_max_ms", parse_duration_ms),
            "min_on_npu": ("min_on_npu", parse_accuracy),
        }
        for name, (attribute, parse) in parsers.items():
            if name in raw:
                try:
                    values[attribute] = parse(raw[name])
                except (TypeError, ValueError) as e:
                    problem(name, str(e))
        if "min_on_npu" in raw:
            values["min_on_npu_written"] = str(raw["min_on_npu"])
            if "min_on_npu" in values and not 0 <= values["min_on_npu"] <= 1:
                problem("min_on_npu", f"must be between 0% and 100%, got {raw['min_on_npu']!r}")
        base = raw.get("vs_base")
        if base is not None:
            values["vs_base"] = _parse_vs_base(base, problem)
        if problems:
            raise PolicyError(problems)
        try:
            settings = cls(**values)
        except ValueError as e:
            raise PolicyError([f"{where}{key}: {p}" for p in str(e).split("; ")]) from e
        try:
            config = settings.config_problems()
        except VelaError as e:
            config = [str(e)]
        if config:
            raise PolicyError([f"{where}{key}.{p}" for p in config])
        return settings


_POLICY_KEYS = {
    "level",
    "accelerator",
    "system_config",
    "memory_mode",
    "optimise",
    "timeout_s",
    "sram",
    "flash",
    "latency",
    "all_on_npu",
    "min_on_npu",
    "vs_base",
}


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number of seconds, got {value!r}")
    return float(value)


def _parse_vs_base(raw: object, problem: Any) -> VsBase:
    if not isinstance(raw, Mapping):
        problem("vs_base", f"expected a mapping of sram / flash / latency, got {raw!r}")
        return VsBase()
    changes: dict[str, Change] = {}
    for name, value in raw.items():
        quantity = {"sram": "size", "flash": "size", "latency": "latency"}.get(str(name))
        if quantity is None:
            problem(f"vs_base.{name}", "unknown metric; vs_base takes sram, flash and latency")
            continue
        try:
            changes[str(name)] = parse_change(value, quantity)
        except (TypeError, ValueError) as e:
            problem(f"vs_base.{name}", str(e))
    return VsBase(**changes)


# --- the report -------------------------------------------------------------------------------


def build_report(
    settings: EthosUSettings,
    source: TfliteModel,
    compiled: TfliteModel,
    summary: _vela.VelaSummary,
    *,
    vela_version: str,
    flash_bytes: int,
    warnings: tuple[_vela.VelaWarning, ...],
) -> EthosUReport:
    """Which source ops Vela left on the CPU, with its reasons.

    Placement comes from the compiled model (the ops TFLite Micro will run), not from Vela's
    printed warnings: those hold tensor names from the model, which a hostile file could shape
    into fake lines, so they only supply reason texts.
    """
    notes: list[str] = []
    if source.subgraphs > 1:
        notes.append(f"the model has {source.subgraphs} subgraphs; ops are counted in the first only")
    by_key: dict[tuple[str, str], list[int]] = {}
    for op in source.operators:
        by_key.setdefault((op.op, _output_name(source, op.outputs)), []).append(op.index)
    by_tensor: dict[str, list[_vela.VelaWarning]] = {}
    for w in warnings:
        by_tensor.setdefault(w.tensor, []).append(w)
    cpu: list[CpuOp] = []
    partitions = 0
    for op in compiled.operators:
        if op.op == "CUSTOM" and op.custom_code == _vela.CUSTOM_CODE:
            partitions += 1
            continue
        tensor = _output_name(compiled, op.outputs)
        indices = by_key.get((op.op, tensor))
        index = indices.pop(0) if indices else None
        said = by_tensor.get(tensor, [])
        # A fused activation is reported under its own name (RELU for a CONV_2D's output): same tensor.
        best = next((w for w in said if w.op == op.op), said[0] if said else None)
        reason = None
        if best is not None:
            reason = best.reason if best.op == op.op else f"{best.reason} (said of its fused {best.op})"
        cpu.append(CpuOp(index, op.op, tensor, reason, best.detail if best else ""))
    unmatched = [c for c in cpu if c.index is None]
    if unmatched:
        notes.append(
            f"{len(unmatched)} CPU op(s) in Vela's output are not in the source model "
            f"(first: {unmatched[0].op} '{unmatched[0].tensor}'); they count against the NPU share"
        )
    total = len(source.operators)
    return EthosUReport(
        accelerator=settings.accelerator,
        system_config=settings.system,
        memory_mode=settings.memory,
        optimise=settings.optimise,
        ops_total=total,
        ops_on_npu=max(0, total - len(cpu)),
        cpu_ops=tuple(cpu),
        npu_partitions=partitions,
        sram_bytes=summary.used("SRAM"),
        weights_area=summary.weights_area,
        weights_area_bytes=summary.used(summary.weights_area),
        memory_used=summary.memory_used,
        cycles_total=summary.cycles_total,
        cycles_npu=summary.cycles_npu,
        core_clock_hz=summary.core_clock_hz,
        inference_ms=summary.inference_s * 1000.0,
        macs=summary.macs,
        notes=tuple(notes),
        vela_version=vela_version,
        flash_bytes=flash_bytes,
    )


def _output_name(model: TfliteModel, outputs: tuple[int, ...]) -> str:
    tensor = model.tensor(outputs[0]) if outputs else None
    return tensor.name if tensor is not None else ""


def analyze(model: Path, settings: EthosUSettings) -> EthosUReport:
    """Compile ``model`` with Vela (a child process) and read what it wrote.

    ``InputError`` (naming the file) when the model is unusable; ``VelaError`` when Vela is
    missing, the settings do not fit its vela.ini, it timed out, or its output is not the
    layout EdgeGate reads.
    """
    model = Path(model)
    problems = settings.config_problems()
    if problems:
        raise VelaError("ethos-u settings do not fit Vela's vela.ini: " + "; ".join(problems))
    source = read_tflite(model)  # a damaged file fails here, before Vela's reader can crash on it
    if any(op.op == "CUSTOM" and op.custom_code == _vela.CUSTOM_CODE for op in source.operators):
        raise InputError(
            f"{model}: already compiled by Vela (it holds an 'ethos-u' custom op); give the model "
            "before compilation, Vela cannot compile its own output again."
        )
    version = _vela.vela_version()
    run = _vela.run_vela(
        model,
        accelerator=settings.accelerator,
        system_config=settings.system,
        memory_mode=settings.memory,
        optimise=settings.optimise,
        timeout_s=settings.timeout_s,
    )
    if run.returncode is None:
        raise VelaError(
            f"Vela timed out on {model.name}: no answer within {settings.timeout_s:g} s, so it was stopped "
            "(raise ethos-u.timeout_s for a large model)"
        )
    if run.returncode < 0:
        raise InputError(
            f"{model}: Vela {version} crashed ({death(run.returncode)}) reading this model: "
            f"{_vela.failure_text(run).rstrip('.')}. Vela's flatbuffer reader does not survive damaged "
            "files; re-export the model."
        )
    if run.returncode != 0:
        if "No module named" in run.stderr:
            raise VelaError(f"Vela could not start: {_vela.failure_text(run)}")
        raise InputError(f"{model}: Vela {version} refused the model: {_vela.failure_text(run)}")
    expected = f"{_vela.STEM}_summary_{settings.system}.csv"
    if run.compiled is None or run.summary_csv is None:
        missing = [
            n
            for n, v in ((f"{_vela.STEM}_vela.tflite", run.compiled), (expected, run.summary_csv))
            if v is None
        ]
        raise VelaError(
            f"Vela {version} exited without error but wrote no {' or '.join(missing)} in its --output-dir"
        )
    try:
        compiled = parse_tflite(run.compiled, Path(f"{model.name} (compiled by Vela)"))
    except InputError as e:
        raise VelaError(f"Vela's compiled model cannot be read: {e}") from e
    summary = _vela.parse_summary(run.summary_csv, expected)
    asked = "Ethos_" + settings.accelerator.removeprefix("ethos-").upper().replace("-", "_")
    said = (summary.accelerator, summary.system_config, summary.memory_mode)
    if said != (asked, settings.system, settings.memory):
        raise VelaError(
            f"Vela's {expected} describes {' / '.join(said)}, not the "
            f"{' / '.join((asked, settings.system, settings.memory))} EdgeGate asked for"
        )
    return build_report(
        settings,
        source,
        compiled,
        summary,
        vela_version=version,
        flash_bytes=len(run.compiled),
        warnings=_vela.parse_warnings(run.stdout),
    )


# --- checks -----------------------------------------------------------------------------------


def size_text(n: float) -> str:
    """Sizes as Vela prints them (KiB), since SRAM budgets are powers of two."""
    if n < 1024:
        return f"{n} B"
    if n < 1024**2:
        return f"{n / 1024:.2f} KiB"
    return f"{n / 1024**2:.2f} MiB"


def estimate_text(ms: float) -> str:
    return f"~{format_ms(ms)} (Vela estimate)"


def _cpu_text(r: EthosUReport, most: int = 3) -> str:
    parts = []
    for c in r.cpu_ops[:most]:
        where = f"#{c.index} " if c.index is not None else ""
        why = c.reason or "Vela printed no reason"
        parts.append(f"{where}{c.op} ('{c.tensor}'): {why}")
    more = f"; and {len(r.cpu_ops) - most} more" if len(r.cpu_ops) > most else ""
    return "; ".join(parts) + more


def ethos_u_checks(
    r: EthosUReport, base: EthosUReport | None, s: EthosUSettings, where: PolicyPlace
) -> tuple[Check, ...]:
    target = EthosUTarget(s)
    if target.when_broken() is None:
        return ()
    title = _vela.display_name(r.accelerator)
    on_npu = f"{r.ops_on_npu}/{r.ops_total} ops on the NPU"
    compiles = target.place(where, "compiles", "accelerator")
    if r.ops_on_npu == 0:
        first = f": {_cpu_text(r, 1)}" if r.cpu_ops else ""
        msg = f"Vela {r.vela_version} compiled the model for the {title}, but no op runs on the NPU{first}."
        checks = [compiles.broke(msg, "≥ 1 op on the NPU", on_npu)]
    else:
        msg = (
            f"compiled by Vela {r.vela_version} for the {title} ({r.system_config}, {r.memory_mode}): "
            f"{on_npu} in {r.npu_partitions} NPU partition(s)."
        )
        checks = [compiles.check(Status.PASS, msg, "compiles", on_npu)]
    if s.all_on_npu:
        p = target.place(where, "all_on_npu", "all_on_npu")
        on = f"{title} NPU"
        checks.append(
            all_on(
                p, r.ops_on_cpu, r.ops_total, on, limit="all ops on the NPU", value=on_npu, cause=_cpu_text(r)
            )
        )
    if s.min_on_npu is not None:
        p = target.place(where, "min_on_npu", "min_on_npu")
        written = s.min_on_npu_written or f"{s.min_on_npu * 100:g}%"
        cause = f"on the CPU: {_cpu_text(r)}"
        checks.append(share(p, r.ops_on_npu, r.ops_total, s.min_on_npu, written, "NPU", cause=cause))
    if s.sram_max is not None:
        p = target.place(where, "sram", "sram")
        checks.append(budget(p, "SRAM", r.sram_bytes, s.sram_max, size_text, detail=f" ({r.memory_mode})"))
    if s.flash_max is not None:
        p = target.place(where, "flash", "flash")
        uses = f" (Vela uses {size_text(r.weights_area_bytes)} of {r.weights_area})"
        checks.append(budget(p, "compiled model", r.flash_bytes, s.flash_max, size_text, detail=uses))
    if s.latency_max_ms is not None:
        checks.append(_latency(r, s.latency_max_ms, target.place(where, "latency", "latency")))
    checks += _vs_base(r, base, s.vs_base, target, where)
    return tuple(checks)


def _latency(r: EthosUReport, limit_ms: float, p: Place) -> Check:
    shown = estimate_text(r.inference_ms)
    clock = f"{r.cycles_total} cycles at {r.core_clock_hz / 1e6:g} MHz"
    what = "Vela's estimated inference time"
    check = budget(p, what, r.inference_ms, limit_ms, format_ms, detail=f" ({clock}, NPU part)")
    if check.status is Status.PASS and r.cpu_ops:
        # Vela does not estimate CPU ops: within budget on the NPU is not within budget on the device.
        return p.check(
            Status.WARN,
            f"{shown} for the NPU part ({clock}), within {format_ms(limit_ms)}, "
            f"but {r.ops_on_cpu} op(s) run on the CPU and are not in Vela's estimate: not a confirmed pass, "
            "measure on the device.",
            check.limit,
            shown,
        )
    return replace(check, value=shown)


def _vs_base(
    r: EthosUReport, base: EthosUReport | None, vs: VsBase, target: EthosUTarget, where: PolicyPlace
) -> list[Check]:
    checks = []
    metrics: tuple[tuple[str, str, Change | None, Callable[[EthosUReport], float]], ...] = (
        ("sram", "SRAM", vs.sram, lambda x: x.sram_bytes),
        ("flash", "compiled size", vs.flash, lambda x: x.flash_bytes),
        ("latency", "estimated inference time", vs.latency, lambda x: x.inference_ms),
    )
    missing = "no Ethos-U report for the base version (a new or unchanged model, or its base analysis failed)"
    for metric, label, change, get in metrics:
        if change is None:
            continue
        p = target.place(where, f"{metric}_vs_base", f"vs_base.{metric}")
        latency = metric == "latency"
        show: Callable[[float], str] = format_ms if latency else size_text
        npu_only = latency and (r.cpu_ops or (base is not None and base.cpu_ops))
        extra = " (Vela's estimates, NPU part only)" if npu_only else ""
        base_value = get(base) if base is not None else None
        checks.append(growth(p, label, get(r), base_value, change, show, missing=missing, detail=extra))
    return checks


# --- the target -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EthosUTarget(Target[EthosUReport]):
    """An Arm Ethos-U NPU, as Arm's Vela compiler sees it."""

    name: ClassVar[str] = "ethos-u"
    headline: ClassVar[str] = "compiles"
    settings: EthosUSettings

    # The interface's title is a class constant; this target's depends on its accelerator setting,
    # and every use reads it from an instance (the job names, the messages).
    @property
    def title(self) -> str:  # type: ignore[override]
        """The configured accelerator, as Arm writes it: "Ethos-U55-128"."""
        return _vela.display_name(self.settings.accelerator)

    def never_applies(self, conversion: Conversion) -> str | None:
        return _NEVER.get(conversion)

    def needs_base(self) -> bool:
        return self.settings.vs_base.any()

    def analyze(self, model: Path) -> EthosUReport:
        return analyze(model, self.settings)

    def when_broken(self) -> Status | None:
        return None if self.settings.level == "off" else Level(self.settings.level).status_when_broken()

    def checks(
        self, report: EthosUReport, base: EthosUReport | None, where: PolicyPlace
    ) -> tuple[Check, ...]:
        return ethos_u_checks(report, base, self.settings, where)

    def summary(self, report: EthosUReport) -> str:
        cpu = f" ({report.ops_on_cpu} on the CPU)" if report.cpu_ops else ""
        npu_only = ", NPU part only" if report.cpu_ops else ""
        return (
            f"{_vela.display_name(report.accelerator)}: "
            f"{report.ops_on_npu}/{report.ops_total} ops on the NPU{cpu}, "
            f"SRAM {size_text(report.sram_bytes)}, flash {size_text(report.flash_bytes)}, "
            f"~{format_ms(report.inference_ms)} (Vela estimate{npu_only})"
        )
