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
from typing import ClassVar

from edgegate.targets.edgetpu.interface import EdgeTpuResult
from edgegate.targets.edgetpu.select import never_compiles
from edgegate.policy.sections import EdgeTpuSettings
from edgegate.checks import Check, Place, all_on, budget, percent, share, within
from edgegate.status import Level, Status
from edgegate.conversions.interface import Produces
from edgegate.targets.interface import PolicyPlace, Target


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
    # A clause inside a sentence: the hint's own full stop would end it twice.
    return text + (f"; fix: {r.hint.rstrip('.')}" if r.hint else "")


def _sentence(text: str) -> str:
    """``text`` ended by one full stop: the hints and rejections it quotes end with their own."""
    return text if text.endswith(".") else text + "."


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


def edgetpu_checks(result: EdgeTpuResult, spec: EdgeTpuSettings, where: PolicyPlace) -> list[Check]:
    if spec.level == "off":
        return []
    target = EdgeTpuTarget(spec)
    r, who = result, _who(result)
    compiles = target.place(where, "compiles")
    if not r.compiles:
        fix = f" Fix: {r.hint}" if r.hint else ""
        rejected = compiles.broke(
            f"does not compile for the Edge TPU ({who}): {_sentence(r.rejection or '')}{fix}",
            "compiles",
            "rejected",
        )
        skipped = "not checked: the model does not compile for the Edge TPU."
        return [rejected] + [target.place(where, n).skip(skipped) for n in _budgets(spec)]
    mapped = f"{r.ops_on_tpu}/{r.ops_total} ops mapped"
    if r.ops_on_tpu == 0:
        msg = _sentence(f"compiles, but no op runs on the Edge TPU ({who}); {_blocker(r)}")
        checks = [compiles.broke(msg, "≥ 1 op mapped", mapped)]
    else:
        extra = f" {_uncertain_text(r)}: confirm with edgetpu_compiler." if r.uncertain else ""
        msg = f"compiles ({who}): {r.ops_on_tpu}/{r.ops_total} ops on the Edge TPU in {r.partitions} partition(s).{extra}"
        checks = [compiles.check(Status.PASS, msg, "compiles", mapped)]
    if spec.all_mapped:
        checks.append(_all_mapped(r, target.place(where, "all_mapped"), who, mapped))
    if spec.min_mapped is not None:
        checks.append(_min_mapped(r, spec, spec.min_mapped, target.place(where, "min_mapped"), who))
    if spec.max_partitions is not None:
        p = target.place(where, "max_partitions")
        cause = "each partition boundary is a CPU round trip"
        checks.append(budget(p, "Edge TPU partitions", r.partitions, spec.max_partitions, str, cause=cause))
    return checks


def _budgets(spec: EdgeTpuSettings) -> list[str]:
    """The thresholds the policy sets, by check name (after ``compiles``)."""
    wanted = (
        (spec.all_mapped, "all_mapped"),
        (spec.min_mapped is not None, "min_mapped"),
        (spec.max_partitions is not None, "max_partitions"),
    )
    return [name for on, name in wanted if on]


def _all_mapped(r: EdgeTpuResult, p: Place, who: str, mapped: str) -> Check:
    if r.uncertain and not r.ops_on_cpu:
        return p.check(
            Status.WARN,
            f"all {r.ops_total} ops are predicted on the Edge "
            f"TPU, but {_uncertain_text(r)}: not a confirmed pass, run edgetpu_compiler.",
            "all ops mapped",
            mapped,
        )
    on = f"Edge TPU ({who})"
    return all_on(p, r.ops_on_cpu, r.ops_total, on, limit="all ops mapped", value=mapped, cause=_blocker(r))


def _min_mapped(r: EdgeTpuResult, spec: EdgeTpuSettings, threshold: float, p: Place, who: str) -> Check:
    written = spec.min_mapped_written or f"{threshold * 100:g}%"
    if r.analyzer == "compiled-model":
        return p.skip(
            "not checked: a compiled model does not record how many source ops its Edge TPU partitions hold.",
            f"≥ {written}",
        )
    check = share(p, r.ops_on_tpu, r.ops_total, threshold, written, f"Edge TPU ({who})", cause=_blocker(r))
    worst = _worst_case_mapped(r)
    if check.status is Status.PASS and r.uncertain and not within(threshold, worst / r.ops_total):
        return p.check(
            Status.WARN,
            f"{check.value} of ops are predicted on the Edge TPU, but only "
            f"{percent(worst, r.ops_total)} if the first uncertain op is not mapped: {_uncertain_text(r)}; "
            "run edgetpu_compiler to confirm.",
            check.limit,
            check.value,
        )
    return check


@dataclass(frozen=True)
class EdgeTpuTarget(Target[EdgeTpuResult]):
    """The Coral Edge TPU: the real ``edgetpu_compiler`` where installed, the static check elsewhere."""

    name: ClassVar[str] = "edgetpu"
    title: ClassVar[str] = "Edge TPU"
    headline: ClassVar[str] = "compiles"
    settings: EdgeTpuSettings
    root: Path | None = None  # the repository: a relative compiler path is relative to it

    def never_runs(self, produced: Produces) -> str | None:
        return never_compiles(produced)

    def read_files(self) -> dict[str, Path | None]:
        """The compiler it runs, found through ``root`` (None: the static rules)."""
        from edgegate.targets.edgetpu.select import find_compiler

        return {"root": find_compiler(self.settings.compiler, self.root)}

    def analyze(self, model: Path) -> EdgeTpuResult:
        from edgegate.targets.edgetpu.select import analyze

        return analyze(model, self.settings, self.root)

    def checks(
        self, report: EdgeTpuResult, base: EdgeTpuResult | None, where: PolicyPlace
    ) -> tuple[Check, ...]:
        return tuple(edgetpu_checks(report, self.settings, where))

    def when_broken(self) -> Status | None:
        return None if self.settings.level == "off" else Level(self.settings.level).status_when_broken()

    def summary(self, report: EdgeTpuResult) -> str:
        if not report.compiles:
            return "Edge TPU: does not compile"  # why: its compiles check says, once
        return (
            f"Edge TPU: {report.ops_on_tpu}/{report.ops_total} ops mapped, "
            f"{report.partitions} partition(s)"
            + (f", {report.uncertain} uncertain" if report.uncertain else "")
        )
