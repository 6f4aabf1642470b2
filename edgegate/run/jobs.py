"""The work a run sends to worker processes: one frozen dataclass per kind of job.

Every job names what it is about with typed references (``ModelRef``, ``CandidateRef``: a
model of the run, a side, a recipe label), so an outcome is routed by its job, never by
parsing a string key. ``func`` names the worker function that serves the job; the functions
are below and import their machinery (TensorFlow, the interpreter, the compilers) lazily, so
this module is cheap for the parent to import.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from edgegate.policy.sections import Dataset, Metric
from edgegate.recipes.interface import BuildRequest, BuiltCandidate

if TYPE_CHECKING:
    from edgegate.measurements.interface import LatencyFigures, MemoryFigures
    from edgegate.metrics.interface import SampleScores
    from edgegate.results import Accuracy, LayerError
    from edgegate.targets.interface import Target

Side = Literal["head", "base"]
AS_IS = "as-is"  # the label of a .tflite source measured as it is
BUILD_TIMEOUT_S = 3600
EVAL_TIMEOUT_S = 1800
R = TypeVar("R")  # what a job's worker function returns


@dataclass(frozen=True)
class ModelRef:
    """One model of the run: its position (unique) and its name (for people)."""

    index: int
    name: str


@dataclass(frozen=True)
class CandidateRef:
    model: ModelRef
    side: Side
    label: str

    @property
    def shown(self) -> str:
        """How progress lines name it: "digits · int8 (base)"."""
        return f"{self.model.name} · {self.label}{' (base)' if self.side == 'base' else ''}"


@dataclass(frozen=True)
class Job(Generic[R]):
    """Base of every job; ``R`` is what its worker function returns. ``label`` is what the
    terminal shows while it runs."""

    func: ClassVar[str]  # "module:function" a worker calls with the job
    exclusive: ClassVar[bool] = False  # nothing else may run meanwhile (timing)
    timeout_s: ClassVar[float] = BUILD_TIMEOUT_S

    @property
    def label(self) -> str:
        raise NotImplementedError

    @property
    def model_ref(self) -> ModelRef:
        """The model it works for (its run time counts toward that model's cost)."""
        raise NotImplementedError


@dataclass(frozen=True)
class BuildJob(Job[tuple[BuiltCandidate, ...]]):
    """Build (or, for a .tflite source, just take) candidates of one version of a model.

    The recipes of one request share their training stages, so a fine-tuned parent is
    trained once. Returns one ``BuiltCandidate`` per recipe, its size measured.
    """

    func: ClassVar[str] = "edgegate.run.jobs:build"
    model: ModelRef
    side: Side
    request: BuildRequest

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(r.label for r in self.request.recipes) or (AS_IS,)

    @property
    def label(self) -> str:
        base = " (base)" if self.side == "base" else ""
        return f"{self.model.name} · {', '.join(self.labels)}{base} · convert"

    @property
    def model_ref(self) -> ModelRef:
        return self.model


@dataclass(frozen=True, eq=False)  # eq=False: the scores are an array
class Evaluated:
    """What an ``EvaluateJob`` returns: the accuracy, and each sample's score for the paired
    intervals (kept in the parent's figures, never written to the results)."""

    accuracy: Accuracy
    scores: SampleScores | None = None


@dataclass(frozen=True)
class EvaluateJob(Job[Evaluated]):
    """Accuracy of one candidate on the eval set (``save_outputs``: keep them as the reference)."""

    func: ClassVar[str] = "edgegate.run.jobs:evaluate"
    timeout_s: ClassVar[float] = EVAL_TIMEOUT_S
    candidate: CandidateRef
    model_path: Path
    shown: str  # how messages name the candidate: its repository path, or "model (recipe)"
    data: Dataset  # the policy's eval dataset (its key names it in messages)
    metric: Metric
    root: Path
    batch_size: int
    threads: int
    reference_outputs: Path | None = None  # the float model's outputs (fidelity metric)
    save_outputs: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.candidate.shown} · evaluate"

    @property
    def model_ref(self) -> ModelRef:
        return self.candidate.model


@dataclass(frozen=True)
class LatencyJob(Job[tuple[tuple[CandidateRef, "LatencyFigures"], ...]]):
    """Time every candidate of one model together, interleaved, with nothing else running."""

    func: ClassVar[str] = "edgegate.run.jobs:latency"
    exclusive: ClassVar[bool] = True
    timeout_s: ClassVar[float] = EVAL_TIMEOUT_S
    model: ModelRef
    candidates: tuple[tuple[CandidateRef, Path], ...]
    runs: int
    warmup: int
    threads: int

    @property
    def label(self) -> str:
        return f"{self.model.name} · latency"

    @property
    def model_ref(self) -> ModelRef:
        return self.model


@dataclass(frozen=True)
class MemoryJob(Job["MemoryFigures"]):
    """The peak memory one candidate needs at inference, in a fresh process of its own.

    Not exclusive: a resident-memory peak does not depend on what else the machine runs
    (``bench/bench_memory.py`` measures it beside a busy neighbour), so it runs beside the
    evaluations and target analyses."""

    func: ClassVar[str] = "edgegate.run.jobs:memory"
    timeout_s: ClassVar[float] = EVAL_TIMEOUT_S
    candidate: CandidateRef
    model_path: Path
    shown: str  # how messages name the candidate
    threads: int  # the latency measurement's

    @property
    def label(self) -> str:
        return f"{self.candidate.shown} · memory"

    @property
    def model_ref(self) -> ModelRef:
        return self.candidate.model


