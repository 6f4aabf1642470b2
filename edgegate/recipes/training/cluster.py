"""The ``cluster`` stage: weight clustering to K centroids, fine-tuned, then stripped.

Each clustered kernel ends with at most K distinct values, which gzip (and the download)
compresses well. After ``prune`` the zeros are kept as their own cluster
(sparsity-preserving clustering), so K must leave room for it.
"""

from __future__ import annotations

from edgegate.errors import InputError
from edgegate.policy.sections import Recipe
from edgegate.recipes.interface import StageOutcome, TrainingContext, TrainingStage
from edgegate.recipes.training import figures
from edgegate.recipes.training.fine_tune import fine_tune, leaf_layers, wrap_layers
from edgegate.results import TrainingFigures

_INIT = {
    "kmeans_plus_plus": "KMEANS_PLUS_PLUS",
    "linear": "LINEAR",
    "random": "RANDOM",
    "density": "DENSITY_BASED",
}


def unsupported_layers(model) -> dict[str, str]:
    """Layers with weights that tfmot cannot cluster, by name, with the reason."""
    import tensorflow_model_optimization as tfmot
    from tensorflow_model_optimization.python.core.clustering.keras import clustering_registry

    ClusterableLayer = tfmot.clustering.keras.ClusterableLayer
    ClusteringRegistry = clustering_registry.ClusteringRegistry
    return {
        layer.name: f"{type(layer).__name__} is not in tfmot's clustering registry"
        for layer in leaf_layers(model)
        if layer.trainable_weights
        and not (isinstance(layer, ClusterableLayer) or ClusteringRegistry.supports(layer))
    }


def _kernel_size(layer) -> int | None:
    kernel = next((getattr(layer, a) for a in figures.KERNEL_ATTRS if hasattr(layer, a)), None)
    return int(kernel.shape.num_elements()) if kernel is not None else None


class Cluster(TrainingStage):
    name = "cluster"

    def apply(
        self, model, recipe: Recipe, previous: tuple[str, ...], context: TrainingContext
    ) -> StageOutcome:
        import tensorflow_model_optimization as tfmot

        # The public tfmot.clustering.keras.experimental is empty in 0.8.1; preserve_sparsity lives here.
        from tensorflow_model_optimization.python.core.clustering.keras.experimental import (
            cluster as experimental,
        )

        options = recipe.cluster
        where = f"model {context.model_name!r}: {recipe.label}"
        preserve_sparsity = "prune" in previous
        if preserve_sparsity and options.clusters < 3:
            raise InputError(
                f"{where}: cluster.clusters must be at least 3 after prune "
                "(sparsity-preserving clustering keeps the zeros as a cluster of their own)"
            )
        notes: list[str] = []
        unsupported = unsupported_layers(model)
        if unsupported and not options.skip_unsupported:
            listed = "; ".join(f"{name!r} ({why})" for name, why in unsupported.items())
            raise InputError(
                f"{where}: tfmot cannot cluster {listed}. Set "
                "`cluster: {skip_unsupported: true}` on the recipe to leave them unclustered, "
                "or replace them"
            )
        if unsupported:
            notes.append(f"left unclustered (tfmot cannot cluster them): {', '.join(unsupported)}")

        init = getattr(tfmot.clustering.keras.CentroidInitialization, _INIT[options.init])
        clustered: list[str] = []
        too_small: list[str] = []

        def wrap(layer):
            if layer.name in unsupported or not layer.trainable_weights:
                return None
            size = _kernel_size(layer)
            if size is not None and size <= options.clusters:
                too_small.append(layer.name)
                return None
            clustered.append(layer.name)
            return experimental.cluster_weights(
                layer,
                number_of_clusters=options.clusters,
                cluster_centroids_init=init,
                preserve_sparsity=preserve_sparsity,
            )

        wrapped = wrap_layers(model, wrap)
        if too_small:
            notes.append(f"not clustered (no more weights than clusters): {', '.join(too_small)}")
        if not clustered:
            raise InputError(f"{where}: the model has no layer tfmot can cluster")
        epochs = options.epochs or context.training.epochs
        tuned = fine_tune(wrapped, context, epochs, "cluster")
        stripped = tfmot.clustering.keras.strip_clustering(tuned)

        kernels = {k: v for k, v in figures.keras_kernels(stripped).items() if k in clustered}
        return StageOutcome(
            stripped,
            TrainingFigures(
                sparsity=figures.sparsity(kernels) if preserve_sparsity else None,
                unique_weights=figures.unique_counts(kernels),
                epochs=epochs,
                skipped_layers=tuple(unsupported),
            ),
            tuple(notes),
        )
