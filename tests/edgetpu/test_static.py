"""The static check's exact prediction for one converted model per rule.

Each test names where the rule comes from: the reference (shared/reference/edgetpu.md
sections, Coral's Table 1 in edgetpu_ops.json) or a public compiler log (issue threads).
"""

from __future__ import annotations

import pytest

from edgegate.targets.edgetpu.interface import (
    AFTER_CUT,
    BAD_RANK,
    BAD_TYPE,
    BAD_VERSION,
    MAPPED,
    NOT_CONSTANT,
    UNSPECIFIED,
    UNSUPPORTED,
)
from edgegate.targets.flatbuffer import read_tflite
from edgegate.targets.edgetpu.static import StaticAnalyzer


def static(path, compiler=16, runtime=None):
    return StaticAnalyzer(compiler, runtime).analyze(path)


def table(result):
    return [(o.op, o.status) for o in result.ops]


# --- whole-model rejections -------------------------------------------------------------------


def test_full_int8_model_maps_every_op(model):
    r = static(model("conv_chain_int8"))
    assert r.analyzer == "static" and r.compiles and r.compiler_version == "16 (static rules)"
    assert (r.ops_total, r.ops_on_tpu, r.ops_on_cpu, r.partitions, r.uncertain) == (4, 4, 0, 1, 0)
    assert r.first_unmapped is None and r.hint is None
    assert r.log.splitlines()[0] == "Operator                       Count      Status"
    assert "CONV_2D                        2          Mapped to Edge TPU" in r.log


@pytest.mark.parametrize(
    "name, why",
    [
        # Reference §1 and google-coral/edgetpu#213: an unquantized model is "Model not quantized".
        ("conv_chain_float32", "no op computes on 8-bit"),
        ("conv_chain_float16", "weights are float16"),
        # Reference §1: int16 activations (16x8) are not 8-bit.
        ("conv_chain_int16x8", "activations are int16"),
    ],
)
def test_models_that_are_not_8_bit_are_rejected(model, name, why):
    r = static(model(name))
    assert not r.compiles and r.rejection.startswith("Model not quantized")
    assert why in r.rejection
    assert (r.ops_on_tpu, r.partitions) == (0, 0) and r.ops_on_cpu == r.ops_total
    assert "int8" in r.hint


def test_dynamic_range_model_fails_parsing_first_then_quantization(model):
    # Today's converter writes hybrid FULLY_CONNECTED as v12 (TFLite 2.17): the compiler's TFLite 2.6 resolver
    # stops there (reference §3), before its "Model not quantized" check (google-coral/edgetpu#238).
    r = static(model("dense_dynamic_range"))
    assert not r.compiles
    assert r.rejection.startswith("Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'")
    assert r.first_unmapped.op == "FULLY_CONNECTED" and r.first_unmapped.status == BAD_VERSION
    assert any("Model not quantized" in n and "dynamic-range" in n for n in r.notes)
    assert r.hint.startswith("dynamic-range quantization keeps activations in float")


def test_a_dynamic_batch_compiles_as_batch_1(model):
    # Every default Keras export has shape_signature [-1, ...]; the compiler's interpreter sizes
    # tensors from the stored shape (batch 1), and Coral's TF2 retraining tutorial compiles such files.
    dynamic, fixed = static(model("keras_dynamic_batch")), static(model("keras_batch_1"))
    assert read_tflite(model("keras_dynamic_batch")).tensors[0].signature[0] == -1
    assert dynamic.compiles and dynamic.rejection is None
    assert dynamic.ops_on_tpu == dynamic.ops_total == fixed.ops_on_tpu == fixed.ops_total
    assert table(dynamic) == table(fixed) and dynamic.partitions == 1
    assert any("dynamic batch" in n and "[1, 16, 16, 3]" in n for n in dynamic.notes)
    assert not any("dynamic batch" in n for n in fixed.notes)


