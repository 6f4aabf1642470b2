"""Edge TPU checks from ``edgetpu:`` policy keys: levels, thresholds, and uncertain ops."""

from __future__ import annotations

import pytest

from edgegate.targets.edgetpu.static import StaticAnalyzer
from edgegate.policy.load import parse_edgetpu
from edgegate.targets.edgetpu.target import edgetpu_checks
from edgegate.status import Status
from edgegate.targets.interface import PolicyPlace

KEY = "models[0].edgetpu"


def checks(result, **spec):
    found = edgetpu_checks(result, parse_edgetpu(spec, key=KEY, line=7), PolicyPlace(KEY, 7))
    assert all(c.key == KEY and c.line == 7 for c in found)
    return {c.name: c for c in found}


def test_off_produces_no_checks(model):
    assert checks(StaticAnalyzer().analyze(model("conv_chain_int8")), level="off", all_mapped=True) == {}


def test_fully_mapped_model_passes_every_threshold(model):
    r = StaticAnalyzer().analyze(model("conv_chain_int8"))
    found = checks(r, level="error", all_mapped=True, min_mapped="90%", max_partitions=1)
    assert {n: c.status for n, c in found.items()} == {
        "edgetpu.compiles": Status.PASS,
        "edgetpu.all_mapped": Status.PASS,
        "edgetpu.min_mapped": Status.PASS,
        "edgetpu.max_partitions": Status.PASS,
    }
    assert found["edgetpu.compiles"].value == "4/4 ops mapped"
    assert "static prediction, compiler 16 rules, runtime 14" in found["edgetpu.compiles"].message
    assert (
        found["edgetpu.min_mapped"].limit == "≥ 90%" and found["edgetpu.min_mapped"].value == "100.0% (4/4)"
    )


@pytest.mark.parametrize("level, broken", [("error", Status.FAIL), ("warn", Status.WARN)])
def test_partly_mapped_model_names_the_blocker_and_fix(model, level, broken):
    r = StaticAnalyzer().analyze(model("leaky_relu_middle"))
    found = checks(r, level=level, all_mapped=True, min_mapped="50%", max_partitions=1)
    assert found["edgetpu.compiles"].status == Status.PASS
    assert found["edgetpu.all_mapped"].status == broken
    msg = found["edgetpu.all_mapped"].message
    assert (
        "3 of 4 ops run on the CPU" in msg
        and "#1 LEAKY_RELU" in msg
        and "fix: LEAKY_RELU has no Edge TPU" in msg
    )
    assert (
        found["edgetpu.min_mapped"].status == broken and "25.0% (1/4)" in found["edgetpu.min_mapped"].message
    )
    assert found["edgetpu.max_partitions"].status == Status.PASS


def test_rejected_model_fails_compiles_and_skips_thresholds(model):
    r = StaticAnalyzer().analyze(model("conv_chain_float32"))
    found = checks(r, level="error", all_mapped=True, min_mapped="10%", max_partitions=0)
    c = found["edgetpu.compiles"]
    assert (
        c.status == Status.FAIL
        and "Model not quantized" in c.message
        and "Fix: convert with full-integer" in c.message
    )
    assert {
        found[n].status for n in ("edgetpu.all_mapped", "edgetpu.min_mapped", "edgetpu.max_partitions")
    } == {Status.SKIP}


def test_a_compile_that_maps_nothing_is_not_a_pass(model):
    r = StaticAnalyzer().analyze(model("batch2_conv"))
    c = checks(r, level="error")["edgetpu.compiles"]
    assert (
        c.status == Status.FAIL
        and "no op runs on the Edge TPU" in c.message
        and "batch dimension 2" in c.message
    )


