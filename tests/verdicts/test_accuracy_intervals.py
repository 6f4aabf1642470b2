"""Accuracy changes with their paired intervals: from per-sample scores through the run to the
checks, the report and the results file, on constructed outcomes with known answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from edgegate.metrics.interface import SampleScores
from edgegate.metrics.paired import mcnemar_exact_p, paired_change, tango_interval
from edgegate.checks import Check
from edgegate.policy.load import load_policy
from edgegate.report.markdown import render_markdown
from edgegate.results import (
    Accuracy,
    BaseFigures,
    CandidateResult,
    GitRef,
    ModelResult,
    RunResult,
    decode_run,
    encode_run,
)
from edgegate.results.model import PairedInterval
from edgegate.run import loop
from edgegate.run.jobs import EvaluateJob, Evaluated, Job
from edgegate.status import Status
from edgegate.verdicts.budgets import candidate_checks
from tests.run.test_loop import FakeRunner, by_label, plans

N = 497  # the example's eval set
REFERENCE_RIGHT = np.arange(N) >= 17  # the float model: 480 of 497 right


def losing(count: int, gaining: int = 0) -> np.ndarray:
    """The reference's outcomes with ``count`` of its right samples lost and ``gaining`` of its misses won."""
    right = REFERENCE_RIGHT.copy()
    right[np.flatnonzero(REFERENCE_RIGHT)[:count]] = False
    right[np.flatnonzero(~REFERENCE_RIGHT)[:gaining]] = True
    return right


@dataclass
class ScoringRunner(FakeRunner):
    """The loop's fake runner, with evaluations that return per-sample outcomes (as the workers do)."""

    outcomes: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (side, label) → right
    identities: dict[tuple[str, str], str] = field(default_factory=dict)  # which samples (default: all alike)

    def serve(self, job: Job) -> Any:
        if isinstance(job, EvaluateJob):
            key = (job.candidate.side, job.candidate.label)
            scores = SampleScores(self.outcomes[key], identity=self.identities.get(key, "eval.npz"))
            return Evaluated(Accuracy("top1", scores.value(), len(scores)), scores)
        return super().serve(job)


MODEL = (
    "  - {name: m, path: m.keras, recipes: [int8], eval: {data: e.npz}, calibration: {data: e.npz},\n"
    "     budgets: {accuracy: {max_drop: %s}, vs_base: {accuracy: {max_drop: %s}}}}\n"
)


def gate(tmp_path, runner, float_budget="0.5pt", base_budget="0.5pt", **kw):
    yaml = MODEL % (float_budget, base_budget)
    (m,) = loop.run(plans(tmp_path, yaml, **kw), runner, loop.Settings(root=tmp_path, latency=False))
    return m


def checks_of(candidate):
    return {ch.name: ch for ch in candidate.checks}


def test_the_run_pairs_each_candidate_with_the_float_model_and_its_base_version(tmp_path):
    runner = ScoringRunner(
        outcomes={
            ("head", "float32"): REFERENCE_RIGHT,
            ("head", "int8"): losing(4, gaining=1),  # 3 samples worse than the float model
            ("base", "int8"): losing(1),  # the base's int8 lost one of those 4 already
        }
    )
    m = gate(tmp_path, runner, base=True)
    int8 = by_label(m)["int8"].accuracy
    assert int8.drop == pytest.approx(3 / N)
    assert (int8.drop_interval.low, int8.drop_interval.high) == tango_interval(4, 1, N)
    assert int8.drop_interval.p_value == mcnemar_exact_p(4, 1) and int8.drop_interval.samples == N
    # vs base: the base lost sample 0 too, so the head is worse on 3 samples and better on 1.
    assert (int8.base_interval.low, int8.base_interval.high) == tango_interval(3, 1, N)
    assert int8.drop_unpaired is None and int8.base_unpaired is None
    assert m.reference.accuracy.drop == 0 and m.reference.accuracy.drop_interval is None  # itself


