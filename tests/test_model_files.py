from pathlib import Path

import pytest

from edgegate.model_files import (
    LFS_POINTER_MAX_BYTES,
    LFS_POINTER_PREFIX,
    SAVED_MODEL_FILES,
    file_is_lfs_pointer,
    is_lfs_pointer,
    is_saved_model,
)
from edgegate.formats import model_kind

# A pointer as git-lfs writes it (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    b"size 12345\n"
)


@pytest.mark.parametrize(
    "name, kind",
    [
        ("m.tflite", "tflite"),
        ("m.TFLite", "tflite"),
        ("m.keras", "keras"),
        ("m.h5", "h5"),
        ("m.hdf5", "h5"),
        ("m.pb", None),
        ("m.onnx", None),
        ("tflite", None),
    ],
)
def test_files_by_suffix(tmp_path: Path, name: str, kind: str | None) -> None:
    (tmp_path / name).write_bytes(b"x")
    assert model_kind(tmp_path / name) == kind


@pytest.mark.parametrize("marker", SAVED_MODEL_FILES)
def test_a_folder_with_a_graph_file_is_a_saved_model(tmp_path: Path, marker: str) -> None:
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / marker).write_bytes(b"")
    assert is_saved_model(tmp_path / "sm") and model_kind(tmp_path / "sm") == "savedmodel"


def test_other_folders_are_not_models(tmp_path: Path) -> None:
    (tmp_path / "models.tflite").mkdir()  # a folder named like a model file
    (tmp_path / "models.tflite" / "variables").mkdir()
    (tmp_path / "models.tflite" / "saved_model.pb").mkdir()  # the marker must be a file
    assert model_kind(tmp_path / "models.tflite") is None
    assert not is_saved_model(tmp_path / "models.tflite")


def test_the_lfs_pointer_spec_line() -> None:
    assert is_lfs_pointer(POINTER)
    assert is_lfs_pointer(LFS_POINTER_PREFIX + b"\n")
    assert not is_lfs_pointer(b"version https://git-lfs.example.com/spec/v1\n")  # another host
    assert not is_lfs_pointer(b"version https://git-lfs\n")  # a bare prefix is not the spec line
    assert not is_lfs_pointer(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 100)
    assert not is_lfs_pointer(b"")


def test_a_pointer_is_smaller_than_1024_bytes() -> None:
    assert is_lfs_pointer(POINTER + b"x" * (LFS_POINTER_MAX_BYTES - len(POINTER) - 1))
    assert not is_lfs_pointer(POINTER + b"x" * (LFS_POINTER_MAX_BYTES - len(POINTER)))


def test_files_are_judged_on_their_first_bytes_only(tmp_path: Path) -> None:
    (tmp_path / "pointer.tflite").write_bytes(POINTER)
    (tmp_path / "model.tflite").write_bytes(POINTER + b"\0" * 10_000_000)  # starts alike, far too big
    (tmp_path / "empty.tflite").write_bytes(b"")
    assert file_is_lfs_pointer(tmp_path / "pointer.tflite")
    assert not file_is_lfs_pointer(tmp_path / "model.tflite")
    assert not file_is_lfs_pointer(tmp_path / "empty.tflite")
