"""The paired latency interval (the median of the per-round log-ratios, the sign test's interval) on
synthetic timed rounds with a known true slowdown: coverage over seeds, robustness, the exact
ranks, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgegate.metrics.paired import NotPaired
from edgegate.metrics.paired_latency import (
    EXACT_ROUNDS,
    critical_rank,
    latency_change,
    log_ratios,
    paired_estimate,
)


def rounds(rng: np.random.Generator, n: int, slowdown: float, *, spikes: float = 0.1) -> tuple:
    """Two models timed in ``n`` shared rounds: ``head`` is ``1 + slowdown`` times ``base``'s typical time.

    Each round shares a drift (the machine's state, ±30 %); each timing has its own skewed noise
    (lognormal, plus a long preemption tail on ``spikes`` of the timings) — a loaded CI runner.
    """
    drift = rng.lognormal(0.0, 0.3, n)

    def noise() -> np.ndarray:
        tail = np.where(rng.random(n) < spikes, rng.exponential(1.0, n), 0.0)
        return rng.lognormal(0.0, 0.05, n) * (1.0 + tail)

    return 2.0 * (1 + slowdown) * drift * noise(), 2.0 * drift * noise()


@pytest.mark.parametrize("n, slowdown", [(30, 0.07), (12, 0.0), (400, 0.07)])
def test_the_interval_covers_the_true_slowdown_about_95_percent_of_the_time(n, slowdown):
    """Over 400 seeded sessions of skewed, drifting timings, the 95 % interval holds the truth in
    about 95 % of them (binomial sd ≈ 1.1 %), at the exact ranks (12, 30) and the normal ones (400)."""
    covered = 0
    for seed in range(400):
        head, base = rounds(np.random.default_rng(seed), n, slowdown)
        interval = latency_change(head, base)
        covered += interval.low <= slowdown <= interval.high
        assert interval.samples == n and interval.method == "sign-test"
    assert 0.92 <= covered / 400 <= 0.985, covered


def test_pairing_cancels_the_drift_that_swamps_unpaired_rounds():
    """With ±30 % drift per round, the same timings with their rounds unpaired (shuffled) give an
    interval several times wider; paired, it is a few percent wide and holds the 7 %."""
    rng = np.random.default_rng(1)
    head, base = rounds(rng, 30, 0.07, spikes=0.0)
    paired = latency_change(head, base)
    unpaired = latency_change(rng.permutation(head), base)
    assert paired.high - paired.low < (unpaired.high - unpaired.low) / 4
    assert paired.low < 0.07 < paired.high and paired.high - paired.low < 0.06


def test_a_few_wild_rounds_move_it_a_little_where_they_move_a_mean_a_lot():
    head, base = rounds(np.random.default_rng(2), 30, 0.07, spikes=0.0)
    calm = latency_change(head, base)
    wild = head.copy()
    wild[[3, 11, 20]] *= 10  # three rounds preempted for ten times the model's time
    stormy = latency_change(wild, base)
    mean_shift = float(np.mean(np.log(wild / base)) - np.mean(np.log(head / base)))
    assert mean_shift > 0.2  # 3 × ln 10 / 30: a mean's estimate would read +25 % more
    assert abs(stormy.low - calm.low) < 0.02 and abs(stormy.high - calm.high) < 0.03
    assert stormy.low <= 0.07 <= stormy.high


def test_swapping_the_models_inverts_the_interval():
    head, base = rounds(np.random.default_rng(3), 25, 0.07)
    forward, backward = latency_change(head, base), latency_change(base, head)
    assert math.isclose(1 + forward.low, 1 / (1 + backward.high), rel_tol=1e-12)
    assert math.isclose(1 + forward.high, 1 / (1 + backward.low), rel_tol=1e-12)


def test_the_interval_is_the_order_statistics_at_the_sign_tests_ranks():
    head, base = rounds(np.random.default_rng(4), 30, 0.07)
    d = np.sort(np.log(np.array(head) / np.array(base)))
    interval = latency_change(head, base)
    # n = 30: P(X ≤ 9) = 0.021 ≤ 2.5 % < P(X ≤ 10) = 0.049, so the 10th smallest and 10th largest.
    assert interval.low == pytest.approx(math.expm1(d[9]), rel=1e-12)
    assert interval.high == pytest.approx(math.expm1(d[20]), rel=1e-12)
    estimate = paired_estimate(head, base)
    assert estimate == pytest.approx(math.expm1((d[14] + d[15]) / 2), rel=1e-12)
    assert interval.low <= estimate <= interval.high


def test_critical_ranks_are_the_binomial_tables():
    # Two-sided 5 % sign test: the largest k with P(X ≤ k − 1) ≤ 2.5 %, X ~ Binomial(n, ½).
    assert [critical_rank(n) for n in (5, 6, 10, 20, 30, 100)] == [0, 1, 2, 6, 10, 40]
    for n in (6, 30, 100, EXACT_ROUNDS):  # checked against the tail in exact integers
        k = critical_rank(n)
        tail = sum(math.comb(n, i) for i in range(k)) / 2**n
        beyond = tail + math.comb(n, k) / 2**n
        assert tail <= 0.025 < beyond
    # The normal approximation takes over where the exact tails stop, conservative by a rank at most.
    assert critical_rank(EXACT_ROUNDS + 1) in (critical_rank(EXACT_ROUNDS), critical_rank(EXACT_ROUNDS) + 1)


@pytest.mark.parametrize(
    "times, other, message",
    [
        ([1.0] * 30, [1.0] * 29, "timed in 30 and 29 rounds"),
        ([1.0] * 5, [1.0] * 5, "5 timed rounds are too few for a 95% interval"),
        ([1.0] * 9 + [0.0], [1.0] * 10, "not a positive duration"),
        ([1.0] * 9 + [math.nan], [1.0] * 10, "not a positive duration"),
    ],
)
def test_rounds_that_do_not_pair_up_are_refused_with_the_reason(times, other, message):
    with pytest.raises(NotPaired, match=message):
        log_ratios(times, other)
