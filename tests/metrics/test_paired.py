"""Paired intervals on constructed outcomes with known answers: hand-computed, published, or
checked against a second, independent computation (scipy's binomial test, the closed-form quartic
of Tango's limits)."""

from __future__ import annotations

import math
from dataclasses import replace
from statistics import NormalDist

import numpy as np
import pytest

from edgegate.metrics import metric_for
from edgegate.metrics.interface import SampleScores, data_identity
from edgegate.metrics.paired import (
    NotPaired,
    bootstrap_interval,
    mcnemar_exact_p,
    paired_change,
    tango_interval,
    tango_statistic,
)
from edgegate.policy.load import parse_metric

Z = NormalDist().inv_cdf(0.975)


# --- exact McNemar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "worse, better, p",
    [
        (0, 3, 2 * 1 / 8),  # 3 discordant pairs all one way: 2·P(X = 0), X ~ Bin(3, ½)
        (1, 5, 2 * (1 + 6) / 64),  # 2·P(X ≤ 1), X ~ Bin(6, ½)
        (4, 1, 2 * (1 + 5) / 32),
        (0, 0, 1.0),  # no discordant pair: no evidence of a change
        (4, 4, 1.0),
        (2, 3, 1.0),  # doubled tail above 1: capped
    ],
)
def test_mcnemar_exact_by_hand(worse, better, p):
    assert mcnemar_exact_p(worse, better) == pytest.approx(p, rel=1e-15)
    assert mcnemar_exact_p(better, worse) == pytest.approx(p, rel=1e-15)


def test_mcnemar_exact_matches_the_published_example():
    # Cavo et al. (2012) as analysed in Fagerland, Lydersen & Laake, "Statistical Analysis of
    # Contingency Tables" (2017), ch. 8: n12 = 6, n21 = 16; the exact conditional test P = 0.052479.
    assert round(mcnemar_exact_p(6, 16), 6) == 0.052479


def test_mcnemar_exact_matches_scipys_binomial_test():
    stats = pytest.importorskip("scipy.stats")
    for worse, better in [(1, 0), (3, 9), (17, 4), (40, 90), (250, 301), (1200, 1100)]:
        expected = stats.binomtest(worse, worse + better, 0.5).pvalue
        assert mcnemar_exact_p(worse, better) == pytest.approx(expected, rel=1e-9, abs=1e-300)


# --- Tango's score interval ------------------------------------------------------------------


def tango_quartic_limits(n: int, worse: int, better: int) -> tuple[float, float]:
    """Tango's limits without iterating: the outer real roots of the quartic of Yang, Sun & Hardin,
    "A non-iterative implementation of Tango's score confidence interval for a paired difference of
    proportions", Statistics in Medicine (2013), doi:10.1002/sim.5561 — a second, independent computation."""
    g = Z**2
    d, s = worse - better, worse + better
    m0 = n**2 * (n / g + 1) ** 2
    m1 = -n * d * (n / g + 1) * (4 * n / g + 1)
    m2 = 2 * n * d**2 * (3 * n / g + 2) / g - n**2 * (s / g + 1)
    m3 = n * d * (2 * s / g + 1) - d**3 * (4 * n / g + 1) / g
    m4 = d**2 * (d**2 / g - s) / g
    real = sorted(r.real for r in np.roots([m0, m1, m2, m3, m4]) if abs(r.imag) < 1e-9)
    return real[0], real[-1]


def test_tango_interval_matches_the_published_example():
    # Cavo et al. (2012), Fagerland et al. (2017) ch. 8: estimate −0.0621, Tango 95% CI −0.1240 to −0.0054.
    low, high = tango_interval(6, 16, 161)
    assert (round(low, 4), round(high, 4)) == (-0.1240, -0.0054)


@pytest.mark.parametrize(
    "worse, better, n",
    [(6, 16, 161), (1, 7, 21), (3, 0, 497), (5, 2, 497), (40, 20, 1000), (0, 0, 50), (12, 0, 30)],
)
def test_tango_interval_is_the_closed_form_quartics_outer_roots(worse, better, n):
    assert tango_interval(worse, better, n) == pytest.approx(tango_quartic_limits(n, worse, better), abs=1e-9)


