"""The schedule (``edgegate.run.loop``) over a fake, in-process runner: every branch, no TensorFlow.

The fake runner answers each job from a table of figures the test sets, the way the worker
pool would (an exception becomes an outcome with ``error``), and records every job it ran, so
the tests see both what was scheduled and what the run concluded from it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from edgegate.measurements.interface import LatencyFigures, SizeFigures
from edgegate.policy.load import load_policy
from edgegate.recipes.interface import BuiltCandidate, SourceModel
from edgegate.results import Accuracy
from edgegate.run import loop
from edgegate.run.jobs import (
    BuildJob,
    Evaluated,
    EvaluateJob,
    Job,
    LatencyJob,
    LayerAnalysisJob,
    ModelRef,
    TargetJob,
)
from edgegate.run.plan import ModelPlan
from edgegate.status import Status
from edgegate.targets import PlacedTarget
from edgegate.targets.interface import PolicyPlace, Target
from edgegate.checks import Check
from tests.run.inprocess import InProcessRunner


@dataclass
class FakeRunner(InProcessRunner):
    """Serves jobs in process; ``sizes``/``accuracy``/``crash``... say what each job returns."""

    sizes: dict[str, int] = field(default_factory=dict)  # label → bytes (default 1000)
    accuracy: dict[str, float] = field(default_factory=dict)  # label → top1 (default 0.9)
    crash: set[str] = field(default_factory=set)  # labels whose build job dies
    skip: dict[str, str] = field(default_factory=dict)  # label → skip reason
    base_sizes: dict[str, int] = field(default_factory=dict)

    def serve(self, job: Job) -> Any:
        if isinstance(job, BuildJob):
            if self.crash & set(job.labels):
                raise RuntimeError("the worker process crashed (SIGSEGV)")
            sizes = self.base_sizes if job.side == "base" else self.sizes
            return tuple(
                BuiltCandidate(label, None, skip_reason=self.skip[label])
                if label in self.skip
                else BuiltCandidate(
                    label,
                    job.request.out_dir / f"{label}.tflite",
                    size=SizeFigures(sizes.get(label, 1000), sizes.get(label, 1000) // 2),
                )
                for label in job.labels
            )
        if isinstance(job, EvaluateJob):
            return Evaluated(Accuracy("top1", self.accuracy.get(job.candidate.label, 0.9), 100))
        if isinstance(job, LatencyJob):
            return tuple((ref, LatencyFigures(1.0, 1.5, 5)) for ref, _ in job.candidates)
        if isinstance(job, TargetJob):
            return job.target.analyze(job.model_path)
        if isinstance(job, LayerAnalysisJob):
            return ()
        raise AssertionError(f"unexpected job {job!r}")


@dataclass(frozen=True)
class CountingTarget(Target[int]):
    """A target whose report is the file name's length; never applies to float16."""

    name: ClassVar[str] = "edgetpu"
    title: ClassVar[str] = "Counting"
    limit: int = 100

    def never_applies(self, conversion: str) -> str | None:
        return "float16 never runs here" if conversion == "float16" else None

    def analyze(self, model: Path) -> int:
        return len(model.name)

    def checks(self, report: int, base: int | None, where: PolicyPlace) -> tuple[Check, ...]:
        ok = report <= self.limit
        return (
            Check("count", Status.PASS if ok else Status.FAIL, f"{report}", key=where.key, line=where.line),
        )

    def when_broken(self) -> Status:
        return Status.FAIL

    def skipped(self, reason: str, where: PolicyPlace) -> tuple[Check, ...]:
        return (Check("count", Status.SKIP, reason, key=where.key),)

    def failed(self, error: str, where: PolicyPlace) -> tuple[Check, ...]:
        return (Check("count", Status.FAIL, error, key=where.key),)

    def summary(self, report: int) -> str:
        return f"count {report}"


def plans(tmp_path: Path, models_yaml: str, *, base: bool = False, base_same: bool = False, targets=()):
    (tmp_path / "edgegate.yml").write_text("version: 1\nmodels:\n" + models_yaml, encoding="utf-8")
    (tmp_path / "m.keras").write_bytes(b"model")
    policy = load_policy(tmp_path / "edgegate.yml", root=tmp_path)
    out = []
    for i, model in enumerate(policy.models):
        head = SourceModel(tmp_path / "m.keras", "keras", "m.keras")
        out.append(
            ModelPlan(
                ModelRef(i, model.name),
                model,
                "modified",
                "m.keras",
                "m.keras" if base else None,
                tmp_path / f"work{i}",
                head=head,
                base=SourceModel(tmp_path / "m.keras", "keras", "m.keras (base)") if base else None,
                base_same=base_same,
                targets=tuple(PlacedTarget(t, PolicyPlace(f"models[{i}].edgetpu", 3)) for t in targets),
            )
        )
    return out


