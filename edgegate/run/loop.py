"""The schedule: which jobs run when, over a ``Runner`` that executes them.

``run(plan, runner)`` gates every model of a plan. Each round builds the recipes asked for
(head and base versions); every build queues the evaluations, target analyses and memory
measurements of what it built as soon as it finishes, so conversions and measurements overlap
across workers. Latency is timed after, one model at a time with nothing else running. Then the
candidates are judged; ``recipes: auto`` may ask for another round. Last, candidates that lost
accuracy get their per-layer analysis. The runner is injected: the worker pool in a real run, an
in-process fake in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from edgegate.conversions import CONVERSIONS
from edgegate.transforms import TRANSFORMS
from edgegate.policy.sections import Calibration, ModelPolicy, Recipe
from edgegate.recipes.interface import BuildRequest, BuiltCandidate, is_float_reference, training_key
from edgegate.recipes.litert_quantize import STANDS_OUT_DB
from edgegate.measurements.interface import LatencyFigures, MemoryFigures
from edgegate.results import LayerError, ModelResult
from edgegate.run import assemble
from edgegate.run.figures import CandidateFigures, ModelFigures
from edgegate.run.jobs import (
    AS_IS,
    BuildJob,
    CandidateRef,
    Evaluated,
    EvaluateJob,
    Job,
    JobOutcome,
    LatencyJob,
    LayerAnalysisJob,
    MemoryJob,
    Side,
    TargetJob,
)
from edgegate.run.keep_float import KeepFloatSearches, breaks_accuracy
from edgegate.run.plan import ModelPlan
from edgegate.targets.interface import Target

LAYERS_SHOWN = 5  # the layers a per-layer analysis names (a keep-float search asks for its bound)
QUANTIZER_NOTHING_STANDS_OUT = (
    "the LiteRT Quantizer's per-layer SNR names no op that lost over {db:g} dB itself (or was not "
    "computed: the candidate's notes say why)"
)
NO_LAYER_STANDS_OUT = (
    "per-layer analysis: no layer's int8 error stands out (RMSE/scale ≤ {notable} everywhere); "
    "the loss is spread over the model — try int16x8 or qat"
)


class Runner(Protocol):
    """Runs jobs and whatever ``on_outcome`` returns as follow-ups, until none are left.

    A job's exclusive flag means nothing else runs meanwhile. A job that raises, crashes its
    process or times out comes back as an outcome with ``error`` set; the runner never raises
    for a job.
    """

    def expect(self, jobs: int) -> None:
        """``jobs`` more jobs will be run, follow-ups included (negative: fewer than announced).

        The loop announces a round's work before it starts, so that progress totals are known
        up front and only shrink when a failure cancels the measurements of what it would
        have built."""

    def run(
        self, jobs: Sequence[Job[Any]], on_outcome: Callable[[JobOutcome[Any]], Iterable[Job[Any]]]
    ) -> None: ...


@dataclass(frozen=True)
class Settings:
    """The parts of the command line that change the schedule."""

    root: Path
    latency: bool = True
    threads: int | None = None  # interpreter threads (default: the model's latency.threads)
    only_recipes: tuple[str, ...] = ()  # --recipes
    keep_in: Path | None = None  # --out: candidates are kept, and named relative to it


def run(plans: Sequence[ModelPlan], runner: Runner, settings: Settings) -> tuple[ModelResult, ...]:
    return run_timed(plans, runner, settings)[0]


def run_timed(
    plans: Sequence[ModelPlan], runner: Runner, settings: Settings
) -> tuple[tuple[ModelResult, ...], dict[str, float]]:
    """``run``, and each model's cost: the seconds its jobs ran in workers (models none ran left out)."""
    loop = _Loop(plans, runner, settings)
    results = loop.run()
    return results, {m.plan.ref.name: round(m.seconds, 3) for m in loop.models if m.seconds > 0}


