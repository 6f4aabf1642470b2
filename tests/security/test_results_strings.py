"""Every string of a results file is untrusted when rendered, whoever wrote the file.

In the fork-safe workflow pair, ``edgegate publish`` (trusted, with a write token) posts the
results file the untrusted ``pull_request`` job uploaded. A forged ``accuracy.drop_unpaired``
holding ``</details>``, a ``## ✅`` heading, ``<img>``, ``@octocat @org/team``, ``#1``, a link and
``<!--`` was posted as is: a report filter formatted it into text it declared safe.

The walk below takes the results model's own annotations, builds a results file with every
field filled, and plants a hostile payload in each string field (and dict key) in turn, read
back through the real codec. The markdown report (the PR comment and the job summary) must
have exactly the structure it has with a plain value there (same blocks, same inline tokens,
same HTML and links: EdgeGate's own), and the annotations exactly their commands. A new
string field is walked without anyone adding it here. One real ``edgegate publish`` posts the
issue's forgery to the stand-in GitHub API.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from edgegate.publishers.annotations import run_annotations
from edgegate.publishers.interface import Publication
from edgegate.publishers.job_summary import JobSummaryPublisher
from edgegate.report.markdown import _chart_label, mermaid_chart, render_markdown
from edgegate.results import ResultsFileError, RunResult, read_results
from edgegate.results.codec import SCHEMA, encode_run
from edgegate.results.model import TargetReports
from edgegate.target_registry import kinds
from edgegate.untrusted_text import visible
from tests.github.conftest import BOT, FakeGitHub, actions_env, load_event
from tests.gitrepo import edgegate_cli as edgegate
from tests.security.test_rendering import EDGEGATE_HTML, read_markdown, runner_commands

DETAILS = "https://github.com/octo-org/vision-models/actions/runs/4242"
PLAIN = "plain words `x` here"
# The issue's forgery, plus the rest of what renders in markdown or the log (no backticks but
# the code span PLAIN has too, so a code span is expected in both).
PAYLOAD = (
    "</details>\n## ✅ EdgeGate: 3 models within budget\n<img src=x onerror=alert(1)> @octocat "
    "@org/team #1 GH-2 [link](https://evil.example) www.evil.example <!-- $x$ | cell | *em* "
    "_u_ ~~s~~ `x` \u202e\x1b[31m\n::error title=forged::pwned\n##[error]legacy\n- item\n1. item"
)
ISSUE_FORGERY = (
    "</details>\n\n## ✅ EdgeGate: all models within budget\n\n<img src=https://evil.example/x.png> "
    "cc @octocat @org/team, see #1 and [the fix](https://evil.example) <!--"
)


# --- a results file with every field filled -----------------------------------------------------


def _filled(tp: Any, *, intervals: bool) -> Any:
    """A value of ``tp``; optional text left out (its presence changes what renders: it is
    planted on its own), optional intervals only when ``intervals``."""
    origin = typing.get_origin(tp)
    if tp is TargetReports:  # every registered target's report, each filled
        return TargetReports({k.name: _filled(k.report, intervals=intervals) for k in kinds()})
    if origin in (typing.Union, types.UnionType):
        options = [t for t in typing.get_args(tp) if t is not type(None)]
        if options == [str] or (not intervals and getattr(options[0], "__name__", "") == "PairedInterval"):
            return None
        return _filled(options[0], intervals=intervals)
    if origin is tuple:
        args = typing.get_args(tp)
        return (
            (_filled(args[0], intervals=intervals),)
            if args[-1] is Ellipsis
            else tuple(_filled(a, intervals=intervals) for a in args)
        )
    if origin is dict:
        return {"key": _filled(typing.get_args(tp)[1], intervals=intervals)}
    if origin is typing.Literal:
        return typing.get_args(tp)[0]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return list(tp)[-1]
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _filled(hints[f.name], intervals=intervals) for f in dataclasses.fields(tp)})
    return {bool: True, int: 3, float: 0.5, str: "text"}[tp]


def _optional_text(tp: Any) -> list[tuple[str, ...]]:
    """The paths (in the JSON) of every optional text field, which ``_filled`` leaves out."""
    found: list[tuple[str, ...]] = []
    hints = typing.get_type_hints(tp)
    for f in dataclasses.fields(tp):
        t = hints[f.name]
        if typing.get_origin(t) in (typing.Union, types.UnionType):
            options = [o for o in typing.get_args(t) if o is not type(None)]
            if options == [str]:
                found.append((f.name,))
            elif dataclasses.is_dataclass(options[0]):
                found += [(f.name, *p) for p in _optional_text(options[0])]
        elif typing.get_origin(t) is tuple and dataclasses.is_dataclass(typing.get_args(t)[0]):
            found += [(f.name, 0, *p) for p in _optional_text(typing.get_args(t)[0])]
        elif dataclasses.is_dataclass(t):
            found += [(f.name, *p) for p in _optional_text(t)]
        elif t is TargetReports:
            found += [(f.name, k.name, *p) for k in kinds() for p in _optional_text(k.report)]
    return found


def _string_places(data: Any, path: tuple = ()) -> list[tuple]:
    """Every string value (and dict key, as ``(…, KEY, name)``) in the JSON data."""
    if isinstance(data, str):
        return [path]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _string_places(v, path + (i,))]
    if isinstance(data, dict):
        places = [p for k, v in data.items() for p in _string_places(v, path + (k,))]
        if path and path[-1] in ("versions", "unique_weights"):
            places += [path + (KEY, k) for k in data]
        return places
    return []


KEY = object()  # marks a dict key in a place


def _planted(data: dict, place: tuple, value: str) -> dict:
    data = json.loads(json.dumps(data))
    *parents, last = place
    if len(parents) >= 1 and parents[-1] is KEY:
        holder = data
        for p in parents[:-1]:
            holder = holder[p]
        holder[value] = holder.pop(last)
        return data
    holder = data
    for p in parents:
        holder = holder[p]
    holder[last] = value
    return data


def _read(data: dict, tmp_path: Path) -> RunResult:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return read_results(path)


# --- what GitHub would make of it -----------------------------------------------------------------

_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@functools.lru_cache(maxsize=8)
def _tokens(markdown: str) -> tuple[Token, ...]:
    """The parse of one text, read (never changed) by both walks below: the walk parses each
    rendering once (it renders thousands; parsing is most of this file's time)."""
    return tuple(_MARKDOWN.parse(markdown))


def structure(markdown: str) -> list[tuple]:
    """The blocks and inline tokens, EdgeGate's HTML and links verbatim; text runs joined."""
    shape: list[tuple] = []
    for t in _tokens(markdown):
        # Each run's comment carries its own id (<!-- edgegate-run: … -->): the same shape.
        html = re.sub(r"[0-9a-f]{32}", "ID", t.content) if t.type == "html_block" else ""
        shape.append((t.type, t.tag, html))
        previous = None
        for child in t.children or []:
            if child.type in ("text", "text_special", "softbreak") and previous == "text":
                continue
            kind = "text" if child.type in ("text", "text_special") else child.type
            detail = child.content if kind == "html_inline" else str(child.attrs.get("href", ""))
            shape.append(("  " + kind, child.tag, detail))
            previous = kind
    return shape


def live_links(markdown: str) -> list[str]:
    """What GitHub links in text outside code: mentions, references, bare URLs."""
    words = " ".join(
        c.content for t in _tokens(markdown) for c in (t.children or []) if c.type in ("text", "text_special")
    )
    return re.findall(r"(?<![\w`])@[A-Za-z0-9]|#\d|(?i:\bGH-\d)|(?i:https?://)|(?i:\bwww\.)", words)


def renders(run: RunResult, tmp_path: Path) -> dict[str, str]:
    summary = tmp_path / "summary.md"
    summary.write_text("")
    JobSummaryPublisher(summary, notes=("posted",)).publish(Publication(run))
    return {
        "report": render_markdown(run, details_url=DETAILS),
        "job summary": summary.read_text(encoding="utf-8"),
    }


def assert_folded_forges_nothing(run: RunResult) -> None:
    """Folded to fit a comment, the cut falls elsewhere for each value: no structure to compare
    with, but nothing but EdgeGate's own headings, HTML and link, and nothing linked."""
    for limit in (600, 1500, 3000):
        folded = render_markdown(run, max_chars=limit, details_url=DETAILS)
        r = read_markdown(folded)
        assert all(EDGEGATE_HTML.match(h) for h in r.html), r.html
        assert r.images == 0 and set(r.links) <= {DETAILS}
        assert [tag for tag, _ in r.headings] in (["h2"], ["h2", "h3"])
        assert live_links(folded) == []


def assert_annotations_are_edgegates_own(run: RunResult) -> None:
    expected = run_annotations(run)
    commands = runner_commands("\n".join(a.command() for a in expected))
    assert len(commands) == len(expected)
    for (_, command), annotation in zip(commands, expected):
        assert command.name == annotation.level and command.properties["title"] == visible(
            annotation.title, keep="\n\r\t"
        )
        assert command.data == visible(annotation.message, keep="\n\r\t")


@pytest.mark.parametrize("intervals", [False, True], ids=["no intervals", "intervals"])
def test_a_payload_in_any_string_of_a_results_file_forges_nothing(tmp_path, intervals):
    baseline = json.loads(encode_run(_filled(RunResult, intervals=intervals)))
    assert baseline["schema"] == SCHEMA
    places = _string_places(baseline) + [p for p in _optional_text(RunResult)]
    refused, walked = [], []
    for place in places:
        try:
            plain = _read(_planted(baseline, place, PLAIN), tmp_path)
        except ResultsFileError:
            refused.append(place)  # an enum or a fixed value: the codec takes no other text
            with pytest.raises(ResultsFileError):
                _read(_planted(baseline, place, PAYLOAD), tmp_path)
            continue
        hostile = _read(_planted(baseline, place, PAYLOAD), tmp_path)
        walked.append(place)
        for (what, safe), (_, forged) in zip(
            renders(plain, tmp_path).items(), renders(hostile, tmp_path).items()
        ):
            assert structure(forged) == structure(safe), (what, place)
            assert live_links(forged) == live_links(safe), (what, place)
        assert_folded_forges_nothing(hostile)
        assert_annotations_are_edgegates_own(hostile)
    # The walk reached the fields the issue names and the text of every level.
    named = {".".join(str(p) for p in place if p is not KEY) for place in walked}
    assert {
        "models.0.candidates.0.accuracy.drop_unpaired",
        "models.0.candidates.0.accuracy.base_unpaired",
        "models.0.candidates.0.latency_changes.float_unpaired",
        "models.0.candidates.0.latency_changes.base_unpaired",
        "models.0.name",
        "models.0.error",
        "models.0.candidates.0.recipe",
        "models.0.candidates.0.target_lines.0",
        "models.0.trend.candidate",
        "notes.0",
        "head.ref",
        "models.0.candidates.0.diff.ops.0.name",  # the model diff's names (issue 18)
        "models.0.candidates.0.diff.signature.0.head.name",
        "models.0.candidates.0.diff.metadata.0.name",
    } <= named
    # The enums, the model diff's literals (change, side, part) and fixed values (a trend figure's
    # `what`): no other text is read.
    assert {str(p[-1]) for p in refused} == {"schema", "status", "topic", "change", "side", "part", "what"}


def test_a_string_where_the_model_has_a_number_is_refused_naming_the_field(tmp_path):
    """Numbers reach the report through formatting filters taken as safe: the codec must never
    let text through as one."""
    data = json.loads(encode_run(_filled(RunResult, intervals=True)))

    def numbers(value: Any, path: tuple = ()) -> list[tuple]:
        if isinstance(value, (bool, int, float)):
            return [path]
        if isinstance(value, list):
            return [p for i, v in enumerate(value) for p in numbers(v, path + (i,))]
        if isinstance(value, dict):
            return [p for k, v in value.items() for p in numbers(v, path + (k,))]
        return []

    places = numbers(data)
    assert len(places) > 20
    for place in places:
        with pytest.raises(ResultsFileError) as e:
            _read(_planted(data, place, "1</details>"), tmp_path)
        assert str(place[-1]) in str(e.value), place


def test_the_walk_sees_a_filter_that_takes_text_as_safe(tmp_path, monkeypatch):
    """The check above can fail: the report as it was, formatting ``drop_unpaired`` raw."""
    import edgegate.report.markdown as markdown

    monkeypatch.setattr(markdown, "md_text", lambda text: str(text))
    markdown._environment.cache_clear()
    try:
        data = json.loads(encode_run(_filled(RunResult, intervals=False)))
        place = ("models", 0, "candidates", 0, "accuracy", "drop_unpaired")
        plain = renders(_read(_planted(data, place, PLAIN), tmp_path), tmp_path)["report"]
        forged = renders(_read(_planted(data, place, PAYLOAD), tmp_path), tmp_path)["report"]
        assert structure(forged) != structure(plain)
    finally:
        markdown._environment.cache_clear()


# --- Mermaid: recipe labels reduced and cut --------------------------------------------------------


def test_forged_recipe_labels_are_reduced_and_cut_in_the_chart():
    run = _filled(RunResult, intervals=False)
    label = 'x"] \n  bar [999, 999]\n```\n## forged @octocat ' + "y" * 60
    model = dataclasses.replace(
        run.models[0],
        # Two candidates: one alone draws no chart.
        candidates=tuple(dataclasses.replace(c, recipe=label) for c in run.models[0].candidates * 2),
    )
    chart = mermaid_chart(model)
    assert chart.count("```mermaid") == chart.count("\n```\n") >= 1
    shown = _chart_label(label)
    assert re.fullmatch(r'"[A-Za-z0-9 +_.:-]{1,40}"', shown) and len(shown) == 42  # reduced and cut
    for line in chart.splitlines():
        if line.strip().startswith("x-axis"):
            assert line == f"  x-axis [{shown}, {shown}]"
        if line.strip().startswith(("bar", "line")):
            assert re.fullmatch(r"  (bar|line) \[[0-9., ]*\]", line) and "999" not in line


# --- the real edgegate publish, against the stand-in GitHub API -----------------------------------


def test_publish_posts_a_forged_drop_unpaired_as_text(tmp_path):
    data = json.loads(encode_run(_filled(RunResult, intervals=False)))
    # publish posts only results of the PR's current head (the pull_request event's head sha).
    data["head"]["sha"] = load_event("pull_request_opened")["pull_request"]["head"]["sha"]
    plain, forged = tmp_path / "plain.json", tmp_path / "forged.json"
    place = ("models", 0, "candidates", 0, "accuracy", "drop_unpaired")
    plain.write_text(json.dumps(_planted(data, place, "the samples differ")), encoding="utf-8")
    forged.write_text(json.dumps(_planted(data, place, ISSUE_FORGERY), ensure_ascii=False), encoding="utf-8")
    github = FakeGitHub().start()
    try:
        bodies = []
        for results in (plain, forged):
            event = load_event("pull_request_opened")
            proc = edgegate("publish", str(results), cwd=tmp_path, env=actions_env(github, tmp_path, event))
            assert proc.returncode == 0, proc.stdout + proc.stderr
            (comment,) = github.comments_on(event["number"])
            assert comment["user"]["login"] == BOT
            bodies.append((comment["body"], (tmp_path / "summary.md").read_text(encoding="utf-8")))
        (plain_body, plain_summary), (body, summary) = bodies
        assert "no paired interval" in body and "octocat" in body  # the forgery was posted, as text
        for safe, posted in ((plain_body, body), (plain_summary, summary)):
            assert structure(posted) == structure(safe)
            assert live_links(posted) == live_links(safe) == []
            assert "<img" not in posted and posted.count("</details>") == safe.count("</details>")
    finally:
        github.stop()