def test_a_shape_computed_at_run_time_rejects_the_model(model):
    # tensorflow/tensorflow#88361: a Keras Reshape with a None batch converts to SHAPE → STRIDED_SLICE
    # → PACK → RESHAPE; the compiler's interpreter makes that RESHAPE's output dynamic-sized.
    r = static(model("keras_dynamic_batch_se"))
    assert not r.compiles
    assert r.rejection.startswith(
        "ERROR: Attempting to use a delegate that only supports static-sized tensors"
    )
    assert r.first_unmapped.op == "RESHAPE" and "computed when the model runs" in r.rejection
    assert "export with batch 1" in r.hint and not any("compiles the stored shape" in n for n in r.notes)
    fixed = static(model("keras_batch_1_se"))  # batch 1: the converter folds the shape to a constant
    assert fixed.compiles and fixed.ops_on_tpu == fixed.ops_total


def test_other_dynamic_dimensions_are_not_predicted(model):
    r = static(model("keras_dynamic_size"))
    assert not r.compiles and "[-1, -1, -1, 3]" in r.rejection and "placeholder" in r.rejection
    assert "fixed input shape" in r.hint


@pytest.mark.parametrize(
    "name, op, version, first_tflite",
    [
        ("grouped_conv", "CONV_2D", 6, "2.9.0"),  # reference §3: CONV_2D 6 (grouped convolution)
        ("exp_int8", "EXP", 2, "2.12.0"),  # google-coral/libedgetpu#71 (compiler 16 rejects EXP v2)
    ],
)
@pytest.mark.parametrize("compiler", [14, 15, 16])
def test_op_versions_newer_than_every_compiler_reject_the_model(
    model, name, op, version, first_tflite, compiler
):
    r = static(model(name), compiler)
    assert not r.compiles
    assert r.rejection.startswith(f"Didn't find op for builtin opcode '{op}' version '{version}'")
    assert f"TFLite {first_tflite}" in r.rejection
    assert r.first_unmapped.op == op and "newer than every edgetpu_compiler" in r.hint


def test_rsqrt_v2_needs_compiler_16_and_runtime_14(model):
    # google-coral/edgetpu#384: compiler 15 "Didn't find op for builtin opcode 'RSQRT' version '2'".
    r15 = static(model("rsqrt_int8"), 15)
    assert not r15.compiles and "'RSQRT' version '2'" in r15.rejection
    assert "needs compiler 16" in r15.hint
    # Compiler 16 reads it; Table 1 maps RSQRT from runtime 14.
    assert table(static(model("rsqrt_int8"), 16)) == [("MUL", MAPPED), ("ADD", MAPPED), ("RSQRT", MAPPED)]
    r13 = static(model("rsqrt_int8"), 16, runtime=13)
    assert table(r13)[2] == ("RSQRT", UNSUPPORTED) and "runtime 14" in r13.ops[2].reason


# --- partitioning -----------------------------------------------------------------------------


def test_unsupported_op_in_the_middle_cuts_the_graph(model):
    # Reference §2 (corrected): once the partition has started, an op runs on the CPU when it "depends
    # (through its inputs, transitively) on an op that runs on the CPU after the partition started": both
    # convs read LEAKY_RELU's output. (This chain gives the same answer as the old "first unmapped op cuts
    # the rest" wording; test_partition.py has the branches where the two differ.)
    r = static(model("leaky_relu_middle"))
    assert table(r) == [
        ("CONV_2D", MAPPED),
        ("LEAKY_RELU", UNSUPPORTED),
        ("CONV_2D", AFTER_CUT),
        ("CONV_2D", AFTER_CUT),
    ]
    assert (r.ops_on_tpu, r.ops_on_cpu, r.partitions) == (1, 3, 1)
    b = r.first_unmapped
    assert (b.index, b.op, b.status) == (1, "LEAKY_RELU", UNSUPPORTED) and b.tensor
    assert "LEAKY_RELU has no Edge TPU kernel" in r.hint
    assert "CONV_2D                        1          More than one subgraph is not supported" not in r.log
    assert "CONV_2D                        2          More than one subgraph is not supported" in r.log


