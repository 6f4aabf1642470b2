"""The results file: what one run found, as typed values and as versioned JSON.

This is the contract between the pipeline and everything downstream (the markdown report,
``edgegate publish`` and ``edgegate merge``, CI annotations). ``RunResult.to_json()`` writes
it, ``RunResult.from_json()`` reads it back; bump ``SCHEMA`` on an incompatible change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from edgegate.edgetpu.interface import EdgeTpuResult
from edgegate.verdicts.interface import Check, Status

SCHEMA = "edgegate.results/1"
NO_CHANGE_NOTE = "no model changed: nothing to gate"  # RunResult.notes of a run with nothing to gate


@dataclass(frozen=True)
class Accuracy:
    metric: str  # "top1", "top5", "mae", "fidelity", ...
    value: float | None
    samples: int
    higher_is_better: bool = True
    drop: float | None = None  # worsening vs the float reference (positive = worse), metric units
    snr_db: float | None = None  # output signal-to-noise vs the float model, where measured

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict | None) -> "Accuracy | None":
        return cls(**d) if d else None


@dataclass(frozen=True)
class BaseFigures:
    """The same candidate built from the base branch's version of the model."""

    size_bytes: int | None = None
    gzip_bytes: int | None = None
    latency_ms: float | None = None
    accuracy: float | None = None
    error: str | None = None  # the base candidate could not be built / measured

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict | None) -> "BaseFigures | None":
        return cls(**d) if d else None


@dataclass(frozen=True)
class TrainingFigures:
    """What a training-based recipe achieved (pruning / clustering / QAT)."""

    sparsity: float | None = None  # fraction of zero weights over prunable layers
    unique_weights: dict[str, int] = field(default_factory=dict)  # per clustered layer
    epochs: int | None = None
    skipped_layers: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["skipped_layers"] = list(self.skipped_layers)
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> "TrainingFigures | None":
        if not d:
            return None
        d = dict(d)
        d["skipped_layers"] = tuple(d.get("skipped_layers", ()))
        return cls(**d)


@dataclass(frozen=True)
class LayerError:
    """A layer whose quantization loses the most (for "why accuracy dropped")."""

    name: str
    op: str
    rmse_over_scale: float  # error of the quantized output / its quantization scale
    hint: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict) -> "LayerError":
        return cls(**d)


@dataclass(frozen=True)
class CandidateResult:
    recipe: str  # the label in the report (recipe string unless named)
    spec: str  # the recipe string, e.g. "prune+int8"
    status: Status
    size_bytes: int | None = None
    gzip_bytes: int | None = None
    latency_ms: float | None = None  # median
    latency_p90_ms: float | None = None
    accuracy: Accuracy | None = None
    base: BaseFigures | None = None
    checks: tuple[Check, ...] = ()
    error: str | None = None  # could not be built/measured: the reason, naming model and recipe
    artifact: str | None = None  # where the .tflite was written (relative to --out)
    edgetpu: EdgeTpuResult | None = None
    training: TrainingFigures | None = None
    worst_layers: tuple[LayerError, ...] = ()
    notes: tuple[str, ...] = ()
    deploy: bool = False  # the candidate that ships

    def to_dict(self) -> dict:
        return {
            "recipe": self.recipe,
            "spec": self.spec,
            "status": self.status.value,
            "deploy": self.deploy,
            "size_bytes": self.size_bytes,
            "gzip_bytes": self.gzip_bytes,
            "latency_ms": self.latency_ms,
            "latency_p90_ms": self.latency_p90_ms,
            "accuracy": self.accuracy.to_dict() if self.accuracy else None,
            "base": self.base.to_dict() if self.base else None,
            "checks": [c.to_dict() for c in self.checks],
            "error": self.error,
            "artifact": self.artifact,
            "edgetpu": self.edgetpu.to_dict() if self.edgetpu else None,
            "training": self.training.to_dict() if self.training else None,
            "worst_layers": [w.to_dict() for w in self.worst_layers],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CandidateResult":
        return cls(
            recipe=d["recipe"],
            spec=d.get("spec", d["recipe"]),
            status=Status(d["status"]),
            size_bytes=d.get("size_bytes"),
            gzip_bytes=d.get("gzip_bytes"),
            latency_ms=d.get("latency_ms"),
            latency_p90_ms=d.get("latency_p90_ms"),
            accuracy=Accuracy.from_dict(d.get("accuracy")),
            base=BaseFigures.from_dict(d.get("base")),
            checks=tuple(Check.from_dict(c) for c in d.get("checks", ())),
            error=d.get("error"),
            artifact=d.get("artifact"),
            edgetpu=EdgeTpuResult.from_dict(d["edgetpu"]) if d.get("edgetpu") else None,
            training=TrainingFigures.from_dict(d.get("training")),
            worst_layers=tuple(LayerError.from_dict(w) for w in d.get("worst_layers", ())),
            notes=tuple(d.get("notes", ())),
            deploy=bool(d.get("deploy", False)),
        )

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status.fails)


