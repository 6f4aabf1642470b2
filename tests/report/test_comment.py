"""The comment reads at a glance (issue 18 item 4): one line per failing check outside the
collapsed details, each reason said once per model, and the whole fits one screen.

One screen, the rule these tests hold every comment to: at most ``SCREEN_LINES`` non-blank
source lines outside ``<details>`` blocks (the marker comment aside; a ``<details>`` line counts,
its summary shows). A list item, a table row or a paragraph each renders as about one line on
a reviewer's screen; 40 is what a laptop shows of a pull request's conversation at once.

Rendered for real: the bundled example's pull request (docs/samples, a real run: see
tests/report/sample_comment.py) and a one-model ``.tflite`` pull request gated by ``edgegate ci``
in a real git repository, the comment read back from the local GitHub API server.
"""

from __future__ import annotations

import re
from dataclasses import replace

from edgegate.report.markdown import render_markdown
from edgegate.results import RunResult, read_results
from edgegate.status import Status
from edgegate.untrusted_text import md_text
from tests.github.conftest import github, tflite_models  # noqa: F401 (fixtures)
from tests.github.test_ci import ONE_MODEL, Runner, gate, pr_event
from tests.report import sample_comment

SCREEN_LINES = 40


def outside_details(body: str) -> list[str]:
    """The non-blank lines a reader sees without opening anything (see the module's rule)."""
    seen, depth = [], 0
    for line in body.splitlines():
        opens, closes = line.count("<details"), line.count("</details>")
        if depth == 0 and line.strip() and not line.startswith("<!--"):
            seen.append(line)
        depth += opens - closes
    assert depth == 0, "unbalanced <details>"
    return seen


def reasons(run: RunResult) -> list[str]:
    """Every reason the results give: broken or skipped checks, errors, skips, Edge TPU rejections."""
    found = []
    for m in run.models:
        for c in m.candidates:
            found += [ch.message for ch in c.checks if ch.status != Status.PASS]
            found += [t for t in (c.error, c.skip_reason, c.not_runnable) if t]
            tpu = c.report("edgetpu")
            found += [t for t in (getattr(tpu, "rejection", None), getattr(tpu, "hint", None)) if t]
    return list(dict.fromkeys(found))


def gating_failures(run: RunResult) -> list[str]:
    """The broken checks that gate: the shipped candidate's, or every candidate's when none ships."""
    found = []
    for m in run.models:
        for c in [c for c in m.candidates if c.deploy] or m.candidates:
            found += [ch.message for ch in c.checks if ch.status.fails or ch.status == Status.WARN]
    return found


def assert_at_a_glance(run: RunResult, body: str) -> None:
    visible = outside_details(body)
    assert len(visible) <= SCREEN_LINES, f"{len(visible)} lines outside the details:\n" + "\n".join(visible)
    said = [r for r in reasons(run) if body.count(md_text(r)) > 1]
    assert said == [], f"said more than once: {said}"
    seen = "\n".join(visible)
    hidden = [m for m in gating_failures(run) if md_text(m) not in seen]
    assert hidden == [], f"failing checks only inside the details: {hidden}"
    headers = re.findall(r"^\| \| Candidate \|.*$", body, re.M)
    for header in headers:
        cells = [h.strip() for h in header.strip("|").split("|") if h.strip()]
        assert len(cells) == len(set(cells)), f"repeated column headers: {header}"


def test_the_bundled_examples_pull_request_comment_fits_one_screen_and_says_each_reason_once():
    run = read_results(sample_comment.RESULTS)
    body = render_markdown(run)
    assert gating_failures(run), "the sample is a failing pull request"
    assert_at_a_glance(run, body)
    # Every failed candidate says why in its status cell, by the checks' names.
    assert "❌ fail: size, gzip\\_size, vs\\_base.size, vs\\_base.accuracy |" in body
    # The size chart starts at 0 and draws the base beside this change.
    assert re.search(r'y-axis "KB" 0 --> [\d.]+\n  bar \[.*\]\n  line \[', body)


def test_the_readme_and_docs_show_what_the_renderer_writes_for_the_sample_run():
    for page, form in sample_comment.PAGES.items():
        assert sample_comment.shown(page) == sample_comment.block(form), (
            f"{page.name}'s sample comment is stale: run python -m tests.report.sample_comment"
        )


POLICY = ONE_MODEL + (
    "      gzip_size: {max: 1 MiB}\n"
    "      vs_base: {size: 5%}\n"
    "    edgetpu:\n"
    "      level: error\n"
    "      min_mapped: 90%\n"
)
EDGETPU_LINE = 9


def test_a_one_model_tflite_pull_request_comment_fits_one_screen(
    repo,
    github,  # noqa: F811
    tflite_models,  # noqa: F811
    tmp_path,
    capsys,
    monkeypatch,
):
    repo.write("edgegate.yml", POLICY)
    repo.write("models/detector.tflite", tflite_models["small"])
    repo.base = repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("models/detector.tflite", tflite_models["big"])
    repo.head = repo.commit("grow the detector")
    monkeypatch.chdir(repo.root)
    runner = Runner(tmp_path / "pr", github, "pull_request", pr_event(repo), sha=repo.head)
    code = gate(runner)
    log = capsys.readouterr().out
    assert code == 1, log
    (comment,) = github.comments_on(17)
    body = comment["body"]
    run = read_results(runner.out / "results.json")
    assert_at_a_glance(run, body)
    # The budgets read as written; the Edge TPU's reason once, and outside the details.
    assert "≤ 4 KB" in body and "≤ 1 MiB" in body and "1.0 MB" not in body
    (tpu,) = [ch for c in run.models[0].candidates for ch in c.checks if ch.name == "edgetpu.compiles"]
    assert tpu.status == Status.FAIL and md_text(tpu.message) in "\n".join(outside_details(body))
    # One candidate: no chart.
    assert "mermaid" not in body
    # Annotated at the edgetpu: key's line, not at the model's `- name:` line (3).
    assert (
        f"::error file=edgegate.yml,line={EDGETPU_LINE},title=EdgeGate · detector · edgetpu.compiles::" in log
    )


def test_the_terminal_table_says_why_each_failed_candidate_failed_once():
    import io

    from rich.console import Console

    from edgegate.report.terminal import print_summary

    run = read_results(sample_comment.RESULTS)
    # The bundled example with one candidate shipping: the others' failures are said too.
    m = run.models[0]
    shipped = replace(m.candidates[1], status=Status.PASS, checks=(), deploy=True)
    run = replace(run, models=(replace(m, candidates=(m.candidates[0], shipped, *m.candidates[2:])),))
    out = io.StringIO()
    print_summary(run, Console(file=out, width=200, force_terminal=False))
    text = out.getvalue()
    header = next(line for line in text.splitlines() if "candidate" in line)
    assert header.split() == [
        "candidate", "size", "size", "vs", "base", "latency", "latency", "vs", "base",
        "accuracy", "acc.", "vs", "float", "status",
    ]  # fmt: skip
    for c in run.models[0].candidates:
        for ch in c.checks:
            if ch.status.fails:
                assert text.count(ch.message) == 1, ch.message  # said once, grouped by candidate
                line = next(x for x in text.splitlines() if ch.message in x)
                assert c.recipe in line and ch.name in line
