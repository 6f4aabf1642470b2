"""The slowest of 4 shards for a zoo of mixed costs: split by the names' hashes vs by cost.

A zoo as the issue describes it (issue 24): a few heavy models (a MobileNetV2 with four recipes
costs ~100 s of worker time) among many tiny ``.tflite`` files (under a second each), with costs
drawn reproducibly per seed. Each model's cost is what an earlier run measured (``duration_s``
of its results); a shard's time is the sum of its models' costs, as a matrix job gating them one
worker at a time would take. Prints, per seed, the slowest shard by hash and by cost, the ideal
(total / shards) and how much of the matrix's wait the cost plan saves.

    python bench/bench_shards.py [--models 200] [--shards 4] [--seeds 5]
"""

from __future__ import annotations

import argparse
import random

from edgegate.shards import ShardCosts, plan_shards

HEAVY_S = (80.0, 100.0, 120.0)  # MobileNetV2-like, four recipes
LIGHT_S = (0.3, 0.5, 0.8, 1.0)  # a 2 KB .tflite


def zoo(models: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    return {
        f"zoo/m{i:04d}": rng.choice(HEAVY_S) if rng.random() < 0.05 else rng.choice(LIGHT_S)
        for i in range(models)
    }


def slowest(shards: tuple[tuple[str, ...], ...], costs: dict[str, float]) -> float:
    return max(sum(costs[n] for n in shard) for shard in shards)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'seed':>4} {'heavy':>5} {'by hash s':>10} {'by cost s':>10} {'ideal s':>8} {'saved':>6}")
    for seed in range(1, args.seeds + 1):
        costs = zoo(args.models, seed)
        names = list(costs)
        by_hash = slowest(plan_shards(names, args.shards).shards, costs)
        by_cost = slowest(plan_shards(names, args.shards, ShardCosts(costs)).shards, costs)
        ideal = sum(costs.values()) / args.shards
        heavy = sum(1 for c in costs.values() if c >= HEAVY_S[0])
        saved = 1 - by_cost / by_hash
        print(f"{seed:>4} {heavy:>5} {by_hash:>10.1f} {by_cost:>10.1f} {ideal:>8.1f} {saved:>6.0%}")


if __name__ == "__main__":
    main()
