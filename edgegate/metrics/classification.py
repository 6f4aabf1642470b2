"""Classification metrics: top-1 and top-k accuracy against class labels.

Labels may be class indices (``(N,)`` or ``(N, 1)``, integers or whole floats) or one-hot
rows ``(N, classes)``. A model with a single output per sample is read as a sigmoid
probability of class 1 (threshold 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgegate.errors import InputError
from edgegate.metrics.interface import Metric, MetricScore, SampleScores, missing_labels, per_sample, scored


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """The top-1 class of each sample."""
    scores = per_sample(outputs)
    if scores.shape[1] == 1:
        return (scores[:, 0] >= 0.5).astype(np.int64)
    return np.argmax(scores, axis=1)


def class_labels(labels: np.ndarray, classes: int) -> np.ndarray:
    """Labels as class indices ``(N,)``, checked against the model's number of classes."""
    rows = per_sample(labels)
    if rows.shape[1] > 1:
        if rows.shape[1] != classes:
            raise InputError(
                f"labels have {rows.shape[1]} values per sample but the model outputs {classes}; "
                "give class indices or one-hot rows as wide as the model's output"
            )
        return np.argmax(rows, axis=1)
    column = rows[:, 0]
    if column.dtype.kind == "f" and not np.array_equal(column, np.round(column)):
        raise InputError(
            "labels are not class indices (they have fractions); for regression targets use "
            "metric: mae, mse or rmse"
        )
    indices = column.astype(np.int64)
    bound = max(classes, 2)
    if indices.min() < 0 or indices.max() >= bound:
        raise InputError(
            f"labels range over {indices.min()}..{indices.max()} but the model outputs {bound} "
            f"classes (0..{bound - 1})"
        )
    return indices


@dataclass(frozen=True)
class TopK(Metric):
    """Share of samples whose label is among the ``k`` highest-scoring classes (``k=1``: top-1)."""

    k: int = 1
    higher_is_better = True

    @property
    def name(self) -> str:
        return f"top{self.k}"

    def score(
        self, outputs: np.ndarray, labels: np.ndarray | None, reference_outputs: np.ndarray | None
    ) -> MetricScore:
        if labels is None:
            raise missing_labels(self, "the eval data")
        scores = per_sample(outputs)
        classes = scores.shape[1]
        truth = class_labels(labels, classes)
        if self.k == 1:
            return scored(SampleScores(predicted_classes(outputs) == truth))
        if self.k >= classes:
            raise InputError(
                f"metric top{self.k} needs more than {self.k} classes but the model outputs {classes} "
                f"(every sample would count as correct); use a smaller k"
            )
        best = np.argpartition(-scores, self.k - 1, axis=1)[:, : self.k]
        return scored(SampleScores((best == truth[:, None]).any(axis=1)))
