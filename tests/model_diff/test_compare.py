"""The model diff on real converted models: each kind of change is named, metadata alone is said
to be metadata alone, and a file that is no model gives a reason, never a traceback."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from edgegate.model_diff import compare
from edgegate.model_diff.compare import diff_files
from edgegate.model_diff.describe import headline, kinds_text
from tests.model_diff.models import with_conv_padding_flipped, with_metadata


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_layer_added_a_conv_widened_and_the_input_reshaped_are_each_named(
    tmp_path, base_tflite, head_tflite
):
    d = diff_files(
        write(tmp_path, "a.tflite", base_tflite), write(tmp_path, "b.tflite", head_tflite), shown="m"
    )
    assert d.error is None and d.bytes_changed and d.graph_changed and not d.metadata_only
    ops = {c.name: c for c in d.ops}
    # The layer added: where in the graph, what kind, its weights.
    hidden = next(c for c in d.ops if c.name.startswith("net/hidden/"))
    assert hidden.change == "added" and hidden.kind == "FULLY_CONNECTED" and hidden.head_index == 2
    # (its zero bias is left out by the converter: 8×8 weights)
    assert hidden.head_params == 8 * 8 and hidden.head_weight_shape == (8, 8)
    assert ops["net/squash/Tanh"].change == "added" and ops["net/squash/Tanh"].kind == "TANH"
    # The conv widened: matched by name, its weights 4 → 8 filters.
    conv = ops["net/conv/Relu"]
    assert conv.change == "changed" and conv.base_weight_shape == (4, 3, 3, 1)
    assert conv.head_weight_shape == (8, 3, 3, 1) and (conv.base_params, conv.head_params) == (40, 80)
    assert conv.head_weight_bytes - conv.base_weight_bytes == 40 * 4
    # The head matched although the converter renumbered its name (MatMul2 → MatMul1): changed, not
    # removed and added again.
    head = next(c for c in d.ops if c.name.startswith("net/head/"))
    assert head.change == "changed" and (head.base_index, head.head_index) == (2, 4)
    assert not [c for c in d.ops if c.change == "removed"]
    # Op kinds counted, the new one marked.
    assert {k.kind: (k.base, k.head) for k in d.op_kinds}["TANH"] == (0, 1)
    assert d.new_kinds == ("TANH",) and "+1 TANH (new kind)" in kinds_text(d)
    # The input reshaped: the I/O signature change, and the shapes along the graph.
    (sig,) = d.signature
    assert (sig.side, sig.index, sig.what) == ("input", 0, ("shape",))
    assert sig.base and sig.head and sig.base.shape[1:] == (8, 8, 1) and sig.head.shape[1:] == (12, 12, 1)
    assert [(s.name, s.base, s.head) for s in d.shapes][0] == ("net/conv/Relu", (1, 6, 6, 4), (1, 10, 10, 8))
    assert (d.base_ops, d.head_ops) == (4, 6) and d.head_params - d.base_params == 64 + 40 + 12
    assert "4 → 6 ops" in headline(d) and "2 added, 0 removed, 2 changed" in headline(d)


def test_a_change_of_metadata_only_says_so(tmp_path, base_tflite):
    """A metadata buffer and a labels file packed after the model, the graph untouched."""
    edited = with_metadata(base_tflite, "TFLITE_METADATA", b"\x01\x02model card", labels="cat\ndog\n")
    d = diff_files(write(tmp_path, "a.tflite", base_tflite), write(tmp_path, "b.tflite", edited), shown="m")
    assert d.bytes_changed and not d.graph_changed and d.metadata_only
    assert headline(d) == "only metadata changed: same ops, tensors and weights"
    assert {(c.part, c.name, c.change) for c in d.metadata} == {
        ("metadata", "TFLITE_METADATA", "added"),
        ("associated file", "labels.txt", "added"),
    }
    assert not d.ops and not d.shapes and not d.signature
    relabelled = with_metadata(base_tflite, "TFLITE_METADATA", b"\x01\x02model card", labels="cat\nbird\n")
    again = diff_files(
        write(tmp_path, "b.tflite", edited), write(tmp_path, "c.tflite", relabelled), shown="m"
    )
    assert again.metadata_only and [(c.name, c.change) for c in again.metadata] == [("labels.txt", "changed")]


def test_the_same_file_is_identical_and_read_once(tmp_path, base_tflite):
    path = write(tmp_path, "a.tflite", base_tflite)
    d = diff_files(path, path, shown="m")
    assert not d.bytes_changed and not d.graph_changed and headline(d) == "identical bytes"
    assert d.error is None and not d.ops and len(d.inputs) == 1 and len(d.outputs) == 1


def test_what_is_no_model_gives_a_reason_not_a_traceback(tmp_path, base_tflite, monkeypatch):
    good = write(tmp_path, "a.tflite", base_tflite)
    cut = write(tmp_path, "cut.tflite", base_tflite[: len(base_tflite) // 2])
    d = diff_files(good, cut, shown="models/m.tflite")
    assert d.error and d.error.startswith("not compared: models/m.tflite (head)") and not d.ops
    # A symlink to a device: its target is judged, and a device is no regular file.
    os.symlink("/dev/zero", tmp_path / "zero.tflite")
    d = diff_files(tmp_path / "zero.tflite", good, shown="m")
    assert d.error == "not compared: m (base): not a regular file"
    monkeypatch.setattr(compare, "MAX_MODEL_BYTES", len(base_tflite) - 1)
    d = diff_files(good, good, shown="m")
    assert d.error == f"not compared: m (head): over the {compare.LIMIT_SHOWN} the diff reads"


def test_an_option_the_reader_never_looks_at_is_still_a_graph_change(tmp_path, base_tflite):
    """A conv's padding flipped and nothing else (no shape, no weight): not "only metadata"."""
    edited = with_conv_padding_flipped(base_tflite)
    d = diff_files(write(tmp_path, "a.tflite", base_tflite), write(tmp_path, "b.tflite", edited), shown="m")
    assert d.bytes_changed and d.graph_changed and not d.metadata_only
    assert not d.ops and not d.shapes and not d.signature  # in no table: the headline says what it can
    assert (
        headline(d)
        == "4 ops of the same kinds, weights and shapes; op options or tensor names or quantization changed"
    )


def test_a_description_pointing_outside_the_file_is_shown_unreadable_not_fatal(tmp_path, base_tflite):
    """The Model table's description string moved far past the end (as Vela's crash test does):
    the graph is still read and compared; the description is the one thing that changed."""
    d = bytearray(base_tflite)
    root = struct.unpack_from("<I", d, 0)[0]
    vtable = root - struct.unpack_from("<i", d, root)[0]
    offset = struct.unpack_from("<H", d, vtable + 4 + 2 * 3)[0]  # field 3 of Model: description
    struct.pack_into("<I", d, root + offset, 0x7FFFFFF0)
    diff = diff_files(
        write(tmp_path, "a.tflite", base_tflite), write(tmp_path, "b.tflite", bytes(d)), shown="m"
    )
    assert diff.error is None and diff.metadata_only
    assert [(c.part, c.change) for c in diff.metadata] == [("description", "changed")]
