"""The git side: repository detection, refs, merge bases, changed paths, base exports, LFS pointers."""

from __future__ import annotations

import os

import pytest

from edgegate.changes.git import GitRepo
from edgegate.changes.interface import PathChange
from edgegate.changes.select import ModelMaterializer
from edgegate.errors import InputError, UsageError
from tests.changes.conftest import Repo, model_bytes

LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n"
)


def test_not_a_git_repository(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(
        UsageError,
        match=r"plain is not inside a git repository \(git says: fatal: not a git "
        r"repository.*run it inside a clone of your repository",
    ):
        GitRepo(plain)


def test_missing_folder(tmp_path):
    with pytest.raises(UsageError, match="nope: no such folder"):
        GitRepo(tmp_path / "nope")


def test_root_is_found_from_a_subfolder(repo):
    sub = repo.path / "models"
    sub.mkdir()
    assert GitRepo(sub).root == repo.path


def test_missing_base_ref(repo):
    with pytest.raises(UsageError) as err:
        GitRepo(repo.path).resolve("origin/main")
    msg = str(err.value)
    assert "base ref 'origin/main' does not exist in this clone" in msg
    assert "`git fetch origin main`" in msg and "fetch-depth: 0" in msg


def test_missing_base_ref_of_another_remote(repo):
    repo.git("remote", "add", "upstream", "file:///nonexistent")
    with pytest.raises(UsageError, match="`git fetch upstream develop`"):
        GitRepo(repo.path).resolve("upstream/develop")


def test_ref_that_looks_like_an_option_is_only_a_ref(repo):
    with pytest.raises(UsageError, match="base ref '--all' does not exist"):
        GitRepo(repo.path).resolve("--all")


def clone(upstream: Repo, dest, *args: str) -> Repo:
    upstream.git("clone", "-q", *args, f"file://{upstream.path}", str(dest))
    return Repo(dest)


def test_a_branch_name_resolves_to_the_remote_branch_in_a_checkout_clone(repo, tmp_path):
    """actions/checkout leaves only the PR's branch local: `--base main` means origin/main."""
    main = repo.git("rev-parse", "main")
    repo.write("a.txt", "1")
    assert repo.commit() != main
    local = clone(repo, tmp_path / "clone")  # checks out the upstream's feature branch only
    assert "main" not in local.git("branch", "--list")
    assert GitRepo(local.path).resolve("main") == main
    with pytest.raises(UsageError, match="`git fetch origin develop`"):
        GitRepo(local.path).resolve("develop")


def test_default_base_follows_origin_head(repo, tmp_path):
    repo.git("branch", "-m", "main", "trunk")
    repo.git("checkout", "-q", "trunk")
    local = clone(repo, tmp_path / "clone")
    git = GitRepo(local.path)
    assert git.default_base() == "origin/trunk"
    # Without origin/HEAD the usual names are tried, remote first.
    local.git("remote", "set-head", "origin", "-d")
    local.git("branch", "-q", "main")
    assert git.default_base() == "main"
    local.git("update-ref", "refs/remotes/origin/main", "HEAD")
    assert git.default_base() == "origin/main"


def test_default_base_falls_back_to_master(tmp_path):
    r = Repo(tmp_path / "r")
    r.path.mkdir()
    r.git("init", "-q", "-b", "master")
    r.commit("initial")
    assert GitRepo(r.path).default_base() == "master"
    r.git("branch", "-m", "master", "trunk")
    with pytest.raises(
        UsageError,
        match="no base branch to compare with.*none of origin/main, main, "
        "origin/master, master exists. Pass --base REF",
    ):
        GitRepo(r.path).default_base()


def test_shallow_clone_without_merge_base(repo, tmp_path):
    repo.git("checkout", "-q", "main")
    repo.write("a.txt", "1")
    repo.commit("main 1")
    repo.git("checkout", "-q", "feature")
    for i in range(2):
        repo.write("b.txt", str(i))
        repo.commit(f"feature {i}")
    local = clone(repo, tmp_path / "shallow", "--depth", "1", "--no-single-branch", "-b", "feature")
    git = GitRepo(local.path)
    assert git.resolve("origin/main")
    with pytest.raises(
        UsageError, match=r"this clone is shallow.*`git fetch --unshallow origin`.*fetch-depth: 0"
    ):
        git.merge_base("origin/main", "HEAD")
    local.git("fetch", "-q", "--unshallow", "origin")
    assert git.merge_base("origin/main", "HEAD") == repo.git("merge-base", "main", "feature")


def test_unrelated_histories(repo):
    repo.git("checkout", "-q", "--orphan", "other")
    repo.commit("unrelated")
    with pytest.raises(UsageError, match="main and HEAD share no history"):
        GitRepo(repo.path).merge_base("main", "HEAD")


def test_head_sha_before_the_first_commit(tmp_path):
    r = Repo(tmp_path / "r")
    r.path.mkdir()
    r.git("init", "-q", "-b", "main")
    assert GitRepo(r.path).head_sha() is None


def test_changed_paths_cover_the_working_tree(repo):
    repo.write("kept.txt", "same")
    repo.write("edited.txt", "v1")
    repo.write("gone.txt", "bye")
    repo.write("moved/from.bin", model_bytes(1))
    base = repo.commit()
    repo.write("edited.txt", "v2")  # unstaged edit
    (repo.path / "gone.txt").unlink()
    repo.git("mv", "moved/from.bin", "moved/to.bin")  # staged rename
    repo.write("staged.txt", "new")
    repo.git("add", "staged.txt")
    repo.write("untracked dir/new file.txt", "new")
    repo.write(".gitignore", "*.log\n")
    repo.write("debug.log", "ignored")
    changes = sorted(GitRepo(repo.path).changed_paths(base), key=lambda c: c.path)
    assert changes == [
        PathChange("A", ".gitignore"),
        PathChange("M", "edited.txt"),
        PathChange("D", "gone.txt"),
        PathChange("R", "moved/to.bin", old_path="moved/from.bin", similarity=100),
        PathChange("A", "staged.txt"),
        PathChange("A", "untracked dir/new file.txt"),
    ]


def test_exists_at_and_export(repo, tmp_path):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.saved_model("models/detector", seed=5)
    base = repo.commit()
    repo.write("models/digits.tflite", model_bytes(2))
    git = GitRepo(repo.path)
    assert git.exists_at(base, "models/digits.tflite") and git.exists_at(base, "models/detector")
    assert not git.exists_at(base, "models/nope.tflite")
    dest = tmp_path / "export"
    out = git.export(base, "models/digits.tflite", dest)
    assert out == dest / "models/digits.tflite" and out.read_bytes() == model_bytes(1)
    folder = git.export(base, "models/detector", dest)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "saved_model.pb",
        "variables/variables.data-00000-of-00001",
        "variables/variables.index",
    ]
    assert (folder / "saved_model.pb").read_bytes() == model_bytes(5)
    with pytest.raises(InputError, match="models/nope.tflite does not exist at the base commit"):
        git.export(base, "models/nope.tflite", dest)


