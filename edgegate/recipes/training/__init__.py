"""Training-based recipes (prune, cluster, qat) with tensorflow-model-optimization (worker-only).

``load_for_training`` opens a source model as a tf-keras model tfmot can wrap (rebuilding
Keras 3 models in tf-keras); ``train`` applies a recipe's stages in order and returns the
fine-tuned model with what it achieved. Stages are deterministic: every stage starts from
the policy's seed with TensorFlow's op determinism on, so two runs on the same commit (and
the same machine type) train the same weights. A stage's result is kept for the next
request in this worker that shares it (``prune`` for ``prune+int8`` then ``prune+qat``).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import json

from edgegate.errors import InputError
from edgegate.exception_text import first_line
from edgegate.policy.sections import Recipe, settings_of
from edgegate.recipes.interface import BuildRequest, SourceModel, StageOutcome, TrainingContext
from edgegate.recipes.loading import check_config_safety, keras_version, read_keras_config
from edgegate.recipes.savedmodel_scan import check_saved_model
from edgegate.recipes.training import figures
from edgegate.recipes.training.cluster import Cluster
from edgegate.recipes.training.fine_tune import check_data
from edgegate.recipes.training.prune import Prune
from edgegate.recipes.training.qat import Qat
from edgegate.results import TrainingFigures

STAGES = {stage.name: stage for stage in (Prune(), Cluster(), Qat())}


class TrainingSkipped(InputError):
    """A training recipe cannot run for a reason the user chose (no training data): skip, do not fail."""


# --- loading ------------------------------------------------------------------------


def load_for_training(source: SourceModel):
    """The source as a tf-keras Sequential/Functional model; ``InputError`` saying why not."""
    import tf_keras

    if source.format.measured_as_is:
        raise InputError(
            f"{source.display} is a {source.format.title} model: training-based recipes need the Keras model "
            "it was converted from"
        )
    if source.kind == "savedmodel":
        model = _load_saved_model(source)
    elif _written_by_keras3(source):
        model = _rebuild_keras3(source)
    else:
        check_config_safety(read_keras_config(source), source)
        try:
            # safe_mode exists for .keras only; .h5 configs were checked above.
            safe = {"safe_mode": not source.trust_code} if source.kind == "keras" else {}
            model = tf_keras.models.load_model(source.path, compile=False, **safe)
        except Exception as e:  # tf-keras raises many types for corrupt or unknown content
            raise InputError(
                f"{source.display}: tf-keras could not load this model: {first_line(e)}"
            ) from None
    if not (isinstance(model, tf_keras.Sequential) or getattr(model, "_is_graph_network", False)):
        raise InputError(
            f"{source.display} is a subclassed Keras model: tfmot wraps only Sequential and "
            "Functional models; it gets PTQ recipes only"
        )
    return model


def _written_by_keras3(source: SourceModel) -> bool:
    if source.kind == "keras":
        return keras_version(source) >= 3
    import h5py

    try:
        with h5py.File(source.path, "r") as f:
            version = f.attrs.get("keras_version", b"2")
    except OSError:
        return False  # tf-keras's loader reports the unreadable file
    version = version.decode() if isinstance(version, bytes) else str(version)
    return version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 3


def _load_saved_model(source: SourceModel):
    import tf_keras
    from tf_keras.protobuf import saved_metadata_pb2

    check_saved_model(source)  # before tf-keras runs any of its initializers
    metadata_path = source.path / "keras_metadata.pb"
    if not metadata_path.is_file():
        raise InputError(
            f"{source.display} is a SavedModel without Keras metadata: training-based recipes "
            "need a Keras model; it gets PTQ recipes only"
        )
    metadata = saved_metadata_pb2.SavedMetadata()
    try:
        metadata.ParseFromString(metadata_path.read_bytes())
        configs = [json.loads(node.metadata) for node in metadata.nodes if node.metadata]
    except Exception as e:
        raise InputError(f"{source.display}: unreadable keras_metadata.pb ({first_line(e)})") from None
    check_config_safety({"nodes": configs}, source)  # reviving Lambda layers would run their bytecode
    try:
        return tf_keras.models.load_model(str(source.path), compile=False)
    except Exception as e:
        raise InputError(
            f"{source.display}: tf-keras could not load this SavedModel: {first_line(e)}"
        ) from None


def _rebuild_keras3(source: SourceModel):
    import keras

    from edgegate.recipes.training.keras3 import RebuildError, rebuild

    check_config_safety(read_keras_config(source), source)
    try:
        original = keras.models.load_model(source.path, compile=False, safe_mode=not source.trust_code)
    except Exception as e:
        raise InputError(f"{source.display}: Keras 3 could not load this model: {first_line(e)}") from None
    try:
        return rebuild(original)
    except RebuildError as e:
        raise InputError(
            f"{source.display}: this Keras 3 model could not be rebuilt in tf-keras for tfmot: "
            f"{e}. It gets PTQ recipes only; save it with tf-keras to fine-tune it"
        ) from None


# --- training -----------------------------------------------------------------------

_PARENTS: "collections.OrderedDict[str, tuple[str, list, TrainingFigures, tuple[str, ...]]]" = (
    collections.OrderedDict()
)
_PARENTS_KEPT = 4


def _needs_data(model_name: str, label: str) -> TrainingSkipped:
    return TrainingSkipped(
        f"model {model_name!r}: {label} needs training data: add "
        "`training: data:` (the same sources as `eval:`) or a `training: hook:` to "
        "this model in the policy"
    )


def context_for(request: BuildRequest) -> TrainingContext:
    """What fine-tuning needs, its data loaded here in the worker; ``TrainingSkipped`` without a
    ``training:`` section."""
    spec = request.training
    if spec is None:
        raise _needs_data(request.model_name, request.recipes[0].label)
    data = None
    if spec.data is not None:
        from edgegate.datasets import load_dataset

        data = load_dataset(spec.data, request.root, key=spec.data.key)
    return TrainingContext(request.model_name, spec, data, request.root, spec.seed)


def train(model, stages: tuple[str, ...], recipe: Recipe, context: TrainingContext) -> StageOutcome:
    """Apply ``stages`` in order; the outcome's figures describe the final model."""
    if context.data is None and not context.training.hook:
        raise _needs_data(context.model_name, recipe.label)
    if not context.training.hook:
        context = dataclasses.replace(context, data=check_data(model, context))
    with _op_determinism():
        return _train(model, stages, recipe, context)


