"""Shards balanced by what each model cost: the plan, the costs file read as untrusted data, and
the merge refusing shards of different plans (issue 24)."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import threading

import pytest

from edgegate.errors import UsageError
from edgegate.results import write_results
from edgegate.results.codec import MAX_BYTES
from edgegate.shards import ShardCosts, merge_results, plan_shards, read_costs, select_shard
from tests.github.conftest import make_model, make_run

NAMES = [f"zoo/model-{i:03d}" for i in range(40)]


def _zoo_costs(seed: int = 24) -> dict[str, float]:
    """Mixed costs as a real zoo has them: a few heavy models among many light ones."""
    rng = random.Random(seed)
    return {n: rng.choice([100.0, 0.8, 0.5, 1.2, 2.0, 0.6]) for n in NAMES}


def _slowest(plan, costs):
    return max(sum(costs[n] for n in shard) for shard in plan.shards)


def test_a_cost_plan_finishes_shards_together_where_the_hash_split_does_not():
    costs = _zoo_costs()
    by_hash = plan_shards(NAMES, 4)
    by_cost = plan_shards(NAMES, 4, ShardCosts(costs, "base.json"))
    assert by_hash.by == "hash" and by_cost.by == "cost"
    for plan in (by_hash, by_cost):
        flat = [n for shard in plan.shards for n in shard]
        assert sorted(flat) == sorted(NAMES)  # every model in exactly one shard
    assert _slowest(by_cost, costs) < _slowest(by_hash, costs)
    # LPT's bound: no shard above the mean load plus the largest single model.
    assert _slowest(by_cost, costs) <= sum(costs.values()) / 4 + max(costs.values())
    assert by_cost.seconds == tuple(round(sum(costs[n] for n in s), 3) for s in by_cost.shards)


def test_without_costs_the_plan_is_the_hash_split_of_before():
    for count in (1, 3, 4):
        plan = plan_shards(NAMES, count, ShardCosts({"not-a-changed-model": 5.0}, "base.json"))
        assert plan.by == "hash" and plan.seconds == (None,) * count
        assert [list(s) for s in plan.shards] == [
            sorted(select_shard(NAMES, i, count), key=plan.shards[i - 1].index) for i in range(1, count + 1)
        ]


def test_the_cost_plan_depends_on_the_names_and_costs_only():
    costs = _zoo_costs()
    shuffled = NAMES[:]
    random.Random(3).shuffle(shuffled)
    reordered = dict(sorted(costs.items(), reverse=True))
    a = plan_shards(NAMES, 4, ShardCosts(costs))
    b = plan_shards(shuffled, 4, ShardCosts(reordered))
    assert a == b and a.digest == b.digest


def test_a_model_of_unknown_cost_counts_as_the_median_known_cost():
    costs = {"a": 1.0, "b": 3.0, "c": 50.0}
    plan = plan_shards(["a", "b", "c", "new"], 2, ShardCosts(costs))
    assert plan.known == 3 and plan.unknown_cost == 3.0
    assert sorted(plan.seconds) == [7.0, 50.0]  # "new" (3 s) joins the light shard, never the 50 s one
    assert "c" in plan.shard_of(plan.seconds.index(50.0) + 1)


def _results_with(tmp_path, durations: dict[str, object]):
    run = dataclasses.replace(make_run(*map(make_model, durations)), model_seconds=durations)
    path = tmp_path / "base-results.json"
    write_results(run, path)
    return path


def test_costs_come_from_a_results_files_model_seconds_and_bad_values_are_ignored_with_a_note(tmp_path):
    path = _results_with(tmp_path, {"a": 12.5, "c": 3.0})
    data = json.loads(path.read_text())
    data["model_seconds"].update(c=-1.0, d=1e300)  # forged
    path.write_text(json.dumps(data))
    costs = read_costs(path)
    assert dict(costs.seconds) == {"a": 12.5}
    (note,) = costs.notes
    assert "ignored the cost of c, d" in note and "count as unknown" in note


@pytest.mark.parametrize(
    "make, said",
    [
        (lambda p: p.write_text("{not json"), "not JSON"),
        (lambda p: p.write_text('{"schema": "edgegate.results/4", "models": 5}'), "status: missing"),
        (lambda p: p.write_bytes(b" " * (MAX_BYTES + 1)), "bytes"),
        (lambda p: os.symlink("/etc/passwd", p), "not read"),
        (lambda p: p.mkdir(), "not read"),
    ],
)
def test_an_unusable_costs_file_is_a_note_and_the_hash_split(tmp_path, make, said):
    path = tmp_path / "costs.json"
    make(path)
    costs = read_costs(path)
    assert costs.seconds == {} and len(costs.notes) == 1
    assert said in costs.notes[0] and "costs are unknown" in costs.notes[0]
    assert plan_shards(NAMES, 3, costs).by == "hash"


def test_a_costs_file_that_is_a_fifo_never_blocks(tmp_path):
    path = tmp_path / "costs.json"
    os.mkfifo(path)
    found: list[ShardCosts] = []
    reader = threading.Thread(target=lambda: found.append(read_costs(path)), daemon=True)
    reader.start()
    reader.join(timeout=60)  # a bound for a hang, not a speed limit
    if reader.is_alive():  # unblock the reader before failing
        with open(path, "wb"):
            pass
    assert found and found[0].seconds == {} and "not read" in found[0].notes[0]


def test_merge_refuses_shards_of_different_plans():
    one = dataclasses.replace(make_run(make_model("a"), shard="1/2"), shard_plan="1111")
    two = dataclasses.replace(make_run(make_model("b"), shard="2/2"), shard_plan="2222")
    with pytest.raises(UsageError, match="different plans .*same --costs file"):
        merge_results([one, two])
    same = merge_results([one, dataclasses.replace(two, shard_plan="1111")])
    assert {m.name for m in same.models} == {"a", "b"} and same.shard_plan is None


def test_costs_from_a_folder_of_shard_results_join_and_skip_what_is_not_a_results_file(tmp_path):
    """The base branch's sharded run, downloaded as artifacts: one folder per shard."""
    shards = tmp_path / "shards"
    for i, seconds in ((1, {"a": 10.0}), (2, {"b": 4.0})):
        (shards / f"edgegate-shard-{i}-of-2").mkdir(parents=True)
        run = dataclasses.replace(make_run(), model_seconds=seconds)
        write_results(run, shards / f"edgegate-shard-{i}-of-2/results.json")
    (shards / "edgegate-shard-2-of-2/report.md").write_text("# not a results file")
    os.symlink("/etc/passwd", shards / "edgegate-shard-2-of-2/stolen.json")
    os.symlink(tmp_path, shards / "linked")  # a folder reached through a link is not read
    costs = read_costs(shards)
    assert dict(costs.seconds) == {"a": 10.0, "b": 4.0}
    (note,) = costs.notes
    assert "stolen.json not read" in note
    assert plan_shards(["a", "b", "c"], 2, costs).by == "cost"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no results file" in read_costs(empty).notes[0]