def test_export_refuses_symlinks(repo, tmp_path):
    repo.write("models/detector/saved_model.pb", model_bytes(1))
    os.symlink("/etc/passwd", repo.path / "models/detector/extra")
    base = repo.commit()
    with pytest.raises(InputError, match="models/detector/extra is a symlink at the base commit"):
        GitRepo(repo.path).export(base, "models/detector", tmp_path / "export")


def test_export_follows_symlinks_in_the_base_commits_tree(repo, tmp_path):
    """A model through a symlink (itself, a folder on its way, a file inside its folder) is
    exported as the bytes the link led to at the base commit, whatever the working tree holds."""
    repo.write("real/a.tflite", model_bytes(1))
    repo.write("store/det/saved_model.pb", model_bytes(2))
    repo.write("weights/data", model_bytes(3))
    os.symlink("../../../weights/data", repo.write("store/det/variables/x", b"").parent / "data")
    (repo.path / "store/det/variables/x").unlink()
    os.symlink("../real/a.tflite", repo.write("models/.keep", b"").parent / "m.tflite")
    os.symlink("store", repo.path / "zoo")
    base = repo.commit()
    repo.write("real/a.tflite", model_bytes(9))  # the working tree is not what is read
    git = GitRepo(repo.path)
    assert git.exists_at(base, "zoo/det") and not git.exists_at(base, "zoo/nope")
    assert git.export(base, "models/m.tflite", tmp_path / "e").read_bytes() == model_bytes(1)
    folder = git.export(base, "zoo/det", tmp_path / "e")
    assert folder == tmp_path / "e/zoo/det"
    assert (folder / "saved_model.pb").read_bytes() == model_bytes(2)
    assert (folder / "variables/data").read_bytes() == model_bytes(3)
    assert not (folder / "variables/data").is_symlink()


