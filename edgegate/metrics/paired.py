"""Paired comparisons: how much worse one model is than another on the same samples, with its 95 % interval.

Two models scored on the same eval samples share most of their luck: both get the easy samples
right and both miss the hard ones. Only the samples on which they differ carry information on
the difference, so a paired test is far tighter than comparing two independent accuracies.

- 0/1 outcomes (top-k correctness, top-1 agreement with the float model): the samples split
  into ``worse`` (the other model right, this one wrong), ``better`` (the reverse) and
  concordant pairs. The worsening is ``(worse − better) / n``; its interval is Tango's
  asymptotic score interval (Tango 1998), the p-value the exact conditional McNemar test.
- Anything else (per-sample errors for mae/mse/rmse, energies for fidelity of one output): a
  paired percentile bootstrap, the same resampled samples for both models, with a fixed seed so
  a rerun gives the same interval.

docs/accuracy.md gives the formulas and the references.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np

from edgegate.metrics.interface import SampleScores, aggregate_values
from edgegate.results.model import PairedInterval

LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0  # fixed: the same inputs give the same interval on every run
_BISECTIONS = 200  # halvings of [−1, 1]: far below float resolution long before the last
_CHUNK_VALUES = 2_000_000  # resampled indices drawn at once, for memory; depends on n alone, so reruns agree


class NotPaired(ValueError):
    """The two evaluations cannot be compared sample by sample; the message says why."""


def mcnemar_exact_p(worse: int, better: int) -> float:
    """Two-sided exact (conditional) McNemar p of "no change": ``worse`` ~ Binomial(worse + better, ½).

    ``p = min(1, 2 · Σ_{i ≤ min(worse, better)} C(m, i) / 2^m)``, ``m = worse + better``, in exact
    integers (the tail of a symmetric binomial, doubled).
    """
    m = worse + better
    k = min(worse, better)
    if m == 0 or 2 * k == m:  # nothing discordant, or a tie: the doubled tail is at least 1
        return 1.0
    term, tail = 1, 1  # C(m, 0)
    for i in range(k):
        term = term * (m - i) // (i + 1)  # C(m, i + 1), exact: C(m, i)·(m − i) is divisible by i + 1
        tail += term
    return min(1.0, (2 * tail) / (1 << m))


def _restricted_p21(delta: float, worse: int, better: int, n: int) -> float:
    """The maximum-likelihood share of ``better`` pairs given a worsening of ``delta`` (Tango 1998).

    The root in 0..1 of ``A·p² + B·p + C = 0``, ``A = 2n``, ``B = −w − b + (2n − w + b)·Δ``,
    ``C = −b·Δ·(1 − Δ)``; written so that neither form cancels catastrophically.
    """
    a = 2.0 * n
    b_coef = -worse - better + (2.0 * n - worse + better) * delta
    c = -better * delta * (1.0 - delta)
    root = math.sqrt(max(b_coef * b_coef - 4.0 * a * c, 0.0))
    if b_coef > 0:  # −B + root would cancel: the same root as 2C / (−B − root)
        return -2.0 * c / (b_coef + root)
    return (root - b_coef) / (2.0 * a)


def tango_statistic(delta: float, worse: int, better: int, n: int) -> float:
    """Tango's score statistic for "the worsening is ``delta``":
    ``(w − b − n·Δ) / √(n·(2·p̃₂₁ + Δ·(1 − Δ)))``; at ``Δ = 0`` McNemar's ``(w − b)/√(w + b)``."""
    numerator = worse - better - n * delta
    variance = n * (2.0 * _restricted_p21(delta, worse, better, n) + delta * (1.0 - delta))
    if variance <= 0.0:
        return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)
    return numerator / math.sqrt(variance)


