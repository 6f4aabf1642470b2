"""The keep-float search's bookkeeping (run/keep_float.py) over judged results, and its cache keys.

The real conversions, rankings and reports are in tests/pipeline/test_keep_float_search.py; here
the steps it asks for, where it stops and what it says, for every way a search ends."""

from __future__ import annotations

from pathlib import Path

from edgegate.checks import Check
from edgegate.policy.sections import KeepFloatSearch, Recipe
from edgegate.recipes.interface import BuildRequest, SourceModel
from edgegate.results import Accuracy, CandidateResult, LayerError
from edgegate.run.cache_keys import CacheKeys
from edgegate.run.jobs import BuildJob, ModelRef
from edgegate.run.keep_float import KeepFloatSearches
from edgegate.status import Status

RANKING = tuple(f"m/l{i}/MatMul" for i in range(6))  # op output names, worst first


def result(label: str, drop: float, size: int = 1000, error: str | None = None) -> CandidateResult:
    status = Status.FAIL if drop > 0.05 else Status.PASS
    check = Check("accuracy_drop", status, f"dropped {drop}")
    accuracy = Accuracy("top1", 0.9 - drop, 100, drop=drop)
    return CandidateResult(
        label, "int8", status, size_bytes=size, accuracy=accuracy, checks=(check,), error=error
    )


def searches(max_layers: int = 4, ship: bool | None = None, auto: bool = True) -> KeepFloatSearches:
    return KeepFloatSearches(KeepFloatSearch(key="k", max_layers=max_layers, ship=ship), auto=auto)


def run_steps(s: KeepFloatSearches, drops: dict[int, float]) -> dict[str, CandidateResult]:
    """Judge every step the search asks for (``drops``: layers kept float → its drop) until it stops."""
    results = {"int8": result("int8", 0.5)}
    while True:
        asked = s.next_recipes(results)
        if not asked:
            return results
        (recipe,) = asked
        n = len(recipe.keep_float)
        results[recipe.label] = result(recipe.label, drops[n], size=1000 + 100 * n)


def test_doubles_the_layers_kept_float_and_stops_at_the_first_step_within_budget():
    s = searches(max_layers=8)
    int8 = Recipe(recipe="int8")
    assert s.wants_ranking(result("int8", 0.5), int8)
    assert not s.wants_ranking(result("int8", 0.01), int8)  # within budget: nothing to repair
    assert not s.wants_ranking(result("float16", 0.5), Recipe(recipe="float16"))  # cannot keep float
    s.start(int8, RANKING)
    assert not s.wants_ranking(result("int8", 0.5), int8)  # searched once
    results = run_steps(s, {1: 0.3, 2: 0.2, 4: 0.01})
    assert list(results) == ["int8", "int8 except l0", "int8 except l0, l1", "int8 except 4 layers"]
    kept = s.kept("int8 except 4 layers")
    assert kept is not None and kept.layers == ("l0", "l1", "l2", "l3") and kept.of == "int8"
    assert kept.patterns[0] == "^m/l0/MatMul(;|$)" and kept.engine.startswith("TensorFlow converter")
    (line,) = s.lines(results)
    assert line.startswith("int8 except l0, l1, l2, l3: −1.00 pt at +400 B; plain int8: −50.00 pt;")
    assert "1 float: −30.00 pt; 2 float: −20.00 pt" in line


def test_stops_at_the_bound_and_says_so():
    s = searches(max_layers=2)
    s.start(Recipe(recipe="int8"), RANKING)
    results = run_steps(s, {1: 0.3, 2: 0.2})
    assert len(results) == 3  # plain, 1 and 2 layers float: the bound
    lines = s.lines(results)
    assert lines[-1] == (
        "int8: no step within the accuracy budget up to the bound, keep_float_search.max_layers: 2; not shipped"
    )