def test_evaluations_of_different_samples_say_why_they_have_no_interval(tmp_path):
    runner = ScoringRunner(
        outcomes={
            ("head", "float32"): REFERENCE_RIGHT,
            ("head", "int8"): losing(3),
            ("base", "int8"): losing(3),
        },
        identities={("base", "int8"): "shuffled"},
    )
    int8 = by_label(gate(tmp_path, runner, base=True))["int8"]
    assert int8.accuracy.drop_interval is not None and int8.accuracy.base_interval is None
    assert "different samples" in int8.accuracy.base_unpaired
    assert (
        "(no paired interval: the two evaluations scored different samples"
        in checks_of(int8)["vs_base.accuracy"].message
    )


def test_a_base_with_the_same_bytes_changed_by_exactly_nothing(tmp_path):
    runner = ScoringRunner(outcomes={("head", "float32"): REFERENCE_RIGHT, ("head", "int8"): losing(3)})
    int8 = by_label(gate(tmp_path, runner, base=True, base_same=True))["int8"]
    assert int8.accuracy.base_interval is None and int8.accuracy.base_unpaired is None
    assert checks_of(int8)["vs_base.accuracy"].status == Status.PASS


# --- the checks: judge point and judge significant ---------------------------------------------


def budgets_of(tmp_path, accuracy: str = "", vs_base: str = "", metric: str = "top1"):
    lines = "version: 1\nmodels:\n  - name: m\n    path: m.keras\n    budgets:\n"
    if accuracy:
        lines += f"      accuracy: {accuracy}\n"
    if vs_base:
        lines += f"      vs_base: {{accuracy: {vs_base}}}\n"
    (tmp_path / "edgegate.yml").write_text(lines)
    return load_policy(tmp_path / "edgegate.yml", root=tmp_path).models[0].budgets


def top1_vs_float(
    candidate_right: np.ndarray, reference_right: np.ndarray = REFERENCE_RIGHT, **base
) -> CandidateResult:
    """A candidate whose accuracy, drop and interval come from per-sample outcomes, as the run makes them."""
    mine, ref = SampleScores(candidate_right), SampleScores(reference_right)
    accuracy = Accuracy(
        "top1",
        mine.value(),
        len(mine),
        drop=ref.value() - mine.value(),
        drop_interval=paired_change(mine, ref, higher_is_better=True),
        **base,
    )
    return CandidateResult("int8", "int8", Status.PASS, accuracy=accuracy)


def check(tmp_path, c: CandidateResult, **budget) -> Check:
    (result,) = candidate_checks(c, budgets_of(tmp_path, **budget), latency_measured=False)
    return result


def test_point_fails_a_drop_of_three_samples_that_significant_lets_pass(tmp_path):
    """0.60 pt over a 0.5 pt limit, but 3 samples in 497: the interval reaches well below the limit."""
    c = top1_vs_float(losing(3))
    point = check(tmp_path, c, accuracy="{max_drop: 0.5pt}")
    said = "accuracy fell 0.60 pt (95% CI −0.17 … 1.76 pt, 497 paired samples) vs the float model"
    assert point.status == Status.FAIL and point.value == "−0.60 pt"
    assert point.message == f"{said}; more than the 0.5pt allowed."
    significant = check(tmp_path, c, accuracy="{max_drop: 0.5pt, judge: significant}")
    assert significant.status == Status.PASS
    assert significant.message == (
        f"{said}; more than the 0.5pt allowed, but not significantly: the interval reaches below it "
        "(judge: significant)."
    )
    within = check(tmp_path, c, accuracy="{max_drop: 1pt, judge: significant}")
    assert (
        within.status == Status.PASS
        and within.message == f"{said}; within the 1pt allowed (judge: significant)."
    )


def test_significant_fails_a_drop_whose_whole_interval_is_beyond_the_limit(tmp_path):
    c = top1_vs_float(losing(30, gaining=2))  # 28 samples net: 5.63 pt, interval 3.68 … 8.13 pt
    result = check(tmp_path, c, accuracy="{max_drop: 1pt, judge: significant, level: warn}")
    assert result.status == Status.WARN
    assert result.message == (
        "accuracy fell 5.63 pt (95% CI 3.68 … 8.13 pt, 497 paired samples) vs the float model; "
        "more than the 1pt allowed, and so is the whole interval (judge: significant)."
    )