class _Loop:
    def __init__(self, plans: Sequence[ModelPlan], runner: Runner, settings: Settings):
        self.models = [ModelFigures(p) for p in plans]
        self.runner = runner
        self.settings = settings
        self._announced: dict[int, int] = {}  # id(build job) → the measurements expected of it
        self._sessions = 0  # latency jobs timed so far

    def run(self) -> tuple[ModelResult, ...]:
        pending = {m.plan.ref.index: self._initial(m) for m in self.models if not m.error}
        while pending:
            active = [m for m in self.models if m.plan.ref.index in pending]
            builds = [job for m in active for job in self._builds(m, pending[m.plan.ref.index])]
            builds.sort(key=_start_rank, reverse=True)  # stable: the policy's order otherwise
            for job in builds:
                self._announced[id(job)] = self._expected_measurements(job)
            latency_jobs = sum(1 for m in active if not m.error) if self.settings.latency else 0
            self.runner.expect(len(builds) + sum(self._announced.values()) + latency_jobs)
            self.runner.run(builds, self._on_outcome)
            self._announced.clear()
            if self.settings.latency:
                timed = [job for m in active for job in self._latency(m, pending[m.plan.ref.index])]
                self.runner.expect(len(timed) - latency_jobs)
                self.runner.run(timed, self._on_outcome)
            for m in active:
                m.results = assemble.judge(m, latency_measured=self.settings.latency)
            self._rank(active)
            pending = {m.plan.ref.index: nxt for m in active if not m.error for nxt in [self._next(m)] if nxt}
        analyses = [job for m in self.models for job in self._layer_analyses(m)]
        self.runner.expect(len(analyses))  # known only once the candidates are judged
        self.runner.run(analyses, self._on_outcome)
        for m in self.models:
            m.results = assemble.with_layer_analyses(m)
        return tuple(
            assemble.model_result(m, latency_measured=self.settings.latency, keep_in=self.settings.keep_in)
            for m in self.models
        )

    # --- what to build ----------------------------------------------------------------------

    def _initial(self, m: ModelFigures) -> list[Recipe]:
        policy = m.plan.policy
        # Every model's: a candidate whose stage cannot keep layers float is never searched.
        m.keep_float = KeepFloatSearches(policy.keep_float_search, auto=policy.auto)
        if m.plan.measured_as_is:  # itself, and the recipes the policy wrote for it (the quantizer's)
            recipes = policy.recipes
            return [
                r for r in recipes if not self.settings.only_recipes or r.label in self.settings.only_recipes
            ]
        if self.settings.only_recipes:
            return [r for r in policy.recipes if r.label in self.settings.only_recipes]
        if policy.auto:
            from edgegate.run.auto import AutoSearch

            training = policy.training
            has_data = training is not None and (training.data is not None or bool(training.hook))
            m.search = AutoSearch(
                policy, has_training_data=has_data, edgetpu_required=policy.edgetpu.level == "error"
            )
            return list(m.search.next_recipes([]))
        return list(policy.recipes)

    def _next(self, m: ModelFigures) -> list[Recipe]:
        if m.keep_float is not None:  # repairs first: a step within budget may end the auto search
            repairs = m.keep_float.next_recipes({r.recipe: r for r in m.results})
            if repairs:
                return [r for r in repairs if r.label not in m.head]
        if m.search is None:
            return []
        return [r for r in m.search.next_recipes(assemble.shippable(m)) if r.label not in m.head]

    def _rank(self, models: list[ModelFigures]) -> None:
        """The per-layer ranking of each candidate a keep-float search starts from (run now: the
        next round builds on it): a quantizer candidate's came with its build; a converter
        candidate's is a per-layer analysis job."""
        jobs: list[Job[Any]] = []
        for m in models:
            if m.keep_float is None or m.error:
                continue
            for r in m.results:
                c = m.head[r.recipe]
                recipe = c.recipe
                if recipe is None or not m.keep_float.wants_ranking(r, recipe):
                    continue
                if recipe.transforms:
                    ranking = c.built.ranking if c.built is not None else ()
                    m.keep_float.start(recipe, ranking, QUANTIZER_NOTHING_STANDS_OUT.format(db=STANDS_OUT_DB))
                    continue
                top = max(LAYERS_SHOWN, m.plan.policy.keep_float_search.max_layers)
                ref = CandidateRef(m.plan.ref, "head", r.recipe)
                jobs.append(LayerAnalysisJob(ref, self._request(m, "head", (recipe,)), top))
        if not jobs:
            return
        self.runner.expect(len(jobs))
        self.runner.run(jobs, self._on_outcome)
        for job in jobs:
            assert isinstance(job, LayerAnalysisJob)
            m, label = self.models[job.candidate.model.index], job.candidate.label
            recipe = m.head[label].recipe
            assert m.keep_float is not None and recipe is not None
            nodes = [layer.node for layer in m.worst_layers.get(label, ())]
            m.keep_float.start(recipe, nodes, m.layer_notes.get(label))

    def _builds(self, m: ModelFigures, recipes: list[Recipe]) -> list[BuildJob]:
        jobs: list[BuildJob] = []
        for side in ("head", "base"):
            source = m.plan.source(side)
            store = m.side(side)
            if source is None or (side == "base" and m.plan.base_same):
                continue
            wanted = [r for r in recipes if r.label not in store]
            if side == "base" and m.keep_float is not None:  # a search's steps repair head's candidate
                wanted = [r for r in wanted if m.keep_float.kept(r.label) is None]
            if source.format.measured_as_is:
                if AS_IS not in store:
                    store[AS_IS] = CandidateFigures(None)
                    jobs.append(BuildJob(m.plan.ref, side, self._request(m, side, ())))
                # Its own recipes transform the file (a converted head's recipes need a converter).
                for r in wanted:
                    if r.transforms and not r.trainings:
                        store[r.label] = CandidateFigures(r)
                        jobs.append(BuildJob(m.plan.ref, side, self._request(m, side, (r,))))
                continue
            reference = m.plan.reference_label
            # The base version's float reference too: the model diff compares the two (built only).
            if reference is not None and reference not in store and all(r.label != reference for r in wanted):
                wanted.insert(0, Recipe(recipe=reference, name=reference))
            # Recipes sharing a fine-tuned parent build together (it is trained once); plain
            # conversions are separate jobs, so the workers convert them in parallel.
            groups: dict[tuple[Any, ...], list[Recipe]] = {}
            for r in wanted:
                key = training_key(r)
                groups.setdefault(key if key else ("convert", r.label), []).append(r)
                store[r.label] = CandidateFigures(r)
            jobs += [BuildJob(m.plan.ref, side, self._request(m, side, tuple(g))) for g in groups.values()]
        return jobs

    def _request(self, m: ModelFigures, side: str, recipes: tuple[Recipe, ...]) -> BuildRequest:
        policy = m.plan.policy
        calibration = policy.calibration
        if calibration is None and policy.eval is not None:  # the eval set calibrates too
            calibration = Calibration(key=policy.eval.key, line=policy.eval.line, data=policy.eval.data)
        source = m.plan.source(side)
        assert source is not None
        return BuildRequest(
            model_name=m.plan.ref.name,
            source=source,
            recipes=recipes,
            out_dir=m.plan.work / side,
            root=self.settings.root,
            calibration=calibration,
            training=policy.training,
        )

    # --- what follows a build ---------------------------------------------------------------

    def _measurements(self, m: ModelFigures, side: Side, label: str) -> list[Job[Any]]:
        """What to measure of a candidate that was just built: its targets and its accuracy."""
        c = m.side(side)[label]
        if c.path is None or m.error:
            return []
        ref = CandidateRef(m.plan.ref, side, label)
        jobs: list[Job[Any]] = [
            TargetJob(ref, c.path, target) for target in self._analyzed_targets(m, side, label)
        ]
        if self._is_memory_measured(m, side, label):
            jobs.append(MemoryJob(ref, c.path, m.plan.shown(side, label), self._threads(m)))
        evaluation = self._evaluation(m, side, label, c.path)
        return jobs + ([evaluation] if evaluation else [])

    def _is_memory_measured(self, m: ModelFigures, side: Side, label: str) -> bool:
        """Whether this candidate's memory is measured once built: when a budget asks for it (a
        fresh process per candidate), of the judged candidates, and of the base side only for a
        ``vs_base`` memory budget; never of a model the interpreter cannot run."""
        budgets = [b for b in m.plan.policy.budgets if b.metric == "memory"]
        if side == "base":
            budgets = [b for b in budgets if b.against == "base"]
        wanted = self._is_judged(m, side, label)
        return bool(budgets) and wanted and m.side(side)[label].not_runnable is None

    def _analyzed_targets(self, m: ModelFigures, side: Side, label: str) -> list[Target[Any]]:
        """The targets that analyze this candidate once it is built."""
        # The base side is analyzed only for targets that compare with it; the float reference
        # only when it is itself a judged candidate.
        wanted = self._is_judged(m, side, label)
        conversion = m.side(side)[label].conversion
        return [
            placed.target
            for placed in m.plan.targets
            if wanted
            and (side == "head" or placed.target.needs_base())
            and placed.target.never_applies(conversion) is None
        ]

    def _is_evaluated(self, m: ModelFigures, side: Side) -> bool:
        """Whether this side's candidates are evaluated once built (when the interpreter runs them)."""
        policy = m.plan.policy
        return m.plan.evaluation is not None and (side == "head" or _has_base_accuracy_budget(policy))

    def _expected_measurements(self, job: BuildJob) -> int:
        """How many jobs follow ``job`` if all it builds can be measured (progress totals)."""
        m = self.models[job.model.index]
        if m.error:
            return 0
        evaluated = int(self._is_evaluated(m, job.side))
        return sum(
            len(self._analyzed_targets(m, job.side, label))
            + (evaluated and not self._diff_only(m, job.side, label))
            + int(self._is_memory_measured(m, job.side, label))
            for label in job.labels
        )

    def _is_judged(self, m: ModelFigures, side: Side, label: str) -> bool:
        """A head candidate the verdicts judge, or any base version but the float reference built
        for the model diff alone: what memory and target analyses may measure."""
        return label in assemble.judged_labels(m) if side == "head" else not self._diff_only(m, side, label)

    def _diff_only(self, m: ModelFigures, side: Side, label: str) -> bool:
        """The base version's float reference, when it is no judged candidate: built for the model
        diff, not measured."""
        return side == "base" and label == m.plan.reference_label and label not in assemble.judged_labels(m)

    def _evaluation(self, m: ModelFigures, side: Side, label: str, path: Path) -> EvaluateJob | None:
        evaluation = m.plan.evaluation
        if evaluation is None or m.error or m.side(side)[label].not_runnable:
            return None
        if not self._is_evaluated(m, side) or self._diff_only(m, side, label):
            return None
        is_reference = side == "head" and label == m.plan.reference_label
        job = EvaluateJob(
            CandidateRef(m.plan.ref, side, label),
            path,
            m.plan.shown(side, label),
            evaluation.data,
            evaluation.metric,
            self.settings.root,
            evaluation.batch_size,
            self._threads(m),
            save_outputs=m.plan.work / "reference_outputs.npy" if is_reference else None,
        )
        needs_reference = evaluation.metric.name == "fidelity" and not is_reference
        if not needs_reference or m.plan.reference_label is None:
            return job
        if m.reference_outputs is not None:
            return _with_reference(job, m.reference_outputs)
        if not m.reference_done:
            m.waiting.append(job)  # queued when the reference's outputs exist
        return None  # (a failed reference put its error on the model already)

    def _threads(self, m: ModelFigures) -> int:
        return int(self.settings.threads or m.plan.policy.latency.threads)

    # --- outcomes -----------------------------------------------------------------------------

    def _on_outcome(self, outcome: JobOutcome[Any]) -> list[Job[Any]]:
        # The value crossed a process boundary untyped; each route below takes it as what its
        # kind of job returns.
        job = outcome.job
        if outcome.seconds:
            self.models[job.model_ref.index].seconds += outcome.seconds
        if isinstance(job, BuildJob):
            return self._built(job, outcome)
        if isinstance(job, EvaluateJob):
            return self._evaluated(job, outcome)
        if isinstance(job, TargetJob):
            return self._analyzed(job, outcome)
        if isinstance(job, LatencyJob):
            return self._timed(job, outcome)
        if isinstance(job, MemoryJob):
            return self._memory_measured(job, outcome)
        if isinstance(job, LayerAnalysisJob):
            return self._layers_analyzed(job, outcome)
        raise TypeError(f"no route for {type(job).__name__}")  # a programming error

    def _analyzed(self, job: TargetJob, outcome: JobOutcome[object]) -> list[Job[Any]]:
        c = self._candidate(job.candidate)
        if outcome.ok:
            c.targets[job.target.name] = outcome.value
        else:
            c.target_errors[job.target.name] = outcome.error or "unknown error"
        return []

    def _timed(
        self, job: LatencyJob, outcome: JobOutcome[tuple[tuple[CandidateRef, LatencyFigures], ...]]
    ) -> list[Job[Any]]:
        m = self.models[job.model.index]
        self._sessions += 1  # the rounds of this job's models pair up with each other only
        for ref, figures in outcome.value or ():
            figures = replace(figures, session=self._sessions)
            self._candidate(ref).latency = figures
            if ref.side == "head" and ref.label == m.plan.reference_label:
                m.reference_latency[self._sessions] = figures  # re-timed each round of recipes: auto
        if not outcome.ok:
            if m.plan.measured_as_is:
                m.error = m.error or outcome.error
            m.notes.append(f"latency could not be measured: {outcome.error}")
        return []

    def _memory_measured(self, job: MemoryJob, outcome: JobOutcome[MemoryFigures]) -> list[Job[Any]]:
        c = self._candidate(job.candidate)
        if outcome.ok:
            c.memory = outcome.value
        else:
            c.memory_error = outcome.error or "unknown error"
        return []

    def _layers_analyzed(
        self, job: LayerAnalysisJob, outcome: JobOutcome[tuple[LayerError, ...]]
    ) -> list[Job[Any]]:
        m, label = self.models[job.candidate.model.index], job.candidate.label
        if outcome.ok and outcome.value:
            m.worst_layers[label] = tuple(outcome.value)
        elif outcome.ok:
            from edgegate.recipes.layer_errors import NOTABLE

            m.layer_notes[label] = NO_LAYER_STANDS_OUT.format(notable=NOTABLE)
        else:
            m.layer_notes[label] = f"the per-layer error analysis failed: {outcome.error}"
        return []

    def _candidate(self, ref: CandidateRef) -> CandidateFigures:
        return self.models[ref.model.index].side(ref.side)[ref.label]

    def _built(self, job: BuildJob, outcome: JobOutcome[tuple[BuiltCandidate, ...]]) -> list[Job[Any]]:
        m = self.models[job.model.index]
        store = m.side(job.side)
        if outcome.ok:
            for b in outcome.value or ():
                store[b.label].built = b
                store[b.label].error = b.error
        else:
            for label in job.labels:
                store[label].error = f"conversion failed: {outcome.error}"
        reference = m.plan.reference_label
        if job.side == "head" and reference in job.labels and store[reference].path is None:
            self._reference_failed(m, store[reference].error)
        follow: list[Job[Any]] = []
        waiting = len(m.waiting)
        for label in job.labels:
            if store[label].path is not None:
                follow += self._measurements(m, job.side, label)
        deferred = len(m.waiting) - waiting  # queued when the reference's outputs exist
        self.runner.expect(len(follow) + deferred - self._announced.pop(id(job), 0))
        return follow

    def _evaluated(self, job: EvaluateJob, outcome: JobOutcome[Evaluated]) -> list[Job[Any]]:
        m = self.models[job.candidate.model.index]
        c = self._candidate(job.candidate)
        head = job.candidate.side == "head"
        if outcome.ok and outcome.value is not None:
            c.accuracy, c.scores = outcome.value.accuracy, outcome.value.scores
        else:
            c.error = f"evaluation failed: {outcome.error}"
            if head and job.candidate.label == AS_IS:  # a .tflite source is its own only candidate
                m.error = m.error or outcome.error
        if not (head and job.candidate.label == m.plan.reference_label):
            return []
        if not outcome.ok:
            self._reference_failed(m, outcome.error)
            return []
        m.reference_outputs, m.reference_done = job.save_outputs, True
        waiting, m.waiting = m.waiting, []
        assert m.reference_outputs is not None
        return [_with_reference(j, m.reference_outputs) for j in waiting]

    def _reference_failed(self, m: ModelFigures, error: str | None) -> None:
        """Without the float reference nothing of this model can be judged: say why, once."""
        m.reference_done = True
        self.runner.expect(-len(m.waiting))
        m.waiting.clear()
        m.error = m.error or error or "the float reference could not be built"

    # --- latency and layer analyses ---------------------------------------------------------------

    def _latency(self, m: ModelFigures, recipes: list[Recipe]) -> list[Job[Any]]:
        labels = {r.label for r in recipes} or {AS_IS}
        sides: tuple[Side, ...] = ("head",) if m.plan.base_same else ("head", "base")
        timed = tuple(
            (CandidateRef(m.plan.ref, side, label), c.path)
            for side in sides
            for label, c in m.side(side).items()
            if c.usable
            and c.path is not None
            and (label in labels or label == m.plan.reference_label)
            and not self._diff_only(m, side, label)
        )
        if not timed or m.error:
            return []
        spec = m.plan.policy.latency
        return [LatencyJob(m.plan.ref, timed, spec.runs, spec.warmup, self._threads(m))]

    def _layer_analyses(self, m: ModelFigures) -> list[Job[Any]]:
        """Quantized candidates that fail an accuracy budget: which layers lose the most."""
        if m.plan.head is None or m.plan.measured_as_is or m.error:
            return []
        jobs: list[Job[Any]] = []
        for r in m.results:
            recipe = m.head[r.recipe].recipe
            analyzed = r.recipe in m.worst_layers or r.recipe in m.layer_notes  # for a keep-float search
            # The quantization debugger compares calibrated ranges, re-running the conversion only.
            calibrated = recipe is not None and CONVERSIONS[recipe.conversion].needs_calibration
            plain = recipe is not None and not recipe.transforms and not recipe.keep_float
            if (
                recipe
                and plain
                and not analyzed
                and breaks_accuracy(r)
                and calibrated
                and "qat" not in recipe.trainings
            ):
                ref = CandidateRef(m.plan.ref, "head", r.recipe)
                jobs.append(LayerAnalysisJob(ref, self._request(m, "head", (recipe,))))
        return jobs