@pytest.mark.parametrize("worse, better, n", [(6, 16, 161), (3, 0, 497), (25, 3, 200), (0, 9, 40)])
def test_tango_interval_is_where_the_score_test_stops_rejecting(worse, better, n):
    low, high = tango_interval(worse, better, n)
    assert tango_statistic(low, worse, better, n) == pytest.approx(Z, abs=1e-7)
    assert tango_statistic(high, worse, better, n) == pytest.approx(-Z, abs=1e-7)
    estimate = (worse - better) / n
    assert low < estimate < high
    # Every Δ inside is accepted by the score test, every Δ outside rejected.
    for delta in np.linspace(-0.999, 0.999, 1999):
        if min(abs(delta - low), abs(delta - high)) > 1e-9:
            assert (abs(tango_statistic(delta, worse, better, n)) <= Z) == (low < delta < high)


def test_tango_statistic_at_zero_is_mcnemars():
    assert tango_statistic(0.0, 6, 16, 161) == pytest.approx((6 - 16) / math.sqrt(22))
    # The asymptotic McNemar test of the published example: Z = −2.132.
    assert round(tango_statistic(0.0, 6, 16, 161), 3) == -2.132


def test_no_discordant_pair_still_leaves_an_interval():
    # With w = b = 0 the statistic is √(n|Δ|/(1 − |Δ|)) (by hand from the restricted estimate,
    # p̃21 = max(−Δ, 0)), so the limits are ±z²/(n + z²): 497 agreeing samples cannot rule out ±0.77 pt.
    low, high = tango_interval(0, 0, 497)
    assert high == pytest.approx(Z**2 / (497 + Z**2), rel=1e-12)
    assert low == pytest.approx(-high, rel=1e-12)


def test_tango_interval_edges():
    assert tango_interval(10, 0, 10)[1] == 1.0  # every sample lost: the worsening can be total
    assert tango_interval(0, 10, 10)[0] == -1.0
    with pytest.raises(ValueError, match="not a paired table"):
        tango_interval(6, 5, 10)


# --- paired bootstrap ------------------------------------------------------------------------


def errors(values) -> SampleScores:
    return SampleScores(np.asarray(values, dtype=np.float64)[:, None])


def test_a_constant_per_sample_change_has_no_uncertainty_when_paired():
    # Errors that vary wildly from sample to sample but move by exactly 0.01 on each: every resample
    # sees a worsening of 0.01. (Unpaired, the spread of the errors would swamp it.)
    reference = np.random.default_rng(3).random(300) * 10
    low, high = bootstrap_interval(errors(reference + 0.01), errors(reference), higher_is_better=False)
    assert low == pytest.approx(0.01, abs=1e-12) and high == pytest.approx(0.01, abs=1e-12)


def test_the_bootstrap_interval_of_a_mean_difference_is_about_z_standard_errors():
    # Differences of +1 and −1 in equal numbers: mean 0, standard deviation 1, so over 400 samples
    # the interval is about ±1.96/√400 = ±0.098 (up to the Monte Carlo error of 2000 resamples, ~0.003).
    d = np.where(np.arange(400) % 2 == 0, 1.0, -1.0)
    reference = np.random.default_rng(4).random(400)
    low, high = bootstrap_interval(errors(reference + d), errors(reference), higher_is_better=False)
    assert low == pytest.approx(-Z / 20, abs=0.012) and high == pytest.approx(Z / 20, abs=0.012)


def test_the_bootstrap_is_deterministic_and_seeded():
    rng = np.random.default_rng(5)
    a, b = errors(rng.random(200)), errors(rng.random(200))
    first = bootstrap_interval(a, b, higher_is_better=False)
    assert bootstrap_interval(a, b, higher_is_better=False) == first
    assert bootstrap_interval(a, b, higher_is_better=False, seed=1) != first
    # The worsening of a higher-is-better metric is the other way round.
    low, high = bootstrap_interval(a, b, higher_is_better=True)
    assert (low, high) == pytest.approx((-first[1], -first[0]), abs=1e-12)


def test_rmse_is_resampled_as_the_root_of_the_mean():
    # Squared errors of 1 and 4 on every sample: rmse 1 and 2 on any resample, a worsening of exactly 1.
    ones = SampleScores(np.ones((50, 1)), "root_mean")
    fours = SampleScores(np.full((50, 1), 4.0), "root_mean")
    assert bootstrap_interval(fours, ones, higher_is_better=False) == pytest.approx((1.0, 1.0), abs=1e-12)


