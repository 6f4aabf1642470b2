import os
from pathlib import Path

import pytest

from edgegate.repo_paths import (
    MAX_LINKS,
    NAME_MAX_CHARS,
    LinkLoop,
    is_lexically_inside,
    real_path,
    resolve_links,
    resolves_inside,
    safe_name,
)


@pytest.mark.parametrize(
    "written", ["models/m.tflite", "m.keras", ".", "", "a/../b", "a/./b/", "models\\m.tflite", "..x/m"]
)
def test_relative_paths_that_stay_inside(written: str) -> None:
    assert is_lexically_inside(written)


@pytest.mark.parametrize(
    "written",
    ["..", "../x", "a/../../x", "/etc/passwd", "\\\\server\\share", "C:\\models\\m", "c:m", "..\\x", "a\0b"],
)
def test_paths_that_leave_the_repository_as_text(written: str) -> None:
    assert not is_lexically_inside(written)


def test_a_symlink_out_of_the_repository_does_not_resolve_inside(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    (root / "store").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, root / "out")
    os.symlink("store", root / "in")
    assert resolves_inside(root, "in/m.tflite") and resolves_inside(root, ".")
    assert not resolves_inside(root, "out/m.tflite")
    assert real_path(root, "out/m.tflite") == outside.resolve() / "m.tflite"
    assert not resolves_inside(root, "../repo-sibling")  # a shared prefix is not "inside"
    assert not resolves_inside(root, str(outside))  # absolute paths are judged as they are
    assert resolves_inside(root, str(root / "store"))


def test_a_root_given_through_a_symlink_still_contains_its_files(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert resolves_inside(tmp_path / "link", "m.tflite")


def test_a_nul_byte_resolves_nowhere(tmp_path: Path) -> None:
    assert real_path(tmp_path, "a\0b") is None
    assert not resolves_inside(tmp_path, "a\0b")


@pytest.mark.parametrize("name", ["digits", "kws-v2", "m_a", "int8", "mobilenet.v3"])
def test_safe_names_are_kept(name: str) -> None:
    assert safe_name(name) == name


def test_names_that_sanitize_alike_stay_apart() -> None:
    names = ["m a", "m_a", "m/a", "m\\a", "M_a", "m_A", "prune+int8", "prune-int8", "prune_int8"]
    folders = [safe_name(n) for n in names]
    assert len(set(folders)) == len(names)
    assert safe_name("m a").startswith("m_a+") and safe_name("m a") != "m_a"
    assert safe_name("m a") == safe_name("m a")  # stable across runs: a hash of the exact name


@pytest.mark.parametrize("name", ["..", ".", "../../etc", ".hidden", "", "a/../../b", "x\0y", "é"])
def test_no_name_reaches_another_folder(tmp_path: Path, name: str) -> None:
    folder = safe_name(name)
    assert folder and "/" not in folder and "\\" not in folder and "\0" not in folder
    assert not folder.startswith(".")
    assert (tmp_path / folder).resolve().parent == tmp_path.resolve()
    (tmp_path / folder).mkdir()  # the file system accepts it


def test_long_names_are_cut_and_stay_unique() -> None:
    a, b = "x" * 300 + "a", "x" * 300 + "b"
    assert safe_name(a) != safe_name(b)
    assert len(safe_name(a)) <= NAME_MAX_CHARS + 11
    assert safe_name("y" * NAME_MAX_CHARS) == "y" * NAME_MAX_CHARS


def test_a_name_written_like_a_hashed_one_cannot_take_its_folder() -> None:
    hashed = safe_name("m a")  # "m_a+<hash>": "+" is never kept as written
    assert safe_name(hashed) != hashed


def test_links_of_a_tree_resolve_like_realpath(tmp_path: Path) -> None:
    """``resolve_links`` on a commit's links gives what ``os.path.realpath`` gives on disk."""
    links = {"models": "store", "store/m.tflite": "../real/a.tflite", "real/up": "../..", "abs": "/etc"}
    root = tmp_path / "repo"
    for folder in ("store", "real"):
        (root / folder).mkdir(parents=True)
    for link, target in links.items():
        os.symlink(target, root / link)
    for path, expected in [
        ("models/m.tflite", "real/a.tflite"),
        ("models/other.tflite", "store/other.tflite"),
        ("real/a.tflite", "real/a.tflite"),
        ("models/./x/../y", "store/y"),
    ]:
        assert resolve_links(path, links) == expected
        assert real_path(root, path) == Path(os.path.realpath(root)) / expected
    for leading_out in ("real/up/x", "abs/passwd", "../x"):
        assert resolve_links(leading_out, links) is None
        assert not resolves_inside(root, leading_out)


def test_a_link_loop_ends() -> None:
    with pytest.raises(LinkLoop, match=f"more than {MAX_LINKS} symlinks"):
        resolve_links("a/m.tflite", {"a": "b", "b": "a"})
