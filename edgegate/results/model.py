"""What one run found, as typed values. ``codec.py`` turns them into the versioned JSON file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from edgegate.checks import Check
from edgegate.model_diff.interface import ModelDiff
from edgegate.status import Status

NO_CHANGE_NOTE = "no model changed: nothing to gate"  # RunResult.notes of a run with nothing to gate
MAX_SHARDS = 256  # the most jobs a GitHub Actions matrix runs, so the most shards of a split
_SHARD = re.compile(r"([0-9]{1,3})/([0-9]{1,3})")  # "I/N" as written by `edgegate ci --shard`


@dataclass(frozen=True)
class PairedInterval:
    """The 95 % interval of a worsening (positive = worse), from a paired test: both models scored
    on the same samples, compared sample by sample (docs/accuracy.md), or timed in the same rounds,
    compared round by round (docs/latency.md). Accuracy: in metric units; latency: relative
    (0.05 = 5 % slower)."""

    low: float
    high: float
    samples: int  # paired samples (accuracy), paired timed rounds (latency)
    # "tango": score interval on the discordant pairs (0/1 outcomes); "bootstrap": paired;
    # "sign-test": order statistics of the per-round log-ratios at the sign test's ranks (latency)
    method: str
    p_value: float | None = None  # exact McNemar p of "no change" (0/1 outcomes only)


@dataclass(frozen=True)
class LatencyChanges:
    """The 95 % intervals of a candidate's latency changes (relative: 0.05 = 5 % slower), from the
    rounds it was timed in beside the float model and beside its base version (docs/latency.md)."""

    vs_float: PairedInterval | None = None
    vs_base: PairedInterval | None = None
    float_unpaired: str | None = None  # why there is no ``vs_float`` although both were timed
    base_unpaired: str | None = None  # why there is no ``vs_base`` although both were timed


@dataclass(frozen=True)
class Accuracy:
    metric: str  # "top1", "top5", "mae", "fidelity", ...
    value: float | None
    samples: int
    higher_is_better: bool = True
    drop: float | None = None  # worsening vs the float reference (positive = worse), metric units
    snr_db: float | None = None  # output signal-to-noise vs the float model, where measured
    # The uncertainty of the changes, from the per-sample scores (which stay out of this file):
    drop_interval: PairedInterval | None = None  # of ``drop``, paired with the float reference
    base_interval: PairedInterval | None = None  # of the worsening vs the base version's accuracy
    drop_unpaired: str | None = None  # why there is no ``drop_interval`` although ``drop`` was measured
    base_unpaired: str | None = None  # why there is no ``base_interval`` although the base was measured


@dataclass(frozen=True)
class BaseFigures:
    """The same candidate built from the base branch's version of the model."""

    size_bytes: int | None = None
    gzip_bytes: int | None = None
    latency_ms: float | None = None
    accuracy: float | None = None
    error: str | None = None  # the base candidate could not be built / measured
    # Schema 4: the peak memory at inference (measured for a vs_base memory budget), or why not.
    memory_bytes: int | None = None
    memory_error: str | None = None


@dataclass(frozen=True)
class TrainingFigures:
    """What a training-based recipe achieved (pruning / clustering / QAT)."""

    sparsity: float | None = None  # fraction of zero weights over prunable layers
    unique_weights: dict[str, int] = field(default_factory=dict)  # per clustered layer
    epochs: int | None = None
    skipped_layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerError:
    """A layer whose quantization loses the most (for "why accuracy dropped")."""

    name: str
    op: str
    rmse_over_scale: float  # error of the quantized output / its quantization scale
    hint: str = ""
    node: str = ""  # the op output tensor's full name (what keep_float and the converter's denylist take)


@dataclass(frozen=True)
class KeptFloat:
    """A candidate whose recipe leaves layers float: which, how, and what asked for it."""

    layers: tuple[str, ...]  # the layers (short names) or the recipe's own patterns, as written
    patterns: tuple[str, ...]  # the recipe's keep_float patterns (what a policy would write)
    engine: str  # how the selective model was made ("TensorFlow converter, QuantizationDebugger …")
    of: str | None = None  # the keep-float search: the label of the candidate it repairs; None: listed


class TargetReports(dict[str, Any]):
    """Each target's report by the target's registered name ("mcu", "ethos-u"): the one slot of a
    candidate for them. Each report is the frozen dataclass its target declares
    (``edgegate/target_registry.py``: ``KIND.report``); the codec reads each back as that type."""


