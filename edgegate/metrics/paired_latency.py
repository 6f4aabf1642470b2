"""How much slower one model is than another timed beside it, with its 95 % interval.

``measure_latency`` times models in rounds: each round invokes every model once, in an order
that rotates from round to round. Round ``r`` of two models shares the machine's state of that
moment (clock frequency, a noisy neighbour), so the per-round log-ratio
``d_r = ln(t_r / u_r)`` cancels what the round did to both and keeps each model's own noise.

On a loaded machine the ``d_r`` are sharply peaked (most rounds undisturbed) with very heavy
tails (a round in which one of the two models was preempted). Their median is the estimate,
and its interval the sign test's: the ``k``-th smallest to the ``k``-th largest ``d_r``, ``k``
from the binomial distribution (exact up to ``EXACT_ROUNDS``). It assumes only that rounds are
independent — no symmetry, no shape — and ignores how far a preempted round strays (breakdown
point 50 %). Measured on a loaded 2-core machine it was 2.5 times as precise as the ratio of the
two medians and 3 to 4 times narrower than a Hodges–Lehmann (Wilcoxon) interval, which the tails
widen; docs/latency.md gives the comparison.
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
EXACT_ROUNDS = 1000  # binomial tails in exact integers up to here, the normal approximation above
METHOD = "sign-test"


def log_ratios(times: Sequence[float], other: Sequence[float]) -> np.ndarray:
    """``ln(times[r] / other[r])`` per round, sorted; ``NotPaired`` when the rounds do not pair up."""
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


@functools.lru_cache(maxsize=32)
def critical_rank(n: int, level: float = LEVEL) -> int:
    """The largest ``k`` with P(X ≤ k − 1) ≤ (1 − level)/2, X ~ Binomial(n, ½): the interval is the
    ``k``-th smallest to the ``k``-th largest of ``n`` paired log-ratios (0: no such ``k``)."""
    tail = (1 - level) / 2
    if n > EXACT_ROUNDS:
        return max(0, math.floor(n / 2 + 0.5 - NormalDist().inv_cdf(1 - tail) * math.sqrt(n) / 2))
    allowed = tail * (1 << n)  # the tail's count of the 2ⁿ equally likely sign patterns
    k, below = 0, 0  # below: how many patterns have at most k − 1 positive signs
    while below + math.comb(n, k) <= allowed:
        below += math.comb(n, k)
        k += 1
    return k


def latency_change(times: Sequence[float], other: Sequence[float], level: float = LEVEL) -> PairedInterval:
    """The 95 % interval of how much slower ``times`` are than ``other`` (0.05: 5 % slower), round by round.

    ``NotPaired`` when the rounds do not pair up or are too few (fewer than ``MIN_ROUNDS``).
    """
    d = log_ratios(times, other)
    n = len(d)
    k = critical_rank(n, level)
    if k < 1:  # only for a level above 95 % with few rounds: MIN_ROUNDS is set for 95 %
        raise NotPaired(f"{n} timed rounds are too few for a {level:.0%} interval")
    return PairedInterval(math.expm1(d[k - 1]), math.expm1(d[n - k]), n, METHOD)


def paired_estimate(times: Sequence[float], other: Sequence[float]) -> float:
    """The median of the per-round ratios, less 1 (0.05: 5 % slower): the interval's own estimate."""
    return math.expm1(float(np.median(log_ratios(times, other))))