def test_export_refuses_a_symlink_loop(repo, tmp_path):
    repo.write("models/det/saved_model.pb", model_bytes(1))
    os.symlink("..", repo.path / "models/det/up")
    base = repo.commit()
    with pytest.raises(
        InputError, match="models/det/up/det/up: its symlinks at the base commit .* form a loop"
    ):
        GitRepo(repo.path).export(base, "models/det", tmp_path / "e")


def test_lfs_pointer_at_head(repo):
    repo.write("models/digits.tflite", LFS_POINTER)
    repo.write("models/detector/saved_model.pb", model_bytes(1))
    repo.write("models/detector/variables/variables.data-00000-of-00001", LFS_POINTER)
    git = GitRepo(repo.path)
    with ModelMaterializer(git, None) as m:
        with pytest.raises(
            InputError,
            match=r"^models/digits.tflite is a Git LFS pointer, not the model.*"
            r"`git lfs pull`.*`lfs: true` on actions/checkout",
        ):
            m.head("models/digits.tflite")
        with pytest.raises(
            InputError,
            match=r"^models/detector/variables/variables.data-00000-of-00001 is a "
            r"Git LFS pointer",
        ):
            m.head("models/detector")


def test_lfs_pointer_at_base(repo):
    repo.write("models/digits.tflite", LFS_POINTER)
    repo.commit_as_base()
    repo.write("models/digits.tflite", model_bytes(1))
    changes = repo.changes("  - name: digits\n    path: models/digits.tflite\n")
    git = GitRepo(repo.path)
    with ModelMaterializer(git, changes.base_sha) as m:
        assert m.head("models/digits.tflite").read_bytes() == model_bytes(1)
        with pytest.raises(
            InputError,
            match=r"^models/digits.tflite \(base version at [0-9a-f]{12}\) is a "
            r"Git LFS pointer.*`git lfs fetch origin main`",
        ):
            m.base(changes.models[0].base_path)


def test_materializer_exports_base_and_cleans_up(repo):
    repo.saved_model("models/detector", seed=5)
    repo.commit_as_base()
    repo.write("models/detector/saved_model.pb", model_bytes(6))
    changes = repo.changes("  - name: detector\n    path: models/detector\n")
    ch = changes.models[0]
    with ModelMaterializer(GitRepo(repo.path), changes.base_sha) as m:
        head = m.head(ch.target.path)
        base = m.base(ch.base_path)
        assert head == repo.path / "models/detector"
        assert (head / "saved_model.pb").read_bytes() == model_bytes(6)
        assert (base / "saved_model.pb").read_bytes() == model_bytes(5)
        assert m.base(ch.base_path) == base
        assert not base.is_relative_to(repo.path)
    assert not base.exists() and not base.parents[1].exists()

    with pytest.raises(RuntimeError, match="boom"):
        with ModelMaterializer(GitRepo(repo.path), changes.base_sha) as m:
            base = m.base(ch.base_path)
            raise RuntimeError("boom")
    assert not base.exists() and not base.parents[1].exists()


def test_materializer_refuses_head_symlink_escape(repo, tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"secret")
    repo.write("models/detector/saved_model.pb", model_bytes(1))
    (repo.path / "models/detector/variables").mkdir()
    os.symlink(secret, repo.path / "models/detector/variables/variables.data-00000-of-00001")
    with ModelMaterializer(GitRepo(repo.path), None) as m:
        with pytest.raises(
            InputError,
            match=r"^models/detector/variables/variables.data-00000-of-00001 "
            r"resolves to .*secret.bin, outside the repository",
        ):
            m.head("models/detector")
