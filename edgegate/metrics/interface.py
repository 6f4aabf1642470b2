"""Metrics: one number for how well a model's outputs match the labels (or the float model).

A ``Metric`` scores a whole eval set at once from the dequantized outputs, shaped
``(samples, ...)``. ``reference_outputs`` are the float model's outputs on the same samples,
given to every metric; only fidelity needs them.

Every metric is a function of per-sample scores (``SampleScores``): the value reported is
computed from them, so a paired comparison of two models on the same samples
(``edgegate.metrics.paired``) is about exactly the numbers the report shows.
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgegate.errors import InputError

# How the column means of the per-sample scores become the metric's value.
#   mean: the mean itself (top-k, top-1 agreement, mae, mse);
#   root_mean: its square root (rmse: the root of the mean squared error);
#   energy_share: columns (noise, signal), 1 − Σnoise/Σsignal clipped to 0..1 (fidelity, one output).
Aggregate = Literal["mean", "root_mean", "energy_share"]


def aggregate_values(aggregate: Aggregate, means: np.ndarray) -> np.ndarray:
    """The metric's value from the column means of its per-sample scores, ``(..., columns)`` → ``(...)``.

    Vectorized: the paired bootstrap applies it to thousands of resampled means at once.
    """
    if aggregate == "mean":
        return means[..., 0]
    if aggregate == "root_mean":
        return np.sqrt(means[..., 0])
    noise, signal = means[..., 0], means[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(signal > 0, np.maximum(0.0, 1.0 - noise / np.where(signal > 0, signal, 1.0)), 0.0)
    return np.where(noise == 0.0, 1.0, share)


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to a single bool
class SampleScores:
    """Each sample's part of a metric, in sample order: what a paired test compares.

    ``values`` is ``(samples,)`` bool for 0/1 outcomes (top-k correct, top-1 agreement with
    the float model) and ``(samples, columns)`` float64 otherwise (per-sample errors; noise and
    signal energy). ``identity`` is a digest of the labels scored (of the inputs when there are
    none): two evaluations pair only when it is the same, i.e. the same samples in the same order.
    """

    values: np.ndarray
    aggregate: Aggregate = "mean"
    identity: str = ""

    @property
    def binary(self) -> bool:
        """0/1 outcomes whose mean is the metric: exact tests on the discordant pairs apply."""
        return self.values.dtype == np.bool_

    def __len__(self) -> int:
        return len(self.values)

    def columns(self) -> np.ndarray:
        """``(samples, columns)`` float64, whatever the storage."""
        v = self.values.astype(np.float64)
        return v[:, None] if v.ndim == 1 else v

    def value(self) -> float:
        return float(aggregate_values(self.aggregate, self.columns().mean(axis=0)))


def data_identity(x: np.ndarray, y: np.ndarray | None) -> str:
    """A digest naming which samples, in which order: of the labels, or of the inputs when label-free.

    Labels, not inputs, when there are any: an image folder resized to two models' different
    input sizes still holds the same samples (and labels), though its pixel arrays differ.
    """
    arr = np.ascontiguousarray(y if y is not None else x)
    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class MetricScore:
    value: float
    snr_db: float | None = None  # output signal-to-noise vs the reference, where the metric measures it
    samples: SampleScores | None = None  # the per-sample scores ``value`` was computed from


def scored(samples: SampleScores, snr_db: float | None = None) -> MetricScore:
    """The score whose value is, by construction, the one its per-sample scores give."""
    return MetricScore(samples.value(), snr_db, samples)


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
