"""The ``prune`` stage: magnitude pruning to a target sparsity, fine-tuned, then stripped.

Schedules follow tfmot: ``constant`` prunes to the target at the first step and keeps the
mask current; ``polynomial`` ramps from ``initial_sparsity`` to the target over the first
three quarters of the training steps and leaves the last quarter to recover. ``2:4``
structured pruning zeroes two of every four consecutive weights (tfmot's sparsity_m_by_n),
which XNNPack and some accelerators can run faster.
"""

from __future__ import annotations

from edgegate.errors import InputError
from edgegate.policy.sections import PruneOptions, Recipe
from edgegate.recipes.interface import StageOutcome, TrainingContext, TrainingStage
from edgegate.recipes.training import figures
from edgegate.recipes.training.fine_tune import fine_tune, leaf_layers, steps_per_epoch, wrap_layers
from edgegate.results import TrainingFigures

STRUCTURED_SPARSITY = 0.5  # 2:4


def unsupported_layers(model, structured: bool) -> dict[str, str]:
    """Layers with weights that tfmot cannot prune, by name, with the reason."""
    from tensorflow_model_optimization.python.core.sparsity.keras.prunable_layer import PrunableLayer
    from tensorflow_model_optimization.python.core.sparsity.keras.prune_registry import PruneRegistry

    found = {}
    for layer in leaf_layers(model):
        if not layer.trainable_weights:
            continue
        if not (
            isinstance(layer, PrunableLayer)
            or hasattr(layer, "get_prunable_weights")
            or PruneRegistry.supports(layer)
        ):
            found[layer.name] = f"{type(layer).__name__} is not in tfmot's pruning registry"
        elif structured:
            kernel = next((getattr(layer, a) for a in figures.KERNEL_ATTRS if hasattr(layer, a)), None)
            if kernel is not None and len(kernel.shape) not in (2, 4):
                found[layer.name] = (
                    f"2:4 pruning needs 2-D or 4-D weights, {type(layer).__name__} has {len(kernel.shape)}-D"
                )
    return found


def schedule(options: PruneOptions, total_steps: int | None):
    """The tfmot pruning schedule for these options over ``total_steps`` (unknown: None)."""
    import tensorflow_model_optimization as tfmot

    sparsity = tfmot.sparsity.keras
    if options.structured:
        return sparsity.ConstantSparsity(STRUCTURED_SPARSITY, begin_step=0)  # tfmot sets 2:4 masks at step 1
    # The wrapper's step counter reads 1 at the first training step.
    if options.schedule == "constant" or total_steps is None or total_steps < 3:
        return sparsity.ConstantSparsity(
            options.sparsity, begin_step=1, frequency=max(1, (total_steps or 1) // 10)
        )
    ramp_end = (total_steps * 3) // 4
    frequency = max(1, (ramp_end - 1) // 10)
    end = 1 + ((ramp_end - 1) // frequency) * frequency  # a pruning step, so the target is reached there
    return sparsity.PolynomialDecay(
        initial_sparsity=options.initial_sparsity,
        final_sparsity=options.sparsity,
        begin_step=1,
        end_step=end,
        frequency=frequency,
    )


class Prune(TrainingStage):
    name = "prune"

    def apply(
        self, model, recipe: Recipe, previous: tuple[str, ...], context: TrainingContext
    ) -> StageOutcome:
        import tensorflow_model_optimization as tfmot

        options = recipe.prune
        where = f"model {context.model_name!r}: {recipe.label}"
        structured = options.structured == "2:4"
        ramp = options.schedule == "polynomial" and not structured
        if ramp and options.initial_sparsity >= options.sparsity:
            raise InputError(
                f"{where}: prune.initial_sparsity ({options.initial_sparsity}) must be below "
                f"prune.sparsity ({options.sparsity})"
            )
        notes: list[str] = []
        unsupported = unsupported_layers(model, structured)
        if unsupported and not options.skip_unsupported:
            listed = "; ".join(f"{name!r} ({why})" for name, why in unsupported.items())
            raise InputError(
                f"{where}: tfmot cannot prune {listed}. Set `prune: {{skip_unsupported: true}}` "
                "on the recipe to leave them unpruned, or replace them"
            )
        if unsupported:
            notes.append(f"left unpruned (tfmot cannot prune them): {', '.join(unsupported)}")

        epochs = options.epochs or context.training.epochs
        steps = steps_per_epoch(context)
        total = steps * epochs if steps else None
        if ramp and (total is None or total < 3):
            notes.append(
                "pruned with a constant schedule: a polynomial ramp needs at least 3 known training steps"
            )
        if structured and options.sparsity != STRUCTURED_SPARSITY:
            notes.append(
                "2:4 structured pruning zeroes exactly half of the weights; prune.sparsity is not used"
            )
        params = {"pruning_schedule": schedule(options, total)}
        if structured:
            params["sparsity_m_by_n"] = (2, 4)

        pruned: list[str] = []

        def wrap(layer):
            if layer.name in unsupported or not layer.trainable_weights:
                return None
            pruned.append(layer.name)
            return tfmot.sparsity.keras.prune_low_magnitude(layer, **params)

        wrapped = wrap_layers(model, wrap)
        if not pruned:
            raise InputError(f"{where}: the model has no layer tfmot can prune")
        tuned = fine_tune(
            wrapped, context, epochs, "prune", callbacks=(tfmot.sparsity.keras.UpdatePruningStep(),)
        )
        stripped = tfmot.sparsity.keras.strip_pruning(tuned)

        kernels = {k: v for k, v in figures.keras_kernels(stripped).items() if k in pruned}
        reached = figures.sparsity(kernels)
        target = STRUCTURED_SPARSITY if structured else options.sparsity
        if reached is not None and reached < target - 0.02:
            notes.append(
                f"pruning reached {reached:.0%} sparsity of the {target:.0%} asked: train for more "
                "steps (more epochs or data, or a smaller batch_size)"
            )
        return StageOutcome(
            stripped,
            TrainingFigures(sparsity=reached, epochs=epochs, skipped_layers=tuple(unsupported)),
            tuple(notes),
        )
