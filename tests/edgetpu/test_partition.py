"""Partitioning on the data-flow graph, and the rules learnt from compiled pairs (reference §2).

Reference §2 (corrected): one Edge TPU partition; a CPU prologue before it does not stop mapping;
once it has started, an op runs on the CPU when it cannot be mapped or depends on an op that runs
on the CPU after it started; independent branches stay mapped. Where a rule is unknown the op is
``uncertain``, and uncertain ops never pass silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from edgegate.targets.edgetpu import graph
from edgegate.targets.edgetpu.compiled import CompiledModelAnalyzer
from edgegate.targets.flatbuffer import read_tflite
from edgegate.targets.edgetpu.interface import (
    AFTER_CUT,
    BAD_TYPE,
    MAPPED,
    UNSPECIFIED,
    UNSUPPORTED,
    EdgeTpuResult,
)
from edgegate.targets.edgetpu.static import StaticAnalyzer
from edgegate.policy.load import parse_edgetpu
from edgegate.status import Status
from edgegate.targets.edgetpu.target import edgetpu_checks
from edgegate.targets.interface import PolicyPlace


Corpus = Callable[[str], Path]  # the ``model`` fixture: corpus name -> converted .tflite


def static(path: Path, compiler: int = 16, runtime: int | None = None) -> EdgeTpuResult:
    return StaticAnalyzer(compiler, runtime).analyze(path)


def table(result: EdgeTpuResult) -> list[tuple[str, str]]:
    return [(o.op, o.status) for o in result.ops]


def test_a_branch_that_does_not_read_the_cpu_op_stays_mapped(model: Corpus) -> None:
    # Reference §2: "Ops on branches that do not depend on such a CPU op stay mapped, even when they come
    # later in execution order." The RELU branch is written after the LEAKY_RELU and the CONV_2D it cuts.
    r = static(model("branch_after_cpu_op"))
    assert table(r) == [
        ("CONV_2D", MAPPED),
        ("LEAKY_RELU", UNSUPPORTED),
        ("CONV_2D", AFTER_CUT),
        ("RELU", MAPPED),
        ("CONV_2D", MAPPED),
    ]
    assert (r.ops_on_tpu, r.ops_on_cpu, r.partitions, r.uncertain) == (3, 2, 1, 0)
    assert "depends on op #1 LEAKY_RELU" in r.ops[2].reason and not r.ops[2].uncertain
    assert r.first_unmapped.op == "LEAKY_RELU"


def test_an_input_cast_and_quantize_are_a_cpu_prologue(model: Corpus) -> None:
    # Reference §2: "Unmappable ops before the partition (a prologue that feeds it: e.g. an input CAST or a
    # QUANTIZE of a float input) do not stop mapping".
    r = static(model("cast_prologue"))
    assert table(r) == [
        ("CAST", BAD_TYPE),
        ("QUANTIZE", UNSPECIFIED),
        ("CONV_2D", MAPPED),
        ("CONV_2D", MAPPED),
    ]
    assert (r.ops_on_tpu, r.ops_on_cpu, r.partitions, r.uncertain) == (2, 2, 1, 0)
    assert r.first_unmapped.op == "CAST" and "drop the cast" in r.hint


def test_a_large_resize_goes_to_the_cpu_with_what_depends_on_it_and_says_uncertain(model: Corpus) -> None:
    # The compiled DeepLab pairs: the image-pooling resize (1x1 -> 33x33) and everything reading it run
    # on the CPU, the ASPP conv beside it stays mapped. Coral publishes no size rule: uncertain.
    r = static(model("deeplab_head"))
    assert table(r) == [
        ("CONV_2D", MAPPED),
        ("AVERAGE_POOL_2D", MAPPED),
        ("CONV_2D", MAPPED),
        ("RESIZE_BILINEAR", UNSPECIFIED),
        ("CONV_2D", MAPPED),
        ("CONCATENATION", AFTER_CUT),
        ("CONV_2D", AFTER_CUT),
    ]
    assert [o.index for o in r.ops if o.uncertain] == [3, 5, 6] and r.uncertain == 3
    assert "RESIZE_BILINEAR [1, 1, 1, 4] -> [1, 16, 16, 4] enlarges 16x" in r.ops[3].reason
    assert "if #3 maps, this op maps too" in r.ops[5].reason
    assert r.first_unmapped.index == 3 and "16x resize" in r.hint
    assert any("0 predicted on the Edge TPU, 3 on the CPU" in n for n in r.notes)


def test_a_2x_resize_still_maps_uncertain(model: Corpus) -> None:
    # WongKinYiu/yolov7#1672 (compiler 16): 2x upsampling mapped; still no public rule, so uncertain.
    r = static(model("resize_nearest_plain"))
    assert table(r) == [("RESIZE_NEAREST_NEIGHBOR", MAPPED)] and r.ops[0].uncertain


def test_int8_lstm_with_its_int16_cell_state_maps(model: Corpus) -> None:
    # Reference §2: "ops with int16/int32 internals by their int8 kernel spec (the LSTM's cell state and
    # biases) still map"; Table 1: LSTM from runtime 14.
    path = model("lstm_int8")
    lstm = read_tflite(path).operators[0]
    assert lstm.op == "UNIDIRECTIONAL_SEQUENCE_LSTM"
    assert read_tflite(path).tensors[lstm.inputs[19]].dtype == "int16"  # the converter's int16 cell state
    r = static(path)
    assert r.compiles and table(r) == [
        ("UNIDIRECTIONAL_SEQUENCE_LSTM", MAPPED),
        ("STRIDED_SLICE", MAPPED),
        ("FULLY_CONNECTED", MAPPED),
    ]
    assert r.uncertain == 0


def test_an_lstm_before_runtime_14_is_a_prologue(model: Corpus) -> None:
    # Table 1: LSTM maps from runtime 14. With -m 13 it is not supported; nothing mapped comes before it,
    # so it is a CPU prologue and the ops after it still map (reference §2).
    r = static(model("lstm_int8"), 16, 13)
    assert table(r) == [
        ("UNIDIRECTIONAL_SEQUENCE_LSTM", UNSUPPORTED),
        ("STRIDED_SLICE", MAPPED),
        ("FULLY_CONNECTED", MAPPED),
    ]


def test_only_the_cell_state_may_be_wider_than_8_bits(model: Corpus) -> None:
    r = static(model("lstm_int16_output_state"))
    assert table(r)[0] == ("UNIDIRECTIONAL_SEQUENCE_LSTM", BAD_TYPE) and "is int16" in r.ops[0].reason


def test_an_op_table_1_lacks_is_uncertain_and_keeps_its_dependents_mapped(model: Corpus) -> None:
    # Reference §2: "some ops map that Table 1 does not list ... Where a rule is unknown, say uncertain".
    r = static(model("split_v_middle"))
    assert [s for _, s in table(r)] == [MAPPED] * 5 and r.ops[1].op == "SPLIT_V"
    assert [o.index for o in r.ops if o.uncertain] == [1] and "not in Coral's" in r.ops[1].reason
    found = {
        c.name: c
        for c in edgetpu_checks(
            r, parse_edgetpu({"level": "error", "all_mapped": True}), PolicyPlace("models[0].edgetpu", 1)
        )
    }
    assert (
        found["edgetpu.all_mapped"].status == Status.WARN and "SPLIT_V" in found["edgetpu.all_mapped"].message
    )


def test_unlisted_ops_public_logs_show_unsupported_stay_unsupported(model: Corpus) -> None:
    r = static(model("leaky_relu_middle"))
    assert r.ops[1].status == UNSUPPORTED and not r.ops[1].uncertain
    assert "google-coral/edgetpu#165" in r.ops[1].reason


def test_a_cyclic_graph_is_a_damaged_file_not_a_crash(model: Corpus) -> None:
    path = model("cyclic_graph")
    g = graph.build(read_tflite(path))
    assert sorted(g.order) == [0, 1, 2, 3] and g.unordered == (0, 1, 2, 3)
    r = static(path)
    assert not r.compiles and r.rejection.startswith("Invalid model: the data-flow graph has a cycle")
    assert r.first_unmapped.index == 0 and "damaged" in r.hint


def test_graph_order_keeps_execution_order_of_a_well_formed_file(model: Corpus) -> None:
    g = graph.build(read_tflite(model("deeplab_head")))
    assert g.order == tuple(range(7)) and g.unordered == ()
    assert g.producers[5] == (3, 4) and g.consumers[0] == (1, 4)
    assert graph.depends_on(g, {3}) == {5, 6}


def test_compiled_model_ops_behind_the_partition_are_found_on_the_graph(model: Corpus) -> None:
    # leaky_relu_middle compiled: partition, LEAKY_RELU, CONV_2D, CONV_2D; the convs read the partition's
    # output through LEAKY_RELU, so they are behind the cut (reference §2), not merely after it.
    r = CompiledModelAnalyzer().analyze(model("leaky_relu_middle_edgetpu"))
    assert [o.status for o in r.ops] == [MAPPED, UNSUPPORTED, AFTER_CUT, AFTER_CUT]
