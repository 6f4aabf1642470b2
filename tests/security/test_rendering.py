"""Forging the report, the comment, the job summary and the CI log with what a PR controls.

One real pull request, gated by the real ``edgegate ci``: model names, recipe labels and a
file name from the policy, tensor names inside a real .tflite (converted here, then renamed in
its flatbuffer), a Keras 3 layer name inside a real .keras file, and the branch name. Each
carries the forgeries an attacker tried: a fake ``## ✅`` heading, ``</details>``, ``<img
onerror>``, ``@mentions``, ``#123`` refs, ``|`` to shift table columns, bidi and ANSI
characters, and a newline then ``::error`` for the CI log.

What the outputs are checked with: the markdown is parsed by a CommonMark parser with GFM
tables (markdown-it-py, as GitHub's cmark-gfm would read it), and the log by the rules of the
Actions runner (``ActionCommand.TryParseV2`` / ``TryParse``: after leading whitespace a line
starting ``::`` is a command; ``##[`` anywhere is the legacy form; stdout and stderr alike).
The invariant is the same everywhere: the reader sees exactly the data (on one line, invisible
characters written out), and nothing else: no heading, HTML, link, mention, ref or command.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from edgegate.cli.ci import ci
from edgegate.cli.publish import publish
from edgegate.publishers.annotations import run_annotations
from edgegate.publishers.pr_comment import MARKER, could_not_run_body
from edgegate.report.glance import status_text
from edgegate.report.markdown import ICON, render_markdown
from edgegate.results import read_results
from edgegate.status import Status
from edgegate.units import format_bytes, format_ms
from edgegate.untrusted_text import WORD_JOINER, html_text, md_code, one_line, visible
from tests.github.conftest import BOT, REPO, WRITE_TOKEN, FakeGitHub, actions_env, load_event
from tests.gitrepo import GitRepo

FORGED_HEADING = "## ✅ EdgeGate: 4 models within budget"
# Names are one line of visible text, at most 100 characters (the policy loader refuses others:
# tests/security/test_hostile_inputs.py); the file and tensor names below still carry newlines.
MODEL_NAME = f"{FORGED_HEADING} </details><img src=x onerror=a> @octocat #12 `x` | ::error::f"
FILE_NAME = "models/<img src=x onerror=alert(1)>@octocat #7 |x| ::error::file.tflite"  # (no control characters: refused)
TENSOR_NAME = "t{i} </details><!-- <b>bold</b> @octocat #5 `|` \u202egnp.exe\n::error::tensor"
# Keras 3 forbids only "/" in a layer name; "error:" is what the converter's message is cut at.
LAYER_NAME = "dense error: <details open><img src=x onerror=alert(1)> @octocat #9 |k| ## fake \x1b[31mred"
LABEL = "f16 | ✅ pass | <b>x</b> @org/team #1 ::warning::w"
CODE_LABEL = "`dyn` *ok* [link](https://evil.example)"
LAYERS_PATH = "models/layers,1::2 ::warning::x.keras"  # ":" and "," end a command's property
BRANCH = "fix/</details><img/src=x/onerror=alert(1)>@octocat#12|`x`"
RUN_URL = "https://github.com/octo-org/vision-models/actions/runs/4242"
EDGEGATE_HTML = re.compile(
    r"^(<details><summary>Details: every check, targets, sizes, notes</summary>|</details>|<sub>|</sub>"
    r"|<details><summary>Model diff: ops, weights, tensor shapes, I/O, metadata</summary>"
    r"|<!-- edgegate-report -->|<!-- edgegate-run: [0-9a-f]{32} -->)$"
)


# --- the pull request, gated for real ----------------------------------------------------------


def _tflite_with_hostile_tensor_names() -> bytes:
    """A real int8 model whose first tensor has a dynamic non-batch dimension (so the Edge TPU
    analysis names a tensor; a dynamic batch alone compiles), every tensor renamed in its
    flatbuffer: TensorFlow itself would refuse such names."""
    import numpy as np
    import tensorflow as tf
    from ai_edge_litert.tools import flatbuffer_utils

    class Dense(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.random.stateless_normal([8, 4], seed=[1, 2]))

        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32)])
        def __call__(self, x):
            return tf.nn.relu(tf.matmul(x, self.w))

    module = Dense()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.__call__.get_concrete_function()], module
    )
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: ([rng.random((1, 8), dtype=np.float32)] for _ in range(8))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(converter.convert()))
    for i, tensor in enumerate(model.subgraphs[0].tensors):
        tensor.name = TENSOR_NAME.format(i=i).encode()
    model.subgraphs[0].tensors[0].shapeSignature = [1, -1]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _plain_tflite() -> bytes:
    import tensorflow as tf

    class Scale(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
        def __call__(self, x):
            return x * 2.0

    module = Scale()
    return tf.lite.TFLiteConverter.from_concrete_functions(
        [module.__call__.get_concrete_function()], module
    ).convert()


def _policy() -> str:
    return json.dumps(
        {
            "version": 1,
            "models": [
                {
                    "name": MODEL_NAME,
                    "path": FILE_NAME,
                    "edgetpu": {"level": "warn", "compiler": "static"},
                    "budgets": {"size": "1 KB"},
                },
                {"name": "layers", "path": LAYERS_PATH, "recipes": ["float16"]},
                {
                    "name": "labels",
                    "path": "models/labels.keras",
                    "recipes": [
                        {"recipe": "float16", "name": LABEL},
                        {"recipe": "dynamic", "name": CODE_LABEL},
                    ],
                    "budgets": {"size": "1 KB"},
                },
                {"name": "detector", "path": "models/detector.tflite", "budgets": {"size": "1 MB"}},
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


@dataclass(frozen=True)
class Gated:
    """The pull request after ``edgegate ci`` (and a later ``edgegate publish``) ran on it."""

    github: FakeGitHub
    env: dict[str, str]
    tmp: Path
    code: int
    log: str  # stdout and stderr of the run, as the runner reads them
    summary: str  # the job summary it wrote
    comments: list[dict]  # the PR's comments after it
    person: dict  # the PR author's comment starting with the marker, posted before the run

    @property
    def results_path(self) -> Path:
        return self.tmp / "temp" / "edgegate" / "results.json"


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    tmp = tmp_path_factory.mktemp("hostile")
    repo = GitRepo(tmp / "repo")
    repo.root.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.write("README.md", "models\n")
    base = repo.commit("base")
    repo.git("checkout", "-qb", BRANCH)
    repo.write(FILE_NAME, _tflite_with_hostile_tensor_names())
    repo.write("models/detector.tflite", _plain_tflite())
    keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name=LAYER_NAME)]).save(
        repo.root / LAYERS_PATH
    )
    keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)]).save(repo.root / "models" / "labels.keras")
    repo.write("edgegate.yml", _policy())
    head = repo.commit("add models")

    github = FakeGitHub().start()
    # The PR author, first: a comment that starts with EdgeGate's marker.
    person = github.add_comment(
        17, MARKER + "\n## ✅ EdgeGate: all good, merge away", author="mallory-contrib"
    )
    event = load_event(
        "pull_request_opened",
        pull_request__base__sha=base,
        pull_request__head__sha=head,
        pull_request__head__ref=BRANCH,
    )
    (tmp / "output").write_text("")
    env = {
        **actions_env(github, tmp, event),
        "GITHUB_SHA": "",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_OUTPUT": str(tmp / "output"),
    }
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        mp.chdir(repo.root)
        code = ci(None, None, "sticky", "error", None, None, None, None, env=env)
    try:
        summary = (tmp / "summary.md").read_text(encoding="utf-8")
        log = out.getvalue() + "\n" + err.getvalue()
        yield Gated(github, env, tmp, code, log, summary, github.comments_on(17), person)
    finally:
        github.stop()


@pytest.fixture(scope="module")
def results(gated):
    run = read_results(gated.results_path)
    names = {m.name for m in run.models}
    assert names == {MODEL_NAME, "layers", "labels", "detector"}, names
    return run


def test_every_hostile_name_reached_the_results(results):
    """Else the rest proves nothing: each forgery must really be in what gets rendered."""
    by_name = {m.name: m for m in results.models}
    hostile = by_name[MODEL_NAME]
    assert hostile.path == FILE_NAME
    tensor = next(c for c in hostile.candidates if c.report("edgetpu")).report("edgetpu").rejection
    assert TENSOR_NAME.format(i=0).splitlines()[0] in tensor  # the name as the analyzer quotes it
    assert "<details open><img src=x onerror=alert(1)> @octocat #9 |k| ## fake" in by_name["layers"].error
    assert {c.recipe for c in by_name["labels"].candidates} == {LABEL, CODE_LABEL}
    assert results.head.ref == BRANCH


# --- reading markdown as GitHub would ----------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    headings: list[tuple[str, str]]  # (h2, text) …
    html: list[str]  # every raw HTML token: block or inline
    links: list[str]
    images: int
    tables: list[list[list[str]]]  # each table's rows of cell texts
    inlines: list[str]  # the visible text of every inline run (code spans in backticks)
    prose: str  # all visible text outside code, where GitHub links mentions, refs and URLs
    fences: list[str]
    source: str  # the markdown itself, where GitHub finds $math$


def read_markdown(text: str) -> Rendered:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    tokens = md.parse(text)
    headings: list[tuple[str, str]] = []
    html: list[str] = []
    links: list[str] = []
    tables: list[list[list[str]]] = []
    inlines: list[str] = []
    prose: list[str] = []
    fences: list[str] = []
    images = 0
    row: list[str] | None = None
    for i, t in enumerate(tokens):
        if t.type in ("html_block", "html_inline"):
            html.append(t.content.strip())
        elif t.type in ("fence", "code_block"):
            fences.append(t.content)
        elif t.type == "table_open":
            tables.append([])
        elif t.type == "tr_open":
            row = []
        elif t.type == "tr_close" and row is not None:
            tables[-1].append(row)
            row = None
        elif t.type == "inline":
            shown, words = [], []
            for child in t.children or []:
                if child.type == "text":
                    shown.append(child.content)
                    words.append(child.content)
                elif child.type == "code_inline":
                    shown.append(f"`{child.content}`")
                elif child.type in ("softbreak", "hardbreak"):
                    shown.append(" ")
                    words.append(" ")
                elif child.type == "html_inline":
                    html.append(child.content.strip())
                elif child.type == "link_open":
                    links.append(str(child.attrs.get("href", "")))
                elif child.type == "image":
                    images += 1
            visible = "".join(shown)
            inlines.append(visible)
            prose.append("".join(words))
            if tokens[i - 1].type == "heading_open":
                headings.append((tokens[i - 1].tag, visible))
            if row is not None:
                row.append(visible)
    return Rendered(headings, html, links, images, tables, inlines, "\n".join(prose), fences, text)


def seen(text: str) -> str:
    """What a person reads: the word joiners that break links are invisible."""
    return text.replace(WORD_JOINER, "")


def assert_nothing_forged(r: Rendered, *, headings: list[tuple[str, str]]) -> None:
    assert [(tag, seen(text)) for tag, text in r.headings] == headings
    assert all(EDGEGATE_HTML.match(h) for h in r.html), [h for h in r.html if not EDGEGATE_HTML.match(h)]
    assert r.html.count("</details>") == sum(h.startswith("<details>") for h in r.html)
    assert r.images == 0 and set(r.links) <= {RUN_URL}
    for table in r.tables:
        assert {len(row) for row in table} == {9}, table  # a "|" in a label stays in its cell
    # GitHub links these in any text outside code, even inside HTML: none may survive.
    assert not re.search(r"(?<![\w`])@[A-Za-z0-9]", r.prose), "a live @mention"
    assert not re.search(r"#\d|(?i:\bGH-\d)", r.prose), "a live issue reference"
    assert not re.search(r"(?i)https?://|\bwww\.", r.prose), "a bare link"
    outside_code = re.sub(r"(`+).*?\1", "", r.source)
    assert not re.search(r"(?<!\\)\$", outside_code), "math"  # GitHub renders $…$ before anything
    hidden = {ch for text in r.inlines for ch in text if unicodedata.category(ch) in ("Cc", "Cf")}
    assert hidden <= {WORD_JOINER}, hidden  # no bidi override, no zero-width, no ANSI escape


def expected_headings(run) -> list[tuple[str, str]]:
    failing = sum(m.status.fails and not m.error for m in run.models)
    errored = sum(bool(m.error) for m in run.models)
    headline = f"{ICON['fail']} EdgeGate: {failing} of {len(run.models)} models fail the gate"
    found = [("h2", headline + (f", {errored} could not be gated" if errored else ""))]
    for m in sorted(run.models, key=lambda m: -m.status.rank):
        change = f" ({m.change})" if m.change != "modified" else ""
        found.append(("h3", f"{ICON[m.status.value]} {one_line(m.name)} — `{one_line(m.path)}`{change}"))
    return found


# --- the report, the comment, the job summary --------------------------------------------------


def test_the_report_shows_every_name_as_text_and_forges_nothing(results):
    text = render_markdown(results, details_url=RUN_URL)
    r = read_markdown(text)
    assert_nothing_forged(r, headings=expected_headings(results))
    (base,) = [seen(text) for text in r.inlines if text.startswith("base ")]
    assert base.startswith("base `main` (") and f"→ {one_line(BRANCH)} (" in base

    # Every label is one cell, reading exactly as written.
    labels = next(t for t in r.tables if any(seen(row[1]) == one_line(LABEL) for row in t))
    assert [seen(row[1]) for row in labels[1:]] == ["float32 (reference)", one_line(LABEL), CODE_LABEL]
    candidates = next(m for m in results.models if m.name == "labels").candidates
    # The status cell says which checks failed (names EdgeGate made), as text.
    assert [row[-1] for row in labels[2:]] == [f"{ICON[c.status.value]} {status_text(c)}" for c in candidates]

    # The messages quoting the tensor and the layer read as the analyzer and converter wrote them.
    hostile = next(m for m in results.models if m.name == MODEL_NAME)
    compiles = next(ch for c in hostile.candidates for ch in c.checks if ch.name == "edgetpu.compiles")
    assert f"{ICON['warn']} as-is · edgetpu.compiles: {one_line(compiles.message)}" in map(seen, r.inlines)
    layers = next(m for m in results.models if m.name == "layers")
    assert f"Could not be gated: {one_line(layers.error)}" in map(seen, r.inlines)
    assert "\\u202e" in one_line(compiles.message) and "\\u001b" in one_line(layers.error)


def test_a_legit_model_reads_and_is_written_as_before(results):
    detector = next(m for m in results.models if m.name == "detector")
    (c,) = detector.candidates
    assert detector.status == Status.PASS and c.deploy
    text = render_markdown(results)
    # Plain names need no escape: the markdown itself is unchanged, byte for byte.
    row = (
        f"| 🚀 | as-is | {format_bytes(c.size_bytes)} | – | {format_ms(c.latency_ms)} | – | – | – | ✅ pass |"
    )
    assert row in text.splitlines()
    assert "### ✅ detector — `models/detector.tflite` (added)" in text.splitlines()
    assert "**Ships `as-is`** — " in text


def test_the_pr_comment_forges_nothing_and_the_persons_comment_is_untouched(gated, results):
    assert gated.code == 2  # the Keras model could not be gated; the others were
    person, ours = gated.comments
    assert person == gated.person  # not edited, not adopted
    assert ours["user"]["login"] == BOT and ours["body"].startswith(MARKER)
    r = read_markdown(ours["body"])
    assert_nothing_forged(r, headings=expected_headings(results))
    assert RUN_URL in r.links
    assert "/user" in [c.path for c in gated.github.calls("GET")]  # it asked who it is


def test_a_later_run_edits_only_its_own_comment(gated):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert publish(gated.results_path, None, None, "sticky", env=gated.env) == 0
    person, ours = gated.github.comments_on(17)
    assert person == gated.person and ours["id"] == gated.comments[1]["id"]
    (patch,) = gated.github.calls("PATCH")
    assert patch.path == f"/repos/{REPO}/issues/comments/{ours['id']}"
    assert "updated the EdgeGate comment" in out.getvalue()


def test_the_job_summary_forges_nothing(gated, results):
    r = read_markdown(gated.summary)
    assert_nothing_forged(r, headings=expected_headings(results))
    assert seen(r.inlines[-1]) == "posted the EdgeGate comment on PR #17"  # the note, quoted


def test_a_report_cut_to_fit_never_cuts_inside_an_escape(results):
    """Folding cuts the report at ``max_chars``; cut inside a code span, what it quotes (the
    file name's ``<img onerror>``) would render raw after the cut. Every cut is tried."""

    def folded(limit: int) -> str:
        return render_markdown(results, details_url=RUN_URL, max_chars=limit)

    uncut = 200
    while "…truncated" in folded(uncut):  # the folded summary's length: the first limit it fits
        uncut += 100
    read: set[str] = set()
    for limit in range(200, uncut, 2):
        text = folded(limit)
        assert len(text) <= limit
        if text in read:  # the same cut as at a smaller limit: read and checked already
            continue
        read.add(text)
        r = read_markdown(text)
        assert_nothing_forged(r, headings=expected_headings(results)[: len(r.headings)])


# --- the CI log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str]
    data: str


def runner_commands(log: str) -> list[tuple[str, Command]]:
    """Every line the Actions runner would take as a workflow command, parsed as it does.

    Stricter than the runner: any command name counts, not only the registered ones.
    """
    found = []
    for line in re.split(r"\r\n|\r|\n", log):
        message = line.lstrip()  # .NET TrimStart: Python's whitespace is a superset
        if message.startswith("::") and message.find("::", 2) >= 0:
            end = message.find("::", 2)
            info = message[2:end]
            name, _, props = info.partition(" ")
            properties = {}
            for prop in filter(None, props.strip().split(",")):
                key, sep, value = prop.partition("=")
                if sep:
                    properties[key] = _unescape(value, property=True)
            found.append((line, Command(name, properties, _unescape(message[end + 2 :]))))
        elif "##[" in line and "]" in line[line.index("##[") :]:
            start = line.index("##[") + 3
            found.append((line, Command(line[start : line.index("]", start)].split(" ")[0], {}, "")))
    return found


def _unescape(text: str, property: bool = False) -> str:
    pairs = (
        [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if property else []) + [("%25", "%")]
    )
    for escaped, raw in pairs:
        text = text.replace(escaped, raw)
    return text


def test_no_line_of_the_log_is_a_command_but_edgegates_own(gated, results):
    assert one_line(MODEL_NAME) in seen(gated.log)  # the terminal table named the model …
    assert "| ::error::f" in gated.log  # … and its forged command, as text
    expected = run_annotations(results)
    commands = runner_commands(gated.log)
    assert sorted(line for line, _ in commands) == sorted(a.command() for a in expected)
    for (_, command), annotation in zip(sorted(commands), sorted(expected, key=lambda a: a.command())):
        # Parsed back as the runner does: the very fields EdgeGate meant, names and all.
        assert command.name == annotation.level and command.name in ("error", "warning")
        assert command.properties["title"] == annotation.title and annotation.title.startswith("EdgeGate")
        assert command.properties.get("file") == annotation.file
        assert command.data == visible(annotation.message, keep="\n\r\t")  # ANSI, bidi: shown escaped
    # A newline and "::" in a name, ":" and "," in a path: they round-trip as the runner parses them.
    assert any(MODEL_NAME in a.title for a in expected) and any(a.file == LAYERS_PATH for a in expected)


def test_the_report_printed_to_the_log_holds_no_command(gated, results, tmp_path):
    """``edgegate report`` prints the markdown; a code span may quote ``##[error]`` (the legacy
    command form, live anywhere in a line) from a results file, which ``publish`` takes from an
    untrusted run's artifact."""
    from dataclasses import replace

    from edgegate.cli.report import report
    from edgegate.results import write_results

    path = tmp_path / "results.json"
    write_results(replace(results, policy="config/##[error]forged.yml"), path)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert report(path) == 0
    assert "`config/##" in out.getvalue() and "forged.yml`" in out.getvalue()
    assert runner_commands(out.getvalue()) == []


def test_an_invalid_hostile_policy_is_said_everywhere_without_forging(tmp_path, monkeypatch):
    github = FakeGitHub().start()
    try:
        repo = GitRepo(tmp_path / "repo")
        repo.root.mkdir()
        repo.git("init", "-q", "-b", "main")
        repo.write("README.md", "x\n")
        base = repo.commit("base")
        # A line of "```" would close a fixed fence around the message, and what follows would render.
        twice = {"name": f"{MODEL_NAME}\n```\n## forged after the fence @octocat", "path": "models/a.tflite"}
        repo.write("edgegate.yml", json.dumps({"version": 1, "models": [twice, twice]}, indent=2))
        head = repo.commit("a policy naming one model twice")
        event = load_event("pull_request_opened", pull_request__base__sha=base, pull_request__head__sha=head)
        (tmp_path / "event.json").write_text(json.dumps(event))
        (tmp_path / "summary.md").write_text("")
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": github.url,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "RUNNER_TEMP": str(tmp_path / "temp"),
            "GITHUB_TOKEN": WRITE_TOKEN,
        }
        monkeypatch.chdir(repo.root)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert ci(None, None, "sticky", "error", None, None, None, None, env=env) == 2
        commands = runner_commands(out.getvalue() + err.getvalue())
        assert commands and all(
            c.name == "error" and c.properties["title"].startswith("EdgeGate") for _, c in commands
        )
        assert any(MODEL_NAME in c.data for _, c in commands)  # the message names it, intact

        for text in ((tmp_path / "summary.md").read_text(), github.comments_on(17)[0]["body"]):
            r = read_markdown(text)
            (fence,) = r.fences
            assert MODEL_NAME.splitlines()[0] in fence and "```\n## forged after the fence @octocat" in fence
            assert [h for h in r.headings if h[0] == "h2"] == [("h2", "💥 EdgeGate could not run")]
            assert all(EDGEGATE_HTML.match(h) for h in r.html) and not r.links
    finally:
        github.stop()


# --- each context on its own ---------------------------------------------------------------------


def test_code_spans_outfence_any_backtick_run_and_summaries_are_html():
    for value in ("a``b", "`x", "x`", " ` ", "````", ""):
        (code,) = [c for c in MarkdownIt("commonmark").parseInline(md_code(value))[0].children or []]
        assert code.type == "code_inline" and code.content == (value or " "), (value, md_code(value))
    summary = f"<details><summary>{html_text(MODEL_NAME)}</summary>\n\nbody\n\n</details>\n"
    r = read_markdown(summary)
    assert r.html == [f"<details><summary>{html_text(MODEL_NAME)}</summary>", "</details>"]
    assert "<img" not in r.html[0] and "&lt;img" in r.html[0] and "@\u2060octocat" in r.html[0]


def test_the_could_not_run_comment_fences_a_hostile_message():
    message = f"policy: ```` closes? {MODEL_NAME}"
    r = read_markdown(could_not_run_body(message, "a" * 40, RUN_URL))
    assert r.fences == [message + "\n"]  # verbatim, and nothing after it escaped the fence
    assert r.headings == [("h2", "💥 EdgeGate could not run")]
    assert all(EDGEGATE_HTML.match(h) for h in r.html) and r.links == [RUN_URL]
