"""Latency changes with their paired intervals: from the timed rounds through the run to the
`vs_base.latency` check (judge point and significant), the report and the results file, on
constructed rounds with known answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest

from edgegate.checks import Check
from edgegate.measurements.interface import LatencyFigures
from edgegate.policy.load import load_policy
from edgegate.report.markdown import render_markdown
from edgegate.results import BaseFigures, CandidateResult, decode_run, encode_run
from edgegate.results.model import GitRef, LatencyChanges, ModelResult, PairedInterval, RunResult
from edgegate.run import loop
from edgegate.run.jobs import Job, LatencyJob
from edgegate.status import Status
from edgegate.verdicts.budgets import candidate_checks
from tests.run.test_loop import FakeRunner, by_label, plans

ROUNDS = 30


def timed(typical_ms: float, seed: int) -> tuple[float, ...]:
    """``ROUNDS`` rounds of a model whose typical time is ``typical_ms``: a drift every model of the
    session shares (seed 0), and noise of its own (``seed``)."""
    drift = np.random.default_rng(0).lognormal(0.0, 0.3, ROUNDS)
    return tuple(typical_ms * drift * np.random.default_rng(seed).lognormal(0.0, 0.03, ROUNDS))


@dataclass
class TimingRunner(FakeRunner):
    """The loop's fake runner, with latency jobs that return each model's rounds (as the workers do)."""

    typical: dict[tuple[str, str], float] = field(default_factory=dict)  # (side, label) → ms
    sessions: list[tuple[tuple[str, str], ...]] = field(default_factory=list)  # who was timed together

    def serve(self, job: Job) -> Any:
        if not isinstance(job, LatencyJob):
            return super().serve(job)
        self.sessions.append(tuple((ref.side, ref.label) for ref, _ in job.candidates))
        out = []
        for i, (ref, _) in enumerate(job.candidates):
            rounds = timed(self.typical[(ref.side, ref.label)], seed=len(self.sessions) * 10 + i + 1)
            median = float(np.median(rounds))
            out.append((ref, LatencyFigures(median, median, ROUNDS, rounds_ms=rounds)))
        return tuple(out)


MODEL = "  - {name: m, path: m.keras, recipes: [int8], budgets: {vs_base: {latency: %s}}}\n"


def gate(tmp_path, runner, budget="{max_increase: 5%, judge: significant}", **kw):
    (m,) = loop.run(plans(tmp_path, MODEL % budget, **kw), runner, loop.Settings(root=tmp_path, latency=True))
    return m


def checks_of(candidate):
    return {ch.name: ch for ch in candidate.checks}


def test_the_run_pairs_each_candidate_with_the_float_model_and_its_base_version(tmp_path):
    runner = TimingRunner(
        typical={("head", "float32"): 2.0, ("head", "int8"): 1.0, ("base", "int8"): 0.8}  # int8 +25 % vs base
    )
    m = gate(tmp_path, runner, base=True)
    assert runner.sessions == [(("head", "float32"), ("head", "int8"), ("base", "int8"))]
    int8 = by_label(m)["int8"]
    changes = int8.latency_changes
    # Truth: int8 is half the float model's time and 1.25 × its base's; the drift cancels round by round.
    assert (
        changes.vs_float.low < -0.5 < changes.vs_float.high
        and changes.vs_float.high - changes.vs_float.low < 0.05
    )
    assert changes.vs_base.low < 0.25 < changes.vs_base.high and changes.vs_base.samples == ROUNDS
    assert changes.vs_float.method == changes.vs_base.method == "sign-test"
    assert changes.float_unpaired is None and changes.base_unpaired is None
    check = checks_of(int8)["vs_base.latency"]
    assert check.status == Status.FAIL and check.message.endswith(
        "more than the 5% allowed, and so is the whole interval (judge: significant)."
    )
    assert "paired rounds) vs base (" in check.message
    assert m.reference.latency_changes is None  # the float model itself: no change vs itself, no base timed


def test_a_base_with_the_same_bytes_changed_by_exactly_nothing(tmp_path):
    runner = TimingRunner(typical={("head", "float32"): 2.0, ("head", "int8"): 1.0})
    int8 = by_label(gate(tmp_path, runner, base=True, base_same=True))["int8"]
    assert int8.latency_changes.vs_base is None and int8.latency_changes.base_unpaired is None
    assert checks_of(int8)["vs_base.latency"].status == Status.PASS


def test_too_few_rounds_say_why_there_is_no_interval_and_judge_the_point(tmp_path):
    @dataclass
    class FewRounds(TimingRunner):
        def serve(self, job: Job) -> Any:
            out = super().serve(job)
            if isinstance(job, LatencyJob):
                return tuple(
                    (ref, LatencyFigures(f.median_ms, f.p90_ms, 5, f.rounds_ms[:5])) for ref, f in out
                )
            return out

    runner = FewRounds(typical={("head", "float32"): 2.0, ("head", "int8"): 1.0, ("base", "int8"): 0.8})
    int8 = by_label(gate(tmp_path, runner, base=True))["int8"]
    assert "5 timed rounds are too few" in int8.latency_changes.base_unpaired
    check = checks_of(int8)["vs_base.latency"]
    assert "no paired interval: 5 timed rounds are too few for a 95% interval" in check.message
    assert check.status == Status.FAIL and check.message.endswith(
        "more than the 5% allowed (judge: significant, but without an interval: on the point)."
    )


def test_rounds_of_different_sessions_are_not_paired(tmp_path):
    """recipes: auto times each round's candidates in a session of their own, the float model again
    in each: a candidate pairs with the float model of its own session, never another's."""
    from edgegate.run import assemble
    from edgegate.run.figures import CandidateFigures, ModelFigures

    plan = plans(tmp_path, MODEL % "{max_increase: 5%}", base=True)[0]
    m = ModelFigures(plan)
    figures = {
        "float32": LatencyFigures(2.0, 2.0, ROUNDS, timed(2.0, 1), session=2),
        "int8": LatencyFigures(1.0, 1.0, ROUNDS, timed(1.0, 2), session=1),
        "base-int8": LatencyFigures(0.8, 0.8, ROUNDS, timed(0.8, 3), session=2),
    }
    m.reference_latency = {2: figures["float32"]}
    m.head["int8"] = CandidateFigures(None, latency=figures["int8"])
    m.base["int8"] = CandidateFigures(None, latency=figures["base-int8"])
    changes = assemble._latency_changes(m, "int8", m.head["int8"])
    assert changes.vs_float is None and changes.float_unpaired is None  # no float model in session 1
    assert changes.vs_base is None and "timed in different sessions" in changes.base_unpaired
    m.reference_latency[1] = replace(figures["float32"], session=1)
    assert assemble._latency_changes(m, "int8", m.head["int8"]).vs_float is not None