def test_uncertain_ops_never_pass_silently(model):
    r = StaticAnalyzer().analyze(model("resize_nearest_plain"))
    found = checks(r, level="error", all_mapped=True, min_mapped="100%")
    assert found["edgetpu.all_mapped"].status == Status.WARN
    assert "not a confirmed pass" in found["edgetpu.all_mapped"].message
    assert found["edgetpu.min_mapped"].status == Status.WARN
    assert "only 0.0% if the first uncertain op is not mapped" in found["edgetpu.min_mapped"].message
    assert "confirm with edgetpu_compiler" in found["edgetpu.compiles"].message


def test_more_partitions_than_allowed(model):
    r = StaticAnalyzer().analyze(model("conv_chain_int8"))
    c = checks(r, level="warn", max_partitions=0)["edgetpu.max_partitions"]
    assert c.status == Status.WARN and c.limit == "≤ 0" and c.value == "1"


def test_min_mapped_is_skipped_for_compiled_input(model):
    from edgegate.targets.edgetpu.compiled import CompiledModelAnalyzer

    r = CompiledModelAnalyzer().analyze(model("leaky_relu_middle_edgetpu"))
    assert checks(r, level="error", min_mapped="50%")["edgetpu.min_mapped"].status == Status.SKIP


@pytest.mark.parametrize(
    "name", ["exp_int8", "leaky_relu_middle", "conv_chain_float32", "deeplab_head", "transpose"]
)
def test_no_message_ends_a_sentence_twice(model, name):
    """Hints and rejections end with their own full stop: the message around them adds none."""
    import re

    r = StaticAnalyzer().analyze(model(name))
    found = checks(r, level="error", all_mapped=True, min_mapped="50%", max_partitions=1)
    doubled = [c.message for c in found.values() if re.search(r"(?<!\.)\.\.(?!\.)", c.message)]
    assert doubled == []


ANNOTATED_POLICY = """\
version: 1
models:
  - name: kws
    path: kws.tflite
    edgetpu:
      level: error
      all_mapped: true
      min_mapped: 50%
      max_partitions: 1
    targets:
      compute:
        macs: {max: 1M}
        vs_base:
          macs: 5%
"""


def test_each_target_check_points_at_its_own_keys_line(model, tmp_path):
    """A real policy and a real analysis: ``edgetpu.min_mapped`` is annotated at ``min_mapped:``
    (line 8), not at the model's ``- name:`` line (3); a ``targets:`` check at its own key too."""
    from edgegate.policy.load import load_policy
    from edgegate.publishers.annotations import run_annotations
    from edgegate.results import CandidateResult, GitRef, ModelResult, RunResult
    from edgegate.targets import targets_for

    (tmp_path / "edgegate.yml").write_text(ANNOTATED_POLICY)
    policy = load_policy(tmp_path / "edgegate.yml", root=tmp_path).models[0]
    placed = {p.target.name: p for p in targets_for(policy, tmp_path)}
    tpu = placed["edgetpu"]
    found = tpu.target.checks(StaticAnalyzer().analyze(model("leaky_relu_middle")), None, tpu.place)
    lines = {c.name: c.line for c in found}
    assert lines == {
        "edgetpu.compiles": 5,  # the edgetpu: section
        "edgetpu.all_mapped": 7,
        "edgetpu.min_mapped": 8,
        "edgetpu.max_partitions": 9,
    }
    compute = placed["compute"]
    assert [compute.place.line_of(k) for k in ("macs.max", "vs_base.macs", "level")] == [12, 14, 11]
    assert compute.target.place(compute.place, "vs_base.macs", "vs_base.macs").line == 14
    # The annotations the action prints land on those lines.
    c = CandidateResult("as-is", "as-is", Status.FAIL, checks=tuple(found), deploy=True)
    m = ModelResult("kws", "kws.tflite", Status.FAIL, candidates=(c,), deploy="as-is")
    run = RunResult(Status.FAIL, GitRef("main", None), GitRef("pr", None), (m,), "edgegate.yml")
    broken = {a.title.split(" · ")[-1]: a.line for a in run_annotations(run)}
    assert broken == {"edgetpu.all_mapped": 7, "edgetpu.min_mapped": 8}