def test_an_unmappable_op_after_the_cut_keeps_its_own_status(model):
    # google-coral/edgetpu#342 and tensorflow/tensorflow#42024: ops behind the cut that cannot map anyway
    # are logged with their own reason, not "More than one subgraph".
    r = static(model("unsupported_after_cut"))
    assert table(r) == [
        ("CONV_2D", MAPPED),
        ("LEAKY_RELU", UNSUPPORTED),
        ("CONV_2D", AFTER_CUT),
        ("HARD_SWISH", UNSUPPORTED),
        ("CONV_2D", AFTER_CUT),
    ]
    assert r.first_unmapped.op == "LEAKY_RELU"


def test_float_io_conversions_stay_on_the_cpu_without_cutting(model):
    # f0cal/google-coral#20 (MobileNetV2, float io): QUANTIZE "otherwise supported, but not mapped",
    # DEQUANTIZE "unsupported data type", every other op mapped.
    r = static(model("conv_chain_float-io"))
    assert table(r) == [
        ("QUANTIZE", UNSPECIFIED),
        ("CONV_2D", MAPPED),
        ("DEPTHWISE_CONV_2D", MAPPED),
        ("CONV_2D", MAPPED),
        ("AVERAGE_POOL_2D", MAPPED),
        ("DEQUANTIZE", BAD_TYPE),
    ]
    assert (r.ops_on_tpu, r.ops_on_cpu, r.partitions) == (4, 2, 1)
    assert r.first_unmapped.op == "QUANTIZE" and "int8 or uint8 input" in r.hint


def test_uint8_io_quantize_ops_map(model):
    # google-coral/edgetpu#342 and WongKinYiu/yolov7#1672 logs: QUANTIZE between 8-bit types is mapped.
    r = static(model("conv_chain_uint8"))
    assert [s for _, s in table(r)] == [MAPPED] * 6


def test_float_fallback_island_cuts_at_its_dequantize(model):
    r = static(model("float_fallback_middle"))
    assert table(r) == [
        ("CONV_2D", MAPPED),
        ("DEQUANTIZE", BAD_TYPE),
        ("COS", BAD_TYPE),
        ("QUANTIZE", UNSPECIFIED),
        ("CONV_2D", AFTER_CUT),
    ]
    assert r.first_unmapped.op == "DEQUANTIZE" and "left in float" in r.hint


def test_custom_op_runs_on_the_cpu_and_cuts(model):
    r = static(model("custom_op_middle"))
    assert table(r) == [
        ("CONV_2D", MAPPED),
        ("CUSTOM", UNSUPPORTED),
        ("CONV_2D", AFTER_CUT),
        ("AVERAGE_POOL_2D", AFTER_CUT),
    ]
    assert "custom op 'MyOp'" in r.first_unmapped.reason
    assert "CUSTOM                         1          Operation not supported" in r.log


def test_only_the_first_subgraph_is_mapped(model):
    r = static(model("two_subgraphs"))
    assert (r.ops_total, r.ops_on_tpu) == (4, 4)
    assert any("2 subgraphs" in n for n in r.notes)


# --- data types, runtime versions, constants, rank ---------------------------------------------


@pytest.mark.parametrize("runtime, expected", [(10, BAD_TYPE), (11, BAD_TYPE), (12, MAPPED), (14, MAPPED)])
def test_signed_int8_needs_runtime_12(model, runtime, expected):
    # google-coral/edgetpu#222 and #439: with -m 10/11 every int8 op is "unsupported data type".
    r = static(model("conv_chain_int8"), 16, runtime)
    assert {s for _, s in table(r)} == {expected}
    assert r.runtime_version == runtime


def test_op_newer_than_the_target_runtime_is_not_supported(model):
    # Table 1: TRANSPOSE from runtime 14; google-coral/edgetpu#342 (compiler 15, runtime 13): "Operation not
    # supported".
    assert table(static(model("transpose"), 15)) == [("TRANSPOSE", UNSUPPORTED)]
    assert table(static(model("transpose_conv"), 16, 12)) == [("TRANSPOSE_CONV", UNSUPPORTED)]
    assert table(static(model("transpose_conv"), 16, 13)) == [("TRANSPOSE_CONV", MAPPED)]


def test_transpose_at_runtime_14_is_uncertain(model):
    # google-coral/edgetpu#433: compiler 16 left a TRANSPOSE "not mapped due to some unspecified limitation".
    r = static(model("transpose"))
    assert table(r) == [("TRANSPOSE", MAPPED)] and r.ops[0].uncertain and r.uncertain == 1


