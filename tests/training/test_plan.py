"""The ``recipes: auto`` search, driven with synthetic gated results through every branch."""

from __future__ import annotations

from dataclasses import replace

from edgegate.policy.sections import ModelPolicy
from edgegate.run.auto import INT16X8_CAVEAT, AutoSearch, failed_on, passes
from edgegate.results import Accuracy, CandidateResult
from edgegate.verdicts.deploy import choose
from edgegate.checks import Check, Topic
from edgegate.status import Status

SIZES = {"float16": 500_000, "dynamic": 260_000, "int8": 250_000, "int16x8": 255_000, "qat": 250_000}


_TOPICS = {"accuracy": Topic.ACCURACY, "accuracy_drop": Topic.ACCURACY, "latency": Topic.LATENCY}


def check(name: str, status: Status, message: str, **figures: str) -> Check:
    """A check as the run makes it: a model budget says its topic, a target's check its target."""
    budget = name.removeprefix("vs_base.")
    if "." in budget:
        return Check(name, status, message, target=budget.split(".")[0], **figures)
    return Check(name, status, message, topic=_TOPICS.get(budget, Topic.SIZE), **figures)


def result(
    label: str,
    *fails: str,
    error: str | None = None,
    size: int | None = None,
    latency: float | None = None,
    accuracy: float | None = None,
    warn: str | None = None,
) -> CandidateResult:
    checks = [check(name, Status.FAIL, f"{name} is over budget.", limit="≤ 1", value="2") for name in fails]
    if "size" not in fails:
        checks.append(check("size", Status.PASS, "size is within the budget."))
    if warn:
        checks.append(check(warn, Status.WARN, f"{warn} is over its warn level."))
    failed = bool(fails) or error is not None
    return CandidateResult(
        recipe=label,
        spec=label,
        status=Status.ERROR if error else Status.FAIL if failed else Status.PASS,
        size_bytes=size if size is not None else SIZES.get(label, 200_000),
        latency_ms=latency,
        accuracy=Accuracy("top1", accuracy, 100) if accuracy is not None else None,
        checks=tuple(checks),
        error=error,
    )


def model(objective: str = "smallest") -> ModelPolicy:
    return ModelPolicy(name="m", path="m.h5", index=0, auto=True, deploy="best", objective=objective)


def labels(recipes) -> list[str]:
    return [r.label for r in recipes]


class Run:
    """Drives a search the way the parent does: each batch's results are added, then asked again."""

    def __init__(self, search: AutoSearch):
        self.search = search
        self.results: list[CandidateResult] = []
        self.batches = [labels(search.next_recipes([]))]

    def give(self, *results: CandidateResult) -> list[str]:
        self.results.extend(results)
        batch = labels(self.search.next_recipes(self.results))
        self.batches.append(batch)
        return batch

    @property
    def lines(self) -> tuple[str, ...]:
        return self.search.decision()

    def chosen(self) -> str | None:
        return choose("best", self.search.objective, tuple(self.results)).label


def ptq(*, int8: tuple = (), float16: tuple = ("size",), dynamic: tuple = ("size",), **int8_kw):
    return (result("float16", *float16), result("dynamic", *dynamic), result("int8", *int8, **int8_kw))


def test_the_first_batch_is_cheap_ptq():
    search = AutoSearch(model(), has_training_data=True, edgetpu_required=False)
    assert labels(search.next_recipes([])) == ["float16", "dynamic", "int8"]


def test_a_passing_ptq_candidate_stops_the_search():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=False))
    assert run.give(*ptq(float16=(), dynamic=())) == []
    assert run.chosen() == "int8"  # all pass: the smallest
    assert run.lines[-1] == "→ ship int8 (the smallest passing candidate)"
    assert run.search.next_recipes(run.results) == []  # stays stopped


def test_int8_losing_accuracy_escalates_to_int16x8():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=False))
    assert run.give(*ptq(int8=("accuracy_drop",))) == ["int16x8"]
    assert run.give(result("int16x8")) == []
    assert run.chosen() == "int16x8"
    assert run.lines[0] == (
        "float16: size 2, limit ≤ 1; dynamic: size 2, limit ≤ 1; int8: accuracy_drop 2, limit ≤ 1"
    )
    assert "→ int16x8" in run.lines[1]
    assert run.lines[-2:] == ("→ ship int16x8 (the smallest passing candidate)", INT16X8_CAVEAT)


def test_edgetpu_targets_skip_int16x8_and_go_to_qat():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=True))
    assert run.give(*ptq(int8=("accuracy_drop",))) == ["qat"]
    assert any("int16x8 skipped: the Edge TPU runs only full-int8" in line for line in run.lines)
    assert run.give(result("qat")) == []
    assert run.chosen() == "qat"
    assert INT16X8_CAVEAT not in run.lines


def test_int16x8_still_failing_escalates_to_qat():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=False))
    run.give(*ptq(int8=("accuracy",)))
    assert run.give(result("int16x8", "accuracy_drop")) == ["qat"]
    assert run.give(result("qat")) == []
    assert run.chosen() == "qat"


