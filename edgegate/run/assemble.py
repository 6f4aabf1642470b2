"""Turning a model's figures into results: each candidate result built once, from figures only.

Nothing is measured here: sizes, accuracies, latencies and target reports all came back from
jobs. This applies the budgets and the targets' checks, fills in the accuracy drop vs the
float reference (with the paired intervals of the accuracy changes, from the per-sample scores,
and of the latency changes, from the rounds timed together) and the base version's figures, and
picks the candidate that ships.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from edgegate.conversions import produced_by
from edgegate.model_diff.compare import diff_files, head_ops
from edgegate.model_diff.interface import HeadOps, ModelDiff
from edgegate.metrics.paired import NotPaired, paired_change
from edgegate.metrics.paired_latency import latency_change
from edgegate.policy.sections import Recipe
from edgegate.results import Accuracy, BaseFigures, CandidateResult, ModelResult
from edgegate.results.model import LatencyChanges, PairedInterval, TargetReports
from edgegate.run.figures import CandidateFigures, ModelFigures
from edgegate.run.jobs import AS_IS
from edgegate.run.keep_float import breaks_accuracy, listed_kept_float
from edgegate.status import Status
from edgegate.verdicts.budgets import candidate_checks, candidate_status
from edgegate.verdicts.contract import contract_checks
from edgegate.verdicts.deploy import choose
from edgegate.checks import Check

if TYPE_CHECKING:
    from edgegate.measurements.interface import LatencyFigures

DYNAMIC_NOTE = (
    "dynamic-range quantization left most weights in float (tensors under 1024 elements are "
    "not quantized); int8 shrinks small models"
)

UNSTABLE_MEMORY_NOTE = (
    "memory still grew at invocation {invokes}: the figure is a lower bound (a model whose memory "
    "grows with every run)"
)


def judged_labels(m: ModelFigures) -> list[str]:
    """The candidates that are gated: every one built, the float reference only if the policy lists it."""
    reference = m.plan.reference_label
    listed = {r.label for r in m.plan.policy.recipes} if not m.plan.policy.auto else set()
    # A .tflite source is its own float reference and still a candidate that may ship.
    return [label for label in m.head if label != reference or label in listed or label == AS_IS]


def judge(m: ModelFigures, *, latency_measured: bool) -> tuple[CandidateResult, ...]:
    return tuple(candidate_result(m, label, latency_measured=latency_measured) for label in judged_labels(m))


def candidate_result(m: ModelFigures, label: str, *, latency_measured: bool) -> CandidateResult:
    c = m.head[label]
    size = c.built.size if c.built is not None and c.error is None else None
    result = CandidateResult(
        recipe=label,
        spec=c.recipe.recipe if c.recipe is not None else AS_IS,
        status=Status.PASS,
        size_bytes=size.bytes if size else None,
        gzip_bytes=size.gzip_bytes if size else None,
        latency_ms=c.latency.median_ms if c.latency else None,
        latency_p90_ms=c.latency.p90_ms if c.latency else None,
        latency_changes=_latency_changes(m, label, c),
        accuracy=_with_changes(m, label, c),
        base=_base_figures(m, label),
        error=c.error,
        skip_reason=c.skip_reason if c.error is None else None,
        not_runnable=c.not_runnable,
        artifact=str(c.path) if c.path else None,
        targets=_target_reports(m, c),
        target_lines=_target_lines(m, c),
        training=c.built.training if c.built else None,
        notes=c.built.notes if c.built else (),
        kept_float=(m.keep_float.kept(label) if m.keep_float else None) or listed_kept_float(c.recipe),
        memory_bytes=c.memory.peak_bytes if c.memory else None,
        memory_error=c.memory_error,
        diff=_diff(m, label, c),
    )
    if result.error is None and result.skip_reason is None:
        checks = candidate_checks(result, m.plan.policy.budgets, latency_measured=latency_measured)
        checks += _target_checks(m, label, c) + _contract_checks(m, label, c, result.diff)
        result = replace(result, checks=checks, notes=result.notes + _notes(m, c))
    return replace(result, status=candidate_status(result))


def _with_changes(m: ModelFigures, label: str, c: CandidateFigures) -> Accuracy | None:
    """The candidate's accuracy, with its worsening vs the float reference where both were measured,
    and the paired intervals of its changes vs the reference and vs the base version."""
    accuracy = c.accuracy
    ref = m.head.get(m.plan.reference_label) if m.plan.reference_label else None
    if accuracy is None or accuracy.value is None:
        return accuracy
    if ref is not None and ref.accuracy is not None and ref.accuracy.value is not None:
        worse = ref.accuracy.value - accuracy.value
        accuracy = replace(accuracy, drop=worse if accuracy.higher_is_better else -worse)
        if ref is not c:  # the float model itself: its change is exactly 0, nothing to estimate
            interval, why = _paired(c, ref, accuracy.higher_is_better)
            accuracy = replace(accuracy, drop_interval=interval, drop_unpaired=why)
    base = m.base.get(label) if m.plan.base is not None else None
    # ``base is c`` when the base holds the same bytes (its figures are head's): a change of exactly 0.
    if base is not None and base is not c and base.accuracy is not None and base.accuracy.value is not None:
        interval, why = _paired(c, base, accuracy.higher_is_better)
        accuracy = replace(accuracy, base_interval=interval, base_unpaired=why)
    return accuracy


def _paired(
    c: CandidateFigures, other: CandidateFigures, higher_is_better: bool
) -> tuple[PairedInterval | None, str | None]:
    """The interval of ``c``'s worsening vs ``other`` on the same samples, or why there is none."""
    if c.scores is None or other.scores is None:
        return None, "the evaluation kept no per-sample scores"
    try:
        return paired_change(c.scores, other.scores, higher_is_better=higher_is_better), None
    except NotPaired as e:
        return None, str(e)


