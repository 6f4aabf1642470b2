"""Regression metrics: mean absolute error, mean squared error and its root, against targets.

Per-sample scores are each sample's mean absolute (or squared) error over its output values;
every sample has as many values, so their mean is the mean over all values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgegate.errors import InputError
from edgegate.metrics.interface import Metric, MetricScore, SampleScores, missing_labels, per_sample, scored


def _errors(metric: Metric, outputs: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    if labels is None:
        raise missing_labels(metric, "the eval data")
    predicted, targets = per_sample(outputs).astype(np.float64), per_sample(labels).astype(np.float64)
    if predicted.shape[1] != targets.shape[1]:
        raise InputError(
            f"metric {metric.name}: the model outputs {predicted.shape[1]} values per sample but the "
            f"labels have {targets.shape[1]}; give targets shaped like the model's output"
        )
    return predicted - targets


@dataclass(frozen=True)
class MeanAbsoluteError(Metric):
    name = "mae"
    higher_is_better = False

    def score(self, outputs, labels, reference_outputs) -> MetricScore:
        return scored(SampleScores(np.mean(np.abs(_errors(self, outputs, labels)), axis=1)[:, None]))


@dataclass(frozen=True)
class MeanSquaredError(Metric):
    name = "mse"
    higher_is_better = False

    def score(self, outputs, labels, reference_outputs) -> MetricScore:
        return scored(SampleScores(np.mean(np.square(_errors(self, outputs, labels)), axis=1)[:, None]))


@dataclass(frozen=True)
class RootMeanSquaredError(Metric):
    name = "rmse"
    higher_is_better = False

    def score(self, outputs, labels, reference_outputs) -> MetricScore:
        # The root of the mean, not a mean of roots: the per-sample scores are squared errors.
        squared = np.mean(np.square(_errors(self, outputs, labels)), axis=1)[:, None]
        return scored(SampleScores(squared, "root_mean"))