@dataclass(frozen=True)
class CandidateResult:
    recipe: str  # the label in the report (recipe string unless named)
    spec: str  # the recipe string, e.g. "prune+int8"
    status: Status
    size_bytes: int | None = None
    gzip_bytes: int | None = None
    latency_ms: float | None = None  # median
    latency_p90_ms: float | None = None
    latency_changes: LatencyChanges | None = None  # results/4: the intervals of the latency changes
    accuracy: Accuracy | None = None
    base: BaseFigures | None = None
    checks: tuple[Check, ...] = ()
    error: str | None = None  # could not be built/measured: the reason, naming model and recipe
    skip_reason: str | None = None  # not built on purpose (e.g. no training data): why; status SKIP
    not_runnable: str | None = None  # the stock interpreter cannot run it: accuracy and latency skip
    artifact: str | None = None  # where the .tflite was written (relative to --out)
    targets: TargetReports = field(default_factory=TargetReports)  # what each target's analysis found
    target_lines: tuple[str, ...] = ()  # one line per target analysis: "MCU: arena 92.3 KiB · flash 55.9 KB"
    training: TrainingFigures | None = None
    worst_layers: tuple[LayerError, ...] = ()
    notes: tuple[str, ...] = ()
    deploy: bool = False  # the candidate that ships
    kept_float: KeptFloat | None = None  # layers its recipe (or the keep-float search) left float
    # Schema 4: the peak resident memory the interpreter needs to load, allocate and run it
    # (measurements/memory.py), measured when a memory budget asks; why it could not be, if so.
    memory_bytes: int | None = None
    memory_error: str | None = None
    diff: ModelDiff | None = None  # what changed inside it vs the base version's (docs/model-diff.md)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status.fails)

    def report(self, target: str) -> Any | None:
        """The report of the target of that name ("edgetpu"); None when it has none."""
        return self.targets.get(target)


@dataclass(frozen=True)
class TrendFigure:
    """Where one figure of this change sits among the default branch's recent runs (``results/history.py``)."""

    what: Literal["size", "latency", "accuracy"]  # bytes, ms, metric units
    value: float  # this change's
    low: float  # the runs' lowest, median and highest
    median: float
    high: float
    below: int  # runs whose figure was lower than this change's
    above: int  # runs whose figure was higher
    runs: int  # runs with this figure


@dataclass(frozen=True)
class Trend:
    """The shipped candidate's figures against the default branch's last runs (schema 4)."""

    candidate: str
    runs: int  # default-branch runs that shipped this candidate
    figures: tuple[TrendFigure, ...] = ()


@dataclass(frozen=True)
class ModelResult:
    name: str
    path: str  # head path, relative to the repository root
    status: Status
    change: str = "modified"  # added | modified | renamed | moved (policy path, by name) | requested
    base_path: str | None = None  # path at base (differs after a rename); None for a new model
    reference: CandidateResult | None = None  # the float model the drops are measured against
    candidates: tuple[CandidateResult, ...] = ()
    deploy: str | None = None  # label of the candidate that ships
    error: str | None = None  # the model as a whole could not be gated
    notes: tuple[str, ...] = ()
    decision: tuple[str, ...] = ()  # recipes: auto — the path taken, one line per step
    keep_float: tuple[str, ...] = ()  # the keep-float search: what each step bought, one line per search
    trend: Trend | None = None  # where the figures sit on the default branch's history (schema 4)


@dataclass(frozen=True)
class GitRef:
    ref: str | None
    sha: str | None


@dataclass(frozen=True)
class RunResult:
    status: Status
    base: GitRef
    head: GitRef
    models: tuple[ModelResult, ...] = ()
    policy: str | None = None  # policy file path relative to the repository root
    versions: dict[str, str] = field(default_factory=dict)
    duration_s: float | None = None
    shard: str | None = None  # "I/N" when produced by `edgegate ci --shard`
    notes: tuple[str, ...] = ()
    missing_shards: tuple[str, ...] = ()  # merged from shards of a split, these "I/N" were not given
    policy_changes: tuple[str, ...] = ()  # what this change did to the policy (policy/diff.py)
    shard_plan: str | None = None  # the digest of the split a shard was chosen by (schema 4; shards.py)
    # Schema 4: each gated model's cost, the seconds its jobs ran in workers (summed), by name: what
    # cost-balanced shards pack by (shards.py). A timing, like latency: kept beside the models.
    model_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def absent_shards(self) -> tuple[str, ...]:
        """The shards of its split whose models this run does not hold ("2/3", ...)."""
        if self.missing_shards or not self.shard:
            return self.missing_shards
        # From a results file another job wrote: a 5,000-digit count must not reach int().
        match = _SHARD.fullmatch(self.shard)
        index, count = (int(match[1]), int(match[2])) if match else (0, 0)
        if not 1 <= index <= count <= MAX_SHARDS:
            return ("other than " + self.shard[:20],)  # unreadable: still never complete
        return tuple(f"{i}/{count}" for i in range(1, count + 1) if i != index)

    @staticmethod
    def status_of(models: Iterable[ModelResult]) -> Status:
        return Status.worst(m.status for m in models)

    def with_models(self, models: Iterable[ModelResult]) -> "RunResult":
        models = tuple(models)
        return replace(self, models=models, status=self.status_of(models))