@dataclass(frozen=True)
class ModelResult:
    name: str
    path: str  # head path, relative to the repository root
    status: Status
    change: str = "modified"  # added | modified | renamed | requested (--all / explicit paths)
    base_path: str | None = None  # path at base (differs after a rename); None for a new model
    reference: CandidateResult | None = None  # the float model the drops are measured against
    candidates: tuple[CandidateResult, ...] = ()
    deploy: str | None = None  # label of the candidate that ships
    error: str | None = None  # the model as a whole could not be gated
    notes: tuple[str, ...] = ()
    decision: tuple[str, ...] = ()  # recipes: auto — the path taken, one line per step

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "path": self.path,
            "status": self.status.value,
            "change": self.change,
            "base_path": self.base_path,
            "deploy": self.deploy,
            "error": self.error,
            "notes": list(self.notes),
            "decision": list(self.decision),
            "reference": self.reference.to_dict() if self.reference else None,
            "candidates": [c.to_dict() for c in self.candidates],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ModelResult":
        return cls(
            name=d["name"],
            path=d["path"],
            status=Status(d["status"]),
            change=d.get("change", "modified"),
            base_path=d.get("base_path"),
            reference=CandidateResult.from_dict(d["reference"]) if d.get("reference") else None,
            candidates=tuple(CandidateResult.from_dict(c) for c in d.get("candidates", ())),
            deploy=d.get("deploy"),
            error=d.get("error"),
            notes=tuple(d.get("notes", ())),
            decision=tuple(d.get("decision", ())),
        )


@dataclass(frozen=True)
class GitRef:
    ref: str | None
    sha: str | None

    def to_dict(self) -> dict:
        return {"ref": self.ref, "sha": self.sha}

    @classmethod
    def from_dict(cls, d: dict | None) -> "GitRef":
        d = d or {}
        return cls(ref=d.get("ref"), sha=d.get("sha"))


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

    @staticmethod
    def status_of(models) -> Status:
        return Status.worst(m.status for m in models)

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "status": self.status.value,
            "base": self.base.to_dict(),
            "head": self.head.to_dict(),
            "policy": self.policy,
            "versions": dict(self.versions),
            "duration_s": self.duration_s,
            "shard": self.shard,
            "notes": list(self.notes),
            "models": [m.to_dict() for m in self.models],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "RunResult":
        schema = d.get("schema")
        if schema != SCHEMA:
            raise ValueError(f"unsupported results schema {schema!r}; this EdgeGate reads {SCHEMA!r}")
        return cls(
            status=Status(d["status"]),
            base=GitRef.from_dict(d.get("base")),
            head=GitRef.from_dict(d.get("head")),
            models=tuple(ModelResult.from_dict(m) for m in d.get("models", ())),
            policy=d.get("policy"),
            versions=dict(d.get("versions", {})),
            duration_s=d.get("duration_s"),
            shard=d.get("shard"),
            notes=tuple(d.get("notes", ())),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "RunResult":
        return cls.from_dict(json.loads(text))

    def write(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> "RunResult":
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def with_models(self, models) -> "RunResult":
        models = tuple(models)
        return replace(self, models=models, status=self.status_of(models))
