"""The GPU delegate's rules, on small models converted here with the real TFLite converter.

The cases are those of LiteRT's ``tflite/tools/versioning/gpu_compatibility_test.cc`` that a
TensorFlow model can express (its op signatures rebuilt as real ops), and the delegate's own
rules of ``tflite/delegates/gpu/common/model_builder.cc`` (``GetOpsToReplace``,
``IsAllAllowedTensors``, ``CastOperationParser``) where the offline checker says otherwise.
Source and version: ``RULES_SOURCE`` in ``edgegate/targets/gpu/analyzer.py``. Not rebuildable from TensorFlow:
FCConstInput (the converter folds a FULLY_CONNECTED of constants), the BasicLSTM cases (no
converter path emits the basic kernel), the Resampler cases (a custom op nothing converts to).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from edgegate.targets.flatbuffer import read_tflite
from edgegate.targets.gpu import analyzer as gpu_analyzer

F32, I32 = "float32", "int32"


@dataclass(frozen=True)
class Case:
    build: Callable  # tf -> the tf.function
    inputs: tuple[tuple[tuple[int, ...], str], ...]  # (shape, dtype) of each input
    verdicts: dict[str, str | None]  # op -> the start of its fallback reason, None: delegated


def _add(tf):
    return tf.function(lambda x, y: x + y)


def _softmax(tf):
    return tf.function(lambda x: tf.nn.softmax(x))


def _cast_int(tf):  # MoveNet's pattern: an int32 index turned into a float coordinate
    return tf.function(lambda i: tf.cast(i, tf.float32) * 0.5)


def _select(tf):
    return tf.function(lambda x, y: tf.where(x > 0.0, x, y))


def _gather(tf):
    return tf.function(lambda p, i: tf.gather(p, i) * 2.0)


def _one_hot(tf):
    return tf.function(lambda i: tf.one_hot(i, 3) * 2.0)


def _bool_cast(tf):  # logical op -> bool -> CAST -> float, consumed on the GPU
    return tf.function(lambda x: tf.cast(x > 0.0, tf.float32) * x)


def _bool_cast_output(tf):  # the same CAST as the model's output: the delegate leaves it to the CPU
    return tf.function(lambda x: tf.cast(x > 0.0, tf.float32))


def _unpack(tf):
    return tf.function(lambda x: tf.math.multiply(*tf.unstack(x, axis=1)))


def _conv3d(tf):
    w = tf.constant(np.ones((1, 1, 1, 2, 2), np.float32))
    return tf.function(lambda x: tf.nn.conv3d(x, w, [1, 1, 1, 1, 1], "VALID"))


BROADCAST = "Doesn't support broadcasting - "
CASES: dict[str, Case] = {
    # gpu_compatibility_test.cc
    "Add1Dto3DBroadcastSuccess": Case(_add, (((4, 1, 2), F32), ((2,), F32)), {"ADD": None}),
    "Add2Dto3DBroadcastFail": Case(
        _add,
        (((1, 100, 256), F32), ((100, 256), F32)),
        {"ADD": BROADCAST + "input0: [1,100,256], input1: [100,256]"},
    ),
    "Add3Dto4DBroadcastFail": Case(
        _add,
        (((4, 1, 1, 2), F32), ((1, 1, 2), F32)),
        {"ADD": BROADCAST + "input0: [4,1,1,2], input1: [1,1,2]"},
    ),
    "Add3Dto4DBroadcastSuccess": Case(_add, (((1, 128, 513, 3), F32), ((128, 513, 3), F32)), {"ADD": None}),
    "Add2Dto4DBroadcastSuccess": Case(_add, (((1, 512, 512, 1), F32), ((1, 1), F32)), {"ADD": None}),
    "Add2Dto4DBroadcastSuccess2": Case(_add, (((1, 384, 384, 3), F32), ((1, 1), F32)), {"ADD": None}),
    "Add2Dto4DBroadcastSuccess3": Case(_add, (((1, 4, 4, 10), F32), ((1, 10), F32)), {"ADD": None}),
    "Conv3DModel": Case(_conv3d, (((1, 2, 2, 2, 2), F32),), {"CONV_3D": "Not supported op CONV_3D"}),
    # the checker's SOFTMAX rule
    "SoftmaxBeta2": Case(_softmax, (((1, 8), F32),), {"SOFTMAX": "Softmax.beta != 1 is not supported."}),
    "SoftmaxBeta1": Case(_softmax, (((1, 8), F32),), {"SOFTMAX": None}),
    # the delegate's own rules (model_builder.cc)
    "Add5D": Case(_add, (((1, 2, 2, 2, 2), F32), ((1, 2, 2, 2, 2), F32)), {"ADD": "OP is supported, but"}),
    "CastInt32ToFloat32": Case(_cast_int, (((1, 17), I32),), {"CAST": None, "MUL": None}),
    "SelectBool": Case(
        _select, (((1, 4, 4, 3), F32), ((1, 4, 4, 3), F32)), {"GREATER": None, "SELECT": None}
    ),
    "GatherInt32Indices": Case(_gather, (((5, 3), F32), ((2,), I32)), {"GATHER": None, "MUL": None}),
    "OneHotInt32": Case(_one_hot, (((1, 4), I32),), {"ONE_HOT": None, "MUL": None}),
    "BoolCastFromLogicalOp": Case(_bool_cast, (((1, 8), F32),), {"GREATER": None, "CAST": None}),
    "UnpackByItsParser": Case(_unpack, (((1, 2, 4, 3), F32),), {"UNPACK": None}),
    "BoolCastAsOutput": Case(
        _bool_cast_output,
        (((1, 8), F32),),
        {"GREATER": None, "CAST": "Cast from bool not supported for outputs"},
    ),
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Path]:
    import tensorflow as tf

    out = tmp_path_factory.mktemp("gpu-rules")
    paths = {}
    for name, case in CASES.items():
        fn = case.build(tf)
        specs = [tf.TensorSpec(shape, getattr(tf, dtype)) for shape, dtype in case.inputs]
        concrete = fn.get_concrete_function(*specs)
        converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn)
        data = converter.convert()
        paths[name] = out / f"{name}.tflite"
        paths[name].write_bytes(with_softmax_beta(data, 2.0) if name == "SoftmaxBeta2" else data)
    return paths


def with_softmax_beta(data: bytes, beta: float) -> bytes:
    """The converted model with its SOFTMAX's beta set (TensorFlow has no op that converts to a
    beta other than 1; other converters, and hand-tuned files, write one), through LiteRT's schema."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    codes = [c.builtinCode for c in model.operatorCodes]
    softmax = [
        op for op in model.subgraphs[0].operators if codes[op.opcodeIndex] == schema.BuiltinOperator.SOFTMAX
    ]
    assert len(softmax) == 1
    softmax[0].builtinOptions.beta = beta
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def verdicts_of(path: Path) -> dict[str, str | None]:
    """Op name -> the analysis's reason it falls back (None: delegated); each name once."""
    tfl = read_tflite(path)
    verdicts, checker = gpu_analyzer.delegation(path, tfl)
    assert "EdgeGate's port" in checker, checker  # the installed analyzer has no GPU rules
    names = [op.op for op in tfl.operators]
    assert len(set(names)) == len(names), names
    return dict(zip(names, verdicts))


