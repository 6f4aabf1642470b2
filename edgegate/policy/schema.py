"""The policy file's schema (pydantic), as users write it.

Every key documented in docs/policy.md is declared here; ``extra="forbid"`` everywhere so
a misspelt key is an error with its line, not a silently ignored budget. Quantities stay as
text here and are checked by validators (so errors point at the key); ``load.py`` turns a
validated file into the frozen values of ``sections.py``. Only ``policy/`` imports this module.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from edgegate import units as q
from edgegate.policy.sections import (
    BlockSize,
    ClusterInit,
    Engine,
    Color,
    CompilerVersion,
    ContractLevel,
    EdgeTpuLevel,
    Int8Io,
    Int16x8Io,
    Judge,
    MetricName,
    Objective,
    PruneSchedule,
    Recipe,
    Scale,
    recipe_stages,
)
from edgegate.target_registry import section_kinds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Quantity = Union[str, int, float]
LevelName = Literal["error", "warn"]


# --- datasets -------------------------------------------------------------------------


class DatasetSpec(_Strict):
    """Where samples come from. Exactly one of ``path`` / ``x`` / ``images`` / ``hook``."""

    path: str | None = Field(
        None,
        description="An .npz file (arrays named by x_key/y_key), or a "
        "folder of images with one sub-folder per class.",
    )
    x_key: str = Field("x", description="Array name of the inputs inside the .npz.")
    y_key: str | None = Field("y", description="Array name of the labels inside the .npz; null for none.")
    x: str | None = Field(None, description="An .npy file of inputs (with y: an .npy of labels).")
    y: str | None = Field(None, description="An .npy file of labels, paired with x.")
    images: str | None = Field(None, description="A folder with one sub-folder of images per class.")
    image_size: tuple[int, int] | None = Field(
        None, description="[height, width] to resize images to; default: the model's input size."
    )
    color: Color = "rgb"
    scale: Scale = Field("0..1", description="Pixel value range fed to the model.")
    hook: str | None = Field(
        None,
        description="'module:function' returning (x, y) arrays, x alone, or an "
        "iterable of (x, y) batches. Runs the repository's own code.",
    )
    limit: int | None = Field(None, ge=1, description="Use at most this many samples.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v):
        if isinstance(v, str):
            return {"hook": v} if ":" in v and not v.endswith((".npz", ".npy")) else {"path": v}
        return v

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("path", "x", "images", "hook") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of path, x (+y), images or hook"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.y and not self.x:
            raise ValueError("y needs x: give both .npy files")
        if self.hook and ":" not in self.hook:
            raise ValueError(f"hook must be 'module:function', got {self.hook!r}")
        return self


class MetricSpec(_Strict):
    name: MetricName = "top1"
    k: int = Field(5, ge=1, description="For topk.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v):
        if isinstance(v, str):
            m = v.strip().lower()
            if m.startswith("top") and m[3:].isdigit() and m != "top1":
                return {"name": "topk", "k": int(m[3:])}
            return {"name": m}
        return v


class EvalSpec(_Strict):
    data: DatasetSpec
    metric: MetricSpec = MetricSpec()
    batch_size: int = Field(32, ge=1)


class CalibrationSpec(_Strict):
    data: DatasetSpec | None = None
    synthetic: bool = Field(
        False,
        description="Calibrate on inputs drawn at random in the model's input range instead of data: "
        "right size, latency and Edge TPU mapping, but int8 ranges (and so accuracy) are not the real ones.",
    )
    samples: int = Field(200, ge=1, description="Representative samples fed to the int8 converter.")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.data is None) == (not self.synthetic):
            raise ValueError(
                "give data (a dataset) or synthetic: true, not both"
                if self.data
                else "give data or synthetic: true"
            )
        return self


class TrainingSpec(_Strict):
    """Fine-tuning data and settings for prune / cluster / qat (training-based recipes)."""

    data: DatasetSpec | None = None
    loss: str = "sparse_categorical_crossentropy"
    optimizer: str = "adam"
    learning_rate: float = Field(1e-4, gt=0)
    epochs: int = Field(2, ge=1)
    batch_size: int = Field(32, ge=1)
    seed: int = 0
    hook: str | None = Field(
        None,
        description="'module:function(model, dataset) -> model' that fine-tunes the wrapped model itself.",
    )


# --- recipes --------------------------------------------------------------------------


class Int8Options(_Strict):
    io: Int8Io = Field("int8", description="Input/output tensor type.")
    per_channel: bool = True


class Int16x8Options(_Strict):
    io: Int16x8Io = "float32"


class PruneOptions(_Strict):
    sparsity: float = Field(0.5, gt=0, lt=1)
    schedule: PruneSchedule = "polynomial"
    initial_sparsity: float = Field(0.0, ge=0, lt=1)
    structured: Literal["2:4"] | None = None
    epochs: int | None = Field(None, ge=1)
    skip_unsupported: bool = Field(
        False, description="Leave layers tfmot cannot wrap unpruned instead of failing."
    )


class ClusterOptions(_Strict):
    clusters: int = Field(16, ge=2)
    init: ClusterInit = "kmeans_plus_plus"
    epochs: int | None = Field(None, ge=1)
    skip_unsupported: bool = False


class QatOptions(_Strict):
    epochs: int | None = Field(None, ge=1)
    io: Int8Io = "int8"


class RecipeSpec(_Strict):
    """One candidate to build: stages joined by '+', e.g. ``int8``, ``prune+int8``, ``cluster+qat``."""

    # (Before ``recipe``: the grammar reads it, and fields validate in this order.)
    engine: Engine | None = Field(
        None,
        description="What quantizes: tensorflow-converter (LiteRT's converter; the default for .keras, "
        ".h5 and SavedModel sources) or litert-quantizer (the LiteRT Quantizer on the float .tflite: "
        "the only engine for a .tflite source; on a converted source it quantizes the float32 "
        "reference). See docs/quantizer.md.",
    )
    recipe: str
    name: str | None = Field(None, description="Label in the report; default: the recipe string.")
    keep_float: list[str] = Field(
        default_factory=list,
        description="Layers left float: op names (CONV_2D) or regexes searched in op output tensor "
        "names; each must match a layer of the model. The LiteRT Quantizer's recipes, and int8 on the "
        "TensorFlow converter (its QuantizationDebugger denylist).",
    )
    block_size: BlockSize | None = Field(
        None,
        description="int4 recipes (weight_int4, dynamic_int4): weights in blocks of 32/64/128; "
        "default per channel.",
    )
    int8: Int8Options = Int8Options()
    int16x8: Int16x8Options = Int16x8Options()
    prune: PruneOptions = PruneOptions()
    cluster: ClusterOptions = ClusterOptions()
    qat: QatOptions = QatOptions()

    @field_validator("keep_float")
    @classmethod
    def _patterns(cls, v):
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(
                    f"keep_float pattern {pattern!r} is not a regular expression ({e})"
                ) from None
        return v

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v):
        if isinstance(v, str):
            return {"recipe": v}
        return v

    @field_validator("recipe")
    @classmethod
    def _grammar(cls, v: str, info: ValidationInfo) -> str:
        return "+".join(recipe_stages(v, info.data.get("engine")))

    @model_validator(mode="after")
    def _options(self):
        Recipe(
            recipe=self.recipe,
            engine=self.engine,
            keep_float=tuple(self.keep_float),
            block_size=self.block_size,
        )
        return self


# --- budgets --------------------------------------------------------------------------


class _Limit(_Strict):
    level: LevelName = "error"


class SizeLimit(_Limit):
    max: Quantity

    @field_validator("max")
    @classmethod
    def _v(cls, v):
        q.parse_size(v)
        return v


class LatencyLimit(_Limit):
    max: Quantity

    @field_validator("max")
    @classmethod
    def _v(cls, v):
        q.parse_duration_ms(v)
        return v


_JUDGE = (
    "How the change is held to max_drop: 'point' (the measured change) or 'significant' (fail "
    "only when the whole 95% paired interval of the change is beyond it); see docs/accuracy.md."
)


class AccuracyLimit(_Limit):
    min: Quantity | None = Field(None, description="Lowest acceptable value (higher-is-better metrics).")
    max: Quantity | None = Field(
        None, description="Highest acceptable value (error metrics: mae, mse, rmse)."
    )
    max_drop: Quantity | None = Field(None, description="Largest loss vs the float model: 1pt, 2%, 0.01.")
    judge: Judge = Field("point", description=_JUDGE)

    @field_validator("min", "max")
    @classmethod
    def _v(cls, v):
        if v is not None:
            q.parse_accuracy(v)
        return v

    @field_validator("max_drop")
    @classmethod
    def _d(cls, v):
        if v is not None:
            q.parse_change(v, "accuracy")
        return v

    @model_validator(mode="after")
    def _some(self):
        if self.min is None and self.max is None and self.max_drop is None:
            raise ValueError("give min, max or max_drop")
        # A paired interval exists for a change only; a mapping holding min/max too would read as
        # if they were judged on an interval as well.
        if self.judge == "significant" and (self.min is not None or self.max is not None):
            raise ValueError(
                "judge: significant applies to max_drop (a change measured on paired samples); "
                "min and max are judged on the measured value: write them in a mapping of their own"
            )
        return self


class SizeChange(_Limit):
    max_increase: Quantity

    @field_validator("max_increase")
    @classmethod
    def _v(cls, v):
        q.parse_change(v, "size")
        return v


class LatencyChange(_Limit):
    max_increase: Quantity
    judge: Judge = Field(
        "point",
        description="How the increase is held to max_increase: 'point' (the change of the medians) or "
        "'significant' (fail only when the whole 95% paired interval of the change is beyond it); "
        "see docs/latency.md.",
    )

    @field_validator("max_increase")
    @classmethod
    def _v(cls, v):
        q.parse_change(v, "latency")
        return v


class AccuracyChange(_Limit):
    max_drop: Quantity
    judge: Judge = Field("point", description=_JUDGE)

    @field_validator("max_drop")
    @classmethod
    def _v(cls, v):
        q.parse_change(v, "accuracy")
        return v


def _listify(shorthand_key: str):
    """Budgets accept one mapping, a list of them, or a bare quantity meaning ``{key: value}``."""

    def before(v):
        if v is None:
            return v
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            return [{shorthand_key: v}]
        if isinstance(v, dict):
            return [v]
        return v

    return before


class BaseBudgets(_Strict):
    """Limits on the change from the same candidate on the PR's base branch."""

    size: list[SizeChange] | None = None
    gzip_size: list[SizeChange] | None = None
    latency: list[LatencyChange] | None = None
    memory: list[SizeChange] | None = Field(
        None, description="Growth of the peak memory at inference vs base: 10%, 2 MB."
    )
    accuracy: list[AccuracyChange] | None = None
    on_missing_base: LevelName = Field(
        "warn",
        description="What a vs_base budget does when the model existed at base but its base version could "
        "not be measured (LFS object missing, unreadable, fails to convert): warn, or error (fail).",
    )

    @field_validator("size", "gzip_size", "latency", "memory", mode="before")
    @classmethod
    def _l(cls, v):
        return _listify("max_increase")(v)

    @field_validator("accuracy", mode="before")
    @classmethod
    def _a(cls, v):
        return _listify("max_drop")(v)


