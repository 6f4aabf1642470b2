"""Why an int8 candidate lost accuracy: the layers whose quantization errs the most (worker-only).

``worst_layers_for_request`` serves the pipeline's task: it rebuilds the candidate's float
parent (loading the source, fine-tuning it first for ``prune+int8`` and the like, which a
worker that built the candidate recalls rather than retrains) and calibrates on the policy's
calibration data. The debugger quantizes to int8 only, so for an int16x8 candidate the
ranking shows where 8-bit activations would hurt, not the 16-bit model's own errors.

``worst_layers`` runs LiteRT's ``QuantizationDebugger``: the float model is calibrated and
quantized in debug mode, where every quantized op's output is compared with the float op's
on the same input. The score per layer is RMSE / scale: the error of the quantized output in
units of its quantization step. Pure rounding noise scores about 0.29 (1/√12); layers below
``NOTABLE`` lose little more than that and are left out. The others get a hint on what helps
that kind of op.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any, Callable  # Any: a tf.lite.TFLiteConverter (TensorFlow ships no types)

import numpy as np

from edgegate.errors import InputError
from edgegate.recipes.interface import BuildRequest, stages_of
from edgegate.results import LayerError

NOTABLE = 0.5  # RMSE/scale above which a layer loses clearly more than rounding

_MATMUL = {"CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "CONV_3D", "BATCH_MATMUL"}
_NONLINEAR = {
    "SOFTMAX",
    "LOGISTIC",
    "TANH",
    "EXP",
    "LOG",
    "LOG_SOFTMAX",
    "RSQRT",
    "SQRT",
    "POW",
    "DIV",
    "HARD_SWISH",
    "GELU",
    "ELU",
}
_MIXING = {"ADD", "SUB", "MUL", "CONCATENATION", "SQUARED_DIFFERENCE"}
_REDUCING = {"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "AVERAGE_POOL_2D", "L2_NORMALIZATION"}


def hint_for(op: str) -> str:
    """What usually helps an op that quantizes badly."""
    if op == "DEPTHWISE_CONV_2D":
        return (
            "per-channel ranges differ widely in depthwise kernels: QAT learns ranges that fit, "
            "or keep this layer in float"
        )
    if op in _MATMUL:
        return "wide weight or activation range: QAT learns tighter ranges, or keep this layer in float"
    if op in _NONLINEAR:
        return (
            "nonlinear op sensitive to 8-bit activations: int16x8 keeps 16-bit activations, "
            "or keep it in float"
        )
    if op in _MIXING:
        return "inputs with different ranges share one int8 scale: QAT aligns them; int16x8 also helps"
    if op in _REDUCING:
        return "a reduction over many values accumulates rounding error: int16x8, or keep it in float"
    return "keep this op in float (selective quantization), try int16x8, or QAT"


def layer_name(tensor_name: str) -> str:
    """``model/dense_1/MatMul;model/dense_1/BiasAdd`` → ``dense_1``."""
    parts = tensor_name.split(";")[0].split("/")
    return "/".join(parts[1:-1]) if len(parts) >= 3 else parts[0]


def worst_layers(
    converter_factory: Callable[[], Any], calibration_x: np.ndarray, *, top: int = 5, samples: int = 64
) -> tuple[LayerError, ...]:
    """Up to ``top`` layers with RMSE/scale above ``NOTABLE`` under int8 quantization, worst first.

    ``converter_factory`` returns a fresh ``tf.lite.TFLiteConverter`` for the float model (no
    optimizations set); ``calibration_x`` holds representative inputs for its single input.
    Raises whatever the converter or debugger raises (callers report it as a note).
    """
    import tensorflow as tf

    x = np.asarray(calibration_x[:samples], dtype=np.float32)

    def representative():
        for i in range(len(x)):
            yield [x[i : i + 1]]

    converter = converter_factory()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=representative)
    debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)
    dump.seek(0)

    scored: list[tuple[float, str, str]] = []
    for row in csv.DictReader(dump):
        scale, mse = float(row["scale"]), float(row["mean_squared_error"])
        if scale > 0 and math.isfinite(mse) and math.sqrt(mse) / scale > NOTABLE:
            scored.append((math.sqrt(mse) / scale, row["tensor_name"], row["op_name"]))
    scored.sort(key=lambda s: -s[0])
    return tuple(
        LayerError(layer_name(node), op, round(score, 3), hint_for(op), node=node)
        for score, node, op in scored[:top]
    )


def worst_layers_for_request(request: BuildRequest, label: str, top: int = 5) -> tuple[LayerError, ...]:
    """``worst_layers`` for the candidate ``label`` of a build request."""
    from edgegate.datasets import load_dataset
    from edgegate.recipes.conversions import make_converter

    recipe = next((r for r in request.recipes if r.label == label), request.recipes[0])
    if request.calibration is None or request.calibration.data is None:
        raise InputError(
            f"model {request.model_name!r}: per-layer errors of {label} need calibration data "
            "(synthetic inputs say nothing about real ones)"
        )
    model, signature = _float_parent(request, recipe)
    shape = tuple(model.inputs[0].shape[1:]) if model is not None else ()
    hw = shape[:2] if len(shape) == 3 and None not in shape[:2] else None
    data = load_dataset(request.calibration.data, request.root, key=request.calibration.data.key, input_hw=hw)
    if model is not None:
        return worst_layers(lambda: make_converter(keras_model=model), data.x, top=top)
    return worst_layers(
        lambda: make_converter(saved_model_dir=str(request.source.path), signature=signature), data.x, top=top
    )


def _float_parent(request: BuildRequest, recipe):
    """(Keras model, None), or (None, signature) for a SavedModel converted as a graph."""
    from edgegate.recipes.loading import load_keras_model, saved_model_signature

    trainings, _ = stages_of(recipe)
    if trainings:
        from edgegate.recipes import training

        context = training.context_for(request)
        model = training.load_for_training(request.source)
        return training.train(model, trainings, recipe, context).model, None
    if request.source.kind == "savedmodel":
        return None, saved_model_signature(request.source)
    return load_keras_model(request.source), None
