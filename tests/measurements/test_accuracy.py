"""Evaluation through the interpreter: batched, quantization-scaled, and clear about bad input."""

from __future__ import annotations

import numpy as np
import pytest

from edgegate.datasets.interface import Dataset
from edgegate.errors import InputError
from edgegate.measurements.accuracy import evaluate
from edgegate.metrics import metric_for
from edgegate.metrics.interface import data_identity
from edgegate.policy.load import parse_metric

SOURCE = "models[0].eval.data (data/eval.npz)"


def metric(text: str):
    return metric_for(parse_metric(text))


@pytest.fixture(scope="module")
def expected(models) -> np.ndarray:
    return models.keras.predict(models.x, verbose=0)


def test_float_model_matches_keras(models, expected):
    labels = expected.argmax(axis=1)
    result = evaluate(models.float32, Dataset(models.x, labels, SOURCE), metric("top1"), name="float")
    assert result.accuracy.value == 1.0 and result.accuracy.samples == 64 and result.accuracy.metric == "top1"
    assert np.allclose(result.outputs, expected, atol=1e-5)


@pytest.mark.parametrize("variant", ["int8", "per_channel", "uint8_io", "int16x8"])
def test_quantized_models_are_scaled_back_to_real_outputs(models, expected, variant):
    reference = evaluate(
        models.float32, Dataset(models.x, None, SOURCE), metric("fidelity"), name="float"
    ).outputs
    result = evaluate(
        getattr(models, variant),
        Dataset(models.x, None, SOURCE),
        metric("fidelity"),
        name=variant,
        reference=reference,
    )
    assert result.outputs.dtype == np.float32
    assert np.abs(result.outputs - expected).max() < 0.05  # a few output quantization steps of 1/256
    assert result.accuracy.value >= 0.9 and result.accuracy.snr_db > 25


@pytest.mark.parametrize("batch_size", [1, 7, 64, 500])
def test_batch_size_does_not_change_outputs(models, expected, batch_size):
    result = evaluate(
        models.float32,
        Dataset(models.x, None, SOURCE),
        metric("fidelity"),
        name="float",
        batch_size=batch_size,
    )
    assert result.accuracy.samples == 64
    assert np.allclose(result.outputs, expected, atol=1e-5)


def test_fixed_batch_model_falls_back_to_one_sample_at_a_time(models):
    scores = models.x.reshape(64, 64) @ models.fixed_kernel
    softmax = np.exp(scores - scores.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    result = evaluate(
        models.fixed_batch,
        Dataset(models.x, softmax.argmax(axis=1), SOURCE),
        metric("top1"),
        name="fixed",
        batch_size=32,
    )
    assert result.accuracy.samples == 64 and result.accuracy.value == 1.0
    assert np.allclose(result.outputs, softmax, atol=1e-5)


def test_samples_may_differ_in_dimensions_of_size_one(models, expected):
    result = evaluate(
        models.float32, Dataset(models.x[..., 0], None, SOURCE), metric("fidelity"), name="float"
    )
    assert np.allclose(result.outputs, expected, atol=1e-5)


def test_input_shape_mismatch_names_model_key_and_shapes(models):
    data = Dataset(models.x.reshape(64, 64), None, SOURCE)
    with pytest.raises(InputError) as err:
        evaluate(models.int8, data, metric("fidelity"), name="int8")
    assert str(err.value) == (
        "model int8 expects input [1, 8, 8, 1] (samples of shape (8, 8, 1)) but "
        "models[0].eval.data (data/eval.npz) gives samples of shape (64,); reshape the data "
        "or fix the model's input"
    )


def test_nan_outputs_name_the_model(models):
    values = np.ones((10, 4), np.float32)
    values[3, 2] = values[7, 0] = -1.0
    with pytest.raises(
        InputError,
        match=r"model sqrt produced NaN or infinite outputs for 2 of 10 samples of "
        r"models\[0\]\.eval\.data \(data/eval\.npz\) \(the first is sample 3\)",
    ):
        evaluate(models.sqrt, Dataset(values, None, SOURCE), metric("fidelity"), name="sqrt")


def test_multi_input_models_are_not_supported_yet(models):
    with pytest.raises(
        InputError, match="model pair has 2 inputs .*single-input, single-output models only for now"
    ):
        evaluate(
            models.two_inputs,
            Dataset(np.ones((3, 4), np.float32), None, SOURCE),
            metric("fidelity"),
            name="pair",
        )


def test_labelled_metric_without_labels(models):
    with pytest.raises(
        InputError, match=r"models\[0\]\.eval\.data \(data/eval\.npz\): metric top1 needs labels"
    ):
        evaluate(models.float32, Dataset(models.x, None, SOURCE), metric("top1"), name="float")


def test_a_dataset_without_samples_is_an_input_error(models):
    empty = Dataset(models.x[:0], np.zeros((0,), np.int64), SOURCE)
    with pytest.raises(InputError, match=r"model float: models\[0\]\.eval\.data .* has no samples"):
        evaluate(models.float32, empty, metric("top1"), name="float")


def test_reference_outputs_must_cover_the_same_samples(models):
    with pytest.raises(InputError, match="cover 10 samples but .* has 64"):
        evaluate(
            models.int8,
            Dataset(models.x, None, SOURCE),
            metric("fidelity"),
            name="int8",
            reference=np.zeros((10, 3), np.float32),
        )


def test_labels_that_do_not_fit_name_the_model(models):
    with pytest.raises(InputError, match="model float on .*: labels range over 0..7"):
        evaluate(models.float32, Dataset(models.x, np.arange(64) % 8, SOURCE), metric("top1"), name="float")


def test_regression_metrics_through_the_interpreter(models):
    vectors = np.random.default_rng(2).normal(size=(20, 4)).astype(np.float32)
    own = evaluate(models.regression, Dataset(vectors, None, SOURCE), metric("fidelity"), name="reg")
    assert own.outputs.shape == (20, 1) and own.accuracy.value == 1.0
    shifted = evaluate(
        models.regression, Dataset(vectors, own.outputs[:, 0] + 0.5, SOURCE), metric("mae"), name="reg"
    )
    assert shifted.accuracy.value == pytest.approx(0.5, abs=1e-5) and not shifted.accuracy.higher_is_better


def test_evaluation_keeps_each_samples_score_and_which_samples_they_are(models, expected):
    labels = expected.argmax(axis=1)
    labels[:5] = (labels[:5] + 1) % 3  # the first 5 samples now wrong
    data = Dataset(models.x, labels, SOURCE)
    result = evaluate(models.float32, data, metric("top1"), name="float")
    assert result.scores is not None and result.scores.values.tolist() == [False] * 5 + [True] * 59
    assert result.accuracy.value == result.scores.value() == 59 / 64
    assert result.scores.identity == data_identity(models.x, labels)
