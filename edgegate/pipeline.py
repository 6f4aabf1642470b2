"""The run: policy → changed models → candidates → measurements → verdicts → ``RunResult``.

Work is scheduled on a ``WorkerPool``: every build (head and base versions, one task per
group of recipes sharing a fine-tuned parent) queues the evaluations of what it built as
soon as it finishes, so conversions and evaluations overlap across cores. Latency is timed
afterwards, one model at a time with nothing else running, the float reference, the
candidates and their base versions interleaved. The parent process never imports TensorFlow.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from edgegate import __version__
from edgegate.run import CheckOptions
from edgegate.errors import EdgeGateError, InputError, UsageError
from edgegate.policy.load import load_policy
from edgegate.policy.sections import Calibration, ModelPolicy, Policy, Recipe
from edgegate.progress import Progress
from edgegate.recipes.interface import (
    BuildRequest,
    BuiltCandidate,
    SourceModel,
    model_kind,
    stages_of,
    training_key,
)
from edgegate.results import (
    Accuracy,
    BaseFigures,
    CandidateResult,
    NO_CHANGE_NOTE,
    GitRef,
    ModelResult,
    RunResult,
)
from edgegate.verdicts.budgets import candidate_checks, candidate_status
from edgegate.verdicts.deploy import choose
from edgegate.status import Status
from edgegate.workers.interface import Task, TaskOutcome
from edgegate.workers.pool import WorkerPool

REFERENCE = Recipe(recipe="float32", name="float32")
AS_IS = "as-is"  # the label of a .tflite source measured as it is
BUILD_TIMEOUT_S = 3600
EVAL_TIMEOUT_S = 1800


@dataclass
class _Candidate:
    """Mutable bookkeeping for one candidate while the run fills it in."""

    spec: Recipe
    path: Path | None = None
    error: str | None = None
    training: object | None = None
    notes: list[str] = field(default_factory=list)
    accuracy: Accuracy | None = None
    latency: object | None = None  # LatencyFigures


@dataclass
class _ModelRun:
    index: int
    name: str
    model: ModelPolicy
    change: str
    head_path: str
    base_path: str | None
    work: Path
    head: SourceModel | None = None
    base: SourceModel | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    head_cands: dict[str, _Candidate] = field(default_factory=dict)
    base_cands: dict[str, _Candidate] = field(default_factory=dict)
    reference_outputs: Path | None = None
    reference_done: bool = False
    waiting_evals: list[Task] = field(default_factory=list)
    search: object | None = None  # AutoSearch for recipes: auto
    base_same: bool = False  # base version byte-identical to head: its candidates are head's
    results: tuple[CandidateResult, ...] = ()
    decision_lines: tuple[str, ...] = ()

    @property
    def is_tflite(self) -> bool:
        return self.head is not None and self.head.kind == "tflite"

    @property
    def reference_label(self) -> str | None:
        return None if self.is_tflite else REFERENCE.label


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"edgegate": __version__, "python": sys.version.split()[0]}
    for dist in ("tensorflow", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _key_of(model: ModelPolicy, section: str) -> str:
    value = getattr(model, section)
    return value.key if value is not None else f"defaults.{section}"


def _has_base_accuracy_budget(model: ModelPolicy) -> bool:
    return any(b.against == "base" and b.metric == "accuracy" for b in model.budgets)


class _Run:
    def __init__(self, options: CheckOptions, policy: Policy, progress: Progress):
        self.options = options
        self.policy = policy
        self.progress = progress
        self.models: list[_ModelRun] = []

    # --- tasks ------------------------------------------------------------------------

    def request(self, m: _ModelRun, side: str, source: SourceModel, recipes) -> BuildRequest:
        """What a worker needs to build ``recipes`` from one version of a model."""
        model = m.model
        calibration, calibration_key = model.calibration, _key_of(model, "calibration")
        if calibration is None and model.eval is not None:
            calibration, calibration_key = (
                Calibration(key=model.eval.key, line=model.eval.line, data=model.eval.data),
                _key_of(model, "eval"),
            )
        return BuildRequest(
            model_name=m.name,
            source=source,
            recipes=tuple(recipes),
            out_dir=m.work / side,
            root=self.policy.root,
            calibration=calibration,
            calibration_key=calibration_key + ".data",
            training=model.training,
            training_key=_key_of(model, "training"),
        )

    def build_tasks(self, m: _ModelRun, recipes: list[Recipe]) -> list[Task]:
        tasks = []
        for side, source, store in (("head", m.head, m.head_cands), ("base", m.base, m.base_cands)):
            if source is None:
                continue
            if source.kind == "tflite":
                if AS_IS not in store:
                    store[AS_IS] = _Candidate(Recipe(recipe="float32", name=AS_IS), path=source.path)
                    tasks += self.eval_tasks(m, side, AS_IS)
                continue
            wanted = [r for r in recipes if r.label not in store]
            if (
                side == "head"
                and REFERENCE.label not in store
                and all(r.label != REFERENCE.label for r in wanted)
            ):
                wanted.insert(0, REFERENCE)
            # Recipes sharing a fine-tuned parent build together (it is trained once); plain
            # conversions are independent tasks, so the workers convert them in parallel.
            groups: dict[tuple, list[Recipe]] = {}
            for r in wanted:
                key = training_key(r)
                groups.setdefault(key if key else ("convert", r.label), []).append(r)
                store[r.label] = _Candidate(r)
            for group in groups.values():
                labels = ", ".join(r.label for r in group)
                tasks.append(
                    Task(
                        f"{m.index}:{side}:build:{labels}",
                        "edgegate.workers.tasks:build",
                        (self.request(m, side, source, group),),
                        f"{m.name} · {labels}{' (base)' if side == 'base' else ''} · convert",
                        timeout_s=BUILD_TIMEOUT_S,
                    )
                )
        return tasks

    def eval_tasks(self, m: _ModelRun, side: str, label: str) -> list[Task]:
        model = m.model
        if model.eval is None or m.error:
            return []
        if side == "base" and not _has_base_accuracy_budget(model):
            return []
        cand = (m.head_cands if side == "head" else m.base_cands)[label]
        is_reference = side == "head" and label == m.reference_label
        needs_reference = model.eval.metric.name == "fidelity" and not is_reference
        save = m.work / "reference_outputs.npy" if is_reference else None
        task = Task(
            f"{m.index}:{side}:eval:{label}",
            "edgegate.workers.tasks:evaluate",
            (
                str(cand.path),
                _shown(m, side, label),
                model.eval.data,
                _key_of(model, "eval") + ".data",
                model.eval.metric,
                str(self.policy.root),
                model.eval.batch_size,
                self.threads(m),
                None,
                str(save) if save else None,
            ),
            f"{m.name} · {label}{' (base)' if side == 'base' else ''} · evaluate",
            timeout_s=EVAL_TIMEOUT_S,
        )
        if needs_reference:
            if m.reference_outputs is None and m.reference_label is not None:
                if m.reference_done:  # the reference failed: its error is on the model already
                    return []
                m.waiting_evals.append(task)
                return []
            if m.reference_outputs is not None:
                task = replace(task, args=task.args[:8] + (str(m.reference_outputs), None))
        return [task]

    def threads(self, m: _ModelRun) -> int:
        return self.options.threads or m.model.latency.threads

    # --- outcomes ---------------------------------------------------------------------

    def on_outcome(self, outcome: TaskOutcome) -> list[Task]:
        key = outcome.task.key
        index, side, kind, rest = key.split(":", 3)
        m = self.models[int(index)]
        store = m.head_cands if side == "head" else m.base_cands
        self.progress.finished(outcome.task.label, outcome.ok)
        follow: list[Task] = []
        if kind == "build":
            labels = rest.split(", ")
            if not outcome.ok:
                for label in labels:
                    store[label].error = f"conversion failed: {outcome.error}"
            else:
                for built in outcome.value:
                    self._record_build(store[built.label], built)
            for label in labels:
                if store[label].path is not None:
                    follow += self.eval_tasks(m, side, label)
                elif side == "head" and label == m.reference_label:
                    self._reference_failed(m, store[label].error)
        elif kind == "eval":
            cand = store[rest]
            if outcome.ok:
                cand.accuracy = outcome.value
            else:
                cand.error = f"evaluation failed: {outcome.error}"
                if side == "head" and rest == AS_IS:  # a .tflite source is its own only candidate
                    m.error = m.error or outcome.error
            if side == "head" and rest == m.reference_label:
                if outcome.ok:
                    m.reference_outputs = m.work / "reference_outputs.npy"
                    m.reference_done = True
                    waiting, m.waiting_evals = m.waiting_evals, []
                    follow += [
                        replace(t, args=t.args[:8] + (str(m.reference_outputs), None)) for t in waiting
                    ]
                else:
                    self._reference_failed(m, outcome.error)
        elif kind == "latency":
            for name, figures in (outcome.value or {}).items():
                s, label = name.split(":", 1)
                (m.head_cands if s == "head" else m.base_cands)[label].latency = figures
            if not outcome.ok:
                if m.is_tflite:
                    m.error = m.error or outcome.error
                m.notes.append(f"latency could not be measured: {outcome.error}")
        self.progress.plan(len(follow))
        return follow

    @staticmethod
    def _record_build(cand: _Candidate, built: BuiltCandidate) -> None:
        cand.path, cand.error = built.path, built.error
        cand.training = built.training
        cand.notes.extend(built.notes)

    def _reference_failed(self, m: _ModelRun, error: str | None) -> None:
        """Without the float reference nothing of this model can be judged: say why, once."""
        m.reference_done = True
        m.waiting_evals.clear()
        m.error = m.error or error or "the float reference could not be built"

    # --- latency ----------------------------------------------------------------------

    def latency_task(self, m: _ModelRun, labels: list[str]) -> Task | None:
        paths: dict[str, str] = {}
        sides = (("head", m.head_cands),) if m.base_same else (("head", m.head_cands), ("base", m.base_cands))
        for side, store in sides:
            for label, c in store.items():
                if c.path is not None and c.error is None and (label in labels or label == m.reference_label):
                    paths[f"{side}:{label}"] = str(c.path)
        if not paths or m.error:
            return None
        spec = m.model.latency
        return Task(
            f"{m.index}:all:latency:{len(labels)}",
            "edgegate.workers.tasks:latency",
            (paths, spec.runs, spec.warmup, self.threads(m)),
            f"{m.name} · latency",
            exclusive=True,
            timeout_s=EVAL_TIMEOUT_S,
        )


def _shown(m: _ModelRun, side: str, label: str) -> str:
    """How messages name a candidate: the repository path for a .tflite source, else model (recipe)."""
    if label == AS_IS:
        source = m.head if side == "head" else m.base
        return source.display
    return f"{m.name} ({label}{', base' if side == 'base' else ''})"


def _source(path: Path, display: str, trust: bool) -> SourceModel:
    """Check that ``path`` is a model EdgeGate can read; ``InputError`` naming it otherwise.

    (LFS pointers and symlink escapes were refused already by the ``ModelMaterializer``.)"""
    if not path.exists():
        raise InputError(f"{display}: no such file or folder")
    kind = model_kind(path)
    if kind is None:
        if path.is_dir():
            raise InputError(f"{display}: a folder without saved_model.pb is not a SavedModel")
        raise InputError(
            f"{display}: unknown model format {path.suffix!r}; EdgeGate reads SavedModel folders, "
            ".keras, .h5 and .tflite files"
        )
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{display}: the file is empty")
    return SourceModel(path=path, kind=kind, display=display, trust_code=trust)


def _same_content(a: Path, b: Path) -> bool:
    """Whether two models (files or SavedModel folders) hold the same bytes."""
    import filecmp

    if a.is_file() and b.is_file():
        return filecmp.cmp(a, b, shallow=False)
    if a.is_dir() and b.is_dir():
        files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
        return files_a == files_b and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files_a)
    return False


def run(options: CheckOptions, progress: Progress | None = None) -> RunResult:
    from edgegate.changes.git import GitRepo
    from edgegate.changes.select import find_changes

    progress = progress or Progress()
    started = time.monotonic()
    repo = GitRepo(options.repo)
    root = repo.root
    policy_path = options.policy or root / "edgegate.yml"
    policy = load_policy(policy_path, root=root)
    if options.recipes:
        known = {r.label for m in policy.models for r in m.recipes}
        unknown = sorted(set(options.recipes) - known)
        if unknown:
            raise UsageError(
                f"--recipes: no recipe labelled {', '.join(unknown)} in {policy.display_path}; "
                f"the policy has {', '.join(sorted(known))}"
            )
    changes = find_changes(
        policy, repo, base=options.base, all_models=options.all_models, paths=options.paths
    )
    changed = list(changes.models)
    if options.shard:
        from edgegate.shards import select_shard

        names = select_shard([c.target.name for c in changed], *options.shard)
        changed = [c for c in changed if c.target.name in names]
    notes = list(changes.notes) + list(options.extra_notes)
    base_ref = GitRef(changes.base_ref, changes.base_sha)
    head_ref = GitRef("working tree", changes.head_sha)
    shard = f"{options.shard[0]}/{options.shard[1]}" if options.shard else None
    if not changed:
        notes.append(NO_CHANGE_NOTE)
        return RunResult(
            Status.PASS,
            base_ref,
            head_ref,
            (),
            policy.display_path,
            _versions(),
            round(time.monotonic() - started, 3),
            shard,
            tuple(notes),
        )

    keep = options.out_dir is not None
    work_root = Path(options.out_dir) if keep else Path(tempfile.mkdtemp(prefix="edgegate-"))
    work_root.mkdir(parents=True, exist_ok=True)
    try:
        models = _gate(options, policy, repo, changes, changed, work_root, progress)
    finally:
        if not keep:
            shutil.rmtree(work_root, ignore_errors=True)
    models = tuple(models)
    return RunResult(
        RunResult.status_of(models),
        base_ref,
        head_ref,
        models,
        policy.display_path,
        _versions(),
        round(time.monotonic() - started, 3),
        shard,
        tuple(notes),
    )


def _gate(options, policy, repo, changes, changed, work_root: Path, progress: Progress) -> list[ModelResult]:
    from edgegate.changes.select import ModelMaterializer

    runner = _Run(options, policy, progress)
    with ModelMaterializer(repo, changes.base_sha) as materializer:
        for i, ch in enumerate(changed):
            target = ch.target
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in target.name)
            m = _ModelRun(
                i, target.name, target.model, ch.change, target.path, ch.base_path, work_root / safe
            )
            m.notes.extend(ch.reasons)
            runner.models.append(m)
            try:
                m.head = _source(materializer.head(target.path), target.path, target.model.trust_code)
            except EdgeGateError as e:
                m.error = str(e)
                continue
            if ch.base_path is not None:
                try:
                    m.base = _source(
                        materializer.base(ch.base_path), f"{ch.base_path} (base)", target.model.trust_code
                    )
                except EdgeGateError as e:
                    m.notes.append(f"base version not measured: {e}")
            if m.base is not None and _same_content(m.head.path, m.base.path):
                m.base_cands = m.head_cands  # identical bytes: the base figures are the head's
                m.base_same = True
            if m.is_tflite and not (len(m.model.recipes) == 1 and m.model.recipes[0].label == AS_IS):
                m.notes.append(
                    ".tflite sources are measured as they are; the policy's recipes apply to "
                    "SavedModel, .keras and .h5 sources"
                )

        pending = {m.index: _initial_recipes(m, options.recipes) for m in runner.models if not m.error}
        jobs = options.jobs or os.cpu_count() or 1
        with WorkerPool(size=max(1, min(jobs, 8)), log_dir=work_root / "logs") as pool:
            while pending:
                tasks = [
                    t
                    for m in runner.models
                    if m.index in pending
                    for t in runner.build_tasks(m, pending[m.index])
                ]
                progress.plan(len(tasks))
                pool.run(tasks, runner.on_outcome, on_start=lambda t: progress.started(t.label))
                if options.latency:
                    lat = [
                        t
                        for m in runner.models
                        if m.index in pending
                        for t in [runner.latency_task(m, [r.label for r in pending[m.index]] or [AS_IS])]
                        if t
                    ]
                    progress.plan(len(lat))
                    pool.run(lat, runner.on_outcome, on_start=lambda t: progress.started(t.label))
                for m in runner.models:
                    if m.index in pending:
                        _judge(runner, m)
                pending = {
                    m.index: nxt
                    for m in runner.models
                    if m.index in pending and not m.error
                    for nxt in [_next_recipes(m)]
                    if nxt
                }
            _explain_accuracy_losses(runner, pool, progress)
    return [_model_result(runner, m, work_root, options.out_dir is not None) for m in runner.models]


def _initial_recipes(m: _ModelRun, only: tuple[str, ...]) -> list[Recipe]:
    if m.is_tflite:
        return []
    if only:
        return [r for r in m.model.recipes if r.label in only]
    if m.model.auto:
        from edgegate.recipes.plan import AutoSearch

        has_data = m.model.training is not None and (
            m.model.training.data is not None or m.model.training.hook
        )
        m.search = AutoSearch(
            m.model, has_training_data=bool(has_data), edgetpu_required=m.model.edgetpu.level == "error"
        )
        return list(m.search.next_recipes([]))
    return list(m.model.recipes)


def _next_recipes(m: _ModelRun) -> list[Recipe]:
    if m.search is None:
        return []
    return [r for r in m.search.next_recipes(m.results) if r.label not in m.head_cands]


def _candidate_result(runner: _Run, m: _ModelRun, label: str, c: _Candidate) -> CandidateResult:
    from edgegate.measurements.size import measure_size

    model = m.model
    size = measure_size(c.path) if c.path is not None and c.error is None else None
    accuracy = c.accuracy
    ref = m.head_cands.get(m.reference_label) if m.reference_label else None
    if (
        accuracy is not None
        and ref is not None
        and ref.accuracy is not None
        and ref.accuracy.value is not None
        and accuracy.value is not None
    ):
        worse = ref.accuracy.value - accuracy.value
        accuracy = replace(accuracy, drop=worse if accuracy.higher_is_better else -worse)
    base = None
    if m.base is not None:
        b = m.base_cands.get(label)
        if b is not None:
            bsize = measure_size(b.path) if b.path is not None and b.error is None else None
            base = BaseFigures(
                size_bytes=bsize.bytes if bsize else None,
                gzip_bytes=bsize.gzip_bytes if bsize else None,
                latency_ms=b.latency.median_ms if b.latency else None,
                accuracy=b.accuracy.value if b.accuracy else None,
                error=b.error,
            )
        else:
            base = BaseFigures(error="the base version has no such candidate")
    notes = list(c.notes)
    result = CandidateResult(
        recipe=label,
        spec=c.spec.recipe if label != AS_IS else AS_IS,
        status=Status.PASS,
        size_bytes=size.bytes if size else None,
        gzip_bytes=size.gzip_bytes if size else None,
        latency_ms=c.latency.median_ms if c.latency else None,
        latency_p90_ms=c.latency.p90_ms if c.latency else None,
        accuracy=accuracy,
        base=base,
        error=c.error,
        artifact=str(c.path) if c.path else None,
        training=c.training,
        notes=tuple(notes),
    )
    if c.error is None:
        checks = list(candidate_checks(result, model.budgets, latency_measured=runner.options.latency))
        edgetpu, edgetpu_checks_ = _edgetpu(m, label, c)
        checks += edgetpu_checks_
        result = replace(result, checks=tuple(checks), edgetpu=edgetpu)
        if c.spec.recipe == "dynamic" and ref is not None and ref.path is not None and size is not None:
            ref_size = measure_size(ref.path).bytes
            if size.bytes > 0.9 * ref_size:
                result = replace(
                    result,
                    notes=result.notes
                    + (
                        "dynamic-range quantization left most weights in float (tensors under 1024 elements are "
                        "not quantized); int8 shrinks small models",
                    ),
                )
    return replace(result, status=candidate_status(result))


def _edgetpu(m: _ModelRun, label: str, c: _Candidate):
    spec = m.model.edgetpu
    if spec.level == "off" or c.path is None:
        return None, []
    from edgegate.edgetpu.select import analyze, why_never_compiles
    from edgegate.verdicts.edgetpu import edgetpu_checks
    from edgegate.verdicts.interface import Check

    key = f"models[{m.model.index}].edgetpu"
    line = m.model.line
    if label != AS_IS:
        never = why_never_compiles(c.spec.conversion)
        if never:
            return None, [
                Check(
                    "edgetpu.compiles",
                    Status.SKIP,
                    f"not checked for the Edge TPU: {never}",
                    key=key,
                    line=line,
                )
            ]
    try:
        result = analyze(c.path, spec)
    except EdgeGateError as e:
        return None, [
            Check("edgetpu.compiles", spec_status(spec), f"Edge TPU check failed: {e}", key=key, line=line)
        ]
    return result, list(edgetpu_checks(result, spec, key, line))


def spec_status(spec) -> Status:
    return Status.FAIL if spec.level == "error" else Status.WARN


def _judge(runner: _Run, m: _ModelRun) -> None:
    labels = [
        label
        for label in m.head_cands
        if label != m.reference_label or any(r.label == label for r in m.model.recipes if not m.model.auto)
    ]
    m.results = tuple(_candidate_result(runner, m, label, m.head_cands[label]) for label in labels)


def _explain_accuracy_losses(runner: _Run, pool: WorkerPool, progress: Progress) -> None:
    """For quantized candidates failing an accuracy budget, find the layers that lose the most."""
    from edgegate.recipes.layer_errors import NOTABLE

    tasks = []
    for m in runner.models:
        if m.head is None or m.is_tflite or m.error:
            continue
        for r in m.results:
            failed = any(ch.name in ("accuracy", "accuracy_drop") and ch.status.fails for ch in r.checks)
            _, conversion = stages_of(m.head_cands[r.recipe].spec)
            if failed and conversion in ("int8", "int16x8") and "qat" not in r.spec:
                request = runner.request(m, "head", m.head, [m.head_cands[r.recipe].spec])
                tasks.append(
                    Task(
                        f"{m.index}:head:layers:{r.recipe}",
                        "edgegate.workers.tasks:worst_layers",
                        (request, r.recipe),
                        f"{m.name} · {r.recipe} · per-layer error",
                        timeout_s=BUILD_TIMEOUT_S,
                    )
                )
    if not tasks:
        return
    found: dict[tuple[int, str], tuple] = {}
    failed: dict[tuple[int, str], str] = {}

    def on_outcome(o: TaskOutcome):
        index, _, _, label = o.task.key.split(":", 3)
        progress.finished(o.task.label, o.ok)
        if o.ok and o.value:
            found[(int(index), label)] = tuple(o.value)
        elif o.ok:
            failed[(int(index), label)] = (
                f"per-layer analysis: no layer's int8 error stands out (RMSE/scale ≤ {NOTABLE} everywhere); "
                "the loss is spread over the model — try int16x8 or qat"
            )
        else:
            failed[(int(index), label)] = f"the per-layer error analysis failed: {o.error}"
        return None

    progress.plan(len(tasks))
    pool.run(tasks, on_outcome, on_start=lambda t: progress.started(t.label))
    for m in runner.models:
        m.results = tuple(
            replace(
                r,
                worst_layers=found.get((m.index, r.recipe), r.worst_layers),
                notes=r.notes + ((failed[(m.index, r.recipe)],) if (m.index, r.recipe) in failed else ()),
            )
            for r in m.results
        )


def _model_result(runner: _Run, m: _ModelRun, work_root: Path, keep: bool) -> ModelResult:
    if m.error or m.head is None:
        return ModelResult(
            m.name, m.head_path, Status.ERROR, m.change, m.base_path, error=m.error, notes=tuple(m.notes)
        )
    reference = None
    if m.reference_label and m.reference_label in m.head_cands:
        c = m.head_cands[m.reference_label]
        reference = _candidate_result(runner, m, m.reference_label, c)
        reference = replace(reference, checks=(), status=Status.SKIP if c.error else Status.PASS)
    decision = choose(m.model.deploy, m.model.objective, m.results)
    candidates = tuple(replace(r, deploy=(r.recipe == decision.label)) for r in m.results)
    if not keep:
        candidates = tuple(replace(c, artifact=None) for c in candidates)
        reference = replace(reference, artifact=None) if reference else None
    else:
        candidates = tuple(replace(c, artifact=_relative(c.artifact, work_root)) for c in candidates)
        reference = (
            replace(reference, artifact=_relative(reference.artifact, work_root)) if reference else None
        )
    notes = list(m.notes)
    decision_lines: tuple[str, ...] = ()
    if m.search is not None:
        decision_lines = tuple(m.search.decision())
    notes.append(decision.note)
    return ModelResult(
        m.name,
        m.head_path,
        decision.status,
        m.change,
        m.base_path,
        reference,
        candidates,
        decision.label,
        None,
        tuple(notes),
        decision_lines,
    )


def _relative(path: str | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path
