"""How much slower one model is than another timed beside it, with its 95 % interval.

``measure_latency`` times models in rounds: each round invokes every model once, in an order
that rotates from round to round. Round ``r`` of two models shares the machine's state of that
moment (clock frequency, a noisy neighbour), so the per-round log-ratio
``d_r = ln(t_r / u_r)`` cancels what the round did to both and keeps each model's own noise.
Single timings are skewed (a long right tail: interrupts, preemption), but with the order
rotating the two models' noise is exchangeable, so ``d_r`` is symmetric around the true
log-ratio however skewed each timing is. Symmetry is the one assumption of the Wilcoxon
signed-rank test; its estimate is Hodges–Lehmann's (the median of the Walsh averages
``(d_i + d_j) / 2, i ≤ j``) and its interval the Walsh averages at the test's critical ranks
(Hollander, Wolfe & Chicken, *Nonparametric Statistical Methods*, 3rd ed., §3.2). It resists a
few wild rounds (breakdown point 29 %), needs no resampling or seed, and its coverage holds at
any number of rounds (exact ranks up to ``EXACT_ROUNDS``, the normal approximation above).
docs/latency.md compares it with a bootstrap of the ratio of medians.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from edgegate.metrics.paired import LEVEL, NotPaired
from edgegate.results.model import PairedInterval

MIN_ROUNDS = 6  # below this even "every round slower" is not significant at 95 % (2 / 2⁵ > 5 %)
EXACT_ROUNDS = 300  # the signed-rank distribution is computed exactly up to here
_BISECTIONS = 200  # halvings of the log-ratios' range: at float resolution long before the last
METHOD = "hodges-lehmann"


def log_ratios(times: Sequence[float], other: Sequence[float]) -> np.ndarray:
    """``ln(times[r] / other[r])`` per round; ``NotPaired`` when the rounds do not pair up."""
    if len(times) != len(other):
        raise NotPaired(f"the two models were timed in {len(times)} and {len(other)} rounds")
    if len(times) < MIN_ROUNDS:
        raise NotPaired(
            f"{len(times)} timed rounds are too few for a 95% interval (latency.runs: at least {MIN_ROUNDS})"
        )
    a, b = np.asarray(times, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(a > 0) and np.all(b > 0)):
        raise NotPaired("a timed round is not a positive duration")
    return np.sort(np.log(a) - np.log(b))


def _walsh_at_or_below(d: np.ndarray, x: float) -> int:
    """How many Walsh averages of the sorted ``d`` are ≤ ``x``: pairs ``i ≤ j`` with ``d_i + d_j ≤ 2x``."""
    j = np.searchsorted(d, 2 * x - d, side="right")  # for each i, the j with d_i + d_j ≤ 2x
    return int(np.maximum(j - np.arange(len(d)), 0).sum())


def walsh_order_statistic(d: np.ndarray, k: int) -> float:
    """The ``k``-th smallest (1-based) Walsh average of the sorted ``d``, without forming all n(n+1)/2.

    Bisection on the value: the count at or below ``x`` is found in O(n log n), so memory stays
    O(n) at any ``latency.runs``.
    """
    low, high = float(d[0]), float(d[-1])  # every Walsh average lies within [min, max]
    if _walsh_at_or_below(d, low) >= k:
        return low
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if _walsh_at_or_below(d, middle) >= k:
            high = middle
        else:
            low = middle
    return high


def hodges_lehmann(d: np.ndarray) -> float:
    """The median of the Walsh averages of the sorted ``d``."""
    count = len(d) * (len(d) + 1) // 2
    middle = walsh_order_statistic(d, (count + 1) // 2)
    return middle if count % 2 else (middle + walsh_order_statistic(d, count // 2 + 1)) / 2


@functools.lru_cache(maxsize=32)
def critical_rank(n: int, level: float = LEVEL) -> int:
    """The largest ``k`` with P(T⁺ ≤ k − 1) ≤ (1 − level)/2 under no change (T⁺: the signed-rank sum).

    The interval is the ``k``-th smallest to the ``k``-th largest Walsh average. Exact (the
    distribution of T⁺, built one rank at a time) up to ``EXACT_ROUNDS``; above, the normal
    approximation with a continuity correction.
    """
    tail = (1 - level) / 2
    count = n * (n + 1) // 2
    if n > EXACT_ROUNDS:
        sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        return max(1, math.floor(count / 2 - NormalDist().inv_cdf(1 - tail) * sd + 0.5))
    p = np.zeros(count + 1)
    p[0] = 1.0
    for rank in range(1, n + 1):  # rank `rank` is positive or negative with probability ½ each
        p[rank:] = 0.5 * p[rank:] + 0.5 * p[:-rank].copy()
        p[:rank] *= 0.5
    cdf = np.cumsum(p)
    return int(np.searchsorted(cdf, tail * (1 + 1e-12), side="right"))  # P(T⁺ ≤ k − 1) ≤ tail


def latency_change(times: Sequence[float], other: Sequence[float], level: float = LEVEL) -> PairedInterval:
    """The 95 % interval of how much slower ``times`` are than ``other`` (0.05: 5 % slower), round by round.

    ``NotPaired`` when the rounds do not pair up or are too few (fewer than ``MIN_ROUNDS``).
    """
    d = log_ratios(times, other)
    n = len(d)
    k = critical_rank(n, level)
    low = walsh_order_statistic(d, k)
    high = walsh_order_statistic(d, n * (n + 1) // 2 + 1 - k)
    return PairedInterval(math.expm1(low), math.expm1(high), n, METHOD)