@dataclass(frozen=True)
class TargetJob(Job[object]):  # a report of the target's own type
    """One target's analysis of one candidate (Edge TPU mapping, MCU arena, MACs, ...)."""

    func: ClassVar[str] = "edgegate.run.jobs:analyze_target"
    candidate: CandidateRef
    model_path: Path
    target: Target[Any]

    @property
    def label(self) -> str:
        return f"{self.candidate.shown} · {self.target.title}"

    @property
    def model_ref(self) -> ModelRef:
        return self.candidate.model


@dataclass(frozen=True)
class LayerAnalysisJob(Job[tuple["LayerError", ...]]):
    """Per-layer quantization error of one candidate that lost accuracy (why it dropped)."""

    func: ClassVar[str] = "edgegate.run.jobs:worst_layers"
    candidate: CandidateRef
    request: BuildRequest
    top: int = 5  # layers reported (the keep-float search asks for as many as it may keep float)

    @property
    def label(self) -> str:
        return f"{self.candidate.shown} · per-layer error"

    @property
    def model_ref(self) -> ModelRef:
        return self.candidate.model


@dataclass(frozen=True)
class JobOutcome(Generic[R]):
    """What became of a job: its worker function's value, or why there is none (``error``)."""

    job: Job[R]
    value: R | None = None
    error: str | None = None  # the job's exception message, or how its worker died
    seconds: float | None = None  # how long a worker ran it; None: answered without running (cache)

    @property
    def ok(self) -> bool:
        return self.error is None


# --- the worker functions ------------------------------------------------------------------------


def build(job: BuildJob) -> tuple[BuiltCandidate, ...]:
    from edgegate.measurements.interpreter import why_not_runnable
    from edgegate.measurements.size import measure_size

    request = job.request
    if request.source.format.measured_as_is and not request.recipes:
        built: tuple[BuiltCandidate, ...] = (BuiltCandidate(AS_IS, request.source.path),)
    elif request.source.format.measured_as_is:  # its recipes' transforms on the file itself
        from edgegate.recipes.build import build_from_tflite

        built = tuple(build_from_tflite(request))
    else:
        from edgegate.recipes.build import build_candidates

        built = tuple(build_candidates(request))
    return tuple(
        replace(
            b, size=measure_size(b.path), not_runnable=why_not_runnable(b.path, name=request.source.display)
        )
        if b.path is not None
        else b
        for b in built
    )


def evaluate(job: EvaluateJob) -> Evaluated:
    """Accuracy of one ``.tflite`` (``drop`` and the intervals vs other models are the parent's)."""
    import numpy as np

    from edgegate.measurements.accuracy import evaluate as run_eval
    from edgegate.metrics import metric_for

    # Image folders (images: or a folder path:) resize to the model's input; other sources ignore it.
    dataset = _dataset(job.data, job.root, _input_hw(job.model_path, job.shown))
    reference = np.load(job.reference_outputs) if job.reference_outputs else None
    result = run_eval(
        job.model_path,
        dataset,
        metric_for(job.metric),
        name=job.shown,
        batch_size=job.batch_size,
        threads=job.threads,
        reference=reference,
    )
    if job.save_outputs:
        # A .tflite source's folder may not exist yet: nothing was built of it when it is the reference.
        job.save_outputs.parent.mkdir(parents=True, exist_ok=True)
        np.save(job.save_outputs, result.outputs)
    return Evaluated(result.accuracy, result.scores)


def latency(job: LatencyJob) -> tuple[tuple[CandidateRef, LatencyFigures], ...]:
    from edgegate.measurements.latency import measure_latency

    keys = {f"{i}": ref for i, (ref, _) in enumerate(job.candidates)}
    figures = measure_latency(
        {f"{i}": path for i, (_, path) in enumerate(job.candidates)},
        runs=job.runs,
        warmup=job.warmup,
        threads=job.threads,
    )
    return tuple((keys[k], v) for k, v in figures.items())


def memory(job: MemoryJob) -> MemoryFigures:
    from edgegate.measurements.memory import measure_memory

    return measure_memory(job.model_path, name=job.shown, threads=job.threads)


def analyze_target(job: TargetJob) -> object:
    return job.target.analyze(job.model_path)


def worst_layers(job: LayerAnalysisJob) -> tuple[LayerError, ...]:
    from edgegate.recipes.layer_errors import worst_layers_for_request

    return tuple(worst_layers_for_request(job.request, job.candidate.label, job.top))


@functools.lru_cache(maxsize=4)
def _dataset(spec: Dataset, root: Path, input_hw: tuple[int, int] | None) -> Any:
    """A worker reads a model's eval set once, though every candidate of it is evaluated on it."""
    from edgegate.datasets import load_dataset

    return load_dataset(spec, root, key=spec.key, input_hw=input_hw)


def _input_hw(model: Path, name: str) -> tuple[int, int] | None:
    from edgegate.measurements.interpreter import open_interpreter

    shape = open_interpreter(model, name=name).get_input_details()[0]["shape"]
    return (int(shape[1]), int(shape[2])) if len(shape) == 4 else None
