"""The policy as the rest of EdgeGate sees it: frozen values, one per section, quantities parsed.

``edgegate.policy.load`` builds these from the validated file; nothing outside ``policy/`` sees
the pydantic schema or the YAML line table. Every value is hashable and picklable (it travels to
worker processes and keys their caches), and every section says where it was written: ``key``
is ``models[0].eval`` when the model wrote it and ``defaults.eval`` when it is inherited, ``line``
its line in the policy file (None when nothing was written). No pydantic import here: reading
results (``edgegate report``) must not load it.

Defaults here mirror the schema's; a test keeps them in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Literal, Sequence, cast

from edgegate import units as q
from edgegate.conversions import CONVERSIONS, conversion_names, produced_by, reference_name
from edgegate.status import Level
from edgegate.transforms import TRANSFORMS

# Training stages (before a recipe's conversion), in order. The conversions (its last stage) are
# the ``edgegate.conversions`` registry, read when a recipe is parsed.
TRAININGS = ("prune", "cluster", "qat")
DEPLOY_SELECTORS = ("best", "smallest", "fastest", "most_accurate", "all")

MetricName = Literal["top1", "topk", "mae", "mse", "rmse", "fidelity"]
Objective = Literal["smallest", "fastest", "most_accurate"]
EdgeTpuLevel = Literal["error", "warn", "off"]
CompilerVersion = Literal[14, 15, 16]
Int8Io = Literal["int8", "uint8", "float32"]
Int16x8Io = Literal["int16", "float32"]
Color = Literal["rgb", "grayscale"]
Scale = Literal["0..1", "-1..1", "0..255"]
PruneSchedule = Literal["constant", "polynomial"]
ClusterInit = Literal["kmeans_plus_plus", "linear", "random", "density"]
# What quantizes a recipe: LiteRT's converter, or the LiteRT Quantizer on a float .tflite (``engine_names``).
Engine = Literal["tensorflow-converter", "litert-quantizer"]
BlockSize = Literal[32, 64, 128]


# --- recipes --------------------------------------------------------------------------


def recipe_stages(text: str, engine: str | None = None) -> tuple[str, ...]:
    """The stages of a recipe (``prune+int8``) on ``engine``, checked; ``ValueError`` says what is wrong.

    The schema validates with this too, so a policy and a recipe made in code obey one grammar.
    """
    stages = tuple(s.strip() for s in text.split("+"))
    conversions, transforms = stage_names(engine)
    unknown = [s for s in stages if s not in conversions + TRAININGS + transforms]
    if unknown:
        on = f" on the {engine} engine" if engine else ""
        raise ValueError(
            f"unknown recipe {unknown[0]!r} in {text!r}{on}; recipes are built from "
            f"{', '.join(conversions + TRAININGS + transforms)} joined by '+' (e.g. prune+int8)"
        )
    first = next((i for i, s in enumerate(stages) if s in transforms), len(stages))
    if any(s not in transforms for s in stages[first:]):
        raise ValueError(f"{text!r}: .tflite transforms ({', '.join(transforms)}) come last")
    if engine not in (None, CONVERTER) and first == len(stages):
        raise ValueError(f"{text!r}: no stage of it runs on the {engine} engine ({', '.join(transforms)})")
    _check_transforms(text, stages[:first], stages[first:])
    convs = [s for s in stages[:first] if s in conversions]
    trains = [s for s in stages if s in TRAININGS]
    if len(convs) > 1 or (convs and stages[first - 1] not in conversions):
        raise ValueError(f"{text!r}: a recipe has at most one conversion ({', '.join(conversions)}), last")
    if trains != sorted(set(trains), key=TRAININGS.index):
        raise ValueError(f"{text!r}: training stages go in the order prune, cluster, qat, each once")
    if "qat" in trains and convs and convs[0] != AFTER_QAT:
        raise ValueError(f"{text!r}: qat produces a full-integer model; only '+{AFTER_QAT}' may follow it")
    return stages


# The engine of every conversion (LiteRT's TFLiteConverter): a recipe's ``engine`` when it names none.
CONVERTER: Engine = "tensorflow-converter"


def stage_names(engine: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The conversion and the transform names a recipe on ``engine`` is built from.

    A name both a conversion and a transform declare (``int8``: the converter's and the LiteRT
    Quantizer's) is the conversion's by default and the transform's on the transform's engine;
    a name only a transform declares (``weight_int4``) is a transform unless the recipe asks for
    the converter."""
    names = conversion_names()
    if engine == CONVERTER:
        transforms: tuple[str, ...] = ()
    elif engine is None:
        transforms = tuple(n for n in TRANSFORMS if n not in names)
    else:
        transforms = tuple(n for n, t in TRANSFORMS.items() if t.engine == engine)
    return tuple(n for n in names if n not in transforms), transforms


