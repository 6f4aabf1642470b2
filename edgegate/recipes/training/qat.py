"""The ``qat`` stage: quantization-aware training, for a full-int8 conversion afterwards.

The model is returned still wrapped (its fake-quant ops carry the learned ranges the
converter needs). After ``prune`` or ``cluster`` the collaborative schemes keep the zeros
and the centroids through QAT: pruning-preserving (PQAT), cluster-preserving (CQAT), and
both at once (PCQAT).
"""

from __future__ import annotations

from edgegate.errors import InputError
from edgegate.exception_text import first_line
from edgegate.policy.sections import Recipe
from edgegate.recipes.interface import StageOutcome, TrainingContext, TrainingStage
from edgegate.recipes.training.fine_tune import fine_tune, fresh_copy
from edgegate.results import TrainingFigures


def scheme_for(previous: tuple[str, ...]):
    """The tfmot quantize scheme that preserves what earlier stages did."""
    if "cluster" in previous:
        from tensorflow_model_optimization.python.core.quantization.keras.collab_opts.cluster_preserve.default_8bit_cluster_preserve_quantize_scheme import (
            Default8BitClusterPreserveQuantizeScheme,
        )

        return Default8BitClusterPreserveQuantizeScheme(preserve_sparsity="prune" in previous)
    import tensorflow_model_optimization as tfmot

    if "prune" in previous:
        return tfmot.quantization.keras.collab_opts.Default8BitPrunePreserveQuantizeScheme()
    return tfmot.quantization.keras.default_8bit.Default8BitQuantizeScheme()


def _folded_batch_norm(layer) -> bool:
    """A batch norm right after a linear conv/dense: tfmot's layout transforms fold it in."""
    if type(layer).__name__ not in ("BatchNormalization", "SyncBatchNormalization"):
        return False
    try:
        source = layer.input._keras_history.layer
    except AttributeError:  # called more than once: no single input
        return False
    return (
        type(source).__name__ in ("Conv2D", "DepthwiseConv2D", "Dense")
        and source.get_config().get("activation") == "linear"
    )


def unsupported_layers(model) -> dict[str, str]:
    """Layers tfmot's 8-bit scheme cannot quantize-aware-train, by name, with the reason.

    The registry plus the one layout transform it leans on (batch-norm folding); ``quantize_apply``
    has the last word, and its error names the layer too.
    """
    import tensorflow_model_optimization as tfmot
    import tf_keras

    registry = tfmot.quantization.keras.default_8bit.Default8BitQuantizeRegistry()
    found = {}
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.InputLayer):
            continue
        if isinstance(layer, tf_keras.Model):
            found[layer.name] = "a model nested in the model (tfmot quantizes flat models only)"
        elif not registry.supports(layer) and not _folded_batch_norm(layer):
            found[layer.name] = f"{type(layer).__name__} is not in tfmot's 8-bit quantization registry"
    return found


class Qat(TrainingStage):
    name = "qat"

    def apply(
        self, model, recipe: Recipe, previous: tuple[str, ...], context: TrainingContext
    ) -> StageOutcome:
        import tensorflow_model_optimization as tfmot

        where = f"model {context.model_name!r}: {recipe.label}"
        unsupported = unsupported_layers(model)
        if unsupported:
            listed = "; ".join(f"{name!r} ({why})" for name, why in unsupported.items())
            raise InputError(
                f"{where}: tfmot cannot quantize-aware-train {listed}. Use a post-training "
                "recipe (int8, int16x8), or move such layers (e.g. Rescaling) out of the model"
            )
        quantize = tfmot.quantization.keras
        try:
            with quantize.quantize_scope():
                wrapped = quantize.quantize_apply(
                    quantize.quantize_annotate_model(fresh_copy(model)), scheme_for(previous)
                )
        except (RuntimeError, ValueError) as e:  # a layer the registry accepts but a scheme's transform not
            raise InputError(f"{where}: tfmot could not prepare the model for QAT: {first_line(e)}") from None
        epochs = recipe.qat.epochs or context.training.epochs
        tuned = fine_tune(wrapped, context, epochs, "qat")
        return StageOutcome(tuned, TrainingFigures(epochs=epochs))
