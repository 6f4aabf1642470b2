"""Memory budgets (``memory: {max: …}``, ``vs_base: {memory: …%}``): levels, wording, the key and
line they point at, and what a memory figure that could not be measured does."""

from dataclasses import replace

from edgegate.checks import Topic
from edgegate.policy.load import load_policy
from edgegate.results import BaseFigures, CandidateResult
from edgegate.status import Status
from edgegate.verdicts.budgets import candidate_checks, candidate_status

POLICY = """\
version: 1
models:
  - name: m
    path: m.keras
    recipes: [int8]
    budgets:
      memory: [{max: 20 MB}, {max: 10 MB, level: warn}]
      vs_base: {memory: 10%}
"""


def judged(tmp_path, c: CandidateResult) -> CandidateResult:
    (tmp_path / "edgegate.yml").write_text(POLICY)
    budgets = load_policy(tmp_path / "edgegate.yml", root=tmp_path).models[0].budgets
    c = replace(c, checks=candidate_checks(c, budgets, latency_measured=True))
    return replace(c, status=candidate_status(c))


def cand(memory: int | None, base: BaseFigures | None = None, **kw) -> CandidateResult:
    return CandidateResult("int8", "int8", Status.PASS, size_bytes=1000, memory_bytes=memory, base=base, **kw)


def test_memory_budgets_at_their_levels_with_key_and_line(tmp_path):
    c = judged(tmp_path, cand(12_000_000, BaseFigures(memory_bytes=10_000_000)))
    error, warn, growth = c.checks
    assert error.status == Status.PASS and error.message == "memory 12.0 MB is within the ≤ 20 MB budget."
    assert (error.name, error.key, error.line, error.topic) == (
        "memory",
        "models[0].budgets.memory",
        7,
        Topic.MEMORY,
    )
    assert (
        warn.status == Status.WARN and warn.message == "memory 12.0 MB is over the ≤ 10 MB budget by 2.0 MB."
    )
    assert growth.name == "vs_base.memory" and growth.status == Status.FAIL
    assert (
        growth.message
        == "memory grew +2.0 MB (+20.0%) vs base (10.0 MB → 12.0 MB); more than the 10% allowed."
    )
    assert c.status == Status.FAIL


def test_a_failed_measurement_breaks_the_budget_with_the_reason(tmp_path):
    c = judged(
        tmp_path, cand(None, BaseFigures(memory_bytes=10_000_000), memory_error="model m (int8): SIGKILL")
    )
    assert [ch.status for ch in c.checks] == [Status.FAIL, Status.WARN, Status.FAIL]
    assert c.checks[0].message == "memory not checked: the measurement failed (model m (int8): SIGKILL)."
    base_failed = cand(9_000_000, BaseFigures(memory_bytes=None, memory_error="timed out"))
    growth = judged(tmp_path, base_failed).checks[2]
    assert (
        growth.status == Status.FAIL and "the base version's measurement failed (timed out)" in growth.message
    )


def test_a_model_the_interpreter_cannot_run_skips_with_why(tmp_path):
    c = judged(tmp_path, cand(None, None, not_runnable="custom op Foo has no kernel"))
    assert all(ch.status == Status.SKIP for ch in c.checks)
    assert c.checks[0].message == "memory not checked: custom op Foo has no kernel."


def test_a_new_model_has_no_base_memory_to_compare(tmp_path):
    growth = judged(tmp_path, cand(9_000_000)).checks[2]
    assert growth.status == Status.SKIP and "the model is new in this change" in growth.message


def test_the_results_file_keeps_the_figures_and_reads_a_schema_3_file():
    import json

    from edgegate.results import GitRef, ModelResult, RunResult
    from edgegate.results.codec import decode_run, encode_run

    c = cand(12_000_000, BaseFigures(memory_bytes=10_000_000))
    run = RunResult(
        Status.PASS,
        GitRef("main", None),
        GitRef("pr", None),
        (ModelResult("m", "m.keras", Status.PASS, candidates=(c,)),),
    )
    text = encode_run(run)
    assert json.loads(text)["schema"] == "edgegate.results/4" and decode_run(text) == run
    older = json.loads(text)
    older["schema"] = "edgegate.results/3"
    written = older["models"][0]["candidates"][0]
    del (
        written["memory_bytes"],
        written["memory_error"],
        written["base"]["memory_bytes"],
        written["base"]["memory_error"],
    )
    read = decode_run(json.dumps(older)).models[0].candidates[0]
    assert read.memory_bytes is None and read.base is not None and read.base.memory_bytes is None
    assert read.size_bytes == 1000
