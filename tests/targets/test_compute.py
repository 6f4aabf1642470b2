"""The compute target: MAC counts worked out by hand from the shapes in conftest.py, and its checks."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from edgegate.errors import InputError
from edgegate.status import Level, Status
from edgegate.targets.compute.target import (
    ComputeSettings,
    ComputeTarget,
    count,
    format_macs,
    parse_macs,
    parse_macs_change,
)
from edgegate.targets.interface import AS_IS, PolicyPlace
from edgegate.targets.flatbuffer import read_tflite

WHERE = PolicyPlace("models[0].targets.compute", 12)

CONV = 10 * 10 * 16 * 3 * 3 * 8  # Conv2D 3×3, 8→16, 10×10 'same': every output × kernel area × in
DEPTHWISE = 10 * 10 * 32 * 3 * 3  # multiplier 2: 32 output channels, each a 3×3 window of one input
DENSE = 32 * 10


def macs(models, name: str) -> dict[str, int | None]:
    report = ComputeTarget().analyze(models(name))
    return {o.op: o.macs for o in report.ops}


@pytest.mark.parametrize("mode", ["int8", "int16x8", "float32", "float16", "dynamic"])
def test_conv_depthwise_dense_by_hand(models, mode):
    report = ComputeTarget().analyze(models(f"conv_stack_{mode}"))
    counted = {o.op: o.macs for o in report.ops if o.op not in ("QUANTIZE", "DEQUANTIZE")}
    assert counted == {"CONV_2D": CONV, "DEPTHWISE_CONV_2D": DEPTHWISE, "MEAN": 0, "FULLY_CONNECTED": DENSE}
    assert report.total == CONV + DEPTHWISE + DENSE  # the arithmetic does not depend on the number format
    assert report.exact


def test_per_op_list_and_top(models):
    path = models("conv_stack_int8")
    report = ComputeTarget().analyze(path)
    info = read_tflite(path)
    assert [o.index for o in report.ops] == list(range(len(info.operators)))
    conv = next(o for o in report.ops if o.op == "CONV_2D")
    assert conv.output == info.tensors[info.operators[conv.index].outputs[0]].name
    assert [o.op for o in report.top(2)] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert all(o.macs for o in report.top(10))  # zero-MAC ops never rank
    assert report.by_op()[0] == ("CONV_2D", CONV)


def test_strided_valid_conv(models):
    assert macs(models, "strided_valid") == {"CONV_2D": 4 * 4 * 4 * 3 * 3 * 3}  # 9×9 → 4×4, stride 2


def test_grouped_conv_counts_the_channels_of_one_group(models):
    assert macs(models, "grouped_conv") == {"CONV_2D": 5 * 5 * 6 * 3 * 3 * 4}  # 8 inputs in 2 groups of 4


def test_transpose_conv_scatters_a_kernel_per_input(models):
    assert macs(models, "transpose_conv") == {"TRANSPOSE_CONV": 6 * 7 * 8 * 3 * 3 * 5}


@pytest.mark.parametrize("name", ["batch_matmul", "batch_matmul_adjoint"])
def test_batch_matmul(models, name):
    counted = macs(models, name)
    assert counted["BATCH_MATMUL"] == 2 * 3 * 5 * 4  # batch 2 of (3×4)·(4×5), transposed or not


def test_dense_on_3d_input(models):
    assert macs(models, "dense_3d") == {"FULLY_CONNECTED": 4 * 7 * 6}


def test_conv3d_and_its_transpose(models):
    assert macs(models, "conv3d") == {"CONV_3D": 5 * 6 * 7 * 6 * 3 * 3 * 3 * 4}
    assert macs(models, "conv3d_transpose") == {"CONV_3D_TRANSPOSE": 3 * 4 * 5 * 4 * 2 * 2 * 2 * 3}


def test_elementwise_ops_are_not_macs(models):
    report = ComputeTarget().analyze(models("elementwise"))
    assert report.total == 0 and report.exact
    assert {o.op for o in report.ops} >= {"MUL", "ADD"}


def _with_custom_op(source: Path, target: Path) -> Path:
    """The conv stack with its depthwise conv turned into a custom op (the same tensors)."""
    from ai_edge_litert import schema_py_generated as s
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(source)
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
    code.customCode, code.version = "MyDepthwise", 1
    model.operatorCodes.append(code)
    ops = model.subgraphs[0].operators
    op = next(
        o
        for o in ops
        if model.operatorCodes[o.opcodeIndex].builtinCode == s.BuiltinOperator.DEPTHWISE_CONV_2D
    )
    op.opcodeIndex, op.builtinOptionsType, op.builtinOptions = len(model.operatorCodes) - 1, 0, None
    op.customOptions = list(b"\x00")
    flatbuffer_utils.write_model(model, str(target))
    return target


def test_custom_op_is_not_counted_and_the_budget_cannot_pass(models, tmp_path):
    path = _with_custom_op(models("conv_stack_float32"), tmp_path / "custom.tflite")
    report = ComputeTarget().analyze(path)
    (custom,) = report.uncounted_ops
    assert custom.op == "CUSTOM(MyDepthwise)" and custom.macs is None and "custom op" in custom.uncounted
    assert report.total == CONV + DENSE and not report.exact
    target = ComputeTarget(ComputeSettings(max_macs=10 * report.total))
    (check,) = target.checks(report, None, WHERE)
    assert check.status is Status.WARN and "cannot be confirmed" in check.message
    assert "≥" in target.summary(report) and "CUSTOM(MyDepthwise)" in target.summary(report)
    # Over the budget already with the counted part: that is a real failure.
    (check,) = ComputeTarget(ComputeSettings(max_macs=CONV)).checks(report, None, WHERE)
    assert check.status is Status.FAIL


def test_max_budget_pass_fail_warn(models):
    report = ComputeTarget().analyze(models("conv_stack_int8"))
    total = CONV + DEPTHWISE + DENSE
    (ok,) = ComputeTarget(ComputeSettings(max_macs=total)).checks(report, None, WHERE)
    assert ok.status is Status.PASS and ok.name == "compute.macs"
    assert ok.key == "models[0].targets.compute.macs.max" and ok.line == 12
    (over,) = ComputeTarget(ComputeSettings(max_macs=total - 1)).checks(report, None, WHERE)
    assert over.status is Status.FAIL and over.message.endswith("over the ≤ 144,319 (144K) budget by 1.")
    assert over.value == "144,320 (144K)" and over.limit == "≤ 144,319 (144K)"
    (warned,) = ComputeTarget(ComputeSettings(Level.WARN, max_macs=total - 1)).checks(report, None, WHERE)
    assert warned.status is Status.WARN


def test_vs_base(models):
    head = ComputeTarget().analyze(models("conv_stack_int8"))  # 144,320 MACs
    base = ComputeTarget().analyze(models("strided_valid"))  # 1,728 MACs
    growth = (head.total - base.total) / base.total
    allow = lambda text: ComputeTarget(ComputeSettings(max_increase=parse_macs_change(text)))  # noqa: E731
    (fail,) = allow(f"{growth * 100 - 1:.0f}%").checks(head, base, WHERE)
    assert fail.status is Status.FAIL and fail.name == "compute.vs_base.macs" and "grew" in fail.message
    (ok,) = allow(f"{growth * 100 + 1:.0f}%").checks(head, base, WHERE)
    assert ok.status is Status.PASS
    (absolute,) = allow(str(head.total - base.total)).checks(head, base, WHERE)
    assert absolute.status is Status.PASS  # exactly the allowed increase
    (shrink,) = allow("0%").checks(base, head, WHERE)
    assert shrink.status is Status.PASS and "shrank" in shrink.message
    (new,) = allow("5%").checks(head, None, WHERE)
    assert new.status is Status.SKIP


def test_skipped_and_failed_name_every_configured_check():
    target = ComputeTarget(ComputeSettings(max_macs=1, max_increase=parse_macs_change("5%")))
    skipped = target.skipped("why", WHERE)
    assert [c.name for c in skipped] == ["compute.macs", "compute.vs_base.macs"]
    assert all(c.status is Status.SKIP and "why" in c.message for c in skipped)
    failed = ComputeTarget(ComputeSettings(Level.WARN)).failed("boom", WHERE)
    assert [(c.name, c.status) for c in failed] == [("compute", Status.WARN)] and "boom" in failed[0].message


def test_never_applies_to_nothing():
    assert all(
        ComputeTarget().never_applies(c) is None for c in ("float32", "float16", "dynamic", "int8", AS_IS)
    )


def test_report_is_a_picklable_value(models):
    report = ComputeTarget().analyze(models("conv_stack_int8"))
    assert pickle.loads(pickle.dumps(report)) == report
    assert count(read_tflite(models("conv_stack_int8"))) == report


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"\x00" * 64, b"1234TFL3" + b"\xff" * 40])
def test_garbage_is_an_input_error_naming_the_file(tmp_path, content):
    path = tmp_path / "pr_model.tflite"
    path.write_bytes(content)
    with pytest.raises(InputError, match="pr_model.tflite"):
        ComputeTarget().analyze(path)


def test_truncated_model_is_an_input_error(models, tmp_path):
    data = models("conv_stack_int8").read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.tflite"):
        ComputeTarget().analyze(path)


# --- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("300M", 300_000_000),
        ("1.2G", 1_200_000_000),
        ("850k", 850_000),
        ("12 MMACs", 12_000_000),
        ("512", 512),
        (7, 7),
    ],
)
def test_parse_macs(text, value):
    assert parse_macs(text) == value


@pytest.mark.parametrize("text", ["-1M", "1.5", "abc", "10X", "M", True])
def test_parse_macs_refuses(text):
    with pytest.raises(ValueError):
        parse_macs(text)


def test_parse_macs_change():
    assert parse_macs_change("5%").relative and parse_macs_change("5%").allowed(200) == pytest.approx(10)
    assert parse_macs_change("10M").allowed(1) == 10_000_000 and not parse_macs_change("10M").relative
    with pytest.raises(ValueError):
        parse_macs_change("-5%")


def test_format_macs():
    assert [format_macs(n) for n in (512, 1728, 144_320, 11_934_128, 1_234_000_000)] == [
        "512",
        "1.73K",
        "144K",
        "11.9M",
        "1.23G",
    ]


def test_settings_parse():
    s = ComputeSettings.parse({"macs": {"max": "300M"}, "vs_base": {"macs": "5%"}, "level": "warn"})
    assert s == ComputeSettings(Level.WARN, 300_000_000, parse_macs_change("5%"))
    assert ComputeSettings.parse(None) == ComputeSettings()
    for bad, key in (
        ({"mac": 1}, "unknown"),
        ({"macs": "300M"}, "compute.macs"),
        ({"macs": {"max": "3 apples"}}, "compute.macs.max"),
        ({"vs_base": {"macs": "x"}}, "compute.vs_base.macs"),
        ({"level": "loud"}, "compute.level"),
    ):
        with pytest.raises(ValueError, match=key):
            ComputeSettings.parse(bad)


def test_op_without_outputs_is_not_counted(models, tmp_path):
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(models("conv_stack_float32")))
    model.subgraphs[0].operators[-1].outputs = []  # the dense layer, writing nowhere
    path = tmp_path / "no_output.tflite"
    flatbuffer_utils.write_model(model, str(path))
    report = ComputeTarget().analyze(path)
    (dense,) = report.uncounted_ops
    assert dense.op == "FULLY_CONNECTED" and "output is missing" in (dense.uncounted or "")


def _lying(models, tmp_path) -> Path:
    """conv_stack_float32 with every CONV_2D/DEPTHWISE_CONV_2D output stored as 1×1: LiteRT recomputes them."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(models("conv_stack_float32"))
    graph = model.subgraphs[0]
    convs = {schema.BuiltinOperator.CONV_2D, schema.BuiltinOperator.DEPTHWISE_CONV_2D}
    for op in graph.operators:
        if model.operatorCodes[op.opcodeIndex].builtinCode in convs:
            t = graph.tensors[op.outputs[0]]
            t.shape = [t.shape[0], 1, 1, t.shape[3]]
            t.shapeSignature = None
    path = tmp_path / "lying_shapes.tflite"
    flatbuffer_utils.write_model(model, str(path))
    return path