def engine_names() -> tuple[str, ...]:
    """What a recipe's ``engine`` may name: the converter and each transform's engine."""
    return (CONVERTER, *dict.fromkeys(t.engine for t in TRANSFORMS.values()))


def _check_transforms(text: str, before: Sequence[str], transforms: Sequence[str]) -> None:
    """Each transform takes what the stage before it produces (as both declare), or ``ValueError``."""
    produced = produced_by(conversion_of(before))
    for name in transforms:
        why = TRANSFORMS[name].takes(produced)
        if why:
            raise ValueError(f"{text!r}: {name} {why}")
        produced = TRANSFORMS[name].produces


# What qat's fake-quantized training converts to: its ranges are int8 ones (``qat.io`` sets the I/O).
AFTER_QAT = "int8"


def conversion_of(stages: Sequence[str]) -> str:
    """The conversion a recipe ends with: the one named, else int8 after qat, else the float
    reference's (float32: training alone keeps the model float)."""
    named = [s for s in stages if s in conversion_names()]
    return named[0] if named else (AFTER_QAT if "qat" in stages else reference_name())


@dataclass(frozen=True, kw_only=True)
class Int8Options:
    io: Int8Io = "int8"  # input/output tensor type
    per_channel: bool = True


@dataclass(frozen=True, kw_only=True)
class Int16x8Options:
    io: Int16x8Io = "float32"


@dataclass(frozen=True, kw_only=True)
class PruneOptions:
    sparsity: float = 0.5
    schedule: PruneSchedule = "polynomial"
    initial_sparsity: float = 0.0
    structured: Literal["2:4"] | None = None
    epochs: int | None = None  # None: training.epochs
    skip_unsupported: bool = False


@dataclass(frozen=True, kw_only=True)
class ClusterOptions:
    clusters: int = 16
    init: ClusterInit = "kmeans_plus_plus"
    epochs: int | None = None
    skip_unsupported: bool = False


@dataclass(frozen=True, kw_only=True)
class QatOptions:
    epochs: int | None = None
    io: Int8Io = "int8"


