"""The checked-in op set is what the installed TensorFlow's registry derives, and it holds the
ops the attacks use while leaving ordinary model ops alone."""

import json
import os

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
pytest.importorskip("tensorflow")

from edgegate.recipes import unsafe_ops  # noqa: E402


def test_the_checked_in_set_is_derived_from_the_installed_tensorflow():
    # Fails after a TensorFlow upgrade until `python -m edgegate.recipes.unsafe_ops` is re-run.
    assert json.loads(unsafe_ops.derive_json()) == json.loads(unsafe_ops._data_text())


def test_it_holds_file_io_python_and_network_ops_and_no_compute_ops():
    table = unsafe_ops.load()
    does = {name: op.does for name, op in table.ops.items()}
    for name in ("ReadFile", "WriteFile", "MatchingFiles", "SaveV2", "RestoreV2", "MergeV2Checkpoints"):
        assert does[name] == "file I/O"
    for name in (
        "InitializeTableFromTextFileV2",
        "TFRecordDataset",
        "CreateSummaryFileWriter",
        "ImmutableConst",
    ):
        assert does[name] == "file I/O"
    assert {n for n, d in does.items() if d == "runs Python"} == {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
    assert does["DataServiceDatasetV4"] == "network I/O"
    for name in (
        "Conv2D",
        "MatMul",
        "VarHandleOp",
        "ReadVariableOp",
        "Const",
        "StringJoin",
        "Assert",
        "Print",
    ):
        assert name not in does
    assert dict(table.ops["PrintV2"].unless_default) == {"output_stream": "stderr"}
    assert table.restore_ops == {"RestoreV2"}
    assert table.save_ops == {"SaveV2", "MergeV2Checkpoints", "ShardedFilename"}
