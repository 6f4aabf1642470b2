"""Every dataset source reads real files in a repository folder, and bad data gets a clear message."""

from __future__ import annotations

import os
import re
import uuid

import numpy as np
import pytest

from edgegate.datasets import load_dataset
from edgegate.errors import InputError
from edgegate.policy.load import parse_dataset

KEY = "models[0].eval.data"


def load(root, spec, **kw):
    return load_dataset(parse_dataset(spec, key=KEY), root, key=KEY, **kw)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    return root


# --- .npz -------------------------------------------------------------------------------


def test_npz_reads_named_arrays_and_applies_limit(repo):
    x, y = np.arange(40, dtype=np.float32).reshape(10, 4), np.arange(10)
    np.savez(repo / "data/eval.npz", pixels=x, classes=y)
    data = load(repo, {"path": "data/eval.npz", "x_key": "pixels", "y_key": "classes", "limit": 3})
    assert len(data) == 3 and np.array_equal(data.x, x[:3]) and np.array_equal(data.y, y[:3])
    assert data.source == f"{KEY} (data/eval.npz)"


def test_npz_without_the_default_y_is_label_free(repo):
    np.savez(repo / "data/eval.npz", x=np.ones((2, 3)))
    assert load(repo, "data/eval.npz").y is None


def test_npz_missing_array_lists_the_arrays_it_has(repo):
    np.savez(repo / "data/eval.npz", images=np.ones((2, 3)), labels=np.ones(2))
    with pytest.raises(
        InputError,
        match=r"models\[0\]\.eval\.data: data/eval.npz has no array 'x' "
        r"\(it has: images, labels\)",
    ):
        load(repo, "data/eval.npz")
    with pytest.raises(InputError, match="has no array 'y'.*set y_key"):
        load(repo, {"path": "data/eval.npz", "x_key": "images", "y_key": "y"})