# --- the checks: judge point and judge significant ---------------------------------------------


def budgets_of(tmp_path, latency: str):
    yaml = f"version: 1\nmodels:\n  - name: m\n    path: m.keras\n    budgets: {{vs_base: {{latency: {latency}}}}}\n"
    (tmp_path / "edgegate.yml").write_text(yaml)
    return load_policy(tmp_path / "edgegate.yml", root=tmp_path).models[0].budgets


def timed_candidate(head_ms: float, base_ms: float, changes: LatencyChanges, **more: Any) -> CandidateResult:
    """A candidate timed at ``head_ms`` (median) beside its base at ``base_ms``, with those ``changes``."""
    return CandidateResult(
        "int8",
        "int8",
        Status.PASS,
        latency_ms=head_ms,
        base=BaseFigures(latency_ms=base_ms),
        latency_changes=changes,
        **more,
    )


def slower(head_ms: float, base_ms: float, low: float, high: float) -> CandidateResult:
    """Timed so, the interval of its change vs base ``low … high``."""
    return timed_candidate(
        head_ms, base_ms, LatencyChanges(vs_base=PairedInterval(low, high, ROUNDS, "sign-test"))
    )


def check(tmp_path, c: CandidateResult, latency: str) -> Check:
    (result,) = candidate_checks(c, budgets_of(tmp_path, latency), latency_measured=True)
    return result


def test_point_fails_a_change_over_the_limit_that_significant_lets_pass(tmp_path):
    c = slower(10.7, 10.0, 0.031, 0.112)  # +7 %, the interval reaching below 5 %
    said = "latency grew +700 µs (+7.0%; 95% CI +3.1% … +11.2% on 30 paired rounds) vs base (10.00 ms → 10.70 ms)"
    point = check(tmp_path, c, "{max_increase: 5%}")
    assert point.status == Status.FAIL and point.message == f"{said}; more than the 5% allowed."
    assert point.value == "+700 µs (+7.0%)" and point.limit == "max +5%"
    significant = check(tmp_path, c, "{max_increase: 5%, judge: significant}")
    assert significant.status == Status.PASS and significant.message == (
        f"{said}; more than the 5% allowed, but not significantly: the interval reaches below it "
        "(judge: significant)."
    )


def test_significant_fails_only_when_the_low_end_is_beyond_the_limit(tmp_path):
    assert check(
        tmp_path, slower(10.7, 10.0, 0.051, 0.09), "{max_increase: 5%, judge: significant}"
    ).status == (Status.FAIL)
    at_limit = slower(10.7, 10.0, 0.05, 0.09)  # the low end exactly at the limit passes, as a point does
    assert check(tmp_path, at_limit, "{max_increase: 5%, judge: significant}").status == Status.PASS
    warned = check(
        tmp_path, slower(10.7, 10.0, 0.06, 0.09), "{max_increase: 5%, judge: significant, level: warn}"
    )
    assert warned.status == Status.WARN and warned.message.endswith(
        "more than the 5% allowed, and so is the whole interval (judge: significant)."
    )