class Budgets(_Strict):
    size: list[SizeLimit] | None = None
    gzip_size: list[SizeLimit] | None = None
    latency: list[LatencyLimit] | None = None
    memory: list[SizeLimit] | None = Field(
        None,
        description="Peak resident memory the LiteRT interpreter needs to load, allocate and run the "
        "candidate (CPU, XNNPACK), measured in a fresh process: 64 MB.",
    )
    accuracy: list[AccuracyLimit] | None = None
    vs_base: BaseBudgets | None = None

    @field_validator("size", "gzip_size", "latency", "memory", mode="before")
    @classmethod
    def _l(cls, v):
        return _listify("max")(v)

    @field_validator("accuracy", mode="before")
    @classmethod
    def _a(cls, v):
        return _listify("min")(v)


# --- Edge TPU -------------------------------------------------------------------------


class EdgeTpuSpec(_Strict):
    level: EdgeTpuLevel = "off"
    compiler_version: CompilerVersion = Field(16, description="Major version of edgetpu_compiler to predict.")
    runtime: int | None = Field(
        None,
        ge=10,
        le=14,
        description="Target runtime version (-m); default: the compiler's default (14 for 16.x).",
    )
    compiler: str = Field(
        "auto",
        description="'auto' (edgetpu_compiler if on PATH, else static), 'static', or a path to the compiler.",
    )
    timeout_s: int = Field(180, ge=1)
    all_mapped: bool = Field(False, description="Fail unless every op maps to the Edge TPU.")
    min_mapped: Quantity | None = Field(None, description="Lowest share of ops on the Edge TPU, e.g. 90%.")
    max_partitions: int | None = Field(None, ge=0, description="Most CPU/TPU partitions allowed.")

    @field_validator("min_mapped")
    @classmethod
    def _p(cls, v):
        if v is not None:
            val = q.parse_accuracy(v)
            if not 0 <= val <= 1:
                raise ValueError(f"min_mapped must be between 0% and 100%, got {v!r}")
        return v