def test_batch_larger_than_one_is_an_unsupported_rank(model):
    # Reference §1: [3,128,128,1] does not map; a batch > 1 is the usual cause.
    r = static(model("batch2_conv"))
    assert table(r) == [("CONV_2D", BAD_RANK)] and r.partitions == 0
    assert r.hint == "batch dimension 2: export with batch 1."


def test_weights_computed_at_run_time_are_not_constant(model):
    # google-coral/edgetpu#25: FULLY_CONNECTED "Filter, bias, or other param is not constant at compile-time".
    assert table(static(model("dense"))) == [("FULLY_CONNECTED", MAPPED)]
    r = static(model("fc_runtime_weights"))
    assert table(r) == [("FULLY_CONNECTED", NOT_CONSTANT)]


# --- Table 1 limitations, one per op ------------------------------------------------------------


def test_conv_dilation_must_match_in_x_and_y(model):
    r = static(model("conv_dilation_1x2"))
    assert table(r) == [("CONV_2D", UNSPECIFIED)] and "dilation 1x2" in r.ops[0].reason


@pytest.mark.parametrize("runtime, expected", [(12, UNSPECIFIED), (13, MAPPED)])
def test_dilated_depthwise_conv_maps_from_runtime_13(model, runtime, expected):
    assert table(static(model("depthwise_dilation_2x2"), 16, runtime)) == [("DEPTHWISE_CONV_2D", expected)]


@pytest.mark.parametrize(
    "name, op", [("maxpool_fused_relu", "MAX_POOL_2D"), ("concat_fused_relu", "CONCATENATION")]
)
def test_no_fused_activation_on_pooling_and_concatenation(model, name, op):
    r = static(model(name))
    assert table(r) == [(op, UNSPECIFIED)] and "fused RELU" in r.ops[0].reason


@pytest.mark.parametrize(
    "name, expected",
    [
        ("concat2", MAPPED),
        ("concat_zeros", MAPPED),
        ("concat_ones", UNSPECIFIED),
        ("concat3_zeros", UNSPECIFIED),
    ],
)
def test_concatenation_with_a_constant_is_only_a_zero_padding_of_two_inputs(model, name, expected):
    assert table(static(model(name))) == [("CONCATENATION", expected)]


def test_fully_connected_output_must_be_one_dimensional(model):
    assert table(static(model("fc_rows"))) == [("FULLY_CONNECTED", UNSPECIFIED)]


def test_fully_connected_keep_num_dims_version_is_not_mapped(model):
    # Reference §3: FULLY_CONNECTED 5+ (keep_num_dims, no bias, int16).
    r = static(model("fc_keep_dims"))
    assert table(r) == [("FULLY_CONNECTED", BAD_VERSION)] and "flatten before the Dense layer" in r.hint


@pytest.mark.parametrize(
    "name, runtime, expected",
    [
        ("mean_xy", 14, MAPPED),
        ("mean_batch_axis", 14, UNSPECIFIED),
        ("mean_channels_6", 14, UNSPECIFIED),  # a z-reduction needs a multiple of 4 channels (runtime 13+)
        ("mean_channels_8", 14, MAPPED),
        ("mean_channels_8", 12, UNSPECIFIED),  # runtime 10-12: reduction along x and/or y only
        ("sum_batch_axis", 14, UNSPECIFIED),
        ("sum_batch_axis", 12, UNSUPPORTED),  # SUM from runtime 13
        ("reduce_max_batch_axis", 14, UNSPECIFIED),
        ("reduce_max_batch_axis", 13, UNSUPPORTED),  # REDUCE_MAX from runtime 14
        ("reduce_min_xy", 14, MAPPED),
    ],
)
def test_reductions(model, name, runtime, expected):
    assert [s for _, s in table(static(model(name), 16, runtime))] == [expected]


@pytest.mark.parametrize(
    "name, runtime, expected",
    [("pad_xy", 12, MAPPED), ("pad_channels", 12, UNSPECIFIED), ("pad_channels", 13, MAPPED)],
)
def test_pad_before_runtime_13_pads_only_x_and_y(model, name, runtime, expected):
    assert table(static(model(name), 16, runtime)) == [("PAD", expected)]


