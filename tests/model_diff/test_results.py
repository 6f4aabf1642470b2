"""The model diff in the results file (schema 4): stored whole, read back typed; files of schema 3
(no diff) still read; a damaged diff is refused naming its field."""

from __future__ import annotations

import json

import pytest

from edgegate.model_diff.compare import diff_files
from edgegate.results import CandidateResult, GitRef, ModelResult, RunResult
from edgegate.results.codec import decode_run, encode_run
from edgegate.status import Status


@pytest.fixture
def run(tmp_path, base_tflite, head_tflite) -> RunResult:
    (tmp_path / "a.tflite").write_bytes(base_tflite)
    (tmp_path / "b.tflite").write_bytes(head_tflite)
    diff = diff_files(tmp_path / "a.tflite", tmp_path / "b.tflite", shown="m")
    candidate = CandidateResult("float16", "float16", Status.PASS, size_bytes=3000, diff=diff)
    model = ModelResult("net", "models/net.keras", Status.PASS, candidates=(candidate,))
    return RunResult(Status.PASS, GitRef("main", None), GitRef(None, None), models=(model,))


def test_the_diff_is_stored_whole_and_read_back_typed(run):
    text = encode_run(run)
    assert json.loads(text)["schema"] == "edgegate.results/4"
    assert decode_run(text) == run
    diff = decode_run(text).models[0].candidates[0].diff
    assert diff is not None and diff.new_kinds == ("TANH",) and diff.signature[0].head is not None


def test_a_schema_3_file_without_diffs_still_reads(run):
    data = json.loads(encode_run(run))
    data["schema"] = "edgegate.results/3"
    del data["models"][0]["candidates"][0]["diff"]
    (candidate,) = decode_run(json.dumps(data)).models[0].candidates
    assert candidate.diff is None and candidate.size_bytes == 3000


def test_a_damaged_diff_is_refused_naming_its_field(run):
    data = json.loads(encode_run(run))
    data["models"][0]["candidates"][0]["diff"]["ops"][0]["change"] = "exploded"
    with pytest.raises(ValueError, match=r"models\[0\]\.candidates\[0\]\.diff\.ops\[0\]\.change: 'exploded'"):
        decode_run(json.dumps(data))