def test_a_slow_int16x8_escalates_to_qat():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=False))
    run.give(*ptq(int8=("accuracy_drop",)))
    assert run.give(result("int16x8", "latency")) == ["qat"]


def test_qat_over_the_size_budget_goes_to_collaborative_compression():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=True))
    run.give(*ptq(int8=("accuracy_drop", "size")))
    assert run.give(result("qat", "size")) == ["prune+qat", "cluster+qat", "prune+cluster+qat"]
    assert (
        run.give(
            result("prune+qat", "gzip_size", size=150_000),
            result("cluster+qat", size=140_000),
            result("prune+cluster+qat", size=120_000),
        )
        == []
    )
    assert run.chosen() == "prune+cluster+qat"


def test_qat_that_still_loses_accuracy_stops():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=True))
    run.give(*ptq(int8=("accuracy_drop",)))
    assert run.give(result("qat", "accuracy_drop", "size")) == []
    assert run.chosen() is None
    assert "QAT still loses too much accuracy" in run.lines[-2]
    assert run.lines[-1] == "→ no candidate meets every budget"


def test_int8_over_the_size_budget_goes_to_pruning_and_clustering():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=False))
    assert run.give(*ptq(int8=("gzip_size",))) == ["prune+int8", "cluster+int8", "prune+cluster+int8"]
    assert "int8 is still over its size budget" in run.lines[-1]
    assert (
        run.give(
            result("prune+int8", size=180_000),
            result("cluster+int8", size=170_000),
            result("prune+cluster+int8", "accuracy_drop", size=100_000),
        )
        == []
    )
    assert run.chosen() == "cluster+int8"


def test_without_training_data_the_training_steps_are_skipped_with_a_note():
    run = Run(AutoSearch(model(), has_training_data=False, edgetpu_required=False))
    assert run.give(*ptq(int8=("size",))) == []
    assert "prune/cluster skipped: no training data" in run.lines[-2]
    assert run.chosen() is None

    run = Run(AutoSearch(model(), has_training_data=False, edgetpu_required=False))
    run.give(*ptq(int8=("accuracy_drop",)))
    assert run.give(result("int16x8", "accuracy_drop")) == []
    assert "qat skipped: no training data" in run.lines[-3]


def test_failures_no_step_can_fix_stop_the_search():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=False))
    assert run.give(*ptq(int8=("latency",))) == []
    assert "int8 fails on latency only" in run.lines[-2]

    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=True))
    assert run.give(*ptq(int8=("edgetpu.mapped",))) == []
    assert "int8 fails on edgetpu only" in run.lines[-2]


def test_an_int8_build_error_stops_the_search():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=False))
    assert run.give(*ptq(int8=(), error="int8 needs calibration data")) == []
    assert "int8 could not be built (int8 needs calibration data)" in run.lines[0]
    assert "the search stops" in run.lines[1]


def test_warnings_do_not_stop_a_candidate_from_passing():
    run = Run(AutoSearch(model(), has_training_data=True, edgetpu_required=False))
    assert run.give(*ptq(warn="latency")) == []
    assert run.chosen() == "int8"


def test_choose_follows_the_objective():
    fast = result("float16", latency=1.0, accuracy=0.91)
    small = result("int8", latency=2.0, accuracy=0.90)
    precise = result("dynamic", latency=3.0, accuracy=0.93)
    failing = result("int16x8", "accuracy", latency=0.5, accuracy=0.99, size=10)
    results = [fast, small, precise, failing]

    def chosen(objective, candidates):
        """What ships under ``deploy: best`` with this objective: the one chooser the run uses."""
        return choose("best", objective, tuple(candidates)).label

    assert chosen("smallest", results) == "int8"
    assert chosen("fastest", results) == "float16"
    assert chosen("most_accurate", results) == "dynamic"
    # Latency not measured: fastest falls back to size.
    assert chosen("fastest", [result("float16"), result("int8")]) == "int8"
    # Error metrics: lower is better.
    mae = [
        CandidateResult("a", "a", Status.PASS, size_bytes=5, accuracy=Accuracy("mae", 0.3, 10, False)),
        CandidateResult("b", "b", Status.PASS, size_bytes=9, accuracy=Accuracy("mae", 0.1, 10, False)),
    ]
    assert chosen("most_accurate", mae) == "b"


def test_failure_kinds():
    assert failed_on(result("int8", "vs_base.accuracy", "vs_base.gzip_size", "edgetpu.partitions")) == {
        "accuracy",
        "size",
        "edgetpu",
    }
    # Every target names itself; a check from an older results file (no topic, no target) is "other".
    assert failed_on(result("int8", "mcu.arena", "ethos-u.latency")) == {"mcu", "ethos-u"}
    legacy = result("int8")
    legacy = replace(legacy, checks=(Check("latency", Status.FAIL, "latency is over budget."),))
    assert failed_on(legacy) == {"other"}
    assert passes(result("int8")) and not passes(result("int8", error="boom"))
