"""``edgegate edgetpu MODEL``: the report for people, JSON, and exit codes 0 / 1 / 2."""

from __future__ import annotations

import json

from edgegate.cli.edgetpu import edgetpu
from edgegate.targets.edgetpu.interface import EdgeTpuResult
from edgegate.results.codec import decode


def test_fully_mapped_model_exits_0(model, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert edgetpu(model("conv_chain_uint8")) == 0
    out = capsys.readouterr().out
    assert "static prediction (edgetpu_compiler 16 rules, runtime 14; no compiler was run)" in out
    assert "Compiles: 6/6 ops on the Edge TPU, 0 on the CPU, 1 Edge TPU partition(s)." in out
    assert "Operator                       Count      Status" in out


def test_partly_mapped_model_exits_1_with_blocker_fix_and_table(model, capsys):
    assert edgetpu(model("leaky_relu_middle"), compiler="static") == 1
    out = capsys.readouterr().out
    assert "First blocking op: #1 LEAKY_RELU" in out and "Fix: LEAKY_RELU has no Edge TPU kernel" in out
    assert "CONV_2D                        2          More than one subgraph is not supported" in out


def test_rejected_model_exits_1(model, capsys):
    assert edgetpu(model("grouped_conv"), compiler="static", compiler_version=14) == 1
    assert (
        "Does not compile: Didn't find op for builtin opcode 'CONV_2D' version '6'" in capsys.readouterr().out
    )


def test_uncertain_ops_are_listed(model, capsys):
    assert edgetpu(model("transpose"), compiler="static") == 0
    out = capsys.readouterr().out
    assert "Uncertain (1)" in out and "#0 TRANSPOSE" in out


def test_json_is_the_result_dict(model, capsys):
    assert edgetpu(model("leaky_relu_middle"), compiler="static", runtime=13, as_json=True) == 1
    data = json.loads(capsys.readouterr().out)
    result = decode(EdgeTpuResult, data)
    assert result.runtime_version == 13 and result.first_unmapped.op == "LEAKY_RELU" and len(result.ops) == 4


def test_unusable_input_exits_2_without_a_traceback(tmp_path, capsys):
    bad = tmp_path / "model.tflite"
    bad.write_text("hello")
    assert edgetpu(bad, compiler="static") == 2
    assert capsys.readouterr().out.startswith(f"edgegate: {bad}: not a TensorFlow Lite model")
    assert edgetpu(bad, compiler="static", as_json=True) == 2
    assert "not a TensorFlow Lite model" in json.loads(capsys.readouterr().out)["error"]


def test_invalid_options_exit_2(model, capsys):
    assert edgetpu(model("conv_chain_int8"), compiler_version=13) == 2
    assert "compiler_version" in capsys.readouterr().out
    assert edgetpu(model("conv_chain_int8"), compiler=str(model("conv_chain_int8").parent / "none")) == 2


def test_output_to_a_stream(model):
    import io

    stream = io.StringIO()
    assert edgetpu(model("conv_chain_int8"), compiler="static", stream=stream) == 0
    assert "Compiles: 4/4 ops" in stream.getvalue()


def test_uncertain_ops_say_where_they_are_counted_as_the_totals_do(model, capsys):
    """DeepLab's head: three uncertain ops the partition rule puts on the CPU are not "predicted
    mapped" beside totals that count them on the CPU."""
    edgetpu(model("deeplab_head"), compiler="static")
    out = capsys.readouterr().out
    listed = [line for line in out.splitlines() if line.startswith("  #")]
    assert "Uncertain (3): rules the file cannot settle; confirm with edgetpu_compiler:" in out
    assert len(listed) == 3 and all("counted on the CPU" in line for line in listed), listed
    assert "predicted mapped" not in out
