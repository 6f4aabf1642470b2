"""Budget checks, deploy choice, and the markdown report built from them."""

from edgegate.policy.load import load_policy
from edgegate.report.markdown import render_markdown
from edgegate.results import Accuracy, BaseFigures, CandidateResult, GitRef, ModelResult, RunResult
from edgegate.verdicts.budgets import candidate_checks, candidate_status
from edgegate.verdicts.deploy import choose
from edgegate.status import Status

POLICY = """\
version: 1
models:
  - name: m
    path: m.keras
    recipes: [float16, int8]
    budgets:
      size: [{max: 100 KB}, {max: 50 KB, level: warn}]
      latency: 2 ms
      accuracy: [{min: 90%}, {max_drop: 1pt}]
      vs_base: {size: 5%, accuracy: {max_drop: 0.5pt, level: warn}}
"""


def budgets(tmp_path):
    (tmp_path / "edgegate.yml").write_text(POLICY)
    return load_policy(tmp_path / "edgegate.yml", root=tmp_path).models[0].budgets


def cand(label, size, latency, acc, drop, base=None):
    return CandidateResult(
        label,
        label,
        Status.PASS,
        size_bytes=size,
        gzip_bytes=size,
        latency_ms=latency,
        accuracy=Accuracy("top1", acc, 500, True, drop),
        base=base,
    )


def judged(c, bs, latency=True):
    from dataclasses import replace

    c = replace(c, checks=candidate_checks(c, bs, latency_measured=latency))
    return replace(c, status=candidate_status(c))


def by_name(c):
    return {(ch.name, ch.limit): ch for ch in c.checks}


def test_each_budget_kind(tmp_path):
    bs = budgets(tmp_path)
    c = judged(cand("int8", 60_000, 1.5, 0.95, 0.02, BaseFigures(55_000, 55_000, 1.4, 0.96)), bs)
    checks = by_name(c)
    assert checks[("size", "≤ 100 KB")].status == Status.PASS
    warn = checks[("size", "≤ 50 KB")]
    assert (
        warn.status == Status.WARN and warn.message == "size 60.0 KB is over the ≤ 50 KB budget by 10.0 KB."
    )
    assert warn.line == 7 and warn.key == "models[0].budgets.size"
    drop = checks[("accuracy_drop", "drop ≤ 1pt")]
    assert drop.status == Status.FAIL and drop.value == "−2.00 pt"
    assert drop.message == "accuracy fell 2.00 pt vs the float model; more than the 1pt allowed."
    grew = checks[("vs_base.size", "max +5%")]
    assert grew.status == Status.FAIL and grew.value == "+5.0 KB (+9.1%)"
    base_acc = checks[("vs_base.accuracy", "drop ≤ 0.5pt")]
    assert base_acc.status == Status.WARN and base_acc.value == "−1.00 pt"
    assert c.status == Status.FAIL


def test_unmeasurable_budgets_are_skipped_with_reason(tmp_path):
    bs = budgets(tmp_path)
    c = judged(CandidateResult("x", "x", Status.PASS, size_bytes=10, gzip_bytes=10), bs, latency=False)
    checks = by_name(c)
    assert (
        checks[("latency", None)].message == "latency not checked: latency was not measured (--no-latency)."
    )
    assert (
        checks[("vs_base.size", None)].message == "size vs base not checked: the model is new in this change."
    )
    assert "no eval: data" in checks[("accuracy", None)].message
    assert c.status == Status.PASS


def test_deploy_choice():
    small_fail = CandidateResult("int8", "int8", Status.FAIL, size_bytes=10)
    mid = CandidateResult("dynamic", "dynamic", Status.WARN, size_bytes=20, latency_ms=3.0)
    big = CandidateResult("float16", "float16", Status.PASS, size_bytes=30, latency_ms=1.0)
    cands = (small_fail, mid, big)
    assert choose("smallest", "smallest", cands).label == "dynamic"
    assert choose("smallest", "smallest", cands).status == Status.WARN
    assert choose("fastest", "smallest", cands).label == "float16"
    assert choose("int8", "smallest", cands).status == Status.FAIL
    assert choose("all", "smallest", cands).status == Status.FAIL
    assert choose("smallest", "smallest", (small_fail,)).status == Status.FAIL


def run_with(n_models):
    models = []
    for i in range(n_models):
        c = CandidateResult(
            "int8",
            "int8",
            Status.FAIL,
            size_bytes=10_000 + i,
            latency_ms=1.0,
            deploy=True,
            notes=("x" * 200,),
        )
        models.append(
            ModelResult(
                f"model-{i}",
                f"models/m{i}.tflite",
                Status.FAIL,
                candidates=(c,),
                deploy="int8",
                notes=("int8 is the smallest candidate that passes",),
            )
        )
    models.append(ModelResult("broken", "b.keras", Status.ERROR, error="b.keras: the file is empty"))
    return RunResult(
        Status.ERROR, GitRef("main", "a" * 40), GitRef("head", "b" * 40), tuple(models), "edgegate.yml"
    )


