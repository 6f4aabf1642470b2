"""What pruning and clustering achieved: sparsity and unique weight values.

``keras_kernels`` reads a tf-keras model (stripped, or still wrapped by tfmot for QAT), so a
recipe can report what fine-tuning reached.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

# The weights tfmot prunes and clusters (its registries name these attributes).
KERNEL_ATTRS = ("kernel", "pointwise_kernel", "embeddings")


def _layers(model):
    """(layer, innermost layer) pairs, descending into nested models and through tfmot's wrappers."""
    import tf_keras

    for layer in model.layers:
        if isinstance(layer, tf_keras.Model):
            yield from _layers(layer)
            continue
        inner = layer
        while isinstance(inner, tf_keras.layers.Wrapper):  # prune / cluster / quantize wrappers
            inner = inner.layer
        yield layer, inner


def keras_kernels(model) -> dict[str, np.ndarray]:
    """Each layer's prunable/clusterable kernel, by the name of the (unwrapped) layer.

    Reads variables, not just attributes: QAT wrappers replace ``layer.kernel`` by the
    fake-quantized tensor of the last trace, while the variable keeps the trained weights.
    """
    import tensorflow as tf

    kernels: dict[str, np.ndarray] = {}
    for layer, inner in _layers(model):
        for attr in KERNEL_ATTRS:
            var = getattr(inner, attr, None)
            if not isinstance(var, tf.Variable):
                suffix = f"{inner.name}/{attr}:0"
                var = next(
                    (w for w in layer.weights if w.name == suffix or w.name.endswith("/" + suffix)), None
                )
            if var is not None:
                kernels[inner.name] = var.numpy()
                break
    return kernels


def sparsity(kernels: Mapping[str, np.ndarray]) -> float | None:
    """Fraction of exact zeros over all given kernels; None when there are none."""
    total = sum(k.size for k in kernels.values())
    if not total:
        return None
    return float(sum(int(np.count_nonzero(k == 0)) for k in kernels.values()) / total)


def unique_counts(kernels: Mapping[str, np.ndarray]) -> dict[str, int]:
    return {name: int(np.unique(k).size) for name, k in kernels.items()}