def test_significant_passes_while_the_interval_touches_the_limit(tmp_path):
    c = top1_vs_float(losing(30, gaining=2))
    low = c.accuracy.drop_interval.low  # 0.0368…: a limit in the metric's own units, at full precision
    assert check(tmp_path, c, accuracy=f"{{max_drop: {low!r}, judge: significant}}").status == Status.PASS
    beyond = f"{{max_drop: {low - 1e-6!r}, judge: significant}}"
    assert check(tmp_path, c, accuracy=beyond).status == Status.FAIL


def test_an_improvement_shows_the_interval_of_the_change(tmp_path):
    c = top1_vs_float(losing(0, gaining=2))  # 2 more samples right than the float model
    result = check(tmp_path, c, accuracy="{max_drop: 1pt, judge: significant}")
    # Interval of the drop −1.46 … 0.37 pt, so of the change −0.37 … 1.46 pt.
    assert result.status == Status.PASS and result.message == (
        "accuracy changed +0.40 pt (95% CI −0.37 … 1.46 pt, 497 paired samples) vs the float model; "
        "within the 1pt allowed (judge: significant)."
    )


def test_significant_without_an_interval_is_judged_on_the_point_and_says_so(tmp_path):
    accuracy = Accuracy(
        "top1", 0.954, 497, drop=0.006, drop_unpaired="the two evaluations cover 497 and 500 samples"
    )
    c = CandidateResult("int8", "int8", Status.PASS, accuracy=accuracy)
    result = check(tmp_path, c, accuracy="{max_drop: 0.5pt, judge: significant}")
    assert result.status == Status.FAIL
    assert result.message == (
        "accuracy fell 0.60 pt (no paired interval: the two evaluations cover 497 and 500 samples) vs the "
        "float model; more than the 0.5pt allowed (judge: significant, but without an interval: on the point)."
    )


def test_vs_base_shows_and_judges_the_interval_of_the_change(tmp_path):
    base_right = REFERENCE_RIGHT  # the base's int8 as good as the float model: 480 right
    mine, base = SampleScores(losing(3)), SampleScores(base_right)
    accuracy = Accuracy(
        "top1", mine.value(), N, base_interval=paired_change(mine, base, higher_is_better=True)
    )
    c = CandidateResult(
        "int8", "int8", Status.PASS, accuracy=accuracy, base=BaseFigures(accuracy=base.value())
    )
    said = "accuracy changed −0.60 pt (95% CI −1.76 … 0.17 pt, 497 paired samples) vs base (96.58% → 95.98%)"
    point = check(tmp_path, c, vs_base="{max_drop: 0.5pt}")
    assert point.status == Status.FAIL and point.message == f"{said}; more than the 0.5pt allowed."
    significant = check(tmp_path, c, vs_base="{max_drop: 0.5pt, judge: significant}")
    assert significant.status == Status.PASS and significant.message.startswith(
        f"{said}; more than the 0.5pt"
    )


def test_an_error_metric_is_judged_on_its_bootstrap_interval(tmp_path):
    """mae 0.02 worse on every sample: the paired bootstrap's interval is exactly 0.02 … 0.02."""
    reference_errors = np.random.default_rng(7).random(100)[:, None]
    mine, ref = SampleScores(reference_errors + 0.02), SampleScores(reference_errors)
    interval = paired_change(mine, ref, higher_is_better=False)
    accuracy = Accuracy(
        "mae", mine.value(), 100, False, drop=mine.value() - ref.value(), drop_interval=interval
    )
    c = CandidateResult("int8", "int8", Status.PASS, accuracy=accuracy)
    at_limit = check(tmp_path, c, accuracy="{max_drop: 0.02, judge: significant}")
    assert at_limit.status == Status.PASS
    assert at_limit.message.startswith(
        "accuracy fell 0.02 (95% CI 0.02 … 0.02, 100 paired samples) vs the float"
    )
    assert check(tmp_path, c, accuracy="{max_drop: 0.0199, judge: significant}").status == Status.FAIL


# --- the report and the results file -----------------------------------------------------------