def test_prelu_alpha_must_be_one_dimensional(model):
    assert table(static(model("prelu_shared"))) == [("PRELU", MAPPED)]
    r = static(model("prelu_full_alpha"))
    assert table(r) == [("PRELU", UNSPECIFIED)] and "shared_axes=[1, 2]" in r.hint
    assert table(static(model("prelu_shared"), 16, 12)) == [("PRELU", UNSUPPORTED)]  # PReLU from runtime 13


@pytest.mark.parametrize(
    "name, expected",
    [("softmax_vector", MAPPED), ("softmax_rank3", UNSPECIFIED), ("softmax_20000", UNSPECIFIED)],
)
def test_softmax_is_a_vector_of_at_most_16000(model, name, expected):
    assert table(static(model(name))) == [("SOFTMAX", expected)]


@pytest.mark.parametrize("runtime, expected", [(12, UNSPECIFIED), (13, MAPPED)])
def test_squeeze_before_runtime_13_removes_only_leading_ones(model, runtime, expected):
    assert table(static(model("squeeze_relayout"), 16, runtime)) == [("SQUEEZE", expected)]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("strided_slice_unit", MAPPED),
        ("strided_slice_stride2", UNSPECIFIED),
        ("strided_slice_new_axis_mask", UNSPECIFIED),
    ],
)
def test_strided_slice_needs_unit_strides_and_no_ellipsis_or_new_axis(model, name, expected):
    assert table(static(model(name))) == [("STRIDED_SLICE", expected)]


def test_half_pixel_resize_is_a_version_compilers_14_and_15_do_not_map(model):
    # google-coral/edgetpu#420 (15.0), tensorflow/tensorflow#42024 (14.1): "Operation version not supported".
    for compiler in (14, 15):
        assert table(static(model("resize_bilinear_half_pixel"), compiler)) == [
            ("RESIZE_BILINEAR", BAD_VERSION)
        ]
    # Compiler 16 logs show half-pixel resizes mapped (WongKinYiu/yolov7#1672) and not: uncertain, no guess.
    r = static(model("resize_bilinear_half_pixel"), 16)
    assert table(r) == [("RESIZE_BILINEAR", MAPPED)] and r.ops[0].uncertain


def test_resize_is_uncertain_because_of_its_size_rule(model):
    # Table 1: "Depending on input/output size, this operation may not be mapped" (google-coral/edgetpu#31).
    r = static(model("resize_nearest_plain"))
    assert table(r) == [("RESIZE_NEAREST_NEIGHBOR", MAPPED)] and r.uncertain == 1
    assert any("confirm with edgetpu_compiler" in n for n in r.notes)


def test_large_reshape_is_uncertain_and_small_one_maps(model):
    assert not static(model("reshape_small")).uncertain
    r = static(model("reshape_large"))
    assert table(r) == [("RESHAPE", MAPPED)] and r.ops[0].uncertain


def test_ops_without_limitations_map(model):
    r = static(model("supported_ops_mix"))
    assert r.ops_on_cpu == 0 and r.uncertain == 0
    assert {
        "LOGISTIC",
        "TANH",
        "MAXIMUM",
        "MINIMUM",
        "MUL",
        "ADD",
        "SUB",
        "SQUARED_DIFFERENCE",
        "L2_NORMALIZATION",
        "SPACE_TO_DEPTH",
        "SLICE",
        "AVERAGE_POOL_2D",
        "CONCATENATION",
    } <= {o.op for o in r.ops}
    # SQUARED_DIFFERENCE maps from runtime 14 only.
    r13 = static(model("supported_ops_mix"), 16, 13)
    assert r13.first_unmapped.op == "SQUARED_DIFFERENCE" and r13.first_unmapped.status == UNSUPPORTED


def test_runtime_above_the_compilers_range_is_lowered_with_a_note(model):
    r = static(model("conv_chain_int8"), 15, 14)
    assert r.runtime_version == 13 and any("targets runtime 13 at most" in n for n in r.notes)
