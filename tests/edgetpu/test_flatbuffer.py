"""The .tflite reader: agrees with the generated schema bindings and refuses damaged files clearly."""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from edgegate.targets.flatbuffer import read_tflite
from edgegate.targets.edgetpu.static import StaticAnalyzer
from edgegate.errors import InputError

NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if isinstance(v, int)}
TYPES = {v: k.lower() for k, v in vars(schema.TensorType).items() if isinstance(v, int)}


@pytest.mark.parametrize(
    "name",
    [
        "conv_chain_float-io",
        "supported_ops_mix",
        "conv_dilation_1x2",
        "fc_keep_dims",
        "strided_slice_stride2",
        "resize_bilinear_half_pixel",
        "custom_op_middle",
        "two_subgraphs",
        "maxpool_fused_relu",
    ],
)
def test_reader_agrees_with_the_generated_bindings(model, name):
    path = model(name)
    ours = read_tflite(path)
    theirs = schema.Model.GetRootAs(path.read_bytes(), 0)
    graph = theirs.Subgraphs(0)
    assert ours.subgraphs == theirs.SubgraphsLength()
    assert list(ours.inputs) == list(graph.InputsAsNumpy()) and list(ours.outputs) == list(
        graph.OutputsAsNumpy()
    )
    assert len(ours.operators) == graph.OperatorsLength() and len(ours.tensors) == graph.TensorsLength()
    for op in ours.operators:
        ref = graph.Operators(op.index)
        code = theirs.OperatorCodes(ref.OpcodeIndex())
        assert op.op == NAMES[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        assert op.version == code.Version()
        assert list(op.inputs) == list(ref.InputsAsNumpy()) and list(op.outputs) == list(ref.OutputsAsNumpy())
        _same_options(op, ref)
    for t in ours.tensors:
        ref = graph.Tensors(t.index)
        assert t.name == ref.Name().decode() and t.dtype == TYPES[ref.Type()]
        assert list(t.shape) == list(ref.ShapeAsNumpy())
        assert t.constant == (ref.Buffer() > 0 and theirs.Buffers(ref.Buffer()).DataLength() > 0)
        q = ref.Quantization()
        if t.quantization is not None:
            assert list(t.quantization.scales) == pytest.approx(list(q.ScaleAsNumpy()))
            assert list(t.quantization.zero_points) == list(q.ZeroPointAsNumpy())
            assert t.quantization.axis == q.QuantizedDimension()


def _same_options(op, ref) -> None:
    kind = {v: k for k, v in vars(schema.BuiltinOptions).items() if isinstance(v, int)}[
        ref.BuiltinOptionsType()
    ]
    table = ref.BuiltinOptions()
    if table is None or not hasattr(schema, kind):
        return
    opts = getattr(schema, kind)()
    opts.Init(table.Bytes, table.Pos)
    acts = {v: k for k, v in vars(schema.ActivationFunctionType).items() if isinstance(v, int)}
    o = op.options
    if hasattr(opts, "FusedActivationFunction"):
        assert o.fused_activation == acts[opts.FusedActivationFunction()]
    if hasattr(opts, "DilationHFactor"):
        assert o.dilation == (opts.DilationHFactor(), opts.DilationWFactor())
    if hasattr(opts, "StrideH"):
        assert o.stride == (opts.StrideH(), opts.StrideW())
    if hasattr(opts, "HalfPixelCenters"):
        assert (o.align_corners, o.half_pixel_centers) == (opts.AlignCorners(), opts.HalfPixelCenters())
    if hasattr(opts, "NewAxisMask"):
        assert (o.begin_mask, o.end_mask, o.ellipsis_mask, o.new_axis_mask, o.shrink_axis_mask) == (
            opts.BeginMask(),
            opts.EndMask(),
            opts.EllipsisMask(),
            opts.NewAxisMask(),
            opts.ShrinkAxisMask(),
        )
    if hasattr(opts, "KeepNumDims"):
        assert (o.keep_num_dims, o.weights_format) == (opts.KeepNumDims(), opts.WeightsFormat())


def test_per_channel_quantization_is_read(model):
    m = read_tflite(model("conv_chain_int8"))
    conv = m.operators[0]
    filt = m.tensors[conv.inputs[1]]
    assert filt.constant and filt.quantization.per_channel and len(filt.quantization.scales) == 8
    assert filt.quantization.axis == 0
    assert not m.tensors[conv.inputs[0]].constant


def test_constant_values_are_read_without_copying_the_model(model):
    m = read_tflite(model("pad_channels"))
    assert list(m.constant_values(m.operators[0].inputs[1])) == [0, 0, 1, 1, 1, 1, 0, 2]
    assert m.constant_values(m.operators[0].inputs[0]) is None


@pytest.mark.parametrize(
    "name",
    [
        "custom_op_middle",
        "two_subgraphs",
        "squeeze_relayout",
        "fc_runtime_weights",
        "concat_fused_relu",
        "strided_slice_new_axis_mask",
    ],
)
def test_edited_corpus_models_are_valid_flatbuffers(model, name):
    # The edits keep models the LiteRT runtime parses as EdgeGate's reader does; the custom op has
    # no kernel (LiteRT says which), the rest allocate and run.
    parsed = read_tflite(model(name))
    interpreter = Interpreter(model_path=str(model(name)))
    assert len(interpreter.get_tensor_details()) == len(parsed.tensors)
    if name == "custom_op_middle":
        assert [o.op for o in parsed.operators] == ["CONV_2D", "CUSTOM", "CONV_2D", "AVERAGE_POOL_2D"]
        with pytest.raises(RuntimeError, match="unresolved custom op: MyOp"):
            interpreter.allocate_tensors()
        return
    interpreter.allocate_tensors()
    for d in interpreter.get_input_details():
        interpreter.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    interpreter.invoke()
    for d in interpreter.get_output_details():
        assert interpreter.get_tensor(d["index"]).shape == tuple(d["shape"])


def test_non_tflite_files_are_refused(tmp_path):
    text = tmp_path / "model.tflite"
    text.write_text("not a model at all")
    with pytest.raises(InputError, match="not a TensorFlow Lite model"):
        read_tflite(text)
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="not a TensorFlow Lite model"):
        read_tflite(empty)
    with pytest.raises(InputError, match="cannot read the model file"):
        read_tflite(tmp_path / "missing.tflite")
    with pytest.raises(InputError, match="cannot read the model file"):
        read_tflite(tmp_path)


def test_truncated_flatbuffers_are_refused_at_every_cut(model, tmp_path):
    data = model("conv_chain_int8").read_bytes()
    path = tmp_path / "cut.tflite"
    for size in sorted({8, 12, 64, len(data) // 4, len(data) // 2, len(data) - 200, len(data) - 1}):
        path.write_bytes(data[:size])
        with pytest.raises(InputError, match="truncated or damaged|truncated"):
            read_tflite(path)


def test_damaged_bytes_give_an_input_error_or_a_result_never_a_traceback(model, tmp_path):
    data = model("conv_chain_int8").read_bytes()
    path = tmp_path / "damaged.tflite"
    refused = 0
    for start in range(8, len(data) - 8, max(1, len(data) // 150)):
        damaged = bytearray(data)
        damaged[start : start + 8] = b"\xff" * 8
        path.write_bytes(bytes(damaged))
        try:
            result = StaticAnalyzer().analyze(path)
        except InputError as e:
            refused += 1
            assert str(path) in str(e)
        else:
            assert result.ops_total >= 0
    assert refused > 0
