"""Running a recipe's conversion with LiteRT's converter (worker-only: imports TensorFlow).

Each ``Conversion`` (``edgegate.conversions``) configures a ``tf.lite.TFLiteConverter`` the way
LiteRT's post-training quantization guide describes. ``make_converter`` builds the converter for a
Keras model (batch fixed to 1: what ships on device, and what the Edge TPU requires) or
a SavedModel's serving signature. Keras 3 models are exported to a SavedModel first (see
``export_keras3``); tf-keras models convert from a concrete function of their call.
"""

from __future__ import annotations

import functools
import shutil
import sys
import tempfile
import weakref
from typing import Any

from edgegate.conversions.interface import Conversion, Representative
from edgegate.errors import InputError
from edgegate.policy.sections import Recipe


def is_keras3(model: Any) -> bool:
    """Whether ``model`` is a Keras 3 object (``import keras``), not a tf-keras one.

    Read from ``sys.modules`` rather than by importing: a worker that only ever saw tf-keras
    models never pays for importing Keras 3, and a model of a package not imported cannot be one.
    """
    keras = sys.modules.get("keras")
    return (
        keras is not None
        and str(getattr(keras, "__version__", "")).startswith("3")
        and isinstance(model, keras.layers.Layer)
    )


def _batch_one_spec(tensor: Any) -> Any:
    """The ``tf.TensorSpec`` of a Keras input with the batch dimension fixed to 1."""
    import tensorflow as tf

    shape = list(tensor.shape)
    if shape and shape[0] is None:
        shape[0] = 1
    return tf.TensorSpec(shape, tensor.dtype, name=getattr(tensor, "name", None))


def keras_input_specs(model: Any) -> list:
    """Input specs of a Keras model with the batch dimension fixed to 1."""
    return [_batch_one_spec(t) for t in model.inputs]


def keras3_input_structure(model: Any) -> Any:
    """What a Keras 3 model's call takes: its inputs shaped as it was built (a tensor, a list, a dict).

    ``inputs`` flattens a dict, and a Functional model called with a list where it was built on a
    dict refuses it; a Sequential model (no ``_inputs_struct``) takes its one input bare.
    """
    structure = getattr(model, "_inputs_struct", None)
    if structure is not None:
        return structure
    return model.inputs[0] if len(model.inputs) == 1 else list(model.inputs)


KERAS3_ENDPOINT = "serve"  # the signature a Keras 3 model is exported under (Keras's own default name)


def export_keras3(model: Any, directory: str, *, name: str = "the model") -> None:
    """Write a Keras 3 model's inference call (batch 1) as a SavedModel, the way Keras 3 documents.

    Keras 3 models must not go through ``from_concrete_functions(..., model)``: TensorFlow then
    saves the model with ``tf.saved_model.save``, and in that SavedModel the converter does not
    freeze the Keras 3 variables. They stay as resource variables (``VAR_HANDLE`` /
    ``READ_VARIABLE``) that nothing initializes, so every weight read returns whatever memory
    held: NaNs, and outputs that change from one conversion to the next. ``ExportArchive``
    tracks the variables itself; it is what ``model.export()`` and TensorFlow's own
    ``from_keras_model`` use for Keras 3, here with ``training=False`` spelled out (as
    ``from_keras_model`` does) and the batch fixed to 1.
    """
    import keras

    if not hasattr(model, "inputs") or not model.inputs:
        raise InputError(
            f"{name}: a subclassed Keras 3 model without declared inputs cannot be exported for "
            "conversion; save a Sequential or Functional model, or commit its SavedModel (model.export)"
        )
    signature = [keras.tree.map_structure(_batch_one_spec, keras3_input_structure(model))]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(KERAS3_ENDPOINT, functools.partial(model.__call__, training=False), signature)
    archive.write_out(directory, verbose=False)


def make_converter(
    *,
    keras_model: Any = None,
    saved_model_dir: str | None = None,
    signature: str | None = None,
    name: str = "the model",
) -> Any:
    """A converter for a Keras model (batch 1) or a SavedModel signature; ``name`` is for messages."""
    import tensorflow as tf

    if keras_model is not None and is_keras3(keras_model):
        export_dir = tempfile.mkdtemp(prefix="edgegate-keras3-")
        try:
            export_keras3(keras_model, export_dir, name=name)
            converter = tf.lite.TFLiteConverter.from_saved_model(export_dir, signature_keys=[KERAS3_ENDPOINT])
        except BaseException:
            shutil.rmtree(export_dir, ignore_errors=True)
            raise
        # The converter reads the SavedModel on every convert() (the quantization debugger
        # converts more than once): the export lives exactly as long as the converter.
        weakref.finalize(converter, shutil.rmtree, export_dir, True)
        return converter
    if keras_model is not None:  # tf-keras: its variables freeze through the concrete function
        specs = keras_input_specs(keras_model)
        fn = tf.function(lambda *xs: keras_model(list(xs) if len(xs) > 1 else xs[0], training=False))
        concrete = fn.get_concrete_function(*specs)
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete], saved_with(keras_model, concrete))
    return tf.lite.TFLiteConverter.from_saved_model(
        saved_model_dir, signature_keys=[signature] if signature else None
    )


def saved_with(keras_model: Any, concrete: Any) -> Any:
    """What the converter saves the concrete function with: a module holding the model's variables.

    ``convert()`` first writes the function and the object it is given as a temporary
    SavedModel. Given the Keras model, saving traces every layer's own call (MobileNetV2: 26 s
    of a 33 s conversion); a module that holds only the variables the function reads saves the
    same signature and weights, and the converted bytes are identical (a test compares them).
    A function that reads other resources (a lookup table) keeps the model, which tracks them.
    """
    import tensorflow as tf

    resources = [t for t in concrete.captured_inputs if t.dtype == tf.resource]
    if len(resources) != len(concrete.variables):
        return keras_model
    module = tf.Module()
    module.variables_read = list(concrete.variables)
    return module


def convert(
    converter,
    conversion: Conversion,
    recipe: Recipe,
    representative: Representative | None,
    *,
    after_qat: bool = False,
) -> bytes:
    import tensorflow as tf

    conversion.configure(converter, tf, recipe, representative, after_qat=after_qat)
    return converter.convert()