@pytest.mark.parametrize("name", list(CASES))
def test_gpu_compatibility_case(converted, name):
    """Each case's ops get the verdict LiteRT's GPU delegate gives them (and its reason)."""
    got = verdicts_of(converted[name])
    for op, expected in CASES[name].verdicts.items():
        assert op in got, f"{name}: no {op} op in {list(got)}"
        if expected is None:
            assert got[op] is None, f"{name}: {op} falls back: {got[op]}"
        else:
            assert got[op] is not None and got[op].startswith(expected), f"{name}: {op}: {got[op]!r}"


def test_rank_5_names_the_tensor_and_the_limit(converted):
    reason = verdicts_of(converted["Add5D"])["ADD"]
    assert reason is not None and "has rank 5 (the delegate takes up to 4)" in reason


def test_int32_outside_the_ops_that_take_it_still_falls_back(converted):
    """The per-op type table is per op: MUL of int32 tensors is still the CPU's."""
    import tensorflow as tf

    fn = tf.function(lambda i: i * 3)
    concrete = fn.get_concrete_function(tf.TensorSpec((1, 4), tf.int32))
    path = converted["CastInt32ToFloat32"].with_name("int_mul.tflite")
    path.write_bytes(tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn).convert())
    reason = verdicts_of(path)["MUL"]
    assert reason is not None and "is int32" in reason


def test_rule_tables_name_real_tflite_ops():
    from ai_edge_litert import schema_py_generated as schema

    builtin = {k for k in vars(schema.BuiltinOperator) if not k.startswith("_")}
    tables = gpu_analyzer._PARSED | set(gpu_analyzer._EXTRA_IN) | set(gpu_analyzer._EXTRA_OUT)
    assert tables <= builtin, tables - builtin