def gate(tmp_path, runner, models_yaml, **kw):
    return loop.run(plans(tmp_path, models_yaml, **kw), runner, loop.Settings(root=tmp_path, latency=False))


def by_label(model):
    return {c.recipe: c for c in model.candidates}


EVAL = ", eval: {data: e.npz}, calibration: {data: e.npz}}\n"  # closes a flow-style model entry


def test_plain_conversions_are_separate_jobs_the_reference_then_the_longest_start_first(tmp_path):
    """The float reference first, then calibrating builds (int16x8's is longer), then the policy's order."""
    runner = FakeRunner(sizes={"float16": 600, "int8": 300, "dynamic": 400, "int16x8": 500})
    yaml = "  - {name: m, path: m.keras, recipes: [float16, int8, dynamic, int16x8]}\n"
    (m,) = gate(tmp_path, runner, yaml)
    assert [j.labels for j in runner.of(BuildJob)] == [
        ("float32",),
        ("int16x8",),
        ("int8",),
        ("float16",),
        ("dynamic",),
    ]
    assert m.deploy == "int8" and m.status == Status.PASS
    assert m.reference is not None and m.reference.recipe == "float32" and m.reference.checks == ()


def test_a_label_with_a_comma_routes_its_outcome(tmp_path):
    """Outcomes are routed by typed job, not by a string key split on ', ' or ':'."""
    runner = FakeRunner(sizes={"a, b: c": 10})
    yaml = "  - {name: m, path: m.keras, recipes: [{recipe: int8, name: 'a, b: c'}, float16]" + EVAL
    (m,) = gate(tmp_path, runner, yaml)
    c = by_label(m)["a, b: c"]
    assert c.size_bytes == 10 and c.error is None and c.accuracy is not None
    assert m.deploy == "a, b: c"


def test_a_crashed_build_fails_only_its_candidate(tmp_path):
    runner = FakeRunner(crash={"int8"})
    (m,) = gate(
        tmp_path, runner, "  - {name: m, path: m.keras, recipes: [float16, int8], deploy: smallest}\n"
    )
    c = by_label(m)
    assert (
        c["int8"].status == Status.ERROR
        and "conversion failed: the worker process crashed" in c["int8"].error
    )
    assert c["float16"].status == Status.PASS and m.deploy == "float16"


def test_a_crashed_reference_makes_the_model_an_error_with_the_reason(tmp_path):
    runner = FakeRunner(crash={"float32"})
    (m,) = gate(tmp_path, runner, "  - {name: m, path: m.keras, recipes: [int8]" + EVAL)
    assert m.status == Status.ERROR and "crashed" in m.error
    assert not runner.of(EvaluateJob)  # nothing is evaluated against a missing reference


def test_a_skipped_candidate_is_skip_with_its_reason_and_never_ships(tmp_path):
    runner = FakeRunner(sizes={"qat": 1}, skip={"qat": "no training data"})
    (m,) = gate(tmp_path, runner, "  - {name: m, path: m.keras, recipes: [int8, qat], deploy: smallest}\n")
    qat = by_label(m)["qat"]
    assert qat.status == Status.SKIP and qat.skip_reason == "no training data" and qat.error is None
    assert qat.checks == () and m.deploy == "int8"


def test_recipes_sharing_a_training_parent_are_one_job(tmp_path):
    runner = FakeRunner()
    gate(tmp_path, runner, "  - {name: m, path: m.keras, recipes: [prune, prune+int8, int8]}\n")
    groups = [j.labels for j in runner.of(BuildJob)]
    assert groups == [("float32",), ("prune", "prune+int8"), ("int8",)]  # then fine-tuning


def test_an_identical_base_is_not_built_again_and_its_figures_are_heads(tmp_path):
    runner = FakeRunner(sizes={"int8": 500})
    yaml = "  - {name: m, path: m.keras, recipes: [int8], budgets: {vs_base: {size: 1%}}}\n"
    (m,) = gate(tmp_path, runner, yaml, base=True, base_same=True)
    assert all(j.side == "head" for j in runner.of(BuildJob))
    c = by_label(m)["int8"]
    assert c.base is not None and c.base.size_bytes == 500
    assert next(ch for ch in c.checks if ch.name == "vs_base.size").status == Status.PASS


def test_a_different_base_is_built_and_compared(tmp_path):
    runner = FakeRunner(sizes={"int8": 600}, base_sizes={"int8": 500})
    yaml = "  - {name: m, path: m.keras, recipes: [int8], budgets: {vs_base: {size: 5%}}}\n"
    (m,) = gate(tmp_path, runner, yaml, base=True)
    assert {j.side for j in runner.of(BuildJob)} == {"head", "base"}
    check = next(ch for ch in by_label(m)["int8"].checks if ch.name == "vs_base.size")
    assert check.status == Status.FAIL and m.status == Status.FAIL


