"""Metrics: one number for how well a model's outputs match the labels (or the float model).

A ``Metric`` scores a whole eval set at once from the dequantized outputs, shaped
``(samples, ...)``. ``reference_outputs`` are the float model's outputs on the same samples,
given to every metric; only fidelity needs them.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from edgegate.errors import InputError


@dataclass(frozen=True)
class MetricScore:
    value: float
    snr_db: float | None = None  # output signal-to-noise vs the reference, where the metric measures it


class Metric(abc.ABC):
    higher_is_better: bool
    needs_labels: bool = True

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """As reported: "top1", "top5", "mae", "fidelity", ... (a class attribute will do)."""

    @abc.abstractmethod
    def score(
        self, outputs: np.ndarray, labels: np.ndarray | None, reference_outputs: np.ndarray | None
    ) -> MetricScore:
        """Score ``outputs``; ``InputError`` when labels are missing or do not fit the outputs."""


def missing_labels(metric: Metric, source: str) -> InputError:
    """The error for a labelled metric on data without labels."""
    return InputError(
        f"{source}: metric {metric.name} needs labels but the data has none; add labels (y) "
        "or use metric: fidelity, which compares with the float model and needs no labels"
    )


def per_sample(array: np.ndarray) -> np.ndarray:
    """``(samples, values)``: each sample's outputs (or labels) flattened into one row."""
    return array.reshape(len(array), -1)