def test_report_puts_failures_first_and_folds_to_fit():
    full = render_markdown(run_with(3))
    assert full.startswith("## ❌ EdgeGate: 3 of 4 models fail the gate, 1 could not be gated")
    assert full.index("broken") < full.index("model-0")  # errors before failures
    assert "**Could not be gated:** b.keras: the file is empty" in full
    assert "<details>" in full
    url = "https://example.invalid/summary"
    big = run_with(400)
    assert len(render_markdown(big)) > 65_536
    # 400 models fit as a summary: every model named, the details folded away and linked, nothing cut.
    folded = render_markdown(big, max_chars=65_536, details_url=url)
    assert len(folded) <= 65_536
    assert f"Details folded to fit; the full report is in the [job summary]({url})." in folded
    assert "<details>" not in folded and "…truncated" not in folded
    assert all(f"model-{i} —" in folded for i in range(400))
    # Too many even for a summary: cut at the end of a line, said so, and linked.
    cut = render_markdown(big, max_chars=20_000, details_url=url)
    assert len(cut) <= 20_000 and cut.endswith(f"\n\n…truncated; full report: [job summary]({url})\n")
    assert "model-0 —" in cut and "model-399 —" not in cut
    assert render_markdown(big, max_chars=20_000).endswith("\n\n…truncated\n")  # no link to give


def test_a_base_that_could_not_be_measured_warns_and_is_not_called_new(tmp_path):
    bs = budgets(tmp_path)
    unreadable = BaseFigures(error="it could not be read: models/m.keras (base): a Git LFS pointer")
    c = judged(cand("int8", 40_000, 1.0, 0.95, 0.0, base=unreadable), bs)
    size = next(ch for ch in c.checks if ch.name == "vs_base.size")
    assert size.status == Status.WARN and "new" not in size.message
    assert (
        "could not be measured (it could not be read" in size.message
        and "on_missing_base: error" in size.message
    )
    assert size.line is not None  # annotated on its policy line
    new = judged(cand("int8", 40_000, 1.0, 0.95, 0.0, base=None), bs)
    assert next(ch for ch in new.checks if ch.name == "vs_base.size").status == Status.SKIP


def test_on_missing_base_error_fails(tmp_path):
    (tmp_path / "edgegate.yml").write_text(
        POLICY.replace("vs_base: {size: 5%,", "vs_base: {on_missing_base: error, size: 5%,")
    )
    bs = load_policy(tmp_path / "edgegate.yml", root=tmp_path).models[0].budgets
    c = judged(cand("int8", 40_000, 1.0, 0.95, 0.0, base=BaseFigures(error="conversion failed: boom")), bs)
    size = next(ch for ch in c.checks if ch.name == "vs_base.size")
    assert size.status == Status.FAIL and "this fails the gate (on_missing_base: error)" in size.message
    assert c.status == Status.FAIL


def test_budget_checks_say_what_they_are_about_and_read_like_every_check(tmp_path):
    from edgegate.checks import Topic

    bs = budgets(tmp_path)
    c = judged(cand("int8", 50_000, 2.5, 0.85, 0.0, BaseFigures(60_000, 60_000, 1.4, 0.86)), bs)
    topics = {(ch.name, ch.limit): ch.topic for ch in c.checks}
    assert topics[("size", "≤ 100 KB")] is Topic.SIZE and topics[("vs_base.size", "max +5%")] is Topic.SIZE
    assert topics[("latency", "≤ 2 ms")] is Topic.LATENCY
    assert {topics[("accuracy", "≥ 90%")], topics[("accuracy_drop", "drop ≤ 1pt")]} == {Topic.ACCURACY}
    assert all(ch.target is None for ch in c.checks)
    checks = by_name(c)
    # A size that fell says so (the kernel's growth rule), and passes.
    shrank = checks[("vs_base.size", "max +5%")]
    assert shrank.status is Status.PASS
    assert (
        shrank.message == "size shrank −10.0 KB (−16.7%) vs base (60.0 KB → 50.0 KB); within the 5% allowed."
    )
    low = checks[("accuracy", "≥ 90%")]
    assert low.status is Status.FAIL
    assert low.message == "accuracy 85.00% is under the ≥ 90% budget by 5.00 pt."
    slow = checks[("latency", "≤ 2 ms")]
    assert slow.message == "latency 2.50 ms is over the ≤ 2 ms budget by 500 µs."


def test_a_budget_reads_in_the_unit_and_precision_the_policy_wrote(tmp_path):
    """`gzip_size: 1 MiB` is "≤ 1 MiB", not "≤ 1.0 MB"; a bare number keeps the quantity's own unit."""
    (tmp_path / "edgegate.yml").write_text(
        "version: 1\nmodels:\n  - name: m\n    path: m.keras\n"
        "    budgets: {gzip_size: 1 MiB, size: 1.2 MiB, latency: 2.50 ms, accuracy: {min: 0.9}}\n"
    )
    bs = load_policy(tmp_path / "edgegate.yml", root=tmp_path).models[0].budgets
    c = judged(cand("int8", 1_300_000, 3.0, 0.85, 0.0), bs)
    limits = {ch.name: ch.limit for ch in c.checks}
    assert limits == {
        "gzip_size": "≤ 1 MiB",
        "size": "≤ 1.2 MiB",
        "latency": "≤ 2.50 ms",
        "accuracy": "≥ 90.00%",
    }
    over = next(ch for ch in c.checks if ch.name == "gzip_size")
    assert over.message == "gzip size 1.3 MB is over the ≤ 1 MiB budget by 251.4 KB."