def test_the_base_float_reference_is_built_for_the_model_diff_and_nothing_else(tmp_path):
    """Issue 18: the diff compares the float reference of both versions, so base's is built; it is
    no judged candidate, so it is not evaluated, analyzed or timed, and the totals say so."""
    runner = FakeRunner(base_sizes={"int8": 500})
    yaml = (
        "  - {name: m, path: m.keras, recipes: [int8], budgets: {vs_base: {accuracy: {max_drop: 1pt}}}" + EVAL
    )
    targets = (replace(CountingTarget(), limit=100),)
    (m,) = loop.run(
        plans(tmp_path, yaml, base=True, targets=targets),
        runner,
        loop.Settings(root=tmp_path, latency=True),
    )
    base_builds = [j for j in runner.of(BuildJob) if j.side == "base"]
    assert sorted(label for j in base_builds for label in j.labels) == ["float32", "int8"]
    measured = runner.of(EvaluateJob) + runner.of(TargetJob)
    assert not [j for j in measured if (j.candidate.side, j.candidate.label) == ("base", "float32")]
    assert [j.candidate.label for j in runner.of(EvaluateJob) if j.candidate.side == "base"] == ["int8"]
    timed = [ref for job in runner.of(LatencyJob) for ref, _ in job.candidates]
    assert ("base", "float32") not in {(ref.side, ref.label) for ref in timed}
    assert runner.expected == len(runner.ran)
    assert m.reference is not None and m.reference.base is not None and m.reference.base.size_bytes == 1000


def test_fidelity_evaluations_wait_for_the_reference_outputs(tmp_path):
    runner = FakeRunner()
    yaml = "  - {name: m, path: m.keras, recipes: [int8], eval: {data: e.npz, metric: fidelity}, calibration: {data: e.npz}}\n"
    gate(tmp_path, runner, yaml)
    evaluations = runner.of(EvaluateJob)
    assert [e.candidate.label for e in evaluations] == ["float32", "int8"]
    assert (
        evaluations[0].save_outputs is not None
        and evaluations[1].reference_outputs == evaluations[0].save_outputs
    )


def test_targets_analyze_what_they_apply_to_and_say_why_not_otherwise(tmp_path):
    runner = FakeRunner()
    yaml = "  - {name: m, path: m.keras, recipes: [float16, int8], deploy: all}\n"
    (m,) = gate(tmp_path, runner, yaml, targets=(CountingTarget(limit=100),))
    assert [j.candidate.label for j in runner.of(TargetJob)] == ["int8"]  # not float16, not the reference
    c = by_label(m)
    assert [(ch.status, ch.message) for ch in c["float16"].checks if ch.name == "count"] == [
        (Status.SKIP, "float16 never runs here")
    ]
    assert [ch.status for ch in c["int8"].checks if ch.name == "count"] == [Status.PASS]


def test_a_failing_target_check_fails_the_candidate(tmp_path):
    runner = FakeRunner()
    (m,) = gate(
        tmp_path,
        runner,
        "  - {name: m, path: m.keras, recipes: [int8]}\n",
        targets=(CountingTarget(limit=1),),
    )
    assert by_label(m)["int8"].status == Status.FAIL and m.status == Status.FAIL


def test_auto_search_asks_for_a_second_round_and_ships_what_the_chooser_picks(tmp_path):
    # PTQ all fail on accuracy (int8 loses 10 pt), int16x8 then passes.
    runner = FakeRunner(
        accuracy={"float32": 0.95, "float16": 0.95, "dynamic": 0.95, "int8": 0.85, "int16x8": 0.94}
    )
    runner.sizes = {"float16": 9000, "dynamic": 9000, "int8": 400, "int16x8": 700}
    yaml = (
        "  - {name: m, path: m.keras, recipes: auto, budgets: {size: 5 KB, accuracy: {max_drop: 2pt}}" + EVAL
    )
    (m,) = gate(tmp_path, runner, yaml)
    rounds = [j.labels for j in runner.of(BuildJob)]
    assert rounds[-1] == ("int16x8",)
    assert m.deploy == "int16x8" and m.status == Status.PASS
    assert any("int16x8" in line for line in m.decision)


