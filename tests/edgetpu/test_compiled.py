"""Already compiled ``*_edgetpu.tflite`` input: partitions = edgetpu-custom-op count, CPU ops = the rest."""

from __future__ import annotations

import pytest

from edgegate.targets.edgetpu.compiled import CompiledModelAnalyzer
from edgegate.targets.edgetpu.interface import AFTER_CUT, BAD_TYPE, MAPPED, UNSPECIFIED, UNSUPPORTED
from edgegate.errors import InputError


def test_fully_mapped_compiled_model(model):
    r = CompiledModelAnalyzer().analyze(model("conv_chain_int8_edgetpu"))
    assert r.analyzer == "compiled-model" and r.compiles
    assert (r.ops_total, r.ops_on_tpu, r.ops_on_cpu, r.partitions) == (1, 1, 0, 1)
    assert [(o.op, o.status) for o in r.ops] == [("edgetpu-custom-op", MAPPED)]
    assert r.first_unmapped is None and any("each Edge TPU partition counts as one op" in n for n in r.notes)


def test_cpu_ops_of_a_compiled_model_are_explained(model):
    r = CompiledModelAnalyzer().analyze(model("leaky_relu_middle_edgetpu"))
    assert (r.partitions, r.ops_on_cpu) == (1, 3)
    assert [(o.op, o.status) for o in r.ops] == [
        ("edgetpu-custom-op", MAPPED),
        ("LEAKY_RELU", UNSUPPORTED),
        ("CONV_2D", AFTER_CUT),
        ("CONV_2D", AFTER_CUT),
    ]
    assert r.first_unmapped.op == "LEAKY_RELU" and "LEAKY_RELU has no Edge TPU kernel" in r.hint
    assert "edgetpu-custom-op              1          Mapped to Edge TPU" in r.log


def test_boundary_conversions_of_a_compiled_float_io_model(model):
    r = CompiledModelAnalyzer().analyze(model("conv_chain_float-io_edgetpu"))
    assert [(o.op, o.status) for o in r.ops] == [
        ("QUANTIZE", UNSPECIFIED),
        ("edgetpu-custom-op", MAPPED),
        ("DEQUANTIZE", BAD_TYPE),
    ]
    assert r.first_unmapped.op == "QUANTIZE"


def test_an_uncompiled_model_is_refused(model):
    with pytest.raises(InputError, match="was not compiled by edgetpu_compiler"):
        CompiledModelAnalyzer().analyze(model("conv_chain_int8"))