def test_a_limit_in_milliseconds_meets_the_interval_in_milliseconds_of_the_base(tmp_path):
    # Low end +3 % of a 10 ms base = 0.3 ms: beyond a 0.25 ms limit, within a 0.35 ms one.
    c = slower(10.5, 10.0, 0.03, 0.07)
    assert check(tmp_path, c, "{max_increase: 0.25ms, judge: significant}").status == Status.FAIL
    assert check(tmp_path, c, "{max_increase: 0.35ms, judge: significant}").status == Status.PASS


def test_significant_follows_the_interval_even_when_the_point_is_within(tmp_path):
    c = slower(10.4, 10.0, 0.055, 0.09)  # medians +4 %, the paired interval all above 5 %
    result = check(tmp_path, c, "{max_increase: 5%, judge: significant}")
    assert result.status == Status.FAIL and result.message.endswith(
        "within the 5% allowed at the point, but the whole interval is beyond it (judge: significant)."
    )


def test_a_faster_candidate_passes_both_judges(tmp_path):
    c = slower(9.0, 10.0, -0.12, -0.08)
    for budget in ("{max_increase: 5%}", "{max_increase: 5%, judge: significant}"):
        result = check(tmp_path, c, budget)
        assert result.status == Status.PASS and result.message.startswith("latency shrank −1.00 ms (−10.0%;")


def test_judge_is_refused_on_an_absolute_latency_budget(tmp_path):
    from edgegate.errors import PolicyError

    (tmp_path / "edgegate.yml").write_text(
        "version: 1\nmodels:\n  - name: m\n    path: m.keras\n    budgets: {latency: {max: 5ms, judge: significant}}\n"
    )
    with pytest.raises(PolicyError, match="judge"):
        load_policy(tmp_path / "edgegate.yml", root=tmp_path)


# --- the report and the results file ---------------------------------------------------------


def run_with(*candidates: CandidateResult, reference: CandidateResult | None = None) -> RunResult:
    model = ModelResult(
        "m", "m.keras", Status.PASS, reference=reference, candidates=candidates, deploy=candidates[0].recipe
    )
    return RunResult(
        Status.PASS, GitRef("main", "a" * 40), GitRef("head", "b" * 40), (model,), "edgegate.yml"
    )


def test_the_report_shows_each_latency_change_with_its_interval():
    float_interval = PairedInterval(-0.52, -0.47, ROUNDS, "sign-test")
    base_interval = PairedInterval(0.051, 0.093, ROUNDS, "sign-test")
    c = timed_candidate(1.07, 1.0, LatencyChanges(float_interval, base_interval), deploy=True)
    reference = CandidateResult("float32", "float32", Status.PASS, latency_ms=2.14)
    text = render_markdown(run_with(c, reference=reference))
    row = next(line for line in text.splitlines() if line.startswith("| 🚀 | int8 |"))
    assert "| 1.07 ms | +7.0% (+5.1% … +9.3%) |" in row
    assert "Latency changes: of the median and, in parentheses, their 95% interval" in text
    assert (
        "; latency changes (medians): vs float −50.0% (95% CI −52.0% … −47.0% on 30 paired rounds); "
        "vs base +7.0% (95% CI +5.1% … +9.3% on 30 paired rounds)" in text
    )


def test_the_reason_for_no_interval_is_escaped_in_the_report():
    hostile = "<img src=x onerror=alert(1)> [link](http://evil)"
    c = timed_candidate(1.0, 1.0, LatencyChanges(base_unpaired=hostile), deploy=True)
    text = render_markdown(run_with(c))
    assert "vs base: no paired interval (&lt;img src=x onerror=alert(1)&gt; \\[link\\](" in text
    assert "<img" not in text
    assert "paired rounds" not in text and "Latency changes:" not in text  # no interval: no legend either


def test_latency_changes_round_trip_through_the_results_file_and_schema_3_files_still_read():
    changes = LatencyChanges(
        PairedInterval(-0.52, -0.47, ROUNDS, "sign-test"), None, None, "the base was not timed"
    )
    run = run_with(CandidateResult("int8", "int8", Status.PASS, latency_ms=1.0, latency_changes=changes))
    text = encode_run(run)
    assert decode_run(text) == run and '"schema": "edgegate.results/4"' in text
    data = json.loads(text)
    data["schema"] = "edgegate.results/3"
    del data["models"][0]["candidates"][0]["latency_changes"]
    read = decode_run(json.dumps(data)).models[0].candidates[0]
    assert read.latency_changes is None and read.latency_ms == 1.0
    data["schema"] = "edgegate.results/4"
    data["models"][0]["candidates"][0]["latency_changes"] = {"vs_float": {"low": "x"}}
    with pytest.raises(ValueError, match=r"latency_changes\.vs_float"):
        decode_run(json.dumps(data))