def test_latency_is_timed_once_per_model_with_every_candidate(tmp_path):
    runner = FakeRunner()
    ms = plans(tmp_path, "  - {name: m, path: m.keras, recipes: [float16, int8]}\n")
    (m,) = loop.run(ms, runner, loop.Settings(root=tmp_path, latency=True))
    (job,) = runner.of(LatencyJob)
    assert [ref.label for ref, _ in job.candidates] == ["float32", "float16", "int8"]
    assert all(c.latency_ms == 1.0 for c in m.candidates)


def test_the_parent_side_of_a_run_imports_no_tensorflow():
    """The schedule, the jobs' types and assembling import no TensorFlow (workers do)."""
    import subprocess

    code = (
        "import sys; import edgegate.run, edgegate.run.loop, edgegate.run.jobs, edgegate.run.assemble, "
        "edgegate.run.pool_runner, edgegate.targets.edgetpu.target; "
        "print(sorted(m for m in ('tensorflow', 'tf_keras', 'tensorflow_model_optimization') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unreadable_base_version_is_reported_as_such_not_as_new(tmp_path):
    from dataclasses import replace

    (plan,) = plans(
        tmp_path, "  - {name: m, path: m.keras, recipes: [int8], budgets: {vs_base: {size: 5%}}}\n"
    )
    plan = replace(
        plan, base_path="m.keras", base_error="m.keras (base): a Git LFS pointer (object not fetched)"
    )
    runner = FakeRunner()
    (m,) = loop.run([plan], runner, loop.Settings(root=tmp_path, latency=False))
    check = next(ch for ch in by_label(m)["int8"].checks if ch.name == "vs_base.size")
    assert check.status == Status.WARN and "Git LFS pointer" in check.message
    assert m.status == Status.WARN


# --- progress totals: the work is announced before it starts ---------------------------------


def test_a_rounds_work_is_announced_before_its_first_job(tmp_path):
    """Builds, evaluations, target analyses and the latency job, counted up front (the terminal's
    "(3/11)" never grows while the round runs)."""
    runner = FakeRunner()
    yaml = "  - {name: m, path: m.keras, recipes: [float16, int8, dynamic]" + EVAL
    ms = plans(tmp_path, yaml + yaml.replace("name: m,", "name: n,"), targets=(CountingTarget(),))
    loop.run(ms, runner, loop.Settings(root=tmp_path, latency=True))
    # per model: 4 builds, 4 evaluations, 2 target analyses (int8, dynamic), 3 memory
    # measurements (the judged candidates, latency being measured), 1 latency job
    assert len(runner.ran) == 28
    assert set(runner.announced_before_each_job) == {28}


def test_a_failed_build_takes_its_measurements_off_the_total(tmp_path):
    runner = FakeRunner(crash={"int8"})
    gate(tmp_path, runner, "  - {name: m, path: m.keras, recipes: [float16, int8]" + EVAL)
    assert runner.announced_before_each_job[0] == 6  # 3 builds, 3 evaluations
    assert runner.expected == len(runner.ran) == 5  # int8's evaluation never came


def test_fidelity_evaluations_cancelled_by_a_failed_reference_leave_the_total(tmp_path):
    runner = FakeRunner(crash={"float32"})
    yaml = "  - {name: m, path: m.keras, recipes: [int8, float16], eval: {data: e.npz, metric: fidelity}, calibration: {data: e.npz}}\n"
    gate(tmp_path, runner, yaml)
    assert runner.expected == len(runner.ran) == 3  # the three builds: nothing to evaluate against


def test_fidelity_evaluations_waiting_for_the_reference_are_counted_once(tmp_path):
    runner = FakeRunner()
    yaml = "  - {name: m, path: m.keras, recipes: [int8, float16], eval: {data: e.npz, metric: fidelity}, calibration: {data: e.npz}}\n"
    gate(tmp_path, runner, yaml)
    assert set(runner.announced_before_each_job) == {6} and runner.expected == len(runner.ran) == 6


def test_a_tflite_model_and_a_keras_model_share_a_round(tmp_path):
    """A .tflite source is one build with no recipe (taken as it is), scheduled among the others."""
    runner = FakeRunner()
    yaml = "  - {name: m, path: m.keras, recipes: [int8]" + EVAL + "  - {name: t, path: t.tflite" + EVAL
    (tmp_path / "t.tflite").write_bytes(b"tflite")
    keras_plan, tflite_plan = plans(tmp_path, yaml)
    tflite_plan = replace(tflite_plan, head=SourceModel(tmp_path / "t.tflite", "tflite", "t.tflite"))
    m, t = loop.run([keras_plan, tflite_plan], runner, loop.Settings(root=tmp_path, latency=False))
    assert [j.labels for j in runner.of(BuildJob)] == [("float32",), ("int8",), ("as-is",)]
    assert t.status == Status.PASS and m.status == Status.PASS
    assert runner.expected == len(runner.ran) == 6