def tango_interval(worse: int, better: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Tango's asymptotic score interval of the worsening ``(worse − better)/n`` of paired proportions.

    Every ``Δ`` whose score statistic is within ±z: the statistic falls as ``Δ`` grows, so each
    limit is the one crossing, found by bisection on ``num(Δ) ∓ z·√var(Δ)`` (no division: the
    variance is 0 at ±1 and, with no discordant pairs, at 0).
    """
    if not (0 <= worse and 0 <= better and worse + better <= n and n > 0):
        raise ValueError(f"not a paired table: worse={worse}, better={better} of n={n}")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    estimate = (worse - better) / n

    def gap(delta: float, sign: float) -> float:
        numerator = worse - better - n * delta
        variance = n * (2.0 * _restricted_p21(delta, worse, better, n) + delta * (1.0 - delta))
        return numerator - sign * z * math.sqrt(max(variance, 0.0))

    def crossing(lo: float, hi: float, sign: float) -> float:
        # gap(lo) > 0 ≥ gap(hi): keep it so while halving.
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            if mid in (lo, hi):
                break
            if gap(mid, sign) > 0:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    low = -1.0 if better == n else crossing(-1.0, estimate, +1.0)
    high = 1.0 if worse == n else crossing(estimate, 1.0, -1.0)
    return low, high


def bootstrap_interval(
    model: SampleScores,
    other: SampleScores,
    *,
    higher_is_better: bool,
    level: float = LEVEL,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile interval of ``model``'s worsening vs ``other``, resampling samples (pairs) with replacement.

    Each resample draws ``n`` sample indices and recomputes both metrics on them (so rmse is the
    root of the resampled mean, not a mean of roots); the interval is the ``(1 ± level)/2``
    quantiles of the resampled worsenings.
    """
    both = np.concatenate([model.columns(), other.columns()], axis=1)
    split = model.columns().shape[1]
    n = len(both)
    rng = np.random.default_rng(seed)
    worsening = np.empty(resamples)
    chunk = max(1, min(resamples, _CHUNK_VALUES // max(n, 1)))
    for start in range(0, resamples, chunk):
        count = min(chunk, resamples - start)
        picks = rng.integers(0, n, size=(count, n))
        # How often each sample was drawn, then the resampled means as one product: several times
        # faster than gathering (count, n, columns), and the same means up to rounding.
        drawn = np.stack([np.bincount(row, minlength=n) for row in picks]).astype(np.float64)
        means = drawn @ both / n
        mine = aggregate_values(model.aggregate, means[:, :split])
        theirs = aggregate_values(other.aggregate, means[:, split:])
        worsening[start : start + count] = theirs - mine if higher_is_better else mine - theirs
    low, high = np.quantile(worsening, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


# Scores are never changed once made, so a cache on their identity is safe; it spares the
# bootstrap's recomputation when each round of ``recipes: auto`` judges every candidate again.
@functools.lru_cache(maxsize=128)
def paired_change(model: SampleScores, other: SampleScores, *, higher_is_better: bool) -> PairedInterval:
    """The 95 % interval of how much worse ``model`` is than ``other`` (positive = worse, metric units).

    ``NotPaired`` when the two were not scored on the same samples in the same order (their
    counts or their data identity differ) or not with the same metric.
    """
    if len(model) != len(other):
        raise NotPaired(f"the two evaluations cover {len(model)} and {len(other)} samples")
    if model.identity != other.identity:
        raise NotPaired(
            "the two evaluations scored different samples, or the same in another order "
            "(was the eval data loaded differently, e.g. by a hook that shuffles?)"
        )
    if model.aggregate != other.aggregate or model.binary != other.binary:
        raise NotPaired("the two evaluations were scored with different metrics")
    n = len(model)
    if model.binary and model.aggregate == "mean":
        mine, theirs = model.values, other.values
        lost = int(np.count_nonzero(theirs & ~mine))  # the other model scores 1 where this one scores 0
        gained = int(np.count_nonzero(mine & ~theirs))
        worse, better = (lost, gained) if higher_is_better else (gained, lost)
        low, high = tango_interval(worse, better, n)
        return PairedInterval(low, high, n, "tango", mcnemar_exact_p(worse, better))
    low, high = bootstrap_interval(model, other, higher_is_better=higher_is_better)
    return PairedInterval(low, high, n, "bootstrap")
