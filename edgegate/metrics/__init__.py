"""Metrics named by the policy's ``eval.metric``: top1, topk, mae, mse, rmse, fidelity."""

from __future__ import annotations

from typing import Callable

from edgegate.metrics.classification import TopK
from edgegate.metrics.fidelity import Fidelity
from edgegate.metrics.interface import Metric, MetricScore
from edgegate.metrics.regression import MeanAbsoluteError, MeanSquaredError, RootMeanSquaredError
from edgegate.policy import sections

__all__ = ["Metric", "MetricScore", "metric_for"]


def metric_for(spec: sections.Metric) -> Metric:
    if spec.name == "top1":
        return TopK(1)
    if spec.name == "topk":
        return TopK(spec.k)
    by_name: dict[str, Callable[[], Metric]] = {
        "mae": MeanAbsoluteError,
        "mse": MeanSquaredError,
        "rmse": RootMeanSquaredError,
        "fidelity": Fidelity,
    }
    return by_name[spec.name]()
