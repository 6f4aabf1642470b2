"""Metrics score known outputs to known values, and refuse labels that do not fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgegate.errors import InputError
from edgegate.metrics import metric_for
from edgegate.metrics.fidelity import output_snr_db
from edgegate.policy.load import parse_metric

SCORES = np.array(
    [
        [0.1, 0.7, 0.2],  # top1 1, top2 {1, 2}
        [0.5, 0.3, 0.2],  # top1 0, top2 {0, 1}
        [0.2, 0.3, 0.5],  # top1 2, top2 {2, 1}
        [0.6, 0.1, 0.3],
    ]
)  # top1 0, top2 {0, 2}
LABELS = np.array([1, 1, 0, 2])  # top1 hits: sample 0 only; top2 hits: samples 0, 1, 3


def score(metric: str, outputs, labels=None, reference=None):
    return metric_for(parse_metric(metric)).score(np.asarray(outputs), labels, reference)


def test_top1_on_class_indices_one_hot_and_column_labels():
    assert score("top1", SCORES, LABELS).value == 0.25
    assert score("top1", SCORES, np.eye(3)[LABELS]).value == 0.25
    assert score("top1", SCORES, LABELS[:, None].astype(np.float32)).value == 0.25
    assert score("top1", SCORES[:, None, None, :], LABELS).value == 0.25  # (N, 1, 1, classes) outputs


def test_topk_counts_labels_among_the_k_best():
    assert metric_for(parse_metric("top2")).name == "top2"
    assert score("top2", SCORES, LABELS).value == 0.75


def test_topk_needs_more_classes_than_k():
    with pytest.raises(InputError, match="top3 needs more than 3 classes but the model outputs 3"):
        score("top3", SCORES, LABELS)


def test_single_output_is_read_as_a_sigmoid_probability():
    assert score("top1", [[0.9], [0.2], [0.6], [0.4]], np.array([1, 0, 0, 0])).value == 0.75


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 1, 3, 2]), "labels range over 0..3 but the model outputs 3 classes"),
        (np.array([0.5, 1, 0, 2]), "not class indices"),
        (np.eye(4)[[0, 1, 2, 3]], "labels have 4 values per sample but the model outputs 3"),
    ],
)
def test_labels_that_do_not_fit_the_classes_are_refused(labels, message):
    with pytest.raises(InputError, match=message):
        score("top1", SCORES, labels)


@pytest.mark.parametrize("metric", ["top1", "top2", "mae", "mse", "rmse"])
def test_labelled_metrics_without_labels_suggest_fidelity(metric):
    with pytest.raises(InputError, match="needs labels.*fidelity"):
        score(metric, SCORES, None)


def test_regression_metrics():
    outputs = np.array([[1.0], [2.0], [4.0]])
    targets = np.array([1.0, 3.0, 1.0])  # errors 0, -1, 3
    assert score("mae", outputs, targets).value == pytest.approx(4 / 3)
    assert score("mse", outputs, targets).value == pytest.approx(10 / 3)
    assert score("rmse", outputs, targets).value == pytest.approx(math.sqrt(10 / 3))
    assert not metric_for(parse_metric({"name": "mae"})).higher_is_better


def test_regression_targets_must_be_shaped_like_the_outputs():
    with pytest.raises(InputError, match="outputs 3 values per sample but the labels have 1"):
        score("mse", SCORES, np.zeros(4))


def test_fidelity_of_a_classifier_is_top1_agreement_with_snr():
    reference = SCORES
    outputs = SCORES.copy()
    outputs[1] = [0.3, 0.5, 0.2]  # sample 1 now disagrees (class 1 instead of 0)
    result = score("fidelity", outputs, None, reference)
    assert result.value == 0.75
    noise = 0.2**2 * 2
    assert result.snr_db == pytest.approx(10 * math.log10(np.sum(SCORES**2) / noise))


def test_fidelity_without_a_reference_scores_the_reference_itself():
    result = score("fidelity", SCORES)
    assert result.value == 1.0 and result.snr_db is None  # identical outputs: infinite SNR, not reported


def test_fidelity_of_single_output_models_is_the_energy_reproduced():
    reference = np.array([[3.0], [4.0]])  # energy 25
    outputs = np.array([[3.0], [3.0]])  # error energy 1
    result = score("fidelity", outputs, None, reference)
    assert result.value == pytest.approx(1 - 1 / 25)
    assert result.value == pytest.approx(1 - 10 ** (-result.snr_db / 10))
    assert score("fidelity", -10 * reference, None, reference).value == 0.0  # worse than nothing: clipped


def test_fidelity_needs_outputs_on_the_same_samples():
    with pytest.raises(InputError, match="same samples"):
        score("fidelity", SCORES[:3], None, SCORES)


def test_snr_is_none_when_undefined():
    assert output_snr_db(np.ones(3), np.zeros(3)) is None
    assert output_snr_db(np.ones(3), np.ones(3)) is None
    assert output_snr_db(np.array([1.0, 1.1]), np.array([1.0, 1.0])) == pytest.approx(
        10 * math.log10(2 / 0.01)
    )


def test_metric_names_and_directions():
    for text, name, higher in [
        ("top1", "top1", True),
        ("top5", "top5", True),
        ("mse", "mse", False),
        ("rmse", "rmse", False),
        ("fidelity", "fidelity", True),
    ]:
        metric = metric_for(parse_metric(text))
        assert (metric.name, metric.higher_is_better) == (name, higher)
    assert not metric_for(parse_metric({"name": "fidelity"})).needs_labels


def test_every_metric_is_computed_from_its_per_sample_scores():
    """The per-sample scores the paired intervals compare give exactly the value reported."""
    cases = [
        ("top1", SCORES, LABELS, None, [True, False, False, False], "mean"),
        ("top2", SCORES, LABELS, None, [True, True, False, True], "mean"),
        ("mae", [[1.0], [2.0], [4.0]], np.array([1.0, 3.0, 1.0]), None, [[0.0], [1.0], [3.0]], "mean"),
        ("mse", [[1.0], [2.0], [4.0]], np.array([1.0, 3.0, 1.0]), None, [[0.0], [1.0], [9.0]], "mean"),
        ("rmse", [[1.0], [2.0], [4.0]], np.array([1.0, 3.0, 1.0]), None, [[0.0], [1.0], [9.0]], "root_mean"),
        # Two values per sample: each sample's score is the mean over its values.
        ("mae", [[1.0, 3.0], [0.0, 0.0]], np.array([[0.0, 0.0], [0.0, 2.0]]), None, [[2.0], [1.0]], "mean"),
        (
            "fidelity",
            [[3.0], [3.0]],
            None,
            np.array([[3.0], [4.0]]),
            [[0.0, 9.0], [1.0, 16.0]],
            "energy_share",
        ),
    ]
    for metric, outputs, labels, reference, expected, aggregate in cases:
        result = score(metric, outputs, labels, reference)
        assert result.samples is not None, metric
        assert result.samples.values.tolist() == expected, metric
        assert result.samples.aggregate == aggregate, metric
        assert result.samples.binary == (metric.startswith("top")), metric
        assert result.value == result.samples.value(), metric
    outputs = SCORES.copy()
    outputs[1] = [0.3, 0.5, 0.2]
    agreement = score("fidelity", outputs, None, SCORES).samples
    assert agreement is not None and agreement.values.tolist() == [True, False, True, True]
