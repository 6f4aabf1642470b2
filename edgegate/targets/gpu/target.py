"""The GPU delegate target: ``GpuTarget`` (analysis in a worker) and its checks against ``gpu:``.

Two questions about one ``.tflite``:

1. Which ops the LiteRT GPU delegate takes and which fall back to the CPU, and why. The
   compatibility checker that ships with TensorFlow answers when its build has the GPU rules
   compiled in (a canary model tells, see ``gpu_analyzer``); otherwise EdgeGate's port of the
   delegate's published rules does, and ``GpuReport.checker`` says which one spoke.
2. fp16 risk: the delegate computes in float16 unless told otherwise, so an activation above
   65,504 becomes infinity on the device. Observed on data: the model runs on the CPU with
   every tensor kept, and each op's largest output magnitude is compared with that limit.

Checks: ``gpu.delegated`` always (no op on the GPU is broken), then the budgets the policy
sets: ``gpu.all_delegated``, ``gpu.min_delegated``, ``gpu.vs_base`` and ``gpu.fp16_overflow``.
A broken delegation budget is FAIL at ``level: error`` and WARN at ``level: warn``;
``fp16_overflow`` has its own level because it depends on the data seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from edgegate.checks import Check, all_on, percent, share, share_text, within
from edgegate.repo_paths import resolves_inside
from edgegate.status import Level, Status
from edgegate.conversions.interface import Produces
from edgegate.targets.interface import PolicyPlace, Target
from edgegate.target_reports.gpu import Fp16Risk, GpuReport
from edgegate.targets.gpu.settings import GpuSettings

if TYPE_CHECKING:
    from edgegate.policy.sections import Dataset


def _first_fallback(r: GpuReport) -> str:
    if not r.fallbacks:
        return ""
    f = r.fallbacks[0]
    more = f" (+{len(r.fallbacks) - 1} more)" if len(r.fallbacks) > 1 else ""
    return f"first on the CPU: #{f.index} {f.op}: {f.reason}{more}"


def _risks(risks: tuple[Fp16Risk, ...], limit: int = 3) -> str:
    shown = ", ".join(f"#{r.index} {r.op} '{r.tensor}' {r.max_abs:.4g}" for r in risks[:limit])
    return shown + (f" (+{len(risks) - limit} more)" if len(risks) > limit else "")


def gpu_checks(
    r: GpuReport, base: GpuReport | None, spec: GpuSettings, where: PolicyPlace
) -> tuple[Check, ...]:
    common: dict[str, Any] = {"key": where.key, "line": where.line, "target": GpuTarget.name}
    checks: list[Check] = []
    if spec.level != "off":
        broken = Level(spec.level).status_when_broken()
        shown = f"{r.ops_delegated}/{r.ops_total} ops delegated"
        first = _first_fallback(r)
        if r.ops_delegated == 0:
            checks.append(
                Check(
                    "gpu.delegated",
                    broken,
                    f"no op runs on the GPU delegate ({r.checker}); {_first_fallback(r) or 'the model has no op'}.",
                    "≥ 1 op delegated",
                    shown,
                    **common,
                )
            )
        else:
            rest = f"; {_first_fallback(r)}" if r.fallbacks else ""
            checks.append(
                Check(
                    "gpu.delegated",
                    Status.PASS,
                    f"{shown} ({percent(r.ops_delegated, r.ops_total)}, {r.checker}){rest}.",
                    "≥ 1 op delegated",
                    shown,
                    **common,
                )
            )
        if spec.all_delegated:
            p = GpuTarget(spec).place(where, "all_delegated")
            off = len(r.fallbacks)
            checks.append(
                all_on(
                    p, off, r.ops_total, "GPU delegate", limit="all ops delegated", value=shown, cause=first
                )
            )
        if spec.min_delegated is not None:
            p = GpuTarget(spec).place(where, "min_delegated")
            written = spec.min_delegated_written or f"{spec.min_delegated * 100:g}%"
            checks.append(
                share(
                    p, r.ops_delegated, r.ops_total, spec.min_delegated, written, "GPU delegate", cause=first
                )
            )
        if spec.vs_base:
            checks.append(_vs_base(r, base, broken, common))
    if spec.fp16_overflow != "off":
        checks.append(_fp16_check(r, Level(spec.fp16_overflow).status_when_broken(), common))
    return tuple(checks)


def _vs_base(r: GpuReport, base: GpuReport | None, broken: Status, common: dict[str, Any]) -> Check:
    now = share_text(r.ops_delegated, r.ops_total)
    if base is None:
        return Check(
            "gpu.vs_base",
            Status.SKIP,
            "not checked: no base version of this candidate was analyzed.",
            "≥ base",
            now,
            **common,
        )
    before = share_text(base.ops_delegated, base.ops_total)
    if not within(base.delegated_fraction, r.delegated_fraction):
        return Check(
            "gpu.vs_base",
            broken,
            f"the share of ops on the GPU delegate fell from {before} on the base to {now}; "
            f"{_first_fallback(r)}.",
            f"≥ {before}",
            now,
            **common,
        )
    return Check(
        "gpu.vs_base",
        Status.PASS,
        f"{now} of ops on the GPU delegate, base {before}.",
        f"≥ {before}",
        now,
        **common,
    )


def _fp16_check(r: GpuReport, broken: Status, common: dict[str, Any]) -> Check:
    if r.samples_used == 0:  # the observation could not run: say so, never a silent pass
        return Check(
            "gpu.fp16_overflow",
            Status.WARN,
            f"float16 range {r.data_source}; the fp16 risk is unknown.",
            "≤ 65,504",
            None,
            **common,
        )
    seen = f"{len(r.fp16_overflows)} op(s) over 65,504"
    near = f"; near the limit (within 2×): {_risks(r.fp16_near)}" if r.fp16_near else ""
    if r.fp16_overflows:
        return Check(
            "gpu.fp16_overflow",
            broken,
            f"{seen} on {r.data_source}: float16 (the delegate's default precision) turns them into "
            f"infinity: {_risks(r.fp16_overflows)}{near}. Fix: scale the activations down "
            "(normalize inputs, add a normalization layer), or run the delegate in float32.",
            "≤ 65,504",
            f"{max(x.max_abs for x in r.fp16_overflows):.4g}",
            **common,
        )
    return Check(
        "gpu.fp16_overflow",
        Status.PASS,
        f"no op output over 65,504 on {r.data_source}{near}. Only the data seen is covered.",
        "≤ 65,504",
        f"{max((x.max_abs for x in r.fp16_near), default=0.0):.4g}" if r.fp16_near else None,
        **common,
    )


@dataclass(frozen=True)
class GpuTarget(Target[GpuReport]):
    """The LiteRT GPU delegate (OpenCL / OpenGL / Metal backends), checked offline on the CPU."""

    name: ClassVar[str] = "gpu"
    title: ClassVar[str] = "GPU delegate"
    headline: ClassVar[str] = "delegated"
    settings: GpuSettings
    data: Dataset | None = None  # the eval data the fp16 observation reads, through datasets/
    repository: str | None = None  # where data's paths resolve (a str: the cache hashes Path fields)
    samples: Path | None = None  # data's file or folder: a cached analysis depends on its bytes

    @classmethod
    def observing(cls, settings: GpuSettings, data: Dataset | None, root: Path | None) -> GpuTarget:
        """The target whose fp16 observation runs on ``data`` (its paths relative to ``root``);
        without data (or root), on random inputs."""
        if data is None or root is None:
            return cls(settings)
        written = data.x or data.path or data.images
        inside = written is not None and resolves_inside(root, written)
        return cls(settings, data, str(root), root / written if inside and written else None)

    def never_runs(self, produced: Produces) -> str | None:
        if produced.int16_activations:
            # Read in the delegate's source (delegates/gpu/common/model_builder.cc,
            # IsAllAllowedTensors): runtime tensors must be float32/float16, or int8/uint8 when
            # quantized models are allowed; int16 activations are never taken.
            return (
                "the GPU delegate takes float32, float16, int8 and uint8 tensors only: every op on "
                "int16 activations falls back to the CPU"
            )
        return None

    def needs_base(self) -> bool:
        return self.settings.vs_base

    def analyze(self, model: Path) -> GpuReport:
        from edgegate.targets.gpu.analyzer import analyze

        root = Path(self.repository) if self.repository is not None else None
        return analyze(model, self.settings, self.data, root)

    def checks(self, report: GpuReport, base: GpuReport | None, where: PolicyPlace) -> tuple[Check, ...]:
        return gpu_checks(report, base, self.settings, where)

    def when_broken(self) -> Status | None:
        # A failed analysis breaks the delegation budgets, or (with those off) the fp16 check.
        level = self.settings.level if self.settings.level != "off" else self.settings.fp16_overflow
        return Level(level).status_when_broken() if level != "off" else None

    def summary(self, report: GpuReport) -> str:
        text = f"GPU: {report.ops_delegated}/{report.ops_total} ops delegated"
        if self.settings.fp16_overflow != "off":
            n = len(report.fp16_overflows)
            text += f"; {n} fp16-overflow risk{'' if n == 1 else 's'}"
        return text
