"""Prune, cluster and QAT stages and their combinations on the digits model, through conversion."""

from __future__ import annotations

import numpy as np
import pytest

from edgegate.recipes.training import figures
from tests.training.conftest import gzip_size, tflite_accuracy, to_tflite
from tests.training.tflite_weights import tflite_sparsity, tflite_weights

ACCURACY_SLACK = 0.05  # fine-tuned candidates stay within 5 points of the float model


def _wrappers(model) -> list[str]:
    return [
        type(layer).__name__
        for layer in model.layers
        if type(layer).__name__ in ("PruneLowMagnitude", "ClusterWeights")
    ]


def test_prune_constant_reaches_target_sparsity_and_survives_conversion(
    trained, float_model, digits, float_accuracy
):
    outcome = trained({"recipe": "prune+int8", "prune": {"sparsity": 0.5, "schedule": "constant"}})
    assert outcome.figures.sparsity == pytest.approx(0.5, abs=0.01)
    assert outcome.figures.epochs == 1
    assert not _wrappers(outcome.model)
    kernels = figures.keras_kernels(outcome.model)
    assert set(kernels) == {"conv", "hidden", "classes"}
    assert all(abs(np.mean(k == 0) - 0.5) < 0.02 for k in kernels.values())

    x, _, x_test, y_test = digits
    blob = to_tflite(outcome.model, "int8", calibration=x)
    assert tflite_sparsity(tflite_weights(blob)) == pytest.approx(0.5, abs=0.01)
    assert tflite_accuracy(blob, x_test, y_test) >= float_accuracy - ACCURACY_SLACK


def test_prune_polynomial_ramps_to_a_higher_target(trained):
    outcome = trained({"recipe": "prune", "prune": {"sparsity": 0.8, "schedule": "polynomial"}}, epochs=2)
    assert outcome.figures.sparsity == pytest.approx(0.8, abs=0.01)
    assert outcome.figures.epochs == 2
    assert not outcome.notes  # target reached: no "train for more steps" note


def test_pruning_shrinks_the_compressed_file(trained, float_model):
    outcome = trained({"recipe": "prune", "prune": {"sparsity": 0.8, "schedule": "polynomial"}}, epochs=2)
    assert gzip_size(to_tflite(outcome.model)) < 0.6 * gzip_size(to_tflite(float_model))


def test_structured_2_4_pruning(trained):
    import tensorflow as tf
    from tensorflow_model_optimization.python.core.sparsity.keras.pruning_utils import is_pruned_m_by_n

    outcome = trained({"recipe": "prune", "prune": {"structured": "2:4"}})
    kernels = figures.keras_kernels(outcome.model)
    for name in ("hidden", "classes"):
        assert is_pruned_m_by_n(tf.constant(kernels[name]), (2, 4))
        assert np.mean(kernels[name] == 0) == pytest.approx(0.5, abs=0.01)
    assert outcome.figures.sparsity > 0.48


def test_cluster_limits_unique_values_through_conversion(trained, float_model, digits, float_accuracy):
    outcome = trained({"recipe": "cluster", "cluster": {"clusters": 8, "init": "linear"}})
    assert outcome.figures.unique_weights == {"conv": 8, "hidden": 8, "classes": 8}
    assert outcome.figures.sparsity is None
    assert not _wrappers(outcome.model)
    blob = to_tflite(outcome.model)
    assert [w.unique for w in tflite_weights(blob)] == [8, 8, 8]
    assert gzip_size(blob) < 0.5 * gzip_size(to_tflite(float_model))
    _, _, x_test, y_test = digits
    assert tflite_accuracy(blob, x_test, y_test) >= float_accuracy - ACCURACY_SLACK


def test_sparsity_preserving_clustering(trained):
    outcome = trained(
        {"recipe": "prune+cluster", "prune": {"schedule": "constant"}, "cluster": {"clusters": 8}}
    )
    assert outcome.figures.sparsity == pytest.approx(0.5, abs=0.01)
    assert all(n <= 8 for n in outcome.figures.unique_weights.values())
    assert outcome.figures.epochs == 2


def test_qat_converts_to_full_int8_within_accuracy(trained, digits, float_accuracy):
    outcome = trained("qat")
    assert outcome.figures.epochs == 1 and outcome.figures.sparsity is None
    blob = to_tflite(outcome.model, "qat")
    weights = tflite_weights(blob)
    assert weights and all(w.dtype == "int8" for w in weights)
    _, _, x_test, y_test = digits
    assert tflite_accuracy(blob, x_test, y_test) >= float_accuracy - ACCURACY_SLACK


def test_pruning_preserving_qat_keeps_the_zeros(trained, digits, float_accuracy):
    outcome = trained({"recipe": "prune+qat", "prune": {"schedule": "constant"}})
    assert outcome.figures.sparsity == pytest.approx(0.5, abs=0.01)
    blob = to_tflite(outcome.model, "qat")
    assert tflite_sparsity(tflite_weights(blob)) == pytest.approx(0.5, abs=0.01)
    _, _, x_test, y_test = digits
    assert tflite_accuracy(blob, x_test, y_test) >= float_accuracy - ACCURACY_SLACK


def test_cluster_preserving_qat_keeps_the_centroids(trained):
    outcome = trained({"recipe": "cluster+qat", "cluster": {"clusters": 8}})
    assert all(n <= 8 for n in outcome.figures.unique_weights.values())
    by_op = {w.op: w for w in tflite_weights(to_tflite(outcome.model, "qat"))}
    assert by_op["FULLY_CONNECTED"].unique <= 8  # per-tensor int8
    assert by_op["CONV_2D"].unique_per_channel <= 8  # per-channel int8: one scale per filter


def test_prune_cluster_qat_keeps_both(trained):
    outcome = trained(
        {"recipe": "prune+cluster+qat", "prune": {"schedule": "constant"}, "cluster": {"clusters": 8}}
    )
    assert outcome.figures.epochs == 3
    weights = tflite_weights(to_tflite(outcome.model, "qat"))
    assert tflite_sparsity(weights) == pytest.approx(0.5, abs=0.01)
    assert all(w.unique <= 8 for w in weights if w.op == "FULLY_CONNECTED")
