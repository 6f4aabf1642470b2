"""The model diff and the contract in real runs: a real git repository with a pull-request
branch, the real ``edgegate check`` command line, real conversions in its workers."""

from __future__ import annotations

import json
import re

from edgegate.publishers.annotations import run_annotations
from edgegate.report.markdown import render_markdown
from edgegate.results.codec import read_results
from edgegate.status import Status
from edgegate.untrusted_text import one_line
from tests.gitrepo import edgegate_cli
from tests.security.test_rendering import read_markdown, seen
from tests.model_diff.models import net, renamed_input, with_metadata

KERAS_POLICY = """\
version: 1
models:
  - name: net
    path: models/net.keras
    recipes: [float16]
    contract:
      signature: error
      ops:
        no_new_kinds: true
"""
SIGNATURE_LINE, OPS_LINE = 7, 8


def check(repo, out):
    return edgegate_cli(
        "check", "--base", "main", "--no-latency", "--quiet", "--json", str(out / "r.json"),
        "--report", str(out / "r.md"), "--repo", str(repo.root), cwd=repo.root,
    )  # fmt: skip


def test_a_pr_that_reshapes_widens_and_adds_a_layer_gets_each_named_and_breaks_the_contract(repo, tmp_path):
    (repo.root / "models").mkdir()
    net().save(repo.root / "models/net.keras")
    repo.write("edgegate.yml", KERAS_POLICY)
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    net(size=12, filters=8, hidden=True).save(repo.root / "models/net.keras")
    repo.commit("bigger input, wider conv, one more layer")

    proc = check(repo, tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    run = read_results(tmp_path / "r.json")
    (m,) = run.models
    (float16,) = m.candidates
    checks = {c.name: c for c in float16.checks}
    signature, ops = checks["contract_signature"], checks["contract_ops"]
    assert signature.status == Status.FAIL and signature.line == SIGNATURE_LINE
    assert signature.key == "models[0].contract.signature"
    assert "input 0 `serving_default_image:0`: shape 1×8×8×1 → 1×12×12×1" in signature.message
    assert ops.status == Status.FAIL and ops.line == OPS_LINE and "`TANH`" in ops.message
    # Annotated at each key's own line of the policy.
    lines = {(a.file, a.line) for a in run_annotations(run) if a.level == "error"}
    assert {("edgegate.yml", SIGNATURE_LINE), ("edgegate.yml", OPS_LINE)} <= lines
    # The float reference's diff (base's reference was built for it), whole in the results file.
    assert m.reference is not None and m.reference.diff is not None
    d = m.reference.diff
    changes = {(c.name.split("/")[1], c.change) for c in d.ops}
    assert {("hidden", "added"), ("squash", "added"), ("conv", "changed"), ("head", "changed")} <= changes
    conv = next(c for c in d.ops if c.name.startswith("net/conv/"))
    assert (conv.base_weight_shape, conv.head_weight_shape) == ((4, 3, 3, 1), (8, 3, 3, 1))
    assert [s.what for s in d.signature] == [("shape",)]
    assert float16.diff is not None and float16.diff.new_kinds == ("TANH",)
    raw = json.loads((tmp_path / "r.json").read_text())
    assert raw["schema"] == "edgegate.results/4" and raw["models"][0]["reference"]["diff"]["ops"]
    # The base reference was built for the diff only: not timed, evaluated or judged.
    assert (
        m.reference.base is not None and m.reference.base.size_bytes and m.reference.base.latency_ms is None
    )
    # Compact in the report: a line per shown version, the tables collapsed.
    report = (tmp_path / "r.md").read_text()
    inside = report[report.index("**Inside the model**") :]
    assert "- **float32 (reference)**: 4 → 6 ops;" in inside and "+1 TANH (new kind)" in inside
    assert "<details><summary>Model diff: ops, weights, tensor shapes, I/O, metadata</summary>" in inside
    assert re.search(
        r"\| `net/conv/Relu` \| changed \| CONV\\_2D \| 0 \| 40 → 80 \(4×3×3×1 → 8×3×3×1\) \| \+160 B \|",
        inside,
    )


TFLITE_POLICY = """\
version: 1
models:
  - name: net
    path: models/net.tflite
    contract:
      signature: error
"""


def test_a_tflite_pr_that_changes_only_metadata_says_so_and_keeps_the_contract(repo, tmp_path, base_tflite):
    repo.write("models/net.tflite", base_tflite)
    repo.write("edgegate.yml", TFLITE_POLICY)
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("models/net.tflite", with_metadata(base_tflite, "TFLITE_METADATA", b"card", labels="a\nb\n"))
    repo.commit("labels")

    proc = check(repo, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = read_results(tmp_path / "r.json")
    (c,) = run.models[0].candidates
    assert c.diff is not None and c.diff.metadata_only
    assert next(ch for ch in c.checks if ch.name == "contract_signature").status == Status.PASS
    report = (tmp_path / "r.md").read_text()
    assert "only metadata changed: same ops, tensors and weights" in report
    assert "| associated file | `labels.txt` | added |" in report


EDGEGATE_HTML = {
    "<details><summary>Model diff: ops, weights, tensor shapes, I/O, metadata</summary>",
    "<details><summary>Details: every check, targets, sizes, notes</summary>",
    "</details>",
    "<sub>",
    "</sub>",
}
HOSTILE = "x`</summary><img src=x onerror=alert(1)>\n## ✅ forged | verdict @team #1"


def test_a_hostile_tensor_name_reaches_the_comment_escaped(repo, tmp_path, base_tflite):
    """The PR renames its input tensor with markdown, HTML and a line break: the contract names the
    change, and the rendered comment shows the characters, never a heading, a tag or a mention."""
    repo.write("models/net.tflite", base_tflite)
    repo.write("edgegate.yml", TFLITE_POLICY)
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("models/net.tflite", renamed_input(base_tflite, HOSTILE))
    repo.commit("rename")

    proc = check(repo, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    run = read_results(tmp_path / "r.json")
    (c,) = run.models[0].candidates
    assert c.diff is not None and c.diff.signature[0].what == ("name",)
    assert c.diff.signature[0].head is not None and c.diff.signature[0].head.name == HOSTILE
    for text in ((tmp_path / "r.md").read_text(), render_markdown(run, max_chars=6000)):
        r = read_markdown(text)  # as GitHub's CommonMark + GFM reads it
        assert [tag for tag, _ in r.headings] == ["h2", "h3"] and not any(
            "forged" in h for _, h in r.headings
        )
        assert set(r.html) <= EDGEGATE_HTML, set(r.html) - EDGEGATE_HTML
        assert r.images == 0 and not r.links
        assert not re.search(r"(?<![\w`])@[A-Za-z0-9]|#\d", r.prose), "a live mention or reference"
        # ... and the name is shown whole, on one line, as one code span.
        assert any(f"`{one_line(HOSTILE)}`" in seen(inline) for inline in r.inlines)


def test_an_allowed_list_holds_a_new_model_without_a_base(repo, tmp_path, base_tflite):
    """A model new in the PR: the op kinds are read from head alone and held to the hand-written list;
    the signature has nothing to compare with and says so (no silent pass)."""
    repo.write("edgegate.yml", "version: 1\nmodels: [{name: other, path: other.tflite}]\n")
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    repo.write("models/net.tflite", base_tflite)
    repo.write(
        "edgegate.yml",
        TFLITE_POLICY
        + "      ops:\n        allowed: [CONV_2D, MEAN, FULLY_CONNECTED]\n        level: warn\n",
    )
    repo.commit("a new model")

    proc = check(repo, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the op check is a warning
    (c,) = read_results(tmp_path / "r.json").models[0].candidates
    checks = {ch.name: ch for ch in c.checks}
    assert c.diff is None and checks["contract_signature"].status == Status.SKIP
    assert "the model is new in this change" in checks["contract_signature"].message
    ops = checks["contract_ops"]
    assert (
        ops.status == Status.WARN and ops.line == 7 and "outside the allowed list: `SOFTMAX`" in ops.message
    )