def _latency_changes(m: ModelFigures, label: str, c: CandidateFigures) -> LatencyChanges | None:
    """The intervals of the candidate's latency changes vs the float reference and vs its base
    version, each from the rounds they were timed in together (None: nothing to compare with)."""
    if c.latency is None:
        return None
    ref = m.reference_latency.get(c.latency.session)
    is_reference = label == m.plan.reference_label  # the float model itself: its change is exactly 0
    vs_float, float_unpaired = _paired_latency(c.latency, None if is_reference else ref)
    base = m.base.get(label) if m.plan.base is not None else None
    # ``base is c`` when the base holds the same bytes (its figures are head's): a change of exactly 0.
    timed_base = base.latency if base is not None and base is not c else None
    vs_base, base_unpaired = _paired_latency(c.latency, timed_base)
    if vs_float is None and vs_base is None and float_unpaired is None and base_unpaired is None:
        return None
    return LatencyChanges(vs_float, vs_base, float_unpaired, base_unpaired)


def _paired_latency(
    timed: LatencyFigures, other: LatencyFigures | None
) -> tuple[PairedInterval | None, str | None]:
    """The interval of how much slower ``timed`` is than ``other``, or why there is none (None, None:
    there is no ``other``)."""
    if other is None:
        return None, None
    if timed.session != other.session:
        return None, "the two were timed in different sessions, so their rounds do not pair up"
    try:
        return latency_change(timed.rounds_ms, other.rounds_ms), None
    except NotPaired as e:
        return None, str(e)


def _base_figures(m: ModelFigures, label: str) -> BaseFigures | None:
    if m.plan.base is None:
        if m.plan.base_error is not None:
            return BaseFigures(error=f"it could not be read: {m.plan.base_error}")
        return None
    b = m.base.get(label)
    if b is None:
        return BaseFigures(error="the base version has no such candidate")
    size = b.built.size if b.built is not None and b.error is None else None
    return BaseFigures(
        size_bytes=size.bytes if size else None,
        gzip_bytes=size.gzip_bytes if size else None,
        latency_ms=b.latency.median_ms if b.latency else None,
        accuracy=b.accuracy.value if b.accuracy else None,
        error=b.error or b.skip_reason,
        memory_bytes=b.memory.peak_bytes if b.memory else None,
        memory_error=b.memory_error,
    )


def _missing_base(m: ModelFigures, label: str) -> str | None:
    """Why this candidate has no base version to compare with; None when it has one."""
    if m.plan.base is None:
        if m.plan.base_error is not None:
            return f"the base version could not be read: {m.plan.base_error}"
        if m.plan.change == "added":
            return "the model is new in this change"
        return "no base to compare with" if m.plan.base_path is None else "no base version"
    b = m.base.get(label)
    if b is None:
        return "the base version has no such candidate"
    if b.path is None or b.error is not None:
        return f"the base version's candidate was not built: {b.error or b.skip_reason or 'no file'}"
    return None


def _diff(m: ModelFigures, label: str, c: CandidateFigures) -> ModelDiff | None:
    """The candidate vs the base version's (docs/model-diff.md); read once per run, in the parent:
    a bounded struct read of two files the run built or checked out, nothing of them runs."""
    if label in m.diffs:
        return m.diffs[label]
    b = m.base.get(label)
    if c.path is None or c.error is not None or b is None or _missing_base(m, label) is not None:
        return None
    assert b.path is not None
    m.diffs[label] = diff_files(b.path, c.path, shown=m.plan.shown("head", label))
    return m.diffs[label]


def _contract_checks(
    m: ModelFigures, label: str, c: CandidateFigures, diff: ModelDiff | None
) -> tuple[Check, ...]:
    contract = m.plan.policy.contract
    if contract is None:
        return ()
    head = HeadOps()
    wants_kinds = contract.ops is not None and contract.ops.allowed is not None
    if diff is None and wants_kinds and c.path is not None:
        head = head_ops(c.path, shown=m.plan.shown("head", label))
    return contract_checks(contract, diff, head, _missing_base(m, label))


def _target_checks(m: ModelFigures, label: str, c: CandidateFigures) -> tuple[Check, ...]:
    checks: list[Check] = []
    conversion = c.conversion
    for placed in m.plan.targets:
        target, place = placed.target, placed.place
        never = target.never_applies(conversion)
        if never:
            checks += target.skipped(never, place)
        elif target.name in c.targets:
            base = m.base.get(label)
            base_report = base.targets.get(target.name) if base is not None else None
            checks += target.checks(c.targets[target.name], base_report, place)
        elif target.name in c.target_errors:
            checks += target.failed(c.target_errors[target.name], place)
    return tuple(checks)