def run_with(candidate: CandidateResult) -> RunResult:
    reference = CandidateResult("float32", "float32", Status.PASS, accuracy=Accuracy("top1", 480 / N, N))
    model = ModelResult(
        "m",
        "m.keras",
        Status.PASS,
        reference=reference,
        candidates=(candidate,),
        deploy="int8",
        notes=("ships",),
    )
    return RunResult(
        Status.PASS, GitRef("main", "a" * 40), GitRef("head", "b" * 40), (model,), "edgegate.yml"
    )


def test_the_report_shows_each_accuracy_change_with_its_interval(tmp_path):
    mine, ref = SampleScores(losing(3)), SampleScores(REFERENCE_RIGHT)
    base = SampleScores(losing(1))
    accuracy = Accuracy(
        "top1",
        mine.value(),
        N,
        drop=ref.value() - mine.value(),
        drop_interval=paired_change(mine, ref, higher_is_better=True),
        base_interval=paired_change(mine, base, higher_is_better=True),
    )
    c = CandidateResult(
        "int8", "int8", Status.PASS, accuracy=accuracy, base=BaseFigures(accuracy=base.value()), deploy=True
    )
    text = render_markdown(run_with(c))
    header = next(line for line in text.splitlines() if line.startswith("| | Candidate"))
    assert header.endswith("| Accuracy (top1) | Accuracy vs float | Accuracy vs base | Status |")
    row = next(line for line in text.splitlines() if line.startswith("| 🚀 | int8 |"))
    # vs float: −0.60 pt, drop interval −0.17 … 1.76 pt; vs base: 2 samples worse, tango(2, 0).
    low, high = tango_interval(2, 0, N)
    assert (
        f"| 95.98% | −0.60 pt (−1.76 … 0.17) | −0.40 pt ({-high * 100:.2f} … {-low * 100:.2f}) |".replace(
            "-", "−"
        )
        in row
    )
    assert "95% interval from a paired test on the same samples" in text
    assert (
        "; accuracy changes on 497 paired samples: vs float −0.60 pt (95% CI −1.76 … 0.17 pt, Tango score "
        "interval, exact McNemar p = 0.25); vs base −0.40 pt" in text
    )


def test_the_report_has_no_accuracy_base_column_without_a_base_accuracy():
    c = CandidateResult(
        "int8", "int8", Status.PASS, accuracy=Accuracy("top1", 0.95, N, drop=0.01), deploy=True
    )
    text = render_markdown(run_with(c))
    header = next(line for line in text.splitlines() if line.startswith("| | Candidate"))
    assert header.endswith("| Accuracy vs float | Status |") and "paired test" not in text


def test_intervals_round_trip_through_the_results_file_and_old_files_still_read():
    interval = PairedInterval(-0.0017, 0.0176, N, "tango", 0.25)
    accuracy = Accuracy("top1", 0.9598, N, drop=0.006, drop_interval=interval, base_unpaired="why")
    run = run_with(CandidateResult("int8", "int8", Status.PASS, accuracy=accuracy))
    assert decode_run(encode_run(run)) == run
    data = json.loads(encode_run(run))
    old = data["models"][0]["candidates"][0]["accuracy"]
    for key in ("drop_interval", "base_interval", "drop_unpaired", "base_unpaired"):
        del old[key]
    read = decode_run(json.dumps(data)).models[0].candidates[0].accuracy
    assert read.drop_interval is None and read.base_unpaired is None and read.drop == 0.006


def test_significant_follows_the_interval_even_when_the_point_is_within(tmp_path):
    # An interval that misses its own estimate (a skewed bootstrap can): the interval decides.
    interval = PairedInterval(0.012, 0.03, 100, "bootstrap")
    accuracy = Accuracy("mae", 0.5, 100, False, drop=0.009, drop_interval=interval)
    c = CandidateResult("int8", "int8", Status.PASS, accuracy=accuracy)
    result = check(tmp_path, c, accuracy="{max_drop: 0.01, judge: significant}")
    assert result.status == Status.FAIL and result.message.endswith(
        "; within the 0.01 allowed at the point, but the whole interval is beyond it (judge: significant)."
    )
    assert check(tmp_path, c, accuracy="{max_drop: 0.01}").status == Status.PASS