def _start_rank(job: Job[Any]) -> int:
    """Which builds start first: the float reference, then the longest (fine-tuning, calibrating).

    The reference goes first because every other candidate is judged against it (and fidelity
    evaluations wait for its outputs); the rest start longest first, so that no worker is left
    alone with a long build at the end (on 2 cores, MobileNetV2's five builds in the policy's
    order idled one worker for a third of the run).
    """
    if not isinstance(job, BuildJob):
        return 0
    recipes = job.request.recipes
    if any(is_float_reference(r) for r in recipes):
        return 10
    if any(r.trainings for r in recipes):
        return 5
    return max((_duration_rank(r) for r in recipes), default=0)  # a .tflite: none


def _duration_rank(recipe: Recipe) -> int:
    """The longest of a recipe's stages, as each declares (its conversion, its .tflite transforms)."""
    ranks = [CONVERSIONS[recipe.conversion].duration_rank]
    return max(ranks + [TRANSFORMS[t].duration_rank for t in recipe.transforms])


def _has_base_accuracy_budget(policy: ModelPolicy) -> bool:
    return any(b.against == "base" and b.metric == "accuracy" for b in policy.budgets)


def _with_reference(job: EvaluateJob, outputs: Path) -> EvaluateJob:
    return replace(job, reference_outputs=outputs)