def test_energy_share_is_resampled_as_a_ratio_of_sums():
    # Noise a hundredth of each sample's signal: 0.99 of the energy reproduced on any resample.
    signal = np.random.default_rng(6).random(80) + 0.5
    candidate = SampleScores(np.stack([0.01 * signal, signal], axis=1), "energy_share")
    reference = SampleScores(np.stack([np.zeros(80), signal], axis=1), "energy_share")
    low, high = bootstrap_interval(candidate, reference, higher_is_better=True)
    assert (low, high) == pytest.approx((0.01, 0.01), abs=1e-12)


# --- paired_change: constructed predictions through the metrics ------------------------------


def classifier(correct: np.ndarray, labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """Outputs whose top-1 class is the label where ``correct``, the next class elsewhere."""
    predicted = np.where(correct, labels, (labels + 1) % classes)
    return np.eye(classes)[predicted] * 0.9 + 0.01


def scored(metric: str, outputs: np.ndarray, labels: np.ndarray) -> SampleScores:
    samples = metric_for(parse_metric(metric)).score(outputs, labels, None).samples
    assert samples is not None
    return replace(samples, identity=data_identity(outputs, labels))


def test_a_top1_drop_of_three_samples_in_497():
    """The issue's example: on 497 samples a 0.6 pt drop is 3 samples (4 lost, 1 gained)."""
    n = 497
    labels = np.arange(n) % 10
    reference_right = np.arange(n) >= 17  # 480 right
    candidate_right = reference_right.copy()
    candidate_right[[100, 200, 300, 400]] = False  # lost
    candidate_right[5] = True  # gained (the reference missed it)
    reference = scored("top1", classifier(reference_right, labels), labels)
    candidate = scored("top1", classifier(candidate_right, labels), labels)
    assert reference.value() - candidate.value() == pytest.approx(3 / n)
    interval = paired_change(candidate, reference, higher_is_better=True)
    assert interval.method == "tango" and interval.samples == n
    assert (interval.low, interval.high) == tango_interval(4, 1, n)
    assert interval.p_value == pytest.approx(2 * (1 + 5) / 32)  # exact McNemar on 4 vs 1
    assert interval.low < 0 < 3 / n < interval.high  # 3 samples in 497: not evidence of any change
    # The other way round: the same interval, reversed, and the same p.
    back = paired_change(reference, candidate, higher_is_better=True)
    assert (back.low, back.high) == pytest.approx((-interval.high, -interval.low), abs=1e-9)
    assert back.p_value == interval.p_value


def test_a_regression_metric_is_paired_by_bootstrap():
    targets = np.linspace(0, 1, 100)
    reference = scored("mae", (targets + 0.1)[:, None], targets)
    candidate = scored("mae", (targets + 0.3)[:, None], targets)
    interval = paired_change(candidate, reference, higher_is_better=False)
    assert interval.method == "bootstrap" and interval.p_value is None
    assert (interval.low, interval.high) == pytest.approx((0.2, 0.2), abs=1e-9)  # 0.2 worse on every sample


def test_evaluations_of_different_samples_are_not_paired():
    labels = np.arange(50) % 10
    right = np.arange(50) % 3 > 0
    a = scored("top1", classifier(right, labels), labels)
    with pytest.raises(NotPaired, match="cover 50 and 49 samples"):
        paired_change(
            a, scored("top1", classifier(right[:49], labels[:49]), labels[:49]), higher_is_better=True
        )
    shuffled = np.random.default_rng(0).permutation(50)
    b = scored("top1", classifier(right[shuffled], labels[shuffled]), labels[shuffled])
    with pytest.raises(NotPaired, match="different samples, or the same in another order"):
        paired_change(a, b, higher_is_better=True)
    mae = scored("mae", labels[:, None].astype(float), labels)
    with pytest.raises(NotPaired, match="different metrics"):
        paired_change(a, SampleScores(mae.values, identity=a.identity), higher_is_better=True)


def test_data_identity_names_the_samples_and_their_order():
    y = np.arange(20) % 4
    x = np.zeros((20, 3))
    assert data_identity(x, y) == data_identity(x + 1, y.copy())  # labels name the samples when given
    assert data_identity(x, y) != data_identity(x, y[::-1])
    assert data_identity(x, y) != data_identity(x, y.astype(np.int32))
    assert data_identity(x, None) != data_identity(x + 1, None)  # label-free: the inputs do


def test_paired_change_is_cached_on_the_scores_it_was_given():
    a, b = errors(np.arange(30.0)), errors(np.arange(30.0) + 1)
    assert paired_change(a, b, higher_is_better=False) is paired_change(a, b, higher_is_better=False)