def _target_reports(m: ModelFigures, c: CandidateFigures) -> TargetReports:
    """Each target's report, in the plan's order (the registry's)."""
    names = [placed.target.name for placed in m.plan.targets]
    return TargetReports((name, c.targets[name]) for name in names if name in c.targets)


def _target_lines(m: ModelFigures, c: CandidateFigures) -> tuple[str, ...]:
    """One line per target for the report: its summary, or why it has none."""
    lines = []
    for placed in m.plan.targets:
        target = placed.target
        if target.name in c.targets:
            lines.append(target.summary(c.targets[target.name]))
        elif target.name in c.target_errors:
            lines.append(f"{target.title}: analysis failed: {c.target_errors[target.name]}")
    return tuple(lines)


def _hybrid_only(recipe: Recipe) -> bool:
    """A conversion alone whose weights stay partly float around float math (dynamic range): small
    weights are left unquantized, so its candidate may be barely smaller than the reference."""
    produced = produced_by(recipe.conversion)
    plain = not recipe.trainings and not recipe.transforms
    return (
        plain and produced.quantized_weights and "float32" in produced.weights and not produced.integer_only
    )


def _notes(m: ModelFigures, c: CandidateFigures) -> tuple[str, ...]:
    return _memory_notes(c) + _dynamic_notes(m, c)


def _memory_notes(c: CandidateFigures) -> tuple[str, ...]:
    if c.memory is None or c.memory.stable:
        return ()
    return (UNSTABLE_MEMORY_NOTE.format(invokes=c.memory.invokes),)


def _dynamic_notes(m: ModelFigures, c: CandidateFigures) -> tuple[str, ...]:
    ref = m.head.get(m.plan.reference_label) if m.plan.reference_label else None
    if c.recipe is None or not _hybrid_only(c.recipe) or ref is None or ref.built is None:
        return ()
    size, ref_size = c.built.size if c.built else None, ref.built.size
    if size is not None and ref_size is not None and size.bytes > 0.9 * ref_size.bytes:
        return (DYNAMIC_NOTE,)
    return ()


def shippable(m: ModelFigures) -> tuple[CandidateResult, ...]:
    """The candidates the chooser picks from (and ``deploy: all`` gates): of a keep-float search's
    steps only the one within budget, and only where the policy lets it ship (``keep_float_search.ship``;
    by default under ``recipes: auto``). The steps before it are the search's record, not candidates."""
    ships = m.keep_float is not None and m.keep_float.ships
    return tuple(
        r
        for r in m.results
        if r.kept_float is None or r.kept_float.of is None or (ships and not breaks_accuracy(r))
    )


def with_layer_analyses(m: ModelFigures) -> tuple[CandidateResult, ...]:
    return tuple(
        replace(
            r,
            worst_layers=m.worst_layers.get(r.recipe, r.worst_layers),
            notes=r.notes + ((m.layer_notes[r.recipe],) if r.recipe in m.layer_notes else ()),
        )
        for r in m.results
    )


def model_result(m: ModelFigures, *, latency_measured: bool, keep_in: Path | None) -> ModelResult:
    """The model's result; ``keep_in``: the --out folder artifacts are shown relative to (else dropped)."""
    plan = m.plan
    if m.error or plan.head is None:
        return ModelResult(
            plan.ref.name,
            plan.head_path,
            Status.ERROR,
            plan.change,
            plan.base_path,
            error=m.error,
            notes=tuple(m.notes),
        )
    reference = None
    if plan.reference_label and plan.reference_label in m.head and plan.reference_label != AS_IS:
        c = m.head[plan.reference_label]
        reference = candidate_result(m, plan.reference_label, latency_measured=latency_measured)
        reference = replace(reference, checks=(), status=Status.SKIP if c.error else Status.PASS)
    decision = choose(plan.policy.deploy, plan.policy.objective, shippable(m))
    candidates = tuple(replace(r, deploy=(r.recipe == decision.label)) for r in m.results)
    candidates = tuple(replace(c, artifact=_artifact(c.artifact, keep_in)) for c in candidates)
    if reference is not None:
        reference = replace(reference, artifact=_artifact(reference.artifact, keep_in))
    lines = m.search.decision() if m.search is not None else ()
    kept_lines = m.keep_float.lines({r.recipe: r for r in m.results}) if m.keep_float is not None else ()
    return ModelResult(
        plan.ref.name,
        plan.head_path,
        decision.status,
        plan.change,
        plan.base_path,
        reference,
        candidates,
        decision.label,
        None,
        tuple(m.notes) + (decision.note,),
        lines,
        kept_lines,
    )


def _artifact(path: str | None, keep_in: Path | None) -> str | None:
    if path is None or keep_in is None:
        return None
    try:
        return Path(path).relative_to(keep_in).as_posix()
    except ValueError:
        return path
