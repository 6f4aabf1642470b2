"""Fine-tuning a tfmot-wrapped model: compile and fit on the policy's training data, or call its hook.

Shared by the three stages, with the two ways they wrap models: ``fresh_copy`` (tfmot wraps
the very layer objects it is given, so it must never see the caller's model) and
``wrap_layers`` (wrap only the layers a stage supports, leaving the others as they are).
"""

from __future__ import annotations

import math
import re
from typing import Callable

import numpy as np

from edgegate.datasets.interface import Dataset
from edgegate.errors import InputError
from edgegate.exception_text import first_line, first_line_with_type
from edgegate.recipes.interface import TrainingContext

_CROSSENTROPY = {
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
}


def fresh_copy(model):
    import tf_keras

    copy = tf_keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def wrap_layers(model, wrap: Callable):
    """A copy of ``model`` whose layers are replaced by ``wrap(layer)``, or kept where it returns None."""
    import tf_keras

    def clone(layer):
        if isinstance(layer, tf_keras.Model):
            return tf_keras.models.clone_model(layer, clone_function=clone)
        if isinstance(layer, tf_keras.layers.InputLayer):
            return layer.__class__.from_config(layer.get_config())
        wrapped = wrap(layer)
        return layer if wrapped is None else wrapped  # the fresh copy's own layer, weights and all

    return tf_keras.models.clone_model(fresh_copy(model), clone_function=clone)


def leaf_layers(model):
    """Every layer that holds weights itself, descending into nested models."""
    import tf_keras

    for layer in model.layers:
        if isinstance(layer, tf_keras.Model):
            yield from leaf_layers(layer)
        elif not isinstance(layer, tf_keras.layers.InputLayer):
            yield layer


def steps_per_epoch(context: TrainingContext) -> int | None:
    """Optimizer steps per epoch on the training data; None when only a hook knows its data."""
    if context.data is None:
        return None
    return max(1, math.ceil(len(context.data.x) / context.training.batch_size))


def check_data(model, context: TrainingContext) -> Dataset | None:
    """The training data, checked: labels present, samples fit the model's single input.

    As everywhere else, dimensions of size 1 may differ: (N, 28, 28) feeds a [1, 28, 28, 1] input.
    """
    data = context.data
    if data is None:
        return None
    where = f"model {context.model_name!r}: training data {data.source}"
    if data.y is None:
        raise InputError(
            f"{where} has no labels; fine-tuning needs labels (y): add them, "
            "or fine-tune in a `training: hook:`"
        )
    if len(model.inputs) != 1:
        raise InputError(
            f"{where}: the model has {len(model.inputs)} inputs and training data feeds one; "
            "fine-tune it in a `training: hook:`"
        )
    expected = tuple(model.inputs[0].shape[1:])
    got = tuple(data.x.shape[1:])
    if len(data.x) != len(data.y):
        raise InputError(f"{where}: {len(data.x)} samples but {len(data.y)} labels")
    if len(expected) == len(got) and all(e is None or e == g for e, g in zip(expected, got)):
        return data
    squeezed = [d for d in expected if d != 1]
    if None not in expected and squeezed == [d for d in got if d != 1]:
        return Dataset(data.x.reshape((len(data.x), *expected)), data.y, data.source)
    raise InputError(f"{where}: samples of shape {got} do not fit the model's input {expected}")


def fine_tune(model, context: TrainingContext, epochs: int, stage: str, callbacks: tuple = ()):
    """Train the wrapped ``model`` for ``epochs``; return the trained model (the hook's, if any)."""
    spec = context.training
    if spec.hook:
        return _run_hook(model, context, stage, spec.hook)
    data = context.data
    if data is None:  # the run builds training recipes only with training data or a hook
        raise InputError(f"model {context.model_name!r}: {stage} needs training data: add `training: data:`")
    model.compile(optimizer=_optimizer(context), loss=_loss(context, model, data))
    try:
        model.fit(
            data.x,
            data.y,
            batch_size=spec.batch_size,
            epochs=epochs,
            shuffle=True,
            verbose=0,
            callbacks=list(callbacks),
        )
    except Exception as e:
        import tensorflow as tf

        if not isinstance(e, (ValueError, TypeError, tf.errors.InvalidArgumentError)):
            raise
        raise InputError(
            f"model {context.model_name!r}: fine-tuning for {stage} failed: {first_line(e)}. Check that "
            f"training.loss ({spec.loss}) suits the labels in {data.source}"
        ) from None
    return model


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _optimizer(context: TrainingContext):
    import tf_keras

    spec = context.training
    try:
        kind = type(tf_keras.optimizers.get(spec.optimizer))
    except ValueError:
        raise InputError(
            f"model {context.model_name!r}: training.optimizer: unknown optimizer "
            f"{spec.optimizer!r}; use a tf-keras optimizer name such as adam, sgd, rmsprop or "
            "adamw"
        ) from None
    return kind(learning_rate=spec.learning_rate)


def _loss(context: TrainingContext, model, data: Dataset):
    """The loss by name; cross-entropies read logits or probabilities as the model outputs them."""
    import tf_keras

    name = context.training.loss
    key = _snake(name)
    if key in _CROSSENTROPY:
        probe = np.asarray(model(data.x[:64], training=False))
        in_range = probe.size > 0 and probe.min() >= 0.0 and probe.max() <= 1.0
        sums_to_one = key.startswith("binary") or bool(np.allclose(probe.sum(axis=-1), 1.0, atol=1e-3))
        return getattr(tf_keras.losses, _CROSSENTROPY[key])(from_logits=not (in_range and sums_to_one))
    try:
        return tf_keras.losses.get(name)
    except ValueError:
        raise InputError(
            f"model {context.model_name!r}: training.loss: unknown loss {name!r}; use a "
            "tf-keras loss name such as sparse_categorical_crossentropy, "
            "categorical_crossentropy, binary_crossentropy, mse or mae"
        ) from None


def _run_hook(model, context: TrainingContext, stage: str, hook: str):
    from edgegate.datasets.hook import import_hook  # the same rules as dataset hooks: repository code only

    where = f"model {context.model_name!r}: training.hook {hook!r}"
    function = import_hook(hook, context.root, key=f"model {context.model_name!r}: training.hook")
    try:
        tuned = function(model, context.data)
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{where} failed while fine-tuning for {stage}: {first_line_with_type(e)}") from None
    if tuned is None or not hasattr(tuned, "layers"):
        raise InputError(f"{where} returned {type(tuned).__name__}; it must return the fine-tuned model")
    return tuned