def test_npz_with_python_objects_is_refused_without_unpickling(repo):
    np.savez(repo / "data/eval.npz", x=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(InputError, match="array 'x' in data/eval.npz cannot be read without pickle"):
        load(repo, "data/eval.npz")


def test_unreadable_npz_names_the_file(repo):
    (repo / "data/eval.npz").write_text("version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(InputError, match=r"data/eval.npz is not a readable .npz file"):
        load(repo, "data/eval.npz")


def test_missing_file(repo):
    with pytest.raises(InputError, match=r"models\[0\]\.eval\.data: data/nope.npz not found"):
        load(repo, "data/nope.npz")


# --- .npy -------------------------------------------------------------------------------


def test_npy_pair_and_npy_alone(repo):
    np.save(repo / "data/x.npy", np.ones((5, 2), np.float32))
    np.save(repo / "data/y.npy", np.arange(5))
    data = load(repo, {"x": "data/x.npy", "y": "data/y.npy"})
    assert data.x.shape == (5, 2) and list(data.y) == [0, 1, 2, 3, 4]
    assert load(repo, "data/x.npy").y is None


def test_length_mismatch_names_both_files(repo):
    np.save(repo / "data/x.npy", np.ones((5, 2)))
    np.save(repo / "data/y.npy", np.arange(4))
    with pytest.raises(InputError, match=r"x \(data/x.npy\) hold 5 samples but y \(data/y.npy\) hold 4"):
        load(repo, {"x": "data/x.npy", "y": "data/y.npy"})


def test_empty_dataset(repo):
    np.savez(repo / "data/eval.npz", x=np.zeros((0, 8, 8, 1), np.float32), y=np.zeros(0))
    with pytest.raises(
        InputError,
        match=r"models\[0\]\.eval\.data \(data/eval.npz\): the dataset is empty "
        r"\(array 'x' hold no samples\)",
    ):
        load(repo, "data/eval.npz")


def test_non_numeric_arrays(repo):
    np.savez(repo / "data/eval.npz", x=np.array(["cat", "dog"]), y=np.array([0, 1]))
    with pytest.raises(InputError, match=r"array 'x' hold <U3 values, not numbers"):
        load(repo, "data/eval.npz")


def test_nan_samples(repo):
    x = np.ones((4, 2), np.float32)
    x[2, 1] = np.nan
    np.save(repo / "data/x.npy", x)
    with pytest.raises(InputError, match=r"contain NaN or infinity \(1 samples, the first is sample 2\)"):
        load(repo, "data/x.npy")
    assert len(load(repo, {"x": "data/x.npy", "limit": 2})) == 2  # the NaN is beyond the limit


def test_unsupported_file_type(repo):
    (repo / "data/eval.csv").write_text("1,2\n")
    with pytest.raises(InputError, match="not an .npz file, an .npy file or a folder of images.*hook"):
        load(repo, "data/eval.csv")


# --- paths stay inside the repository -----------------------------------------------------


def test_dotdot_escape_is_refused(repo):
    np.save(repo.parent / "secret.npy", np.ones(3))
    with pytest.raises(
        InputError,
        match=r"models\[0\]\.eval\.data: '../secret.npy' resolves outside the "
        "repository",
    ):
        load(repo, {"x": "../secret.npy"})


def test_absolute_path_outside_is_refused(repo):
    np.save(repo.parent / "secret.npy", np.ones(3))
    with pytest.raises(InputError, match="resolves outside the repository"):
        load(repo, {"x": str(repo.parent / "secret.npy")})


def test_symlink_escape_is_refused(repo):
    np.savez(repo.parent / "secret.npz", x=np.ones(3))
    os.symlink(repo.parent / "secret.npz", repo / "data/eval.npz")
    with pytest.raises(InputError, match="'data/eval.npz' resolves outside the repository"):
        load(repo, "data/eval.npz")


def test_symlink_inside_the_repository_is_fine(repo):
    np.savez(repo / "data/real.npz", x=np.ones((3, 1)))
    os.symlink("real.npz", repo / "data/eval.npz")
    assert len(load(repo, "data/../data/eval.npz")) == 3


# --- image folders ----------------------------------------------------------------------


def _image(path, size=(6, 4), value=(255, 0, 0)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, value).save(path)


def test_image_folder_classes_by_sorted_name_balanced_order(repo):
    for i in range(3):
        _image(repo / f"images/dog/{i}.png", value=(0, 255, 0))
    _image(repo / "images/cat/a.png")
    (repo / "images/cat/README.txt").write_text("not an image")
    data = load(repo, {"images": "images"})
    assert data.x.shape == (4, 4, 6, 3) and data.x.dtype == np.float32  # (N, height, width, RGB)
    assert list(data.y) == [0, 1, 1, 1]  # cat=0, dog=1; round-robin across classes
    assert np.array_equal(data.x[0, 0, 0], [1.0, 0.0, 0.0]) and np.array_equal(
        data.x[1, 0, 0], [0.0, 1.0, 0.0]
    )
    assert data.source == f"{KEY} (images, 2 classes)"
    assert list(load(repo, {"images": "images", "limit": 2}).y) == [0, 1]


def test_image_folder_resize_color_and_scale(repo):
    _image(repo / "imgs/a/0.png", size=(10, 10), value=(255, 255, 255))
    _image(repo / "imgs/b/0.png", size=(20, 12), value=(0, 0, 0))
    data = load(repo, {"path": "imgs", "image_size": [5, 7], "color": "grayscale", "scale": "-1..1"})
    assert data.x.shape == (2, 5, 7, 1)
    assert data.x[0].min() == data.x[0].max() == 1.0 and data.x[1].max() == -1.0
    assert load(repo, {"images": "imgs", "scale": "0..255"}, input_hw=(3, 4)).x.shape == (2, 3, 4, 3)
    assert load(repo, {"images": "imgs", "scale": "0..255"}, input_hw=(3, 4)).x.max() == 255.0


def test_image_folder_of_mixed_sizes_needs_a_size(repo):
    _image(repo / "imgs/a/0.png", size=(10, 10))
    _image(repo / "imgs/b/0.png", size=(20, 12))
    with pytest.raises(InputError, match="different sizes.*set image_size"):
        load(repo, {"images": "imgs"})


def test_image_folder_without_class_folders(repo):
    _image(repo / "flat/0.png")
    _image(repo / "flat/1.png")
    with pytest.raises(InputError, match="flat has no sub-folders"):
        load(repo, {"images": "flat"})


def test_image_folder_symlink_escape_is_refused(repo):
    _image(repo.parent / "outside/secret.png")
    _image(repo / "imgs/a/0.png")
    os.symlink(repo.parent / "outside", repo / "imgs/b")
    with pytest.raises(InputError, match="resolves outside the repository"):
        load(repo, {"images": "imgs"})


# --- hooks ------------------------------------------------------------------------------

HOOK_BODIES = {
    "pair": "return np.ones((4, 2)), np.arange(4)",
    "x_alone": "return np.ones((4, 2))",
    "mapping": "return {'x': np.ones((4, 2)), 'y': np.arange(4)}",
    "generator": "yield from ((np.ones((2, 2)), np.arange(2) + i) for i in (0, 2))",
    "batch_list": "return [{'x': np.ones((3, 2)), 'y': np.arange(3)}, {'x': np.ones((1, 2)), 'y': np.arange(1)}]",
}


def _hook(repo, body: str) -> str:
    module = f"hook_{uuid.uuid4().hex}"  # unique: Python caches imported modules
    (repo / f"{module}.py").write_text(f"import numpy as np\n\ndef data():\n    {body}\n")
    return f"{module}:data"


@pytest.mark.parametrize("form", list(HOOK_BODIES))
def test_hook_return_forms(repo, form):
    data = load(repo, {"hook": _hook(repo, HOOK_BODIES[form])})
    assert data.x.shape == (4, 2)
    assert (data.y is None) == (form == "x_alone")
    if form == "generator":
        assert list(data.y) == [0, 1, 2, 3]


def test_hook_in_a_package_of_the_repository(repo):
    package = repo / f"pkg_{uuid.uuid4().hex}"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "loader.py").write_text(
        "import numpy as np\ndef data():\n    return np.zeros((2, 1))\n"
    )
    assert len(load(repo, f"{package.name}.sub.loader:data")) == 2


def test_hook_outside_the_repository_is_refused(repo):
    with pytest.raises(InputError, match="json.* resolves outside the repository"):
        load(repo, {"hook": "json:loads"})


def test_hook_errors_name_the_hook(repo):
    hook = _hook(repo, "raise RuntimeError('no such bucket')")
    with pytest.raises(
        InputError, match=re.escape(f"{KEY}: hook {hook} raised RuntimeError: no such bucket")
    ):
        load(repo, {"hook": hook})
    with pytest.raises(InputError, match="has no function 'nope'"):
        load(repo, {"hook": hook.replace(":data", ":nope")})
    with pytest.raises(InputError, match="returned a int; return"):
        load(repo, {"hook": _hook(repo, "return 3")})
    with pytest.raises(InputError, match="hook module 'missing_mod' not found in the repository"):
        load(repo, {"hook": "missing_mod:data"})


def test_hook_empty_result_is_an_empty_dataset(repo):
    with pytest.raises(InputError, match="the dataset is empty"):
        load(repo, {"hook": _hook(repo, "return []")})
