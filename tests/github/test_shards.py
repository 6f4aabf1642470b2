"""Sharding the changed models across matrix jobs, and merging the shards' results."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from edgegate.errors import UsageError
from edgegate.results import RunResult, read_results, write_results
from edgegate.shards import merge_results, parse_shard, select_shard
from edgegate.status import Status
from tests.github.conftest import make_model, make_run
from tests.gitrepo import edgegate_cli as edgegate

NAMES = [f"zoo/model-{i:03d}" for i in range(103)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16])
def test_shards_partition_the_models_evenly(count):
    shards = [select_shard(NAMES, i, count) for i in range(1, count + 1)]
    flat = [n for s in shards for n in s]
    assert sorted(flat) == sorted(NAMES) and len(flat) == len(set(flat))  # every model in exactly one shard
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    assert all(s == [n for n in NAMES if n in s] for s in shards)  # the caller's order is kept


def test_the_split_depends_on_the_names_only_not_their_order():
    shuffled = NAMES[:]
    random.Random(4).shuffle(shuffled)
    for i in (1, 2, 3):
        assert set(select_shard(shuffled, i, 3)) == set(select_shard(NAMES, i, 3))


def test_the_split_is_the_same_in_every_process():
    # Each matrix job is its own process: a per-process hash (Python's str hash) would split differently.
    code = (
        "import json, sys; from edgegate.shards import select_shard; "
        "print(json.dumps([select_shard(json.loads(sys.argv[1]), i, 4) for i in (1, 2, 3, 4)]))"
    )
    results = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(__file__).parents[2])}
        out = subprocess.run(
            [sys.executable, "-c", code, json.dumps(NAMES)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results.add(out)
    assert len(results) == 1
    assert json.loads(results.pop()) == [select_shard(NAMES, i, 4) for i in (1, 2, 3, 4)]


def test_more_shards_than_models_leaves_some_empty():
    assert [select_shard(["only"], i, 3) for i in (1, 2, 3)].count([]) == 2


@pytest.mark.parametrize("text, parsed", [("1/1", (1, 1)), ("3/4", (3, 4)), (" 2 / 8 ", (2, 8))])
def test_parse_shard(text, parsed):
    assert parse_shard(text) == parsed


@pytest.mark.parametrize("text", ["0/4", "5/4", "4", "a/b", "", "1/0", "-1/2"])
def test_bad_shards_are_usage_errors(text):
    with pytest.raises(UsageError, match="expected I/N"):
        parse_shard(text)
    with pytest.raises(UsageError):
        select_shard(NAMES, 0, 2)


def shard(index: int, count: int, *models) -> RunResult:
    return make_run(*models, shard=f"{index}/{count}")


def test_merge_joins_models_and_recomputes_the_status(tmp_path):
    a = shard(1, 3, make_model("a", ("size", "pass", "ok", 9)))
    b = shard(
        2, 3, make_model("b", ("size", "fail", "too big", 9)), make_model("c", ("size", "warn", "big", 9))
    )
    c = shard(3, 3)
    c = RunResult(
        c.status,
        c.base,
        c.head,
        (),
        c.policy,
        c.versions,
        9.0,
        c.shard,
        ("no model changed: nothing to gate",),
    )
    merged = merge_results([b, c, a])
    assert [m.name for m in merged.models] == ["a", "b", "c"]
    assert merged.status == Status.FAIL and merged.shard is None and merged.duration_s == 9.0
    assert "no model changed: nothing to gate" not in merged.notes
    path = tmp_path / "all.json"
    write_results(merged, path)
    assert read_results(path) == merged


def test_merge_notes_missing_shards():
    merged = merge_results([shard(1, 4, make_model("a")), shard(3, 4, make_model("b"))])
    assert any("shard 2/4, 4/4 missing" in n for n in merged.notes)


def test_merge_of_empty_shards_says_nothing_changed():
    assert merge_results([shard(1, 2), shard(2, 2)]).notes == ("no model changed: nothing to gate",)


@pytest.mark.parametrize(
    "runs, message",
    [
        (
            lambda: [shard(1, 2, make_model("a")), make_run(make_model("b"), head_sha="d" * 40, shard="2/2")],
            "different runs: head commit",
        ),
        (
            lambda: [
                shard(1, 2, make_model("a")),
                make_run(make_model("b"), policy="other.yml", shard="2/2"),
            ],
            "different runs: policy",
        ),
        (lambda: [shard(1, 2, make_model("a")), shard(1, 3, make_model("b"))], "different splits"),
        (lambda: [shard(1, 2, make_model("a")), make_run(make_model("b"))], "different splits"),
        (
            lambda: [shard(1, 2, make_model("a")), shard(1, 2, make_model("b"))],
            "shard 1/2 given more than once",
        ),
        (lambda: [make_run(make_model("a")), make_run(make_model("a"))], "model a appears in more than one"),
        (list, "nothing to merge"),
    ],
)
def test_merge_refuses_inconsistent_inputs(runs, message):
    with pytest.raises(UsageError, match=message):
        merge_results(runs())


def test_a_report_missing_shards_says_which_in_its_verdict_line():
    from edgegate.report.markdown import render_markdown

    one = shard(1, 3, make_model("a"))
    assert one.absent_shards == ("2/3", "3/3")
    headline = render_markdown(one).splitlines()[0]
    assert (
        headline.startswith("## ⚠️ EdgeGate") and "incomplete: shard 2/3, 3/3 not in this report" in headline
    )
    merged = merge_results([one, shard(3, 3, make_model("c"))])
    assert merged.shard is None and merged.missing_shards == ("2/3",)
    assert "incomplete: shard 2/3 not in this report" in render_markdown(merged).splitlines()[0]
    complete = merge_results([shard(i, 2, make_model(n)) for i, n in ((1, "a"), (2, "b"))])
    assert complete.absent_shards == () and "incomplete" not in render_markdown(complete)


# --- results files that make a merge (or a report) work without bound ---------------------------


@pytest.mark.parametrize(
    "specs, bad",
    [
        (("1/10000000", "2/10000000"), "1/10000000"),  # took 52 s and wrote 418 MB
        (("1/100000000000", "2/100000000000"), "1/100000000000"),  # a MemoryError traceback
        (("1/257", "2/257"), "1/257"),
        (("1/2", "0/0"), "0/0"),
        (("2/1", "1/2"), "2/1"),
        (("1/2", "a/b"), "a/b"),
        (("1/2", "2/" + "9" * 5000), "2/" + "9" * 30),  # past int()'s 4,300-digit limit
    ],
    ids=["ten million", "a hundred billion", "257", "0/0", "2/1", "a/b", "5000 digits"],
)
def test_merge_refuses_a_shard_spec_out_of_bounds_naming_its_file(tmp_path, specs, bad):
    """Each shard file is 2 KB; what they claim must not decide what the merge allocates or writes."""
    files = []
    for i, spec in enumerate(specs):
        path = tmp_path / f"shard-{i}.json"
        write_results(make_run(make_model(f"m{i}"), shard=spec), path)
        assert path.stat().st_size < 8000
        files.append(path)
    bad_file = next(f for f, s in zip(files, specs) if s.startswith(bad))
    proc = edgegate("merge", *map(str, files), "-o", "merged.json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and f"{bad_file}: shard '{bad}" in proc.stderr
    assert not (tmp_path / "merged.json").exists()


def test_256_shards_still_merge_and_list_the_missing_ones(tmp_path):
    files = []
    for i in (1, 256):
        path = tmp_path / f"shard-{i}.json"
        write_results(make_run(make_model(f"m{i}"), shard=f"{i}/256"), path)
        files.append(str(path))
    proc = edgegate("merge", *files, "-o", "merged.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    merged = read_results(tmp_path / "merged.json")
    assert len(merged.missing_shards) == 254 and (tmp_path / "merged.json").stat().st_size < 20_000


def test_merge_refuses_inputs_larger_together_than_one_results_file_before_reading_them(tmp_path):
    """Each file alone is within what ``read_results`` reads (64 MiB), the merged file would not
    be: refused up front, naming the file that crosses the limit (JSON whitespace pads them)."""
    from edgegate.results.codec import MAX_BYTES, encode_run

    files = []
    for i in (1, 2):
        path = tmp_path / f"shard-{i}.json"
        text = encode_run(make_run(make_model(f"m{i}"), shard=f"{i}/2"))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
            f.write(" " * (MAX_BYTES // 2 + 1024 - len(text)))
        assert read_results(path).shard == f"{i}/2"  # each one alone is a readable results file
        files.append(path)
    proc = edgegate("merge", *map(str, files), "-o", "merged.json", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{files[1]}: the results files up to this one hold" in proc.stderr
    assert not (tmp_path / "merged.json").exists()


def test_a_results_file_larger_than_read_results_reads_is_never_written(tmp_path, monkeypatch):
    from edgegate.errors import OutputError
    from edgegate.results import codec

    run = make_run(*(make_model(f"model-{i}") for i in range(50)))
    monkeypatch.setattr(codec, "MAX_BYTES", len(codec.encode_run(run).encode()) - 1)
    with pytest.raises(OutputError, match="more than the 0 MiB a results file may hold; not written"):
        write_results(run, tmp_path / "big.json")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec", ["1/" + "9" * 5000, "1" * 5000 + "/2", "0/0", "2/1", "a/b"])
def test_a_report_of_a_results_file_with_an_odd_shard_is_never_complete(tmp_path, spec):
    """``publish`` and ``report`` read a shard's file from another job: a 5,000-digit count reached
    ``int()`` (a traceback); an unreadable spec still reads as incomplete."""
    path = tmp_path / "results.json"
    write_results(make_run(make_model("a"), shard=spec), path)
    proc = edgegate("report", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "incomplete: shard other than" in proc.stdout.splitlines()[0]