# --- the app's contract ------------------------------------------------------------------

_OP_KIND = re.compile(r"[A-Z][A-Z0-9_]*|CUSTOM:\S.*")


class ContractOpsSpec(_Strict):
    allowed: list[str] | None = Field(
        None,
        description="The op kinds a candidate may hold, as TFLite names them (CONV_2D, FULLY_CONNECTED; "
        "a custom op as CUSTOM:<its code>): what the app's op resolver registers.",
    )
    no_new_kinds: bool = Field(False, description="No op kind the base version's candidate does not have.")
    level: LevelName = Field("error", description="What an op outside the contract does.")

    @field_validator("allowed")
    @classmethod
    def _kinds(cls, v):
        for name in v or ():
            if not _OP_KIND.fullmatch(name):
                hint = f" (did you mean {name.upper()!r}?)" if _OP_KIND.fullmatch(name.upper()) else ""
                raise ValueError(
                    f"{name!r} is not an op kind as TFLite writes it{hint}: builtin ops in upper case "
                    "(CONV_2D), custom ops as CUSTOM:<code>"
                )
        return v

    @model_validator(mode="after")
    def _something(self):
        if self.allowed is None and not self.no_new_kinds:
            raise ValueError("give allowed: [op kinds] or no_new_kinds: true (or both)")
        return self


