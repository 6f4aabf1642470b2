"""Fidelity: how closely a model reproduces the float model's outputs; needs no labels.

``snr_db`` is the output signal-to-noise ratio, ``10·log10(Σ ref² / Σ (out − ref)²)`` over all
outputs (None when it is infinite or undefined: identical outputs, or an all-zero reference).
``value`` is, for models with more than one output value per sample (classifiers), the share
of samples whose top-1 class equals the float model's; for one output value per sample, the
share of the reference's output energy reproduced, ``1 − Σ (out − ref)² / Σ ref²`` clipped to
0..1 (``1 − 10^(−snr/10)``: 20 dB → 0.99, 30 dB → 0.999). Both are 1.0 for the float model itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgegate.errors import InputError
from edgegate.metrics.classification import predicted_classes
from edgegate.metrics.interface import Metric, MetricScore, SampleScores, per_sample, scored


def _energies(outputs: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(Σ ref², Σ (out − ref)²), in float64."""
    reference = reference.astype(np.float64)
    return float(np.sum(np.square(reference))), float(
        np.sum(np.square(outputs.astype(np.float64) - reference))
    )


def output_snr_db(outputs: np.ndarray, reference: np.ndarray) -> float | None:
    signal, noise = _energies(outputs, reference)
    if noise == 0.0 or signal == 0.0:
        return None
    return 10.0 * math.log10(signal / noise)


@dataclass(frozen=True)
class Fidelity(Metric):
    name = "fidelity"
    higher_is_better = True
    needs_labels = False

    def score(
        self, outputs: np.ndarray, labels: np.ndarray | None, reference_outputs: np.ndarray | None
    ) -> MetricScore:
        # Without reference outputs the model being scored is the float reference itself.
        reference = outputs if reference_outputs is None else reference_outputs
        if reference.shape != outputs.shape:
            raise InputError(
                f"metric fidelity: the float model's outputs have shape {reference.shape} but this "
                f"model's have {outputs.shape}; both must be evaluated on the same samples"
            )
        if per_sample(outputs).shape[1] > 1:
            samples = SampleScores(predicted_classes(outputs) == predicted_classes(reference))
        else:
            # Each sample's error energy and reference energy: the value is a ratio of their sums.
            out, ref = per_sample(outputs).astype(np.float64), per_sample(reference).astype(np.float64)
            energies = np.stack(
                [np.sum(np.square(out - ref), axis=1), np.sum(np.square(ref), axis=1)], axis=1
            )
            samples = SampleScores(energies, "energy_share")
        return scored(samples, output_snr_db(outputs, reference))