@dataclass(frozen=True)
class KeepFloat:
    """One layer (or kind of op) a recipe leaves float: a regex searched in an op's output tensor
    names, or an op name (``CONV_2D``: every op of that kind), with the policy line that asked for
    it. The engine making the recipe's candidate validates it against the model (a pattern
    matching nothing is an error at that line)."""

    pattern: str
    line: int | None = None

    @property
    def is_op_name(self) -> bool:
        return self.pattern.isupper() and self.pattern.replace("_", "").isalnum()


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """One candidate to build: stages joined by '+' (normalized: no spaces), with each stage's options.

    Not tied to a policy line: the auto search and the float reference are recipes too (the
    ``keep_float`` key and lines only say where its patterns were written, for messages).
    """

    recipe: str
    name: str | None = None  # label in the report; default: the recipe string
    engine: Engine | None = None  # None: the converter for a converted source, the quantizer for a .tflite
    keep_float: tuple[str, ...] = ()  # layers left float: op names (CONV_2D) or regexes over tensor names
    block_size: BlockSize | None = None  # int4 weights in blocks of this many; None: per channel
    int8: Int8Options = Int8Options()
    int16x8: Int16x8Options = Int16x8Options()
    prune: PruneOptions = PruneOptions()
    cluster: ClusterOptions = ClusterOptions()
    qat: QatOptions = QatOptions()
    keep_float_key: str = field(default="keep_float", compare=False)
    keep_float_lines: tuple[int | None, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        # A recipe made in code obeys the policy's grammar, or its stages would be guessed.
        if "+".join(recipe_stages(self.recipe, self.engine)) != self.recipe:
            raise ValueError(f"recipe {self.recipe!r}: write the stages without spaces")
        why = self._options_problem()
        if why:
            raise ValueError(f"recipe {self.recipe!r}: {why}")

    def _options_problem(self) -> str | None:
        # Without an engine the options are checked as either engine takes them: a .tflite source's
        # recipe runs on the quantizer (``on_tflite``), a converted source's on the converter
        # (``quantizer_options_unused`` says so where the policy is read, and where it is built).
        last = self.recipe.split("+")[-1]
        made_by = TRANSFORMS.get(self.made_by if self.transforms else last if self.engine is None else "")
        if self.keep_float and not (made_by and made_by.keeps_float):
            why = why_not_kept_float(self)  # the converter's own selective path (int8's denylist)
            if why:
                return why
        if self.block_size is not None and not (made_by and made_by.takes_block_size):
            blocks = [n for n, t in TRANSFORMS.items() if t.takes_block_size]
            return f"block_size is an option of {', '.join(blocks)} (int4 weights)"
        return None

    @property
    def label(self) -> str:
        return self.name or self.recipe

    @property
    def trainings(self) -> tuple[str, ...]:
        """The training stages, in order (``qat`` included)."""
        return tuple(s for s in self.recipe.split("+") if s in TRAININGS)

    @property
    def conversion(self) -> str:
        """The conversion it ends with; ``qat`` alone converts to int8, training alone to float32."""
        transforms = self.transforms
        return conversion_of([s for s in self.recipe.split("+") if s not in transforms])

    @property
    def transforms(self) -> tuple[str, ...]:
        """The ``.tflite → .tflite`` transforms applied after the conversion, in order."""
        _, names = stage_names(self.engine)
        return tuple(s for s in self.recipe.split("+") if s in names)

    @property
    def made_by(self) -> str:
        """The stage whose output the candidate is (what targets ask about): the last transform, else
        the conversion."""
        return self.transforms[-1] if self.transforms else self.conversion

    @property
    def keep_float_at(self) -> tuple[KeepFloat, ...]:
        """Each ``keep_float`` pattern with the policy line it was written on (what errors name)."""
        lines = self.keep_float_lines + (None,) * (len(self.keep_float) - len(self.keep_float_lines))
        return tuple(KeepFloat(p, line) for p, line in zip(self.keep_float, lines))

    @property
    def quantizer_options_unused(self) -> str | None:
        """Why this recipe's options cannot be honoured on the converter (no transform of it runs):
        ``block_size``, or ``keep_float`` where the conversion cannot keep layers float."""
        if self.transforms:
            return None
        if self.block_size:
            return (
                f"recipe {self.recipe!r}: block_size is an option of the LiteRT Quantizer; "
                "on a converted model write engine: litert-quantizer"
            )
        why = why_not_kept_float(self) if self.keep_float else None
        return f"recipe {self.recipe!r}: {why}" if why else None

    def on_tflite(self) -> Recipe:
        """This recipe for a ``.tflite`` source, which nothing converts: its stages on the engine of
        the transform its last stage names; ``ValueError`` saying why it cannot be (training, the
        converter asked for, a stage no transform makes)."""
        if self.trainings:
            raise ValueError(
                f"recipe {self.recipe!r}: training stages fine-tune a Keras model, not a .tflite"
            )
        if self.engine == CONVERTER:
            raise ValueError(
                f"recipe {self.recipe!r}: a .tflite is not converted; the {CONVERTER} engine "
                "takes .keras, .h5 and SavedModel sources"
            )
        last = self.recipe.split("+")[-1]
        made = TRANSFORMS.get(last)
        if made is None or "+" in self.recipe:
            raise ValueError(
                f"recipe {self.recipe!r}: a .tflite source takes one quantizer recipe "
                f"({', '.join(TRANSFORMS)})"
            )
        engine = cast(Engine, made.engine)  # a transform's engine is one of ``Engine`` (a test checks)
        return self if self.engine == engine else replace(self, engine=engine)


def why_not_kept_float(recipe: Recipe) -> str | None:
    """Why the stage making ``recipe``'s candidate cannot keep layers float (None: it can)."""
    if recipe.transforms:
        if TRANSFORMS[recipe.made_by].keeps_float is None:
            return f"{recipe.made_by} cannot keep layers float (keep_float)"
        return None
    if "qat" in recipe.trainings:
        return "keep_float applies to post-training quantization; after qat the int8 ranges are trained in"
    if CONVERSIONS[recipe.conversion].keeps_float is None:
        able = [name for name, c in CONVERSIONS.items() if c.keeps_float]
        return (
            f"keep_float applies to {', '.join(able)} on the {CONVERTER} (the layers "
            f"{recipe.conversion} keeps float are its own), or to a recipe on the LiteRT Quantizer "
            "(engine: litert-quantizer)"
        )
    return None


def keeps_float_by(recipe: Recipe) -> str | None:
    """How the stage making ``recipe``'s candidate keeps layers float (its engine's way), or None."""
    stage = TRANSFORMS[recipe.made_by] if recipe.transforms else CONVERSIONS[recipe.conversion]
    return stage.keeps_float


DEFAULT_RECIPES = (Recipe(recipe="float16"), Recipe(recipe="dynamic"), Recipe(recipe="int8"))


# --- data and evaluation --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """Where samples come from: exactly one of ``path`` / ``x`` (+ ``y``) / ``images`` / ``hook``."""

    key: str  # "<section key>.data", e.g. "models[0].eval.data"
    line: int | None = None
    path: str | None = None  # an .npz file or a folder of images, one sub-folder per class
    x_key: str = "x"
    y_key: str | None = "y"
    y_key_written: bool = False  # the policy named y_key: that array must exist (the default may be absent)
    x: str | None = None
    y: str | None = None
    images: str | None = None
    image_size: tuple[int, int] | None = None  # (height, width); None: the model's input size
    color: Color = "rgb"
    scale: Scale = "0..1"
    hook: str | None = None  # "module:function" from the repository
    limit: int | None = None


@dataclass(frozen=True, kw_only=True)
class Metric:
    name: MetricName = "top1"
    k: int = 5  # for topk


@dataclass(frozen=True, kw_only=True)
class Eval:
    key: str
    data: Dataset
    line: int | None = None
    metric: Metric = Metric()
    batch_size: int = 32


@dataclass(frozen=True, kw_only=True)
class Calibration:
    key: str
    data: Dataset | None  # None: synthetic inputs
    line: int | None = None
    synthetic: bool = False
    samples: int = 200


@dataclass(frozen=True, kw_only=True)
class Training:
    """Fine-tuning data and settings for prune / cluster / qat."""

    key: str
    line: int | None = None
    data: Dataset | None = None
    loss: str = "sparse_categorical_crossentropy"
    optimizer: str = "adam"
    learning_rate: float = 1e-4
    epochs: int = 2
    batch_size: int = 32
    seed: int = 0
    hook: str | None = None  # "module:function(model, dataset) -> model"


# --- Edge TPU and latency -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EdgeTpuSettings:
    key: str
    line: int | None = None
    level: EdgeTpuLevel = "off"
    compiler_version: CompilerVersion = 16
    runtime: int | None = None  # None: the compiler's default
    compiler: str = "auto"  # "auto", "static" or a path to edgetpu_compiler
    timeout_s: int = 180
    all_mapped: bool = False
    min_mapped: float | None = None  # lowest share of ops on the Edge TPU, a fraction 0..1
    min_mapped_written: str | None = None  # as the policy wrote it ("90%"), for messages
    max_partitions: int | None = None
    key_lines: tuple[tuple[str, int], ...] = ()  # each key's line under ``edgetpu:``, for annotations


@dataclass(frozen=True, kw_only=True)
class KeepFloatSearch:
    """When an integer candidate breaks an accuracy budget: rebuild it with its worst 1, 2, 4 …
    layers kept float, up to ``max_layers`` (0: never), and stop at the first within budget.
    ``ship``: None — the chooser may ship what it finds under ``recipes: auto`` only (listed
    recipes: reported, with the recipe to write); True — with listed recipes too; False — never."""

    key: str
    line: int | None = None
    max_layers: int = 4
    ship: bool | None = None

    def ships(self, auto: bool) -> bool:
        return self.ship if self.ship is not None else auto


@dataclass(frozen=True, kw_only=True)
class LatencySettings:
    key: str
    line: int | None = None
    runs: int = 30  # timed invocations per model, after warm-up
    warmup: int = 3
    threads: int = 1  # fixed, so numbers are comparable


# --- the app's contract -----------------------------------------------------------------

ContractLevel = Literal["error", "warn", "off"]


@dataclass(frozen=True, kw_only=True)
class OpsContract:
    """``contract.ops``: the op kinds a candidate may hold (what the app's op resolver registers)."""

    key: str
    line: int | None = None
    allowed: tuple[str, ...] | None = None  # CONV_2D, CUSTOM:<code>, ...; None: no list
    no_new_kinds: bool = False  # no op kind the base version's candidate lacks
    level: Level = Level.ERROR


@dataclass(frozen=True, kw_only=True)
class Contract:
    """``contract:``: what the app that loads the model relies on (docs/policy.md)."""

    key: str
    line: int | None = None
    signature: ContractLevel = "error"  # inputs and outputs keep names, shapes, dtypes, quantization
    signature_line: int | None = None
    ops: OpsContract | None = None


# --- budgets, models, the policy --------------------------------------------------------

BudgetMetric = Literal["size", "gzip_size", "latency", "memory", "accuracy"]
Against = Literal["absolute", "float", "base"]
# How an accuracy or latency change is held to its limit: "point", the measured change itself;
# "significant", only a change whose whole 95 % paired interval is beyond the limit fails
# (docs/accuracy.md, docs/latency.md).
Judge = Literal["point", "significant"]


@dataclass(frozen=True)
class Budget:
    """One limit. ``against`` says what it compares with:

    - ``absolute``: ``bound`` is "max" or "min" and ``value`` the limit (bytes for size, gzip size
      and memory / ms / metric units);
    - ``float``: accuracy loss vs the float model, at most ``change``;
    - ``base``: worsening vs the same candidate on the base branch, at most ``change``.

    ``judge`` says how an accuracy change (``float``, ``base``) or a latency change (``base``) is
    held to its limit; every other budget is judged on its measured value ("point").
    """

    metric: BudgetMetric
    against: Against
    level: Level
    written: str
    key: str
    line: int | None
    bound: Literal["max", "min"] = "max"
    value: float | None = None
    change: q.Change | None = None
    on_missing_base: Level = Level.WARN  # a vs_base budget whose base version could not be measured
    judge: Judge = "point"


@dataclass(frozen=True)
class TargetSection:
    """One ``targets:`` entry: validated against the target's written form and parsed into its
    settings by the loader, through the target registry (``edgegate/target_registry.py``)."""

    name: str  # a registered target's name ("mcu")
    key: str  # "models[0].targets.mcu" or "defaults.targets.mcu"
    line: int | None
    settings_json: str  # the mapping as written, as canonical JSON text (the policy diff walks it)
    settings: object = None  # the target's frozen settings (None only in a policy with problems)
    key_lines: tuple[tuple[str, int], ...] = ()  # each key's line under the section, for annotations


@dataclass(frozen=True)
class ModelPolicy:
    """One ``models:`` entry with ``defaults:`` filled in."""

    name: str
    path: str  # as written: a path or glob relative to the repository root
    index: int  # position in models:
    watch: tuple[str, ...] = ()
    recipes: tuple[Recipe, ...] = DEFAULT_RECIPES
    recipes_written: bool = False  # the policy wrote them (a .tflite source builds none otherwise)
    recipes_inherited: bool = False  # written under ``defaults:``, not in the model's own entry
    auto: bool = False  # recipes: auto — search the decision path instead of a fixed list
    deploy: str = "smallest"
    objective: Objective = "smallest"
    eval: Eval | None = None
    calibration: Calibration | None = None
    training: Training | None = None
    budgets: tuple[Budget, ...] = ()
    edgetpu: EdgeTpuSettings = EdgeTpuSettings(key="defaults.edgetpu")
    latency: LatencySettings = LatencySettings(key="defaults.latency")
    keep_float_search: KeepFloatSearch = KeepFloatSearch(key="defaults.keep_float_search")
    trust_code: bool = False
    targets: tuple[TargetSection, ...] = ()
    contract: Contract | None = None
    line: int | None = None  # of the entry
    path_line: int | None = None  # of its path: key
    refused: str | None = (
        None  # a pull request's code-running setting the run will not honour (policy/trust.py)
    )

    @property
    def key(self) -> str:
        return f"models[{self.index}]"

    def recipes_for_tflite(self) -> tuple[Recipe, ...]:
        """What a ``.tflite`` source of this model builds besides itself: the recipes the policy
        wrote, each on the LiteRT Quantizer (``Recipe.on_tflite``); none when it wrote none (the
        defaults are conversions) or ``auto``. ``ValueError`` for a recipe of its own a .tflite
        cannot take; one inherited from ``defaults:`` (written for converted models) is left out
        (``recipes_not_for_tflite`` says which, for the model's notes)."""
        if not self.recipes_written or self.auto:
            return ()
        taken = []
        for r in self.recipes:
            try:
                taken.append(r.on_tflite())
            except ValueError:
                if not self.recipes_inherited:
                    raise
        return tuple(taken)

    def recipes_not_for_tflite(self) -> tuple[str, ...]:
        """Why each recipe inherited from ``defaults:`` is not built for a ``.tflite`` source."""
        if not self.recipes_written or self.auto or not self.recipes_inherited:
            return ()
        reasons = []
        for r in self.recipes:
            try:
                r.on_tflite()
            except ValueError as e:
                reasons.append(f"defaults.recipes: {e}: not built for this .tflite")
        return tuple(reasons)


@dataclass(frozen=True)
class Policy:
    path: Path  # the policy file
    root: Path  # the repository root all policy paths are relative to
    models: tuple[ModelPolicy, ...]

    @property
    def display_path(self) -> str:
        try:
            return self.path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(self.path)


_WHERE = ("key", "line")


def settings_of(section: object) -> tuple:
    """A section's settings as nested plain tuples, without where they were written.

    For cache keys that must agree across processes (``repr`` of it is stable: no hashes, no
    addresses) and must not change when the same settings move from a model to ``defaults:``.
    """
    return tuple(
        (f.name, settings_of(value) if is_dataclass(value) else value)
        for f in fields(section)  # type: ignore[arg-type]
        if f.name not in _WHERE
        for value in [getattr(section, f.name)]
    )
