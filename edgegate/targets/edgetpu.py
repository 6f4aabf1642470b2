"""The Edge TPU target: ``EdgeTpuTarget`` (analysis in a worker) and its checks against ``edgetpu:``.

``edgetpu.compiles`` always (a compile that maps no op is not a pass), then the thresholds
the policy sets: ``edgetpu.all_mapped``, ``edgetpu.min_mapped``, ``edgetpu.max_partitions``.
A broken check is FAIL at ``level: error`` and WARN at ``level: warn``. Ops the static check
could not settle (``uncertain``) never turn into a silent pass: a check that passes only if
they map is WARN, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from edgegate.edgetpu.interface import EdgeTpuResult
from edgegate.edgetpu.select import why_never_compiles
from edgegate.policy.sections import EdgeTpuSettings
from edgegate.checks import Check
from edgegate.status import Level, Status
from edgegate.targets.interface import AS_IS, Conversion, PolicyPlace, Target


def _who(r: EdgeTpuResult) -> str:
    if r.analyzer == "static":
        return (
            f"static prediction, compiler {r.compiler_version.split()[0]} rules, runtime {r.runtime_version}"
        )
    if r.analyzer == "compiler":
        return f"edgetpu_compiler {r.compiler_version}, runtime {r.runtime_version}"
    return "already compiled model"


def _blocker(r: EdgeTpuResult) -> str:
    b = r.first_unmapped
    if b is None:
        return ""
    text = f"first op on the CPU: #{b.index} {b.op} (tensor '{b.tensor}'): {b.status}"
    text += f" — {b.reason}" if b.reason else ""
    return text + (f"; fix: {r.hint}" if r.hint else "")


def _pct(part: int, total: int) -> str:
    return f"{part / total * 100:.1f}%" if total else "0%"


def _worst_case_mapped(r: EdgeTpuResult) -> int:
    """Ops on the Edge TPU if the first uncertain op is not mapped (it and all after it go to the CPU)."""
    first = next((o for o in r.ops if o.uncertain), None)
    if first is None:
        return r.ops_on_tpu
    return sum(o.mapped for o in r.ops if o.index < first.index)


def _uncertain_text(r: EdgeTpuResult) -> str:
    first = next((o for o in r.ops if o.uncertain), None)
    where = f" (first: #{first.index} {first.op}: {first.reason})" if first else ""
    return f"{r.uncertain} op(s) depend on rules the file cannot settle{where}"


def edgetpu_checks(result: EdgeTpuResult, spec: EdgeTpuSettings, key: str, line: int | None) -> list[Check]:
    if spec.level == "off":
        return []
    broken = Level(spec.level).status_when_broken()
    r, who = result, _who(result)
    mapped = f"{r.ops_on_tpu}/{r.ops_total} ops mapped"
    common: dict[str, Any] = {"key": key, "line": line}
    checks: list[Check] = []

    if not r.compiles:
        fix = f" Fix: {r.hint}" if r.hint else ""
        checks.append(
            Check(
                "edgetpu.compiles",
                broken,
                f"does not compile for the Edge TPU ({who}): {r.rejection}.{fix}",
                "compiles",
                "rejected",
                **common,
            )
        )
        skipped = "not checked: the model does not compile for the Edge TPU."
        for wanted, name in (
            (spec.all_mapped, "edgetpu.all_mapped"),
            (spec.min_mapped is not None, "edgetpu.min_mapped"),
            (spec.max_partitions is not None, "edgetpu.max_partitions"),
        ):
            if wanted:
                checks.append(Check(name, Status.SKIP, skipped, **common))
        return checks

    if r.ops_on_tpu == 0:
        checks.append(
            Check(
                "edgetpu.compiles",
                broken,
                f"compiles, but no op runs on the Edge TPU ({who}); {_blocker(r)}.",
                "≥ 1 op mapped",
                mapped,
                **common,
            )
        )
    else:
        extra = f" {_uncertain_text(r)}: confirm with edgetpu_compiler." if r.uncertain else ""
        checks.append(
            Check(
                "edgetpu.compiles",
                Status.PASS,
                f"compiles ({who}): {r.ops_on_tpu}/{r.ops_total} ops "
                f"on the Edge TPU in {r.partitions} partition(s).{extra}",
                "compiles",
                mapped,
                **common,
            )
        )

    if spec.all_mapped:
        if r.ops_on_cpu:
            checks.append(
                Check(
                    "edgetpu.all_mapped",
                    broken,
                    f"{r.ops_on_cpu} of {r.ops_total} ops run on the CPU; {_blocker(r)}.",
                    "all ops mapped",
                    mapped,
                    **common,
                )
            )
        elif r.uncertain:
            checks.append(
                Check(
                    "edgetpu.all_mapped",
                    Status.WARN,
                    f"all {r.ops_total} ops are predicted on the Edge "
                    f"TPU, but {_uncertain_text(r)}: not a confirmed pass, run edgetpu_compiler.",
                    "all ops mapped",
                    mapped,
                    **common,
                )
            )
        else:
            checks.append(
                Check(
                    "edgetpu.all_mapped",
                    Status.PASS,
                    f"all {r.ops_total} ops run on the Edge TPU ({who}).",
                    "all ops mapped",
                    mapped,
                    **common,
                )
            )

    if spec.min_mapped is not None:
        checks.append(_min_mapped(r, spec, spec.min_mapped, broken, who, common))

    if spec.max_partitions is not None:
        ok = r.partitions <= spec.max_partitions
        msg = (
            f"{r.partitions} Edge TPU partition(s), within the limit of {spec.max_partitions}."
            if ok
            else f"{r.partitions} Edge TPU partitions, more than the {spec.max_partitions} allowed "
            "(each partition boundary is a CPU round trip)."
        )
        checks.append(
            Check(
                "edgetpu.max_partitions",
                Status.PASS if ok else broken,
                msg,
                f"≤ {spec.max_partitions}",
                str(r.partitions),
                **common,
            )
        )
    return checks


def _min_mapped(
    r: EdgeTpuResult,
    spec: EdgeTpuSettings,
    threshold: float,
    broken: Status,
    who: str,
    common: dict[str, Any],
) -> Check:
    limit = f"≥ {spec.min_mapped_written}"
    if r.analyzer == "compiled-model":
        return Check(
            "edgetpu.min_mapped",
            Status.SKIP,
            "not checked: a compiled model does not record how many source ops its Edge TPU partitions hold.",
            limit,
            None,
            **common,
        )
    share = r.mapped_fraction
    shown = f"{_pct(r.ops_on_tpu, r.ops_total)} ({r.ops_on_tpu}/{r.ops_total})"
    if share + 1e-12 < threshold:
        return Check(
            "edgetpu.min_mapped",
            broken,
            f"{shown} of ops run on the Edge TPU, below the {spec.min_mapped_written} minimum; "
            f"{_blocker(r)}.",
            limit,
            shown,
            **common,
        )
    worst = _worst_case_mapped(r)
    if r.uncertain and r.ops_total and worst / r.ops_total + 1e-12 < threshold:
        return Check(
            "edgetpu.min_mapped",
            Status.WARN,
            f"{shown} of ops are predicted on the Edge TPU, but only "
            f"{_pct(worst, r.ops_total)} if the first uncertain op is not mapped: {_uncertain_text(r)}; "
            "run edgetpu_compiler to confirm.",
            limit,
            shown,
            **common,
        )
    return Check(
        "edgetpu.min_mapped",
        Status.PASS,
        f"{shown} of ops run on the Edge TPU ({who}), at least {spec.min_mapped_written}.",
        limit,
        shown,
        **common,
    )


@dataclass(frozen=True)
class EdgeTpuTarget(Target[EdgeTpuResult]):
    """The Coral Edge TPU: the real ``edgetpu_compiler`` where installed, the static check elsewhere."""

    name: ClassVar[str] = "edgetpu"
    title: ClassVar[str] = "Edge TPU"
    settings: EdgeTpuSettings
    root: Path | None = None  # the repository: a relative compiler path is relative to it

    def never_applies(self, conversion: Conversion) -> str | None:
        return None if conversion == AS_IS else why_never_compiles(conversion)

    def analyze(self, model: Path) -> EdgeTpuResult:
        from edgegate.edgetpu.select import analyze

        return analyze(model, self.settings, self.root)

    def checks(
        self, report: EdgeTpuResult, base: EdgeTpuResult | None, where: PolicyPlace
    ) -> tuple[Check, ...]:
        return tuple(edgetpu_checks(report, self.settings, where.key, where.line))

    def skipped(self, reason: str, where: PolicyPlace) -> tuple[Check, ...]:
        return (
            Check(
                "edgetpu.compiles",
                Status.SKIP,
                f"not checked for the Edge TPU: {reason}",
                key=where.key,
                line=where.line,
            ),
        )

    def failed(self, error: str, where: PolicyPlace) -> tuple[Check, ...]:
        status = Level(self.settings.level).status_when_broken()
        return (
            Check(
                "edgetpu.compiles", status, f"Edge TPU check failed: {error}", key=where.key, line=where.line
            ),
        )

    def summary(self, report: EdgeTpuResult) -> str:
        if not report.compiles:
            return f"Edge TPU: does not compile ({report.rejection})"
        return (
            f"Edge TPU: {report.ops_on_tpu}/{report.ops_total} ops mapped, "
            f"{report.partitions} partition(s)"
            + (f", {report.uncertain} uncertain" if report.uncertain else "")
        )