def _outputs(path: Path, x):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def test_macs_are_counted_at_the_shapes_the_interpreter_runs(models, tmp_path):
    import numpy as np

    honest_path, lying_path = models("conv_stack_float32"), _lying(models, tmp_path)
    stored = count(read_tflite(lying_path))  # what the file claims
    assert stored.total < CONV + DEPTHWISE + DENSE
    x = np.random.default_rng(3).standard_normal((1, 10, 10, 8)).astype(np.float32)
    assert np.array_equal(_outputs(honest_path, x), _outputs(lying_path, x))  # the same model runs
    honest, lying = ComputeTarget().analyze(honest_path), ComputeTarget().analyze(lying_path)
    assert lying.total == honest.total == CONV + DEPTHWISE + DENSE
    assert lying.shapes_recomputed >= 2 and honest.shapes_recomputed == 0 and lying.exact
    target = ComputeTarget(ComputeSettings(max_macs=stored.total))
    (check,) = target.checks(lying, None, WHERE)
    assert check.status is Status.FAIL and "counted at the interpreter's" in check.message
    assert "differ from those the interpreter computes" in target.summary(lying)


def test_a_model_the_interpreter_cannot_allocate_is_not_confirmed(tmp_path, models):
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(models("conv_stack_float32"))
    graph = model.subgraphs[0]
    graph.tensors[graph.inputs[0]].shape = [2**31 - 1, 2**31 - 1, 4, 8]  # no interpreter can allocate it
    path = tmp_path / "unallocatable.tflite"
    flatbuffer_utils.write_model(model, str(path))
    report = ComputeTarget().analyze(path)
    assert report.shapes_unchecked is not None and not report.exact
    (check,) = ComputeTarget(ComputeSettings(max_macs=10**30)).checks(report, None, WHERE)
    assert check.status is Status.WARN and "unconfirmed" in check.message