@contextlib.contextmanager
def _op_determinism():
    """TensorFlow's op determinism while training, then as it was: the switch is process-wide, and
    with it on any unseeded random op raises, which later tasks in this worker must not inherit."""
    from tensorflow.python.framework import config  # the only home of is_/disable_op_determinism

    was_on = config.is_op_determinism_enabled()
    config.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            config.disable_op_determinism()


def _train(model, stages: tuple[str, ...], recipe: Recipe, context: TrainingContext) -> StageOutcome:
    import tf_keras

    notes: list[str] = []
    skipped: list[str] = []
    epochs = 0
    pruned: set[str] | None = None
    clustered: set[str] | None = None
    source_key = _fingerprint(model, context)
    previous: tuple[str, ...] = ()
    for name in stages:
        key = _parent_key(source_key, recipe, previous + (name,))
        outcome = _recall(key)
        if outcome is None:
            tf_keras.utils.set_random_seed(context.seed)  # per stage, so a recalled parent changes nothing
            outcome = STAGES[name].apply(model, recipe, previous, context)
            if name != "qat":  # QAT ends a recipe: no later stage builds on it
                _remember(key, outcome)
        model = outcome.model
        notes.extend(outcome.notes)
        skipped.extend(outcome.figures.skipped_layers)
        epochs += outcome.figures.epochs or 0
        if name == "prune":
            pruned = set(figures.keras_kernels(model)) - set(outcome.figures.skipped_layers)
        elif name == "cluster":
            clustered = set(outcome.figures.unique_weights)
        previous += (name,)

    # Measured on the final model, so QAT's effect on the zeros and the centroids shows.
    kernels = figures.keras_kernels(model)
    # In the model's layer order: the report (and its JSON) must not depend on set order.
    pruned_kernels = {k: v for k, v in kernels.items() if k in (pruned or ())}
    final = TrainingFigures(
        sparsity=figures.sparsity(pruned_kernels) if pruned is not None else None,
        unique_weights=figures.unique_counts({k: v for k, v in kernels.items() if k in (clustered or ())}),
        epochs=epochs,
        skipped_layers=tuple(dict.fromkeys(skipped)),
    )
    if context.training.hook:
        notes.append(
            f"fine-tuned by training.hook {context.training.hook}: its own randomness decides "
            "whether runs repeat exactly"
        )
    return StageOutcome(model, final, tuple(dict.fromkeys(notes)))


def _fingerprint(model, context: TrainingContext) -> str:
    """Identity of what training starts from: the model's architecture and weights, data, settings, seed."""
    h = hashlib.blake2b(digest_size=20)
    h.update(model.to_json().encode())
    for w in model.get_weights():
        h.update(w.tobytes())
    if context.data is not None:
        h.update(context.data.x.tobytes())
        h.update(context.data.y.tobytes() if context.data.y is not None else b"")
    h.update(repr(settings_of(context.training)).encode())
    h.update(str(context.seed).encode())
    return h.hexdigest()


def _parent_key(source_key: str, recipe: Recipe, stages: tuple[str, ...]) -> str:
    return source_key + repr([(s, settings_of(getattr(recipe, s))) for s in stages])


def _remember(key: str, outcome: StageOutcome) -> None:
    _PARENTS[key] = (outcome.model.to_json(), outcome.model.get_weights(), outcome.figures, outcome.notes)
    _PARENTS.move_to_end(key)
    while len(_PARENTS) > _PARENTS_KEPT:
        _PARENTS.popitem(last=False)


def _recall(key: str) -> StageOutcome | None:
    """A fresh copy of a stage result trained earlier in this worker (stripped models only)."""
    import tf_keras

    kept = _PARENTS.get(key)
    if kept is None:
        return None
    config, weights, stage_figures, notes = kept
    model = tf_keras.models.model_from_json(config)
    model.set_weights(weights)
    return StageOutcome(model, stage_figures, notes)