class ContractSpec(_Strict):
    signature: ContractLevel = Field(
        "error",
        description="When an input or output changes name, shape, dtype or quantization vs base: "
        "error, warn or off.",
    )
    ops: ContractOpsSpec | None = Field(None, description="Which op kinds a candidate may hold.")


# --- models ---------------------------------------------------------------------------


class LatencySpec(_Strict):
    runs: int = Field(30, ge=1, description="Timed invocations per model (after warm-up).")
    warmup: int = Field(3, ge=0)
    threads: int = Field(1, ge=1, description="Interpreter threads; fixed so numbers are comparable.")


class KeepFloatSearchSpec(_Strict):
    max_layers: int = Field(
        4,
        ge=0,
        le=64,
        description="An integer candidate that breaks an accuracy budget is rebuilt with its worst "
        "1, 2, 4 … layers kept float, up to this many (0: never).",
    )
    ship: bool | None = Field(
        None,
        description="Whether the chooser may ship what the search finds; default: with 'recipes: auto' "
        "only (with listed recipes it is reported, with the recipe to write).",
    )


class ModelSettings(_Strict):
    """Keys a model may set and ``defaults:`` may provide for every model."""

    recipes: list[RecipeSpec] | Literal["auto"] | None = None
    deploy: str | None = Field(
        None, description="A recipe label, or best|smallest|fastest|most_accurate|all."
    )
    objective: Objective | None = Field(None, description="What 'deploy: best' optimizes.")
    eval: EvalSpec | None = None
    calibration: CalibrationSpec | None = None
    training: TrainingSpec | None = None
    budgets: Budgets | None = None
    edgetpu: EdgeTpuSpec | None = None
    latency: LatencySpec | None = None
    keep_float_search: KeepFloatSearchSpec | None = None
    targets: dict[str, dict[str, Any]] | None = Field(
        None,
        description="Devices the candidates are checked against, each with its budgets (the targets "
        "registered in edgegate/target_registry.py). See docs/targets.md.",
    )
    trust_code: bool | None = Field(
        None, description="Allow Lambda layers / custom objects (runs model code)."
    )
    contract: ContractSpec | None = Field(
        None,
        description="What the app loading the model relies on: its I/O signature and the op kinds "
        "it registers, checked vs base. See docs/policy.md.",
    )

    @field_validator("targets")
    @classmethod
    def _known_targets(cls, v):
        names = [k.name for k in section_kinds()]
        unknown = sorted(set(v or {}) - set(names))
        if unknown:
            raise ValueError(f"unknown target {unknown[0]!r}; targets are {', '.join(names)}")
        return v

    @field_validator("recipes", mode="before")
    @classmethod
    def _one(cls, v):
        return [v] if isinstance(v, (str, dict)) and v != "auto" else v


class ModelEntry(ModelSettings):
    name: str = Field(min_length=1)
    path: str = Field(min_length=1, description="A model file/folder, or a glob (one model per match).")
    watch: list[str] = Field(
        default_factory=list, description="Paths/globs whose change marks this model changed."
    )


# (Comments, not docstrings: a docstring would become the JSON Schema's description.)
# The top level with ``defaults`` and each model left as written: the loader validates those
# one by one, so a problem in one model does not hide the problems of the others.
class PolicyTopLevel(_Strict):
    version: Literal[1] = Field(description="Schema version of this file.")
    defaults: Any = None
    models: list[Any] = Field(min_length=1)


# The whole file, as ``edgegate/schema/policy.schema.json`` describes it (names must also be
# unique: the loader checks that, at the line of the repeated name).
class PolicyFile(PolicyTopLevel):
    defaults: ModelSettings = ModelSettings()
    models: list[ModelEntry] = Field(min_length=1)