def test_stops_when_the_ranking_runs_out_and_when_nothing_stands_out():
    s = searches(max_layers=8)
    s.start(Recipe(recipe="int8"), RANKING[:3])
    results = run_steps(s, {1: 0.3, 2: 0.2, 3: 0.2})
    assert len(results) == 4 and "up to the 3 layer(s) whose int8 error stands out" in s.lines(results)[-1]
    quiet = searches()
    quiet.start(Recipe(recipe="int8"), (), "per-layer analysis: no layer stands out")
    assert quiet.next_recipes({"int8": result("int8", 0.5)}) == []
    assert quiet.lines({}) == ("int8: per-layer analysis: no layer stands out; nothing to keep float",)


def test_a_step_that_fails_to_build_ends_the_search_with_its_error():
    s = searches()
    s.start(Recipe(recipe="int8"), RANKING)
    (step,) = s.next_recipes({"int8": result("int8", 0.5)})
    results = {"int8": result("int8", 0.5), step.label: result(step.label, 0.0, error="conversion failed: x")}
    assert s.next_recipes(results) == []
    assert s.lines(results)[-1] == "int8 except l0 could not be built: conversion failed: x"


def test_listed_recipes_get_the_recipe_to_write_unless_the_policy_ships_the_step():
    for ship, says in ((None, True), (True, False)):
        s = searches(ship=ship, auto=False)
        assert s.ships is (ship is True)
        s.start(Recipe(recipe="int8"), RANKING)
        lines = s.lines(run_steps(s, {1: 0.0}))
        written = "to ship it, list the recipe {recipe: int8, keep_float: ['^m/l0/MatMul(;|$)']}"
        assert (written in lines[-1]) is says, lines
    assert searches(max_layers=0).wants_ranking(result("int8", 0.5), Recipe(recipe="int8")) is False


def test_the_kept_float_set_is_in_the_build_key(tmp_path: Path):
    model = tmp_path / "m.h5"
    model.write_bytes(b"model bytes")

    def key(*keep: str, lines: tuple[int | None, ...] = ()) -> str | None:
        request = BuildRequest(
            "m",
            SourceModel(model, "keras", "m.h5"),
            (Recipe(recipe="int8", keep_float=keep, keep_float_lines=lines),),
            tmp_path,
            tmp_path,
        )
        return CacheKeys().key(BuildJob(ModelRef(0, "m"), "head", request))

    plain, one, other = key(), key("a"), key("b")
    assert len({plain, one, other}) == 3
    # The lines too: a build that failed names its pattern's line, and a cached failure must not
    # name a line the pattern is no longer on.
    assert key("a", lines=(7,)) != one


def test_the_results_file_keeps_the_search_and_a_schema_3_file_still_reads():
    import json

    from edgegate.results import GitRef, ModelResult, RunResult, decode_run, encode_run
    from edgegate.results.model import KeptFloat

    kept = KeptFloat(("l0",), ("^m/l0/MatMul(;|$)",), "TensorFlow converter, …", of="int8")
    step = result("int8 except l0", 0.0)
    layer = LayerError("l0", "FULLY_CONNECTED", 9.0, node="m/l0/MatMul")
    plain = CandidateResult("int8", "int8", Status.FAIL, worst_layers=(layer,))
    candidates = (plain, CandidateResult(step.recipe, "int8", Status.PASS, kept_float=kept))
    model = ModelResult("m", "m.h5", Status.PASS, candidates=candidates, keep_float=("int8 except l0: …",))
    run = RunResult(Status.PASS, GitRef("main", None), GitRef(None, None), (model,))
    text = encode_run(run)
    assert json.loads(text)["schema"] == "edgegate.results/4" and decode_run(text) == run
    old = json.loads(text)
    old["schema"] = "edgegate.results/3"
    m = old["models"][0]
    del m["keep_float"]
    for c in m["candidates"]:
        del c["kept_float"]
    del m["candidates"][0]["worst_layers"][0]["node"]
    (read,) = decode_run(json.dumps(old)).models
    assert read.keep_float == () and all(c.kept_float is None for c in read.candidates)
    assert read.candidates[0].worst_layers[0].node == ""
