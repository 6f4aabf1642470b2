"""A SavedModel whose loading would do I/O or run Python is refused before TensorFlow loads it.

Every hostile model is built for real (tests/security/hostile.py); each test also shows the
attack works when the scan is bypassed, so the refusal is what stops it.
"""

import os

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
pytest.importorskip("tensorflow")

from edgegate.errors import InputError  # noqa: E402
from edgegate.policy.sections import Recipe  # noqa: E402
from edgegate.recipes.build import build_candidates  # noqa: E402
from edgegate.recipes.interface import BuildRequest, SourceModel  # noqa: E402
from edgegate.recipes.loading import saved_model_signature  # noqa: E402
from edgegate.recipes.savedmodel_scan import scan_saved_model  # noqa: E402
from tests.security import hostile  # noqa: E402
from tests.security.tripwire import Tripwire  # noqa: E402

TRUST_HINT = "set trust_code: true in the base branch's policy"


def source(folder, trust=False):
    return SourceModel(folder, "savedmodel", f"models/{folder.name}", trust_code=trust)


def refusal(folder) -> str:
    with pytest.raises(InputError) as caught:
        saved_model_signature(source(folder))
    return str(caught.value)


def test_resource_initializer_writing_a_file_is_refused_before_load(tmp_path):
    sentinel = tmp_path / "outside" / "written"
    sentinel.parent.mkdir()
    model = hostile.writes_at_load(tmp_path / "evil", sentinel)

    message = refusal(model)

    assert not sentinel.exists()
    assert message.startswith("models/evil (SavedModel): refused: function __inference__initializer_")
    assert "(hook._initialize) runs WriteFile (file I/O at load time)" in message
    assert "EdgeGate never runs a pull request's model code" in message and TRUST_HINT in message
    hostile.trusted_load(model)  # the attack is real: TensorFlow's loader writes the file
    assert sentinel.read_text() == "written at load"


def test_resource_initializer_reading_a_file_is_refused_without_opening_it(tmp_path):
    secret, copy = tmp_path / "environ", tmp_path / "copy"
    secret.write_text("GITHUB_TOKEN=ghs_0123456789abcdef")
    model = hostile.copies_at_load(tmp_path / "reader", secret, copy)
    with Tripwire(secret, b"GITHUB_TOKEN=ghs_0123456789abcdef") as wire:
        message = refusal(model)
        assert not wire.close()  # nothing opened the file
    assert not copy.exists()
    assert "runs ReadFile (file I/O at load time)" in message and "runs WriteFile" in message
    with Tripwire(secret, b"GITHUB_TOKEN=ghs_0123456789abcdef") as wire:
        hostile.trusted_load(model)
        assert wire.close()  # without the scan, TensorFlow opens it


def test_tf1_main_op_writing_a_file_is_refused(tmp_path):
    sentinel = tmp_path / "written-by-main-op"
    model = hostile.tf1(tmp_path / "tf1", main_op_writes=sentinel)

    message = refusal(model)

    assert not sentinel.exists()
    assert (
        "graph node 'WriteFile' (run by saved_model_main_op) runs WriteFile (file I/O at load time)"
        in message
    )
    hostile.trusted_load(model)
    assert sentinel.exists()


def test_a_restore_op_reading_another_checkpoint_is_refused_though_the_saver_may_restore(tmp_path):
    outside = tmp_path / "other-ckpt"
    model = hostile.tf1(tmp_path / "restorer", restore_reads=outside)
    with Tripwire(tmp_path / "other-ckpt.index") as wire:
        message = refusal(model)
        assert not wire.close()
    assert "(run by the saver's restore op) runs RestoreV2 (file I/O at load time)" in message
    assert message.count("runs RestoreV2") == 1  # the saver's own restore is allowed
    assert scan_saved_model(hostile.tf1(tmp_path / "tf1-plain")) == []
    with Tripwire(tmp_path / "other-ckpt.index") as wire:
        hostile.trusted_load(model)
        assert wire.close()  # TensorFlow's loader opens the other checkpoint


def test_python_in_a_function_is_refused(tmp_path):
    message = refusal(hostile.calls_python(tmp_path / "py"))
    assert "runs PyFunc (runs Python)" in message and "function __inference_serve_" in message


def test_a_symlink_out_of_the_folder_is_refused_before_the_checkpoint_reader_follows_it(tmp_path):
    model = hostile.plain(tmp_path / "linked")
    secret = tmp_path / "git-config"
    secret.write_text("extraheader = AUTHORIZATION: basic eC1hY2Nlc3M=")
    data = next((model / "variables").glob("variables.data-*"))
    data.unlink()
    data.symlink_to(secret)
    message = refusal(model)
    assert f"variables/{data.name} is a symlink leading out of the SavedModel folder" in message


def test_a_legitimate_savedmodel_with_variables_loads_and_converts(tmp_path):
    model = hostile.plain(tmp_path / "plain")
    assert scan_saved_model(model) == []
    request = BuildRequest("m", source(model), (Recipe(recipe="float32"),), tmp_path / "out", tmp_path)
    (built,) = build_candidates(request)
    assert built.error is None, built.error
    assert built.path.read_bytes()[4:8] == b"TFL3"


def test_an_initializer_without_io_is_loaded(tmp_path):
    # A hash table filled from in-memory keys: its _initialize runs at load, and is allowed.
    model = hostile.table_from_memory(tmp_path / "table")
    assert scan_saved_model(model) == []
    assert saved_model_signature(source(model)) == "serving_default"


def test_a_trusted_model_is_not_scanned(tmp_path):
    sentinel = tmp_path / "written"
    model = hostile.writes_at_load(tmp_path / "mine", sentinel)
    assert saved_model_signature(source(model, trust=True)) == "serving_default"
    assert sentinel.exists()  # trust_code: the owner's initializers run as TensorFlow runs them


def test_the_refusal_reaches_the_candidate_as_its_error(tmp_path):
    sentinel = tmp_path / "written"
    model = hostile.writes_at_load(tmp_path / "evil", sentinel)
    request = BuildRequest("m", source(model), (Recipe(recipe="float32"),), tmp_path / "out", tmp_path)
    (built,) = build_candidates(request)
    assert built.path is None and "runs WriteFile (file I/O at load time)" in built.error
    assert not sentinel.exists()


def test_an_unreadable_graph_is_an_input_error(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"\xff\xff not a protobuf")
    with pytest.raises(InputError, match="models/broken: not a readable SavedModel"):
        saved_model_signature(source(folder))


def test_print_is_refused_only_when_it_writes_a_file(tmp_path):
    import sys

    sentinel = tmp_path / "printed"
    message = refusal(hostile.prints(tmp_path / "to-file", f"file://{sentinel}"))
    assert "runs PrintV2 (file I/O)" in message
    assert scan_saved_model(hostile.prints(tmp_path / "to-stderr", sys.stderr)) == []
