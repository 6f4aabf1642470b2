"""Which models a change touched: real repositories, real git, dummy model files."""

from __future__ import annotations

import os

import pytest

from edgegate.changes.git import GitRepo
from edgegate.changes.select import expand_targets, find_changes
from edgegate.errors import PolicyError, UsageError
from edgegate.policy.load import load_policy
from tests.changes.conftest import model_bytes

ONE = "  - name: digits\n    path: models/digits.tflite\n"
TWO = ONE + "  - name: kws\n    path: models/kws.keras\n"


def by_name(changes):
    return {m.target.name: m for m in changes.models}


def test_unchanged_model_is_not_gated(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.policy(ONE)
    repo.commit_as_base()
    changes = repo.changes(ONE)
    assert changes.models == ()
    assert changes.base_ref == "main"
    assert changes.head_sha == repo.git("rev-parse", "HEAD")
    assert changes.base_sha == repo.git("rev-parse", "main")


def test_modified_model_only(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.write("models/kws.keras", model_bytes(2))
    repo.commit_as_base()
    repo.write("models/digits.tflite", model_bytes(3))
    changes = repo.changes(TWO)
    assert list(by_name(changes)) == ["digits"]
    m = changes.models[0]
    assert (m.change, m.base_path) == ("modified", "models/digits.tflite")
    assert m.target.path == "models/digits.tflite"
    assert m.reasons == ("changed: models/digits.tflite",)


def test_committed_change_on_the_branch_is_compared_with_the_merge_base(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.commit_as_base()
    repo.write("models/digits.tflite", model_bytes(3))
    repo.commit("retrain")
    # main moves on after the branch point: its own changes are not this branch's.
    repo.git("checkout", "-q", "main")
    repo.write("models/kws.keras", model_bytes(9))
    main_tip = repo.commit("main work")
    repo.git("checkout", "-q", "feature")
    changes = repo.changes(TWO)
    assert list(by_name(changes)) == ["digits"]
    assert changes.base_sha != main_tip
    assert changes.base_sha == repo.git("merge-base", "main", "HEAD")


def test_added_model_has_no_base(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.commit()
    m = repo.changes(ONE).models[0]
    assert (m.change, m.base_path) == ("added", None)


def test_untracked_new_model_is_changed(repo):
    repo.write("models/digits.tflite", model_bytes(1))  # never git-added
    m = repo.changes(ONE).models[0]
    assert (m.change, m.base_path) == ("added", None)


def test_ignored_file_is_not_a_change(repo):
    repo.write(".gitignore", "*.tflite\n")
    repo.commit()
    repo.write("models/digits.tflite", model_bytes(1))
    assert repo.changes(ONE).models == ()


def test_committed_rename_is_followed(repo):
    repo.write("models/old.tflite", model_bytes(1))
    repo.commit_as_base()
    repo.git("mv", "models/old.tflite", "models/digits.tflite")
    repo.commit("rename")
    m = repo.changes(ONE).models[0]
    assert (m.change, m.base_path) == ("renamed", "models/old.tflite")
    assert m.reasons == ("renamed from models/old.tflite",)


def test_rename_with_small_edit_without_git_mv_is_followed(repo):
    repo.write("models/old.tflite", model_bytes(1))
    repo.commit_as_base()
    (repo.path / "models/old.tflite").rename(repo.path / "models/digits.tflite")
    with open(repo.path / "models/digits.tflite", "ab") as f:
        f.write(b"tweak")
    index_before = (repo.path / ".git/index").read_bytes()
    m = repo.changes(ONE).models[0]
    assert (m.change, m.base_path) == ("renamed", "models/old.tflite")
    assert m.reasons == ("renamed from models/old.tflite, with edits",)
    # The user's index is untouched: the untracked file is still untracked.
    assert (repo.path / ".git/index").read_bytes() == index_before
    assert "?? models/digits.tflite" in repo.git("status", "--porcelain")


def test_saved_model_folder_change_is_one_model(repo):
    repo.saved_model("models/detector", seed=10)
    repo.commit_as_base()
    repo.write("models/detector/variables/variables.data-00000-of-00001", model_bytes(99))
    changes = repo.changes("  - name: detector\n    path: models/detector\n")
    assert len(changes.models) == 1
    m = changes.models[0]
    assert (m.target.name, m.change, m.base_path) == ("detector", "modified", "models/detector")
    assert m.reasons == ("changed: models/detector/variables/variables.data-00000-of-00001",)


def test_renamed_saved_model_folder_is_followed(repo):
    repo.saved_model("models/det_v1", seed=10)
    repo.commit_as_base()
    repo.git("mv", "models/det_v1", "models/detector")
    m = repo.changes("  - name: detector\n    path: models/detector\n").models[0]
    assert (m.change, m.base_path) == ("renamed", "models/det_v1")
    assert m.reasons == ("renamed from models/det_v1",)


def base_policy_loader(repo, tmp_path):
    """What the run passes ``find_changes``: the base commit's policy, loaded from its blob."""
    git = GitRepo(repo.path)
    return lambda sha: load_policy(git.export(sha, "edgegate.yml", tmp_path / sha), root=tmp_path / sha)


def test_a_model_moved_by_its_policy_is_compared_with_the_file_its_name_had(repo, tmp_path):
    """Nothing alike for git to pair (and a new file at the old path besides): the base policy's
    ``digits`` is the base version, for a plain path and for a glob's models alike."""
    repo.write("models/digits.tflite", model_bytes(1))
    repo.write("zoo/a.tflite", model_bytes(2))
    repo.policy(ONE + "  - name: zoo\n    path: 'zoo/*.tflite'\n")
    repo.commit_as_base()
    repo.write("models/digits.tflite", model_bytes(3))  # another model now sits at the old path
    repo.write("models/digits_v2.tflite", model_bytes(4, 60000))
    (repo.path / "zoo/a.tflite").unlink()
    repo.write("archive/a.tflite", model_bytes(5))
    moved = (
        "  - name: digits\n    path: models/digits_v2.tflite\n  - name: zoo\n    path: 'archive/*.tflite'\n"
    )
    policy = repo.policy(moved)
    changes = find_changes(
        policy,
        GitRepo(repo.path),
        base="main",
        all_models=False,
        paths=(),
        base_policy=base_policy_loader(repo, tmp_path),
    )
    models = by_name(changes)
    assert (models["digits"].change, models["digits"].base_path) == ("moved", "models/digits.tflite")
    assert (
        models["digits"].reasons[0]
        == "moved from models/digits.tflite (its path in the base branch's policy)"
    )
    assert (models["zoo/a"].change, models["zoo/a"].base_path) == ("moved", "zoo/a.tflite")
    assert not any("zoo/a" in n for n in changes.notes)  # not "deleted": it moved
    # Without the base policy (none at base, or unreadable): git's view, where both are new.
    plain = by_name(repo.changes(moved))
    assert plain["digits"].change == plain["zoo/a"].change == "added"


def test_a_change_to_what_a_symlink_leads_to_changes_the_model(repo):
    """The model's bytes are what its path resolves to: through a linked file, a linked folder on
    its way, and a link inside a SavedModel folder, at head and at base."""
    repo.write("real/a.tflite", model_bytes(1))
    os.symlink("../real/a.tflite", repo.write("models/.keep", b"").parent / "m.tflite")
    repo.saved_model("store/det", seed=10)
    os.symlink("store", repo.path / "zoo")
    yaml = "  - name: m\n    path: models/m.tflite\n  - name: det\n    path: zoo/det\n"
    repo.commit_as_base()
    assert repo.changes(yaml).models == ()
    repo.write("real/a.tflite", model_bytes(2))
    repo.write("store/det/variables/variables.index", model_bytes(3))
    models = by_name(repo.changes(yaml))
    assert (models["m"].change, models["m"].base_path) == ("modified", "models/m.tflite")
    assert models["m"].reasons == ("changed: real/a.tflite (through a symlink)",)
    assert (models["det"].change, models["det"].base_path) == ("modified", "zoo/det")
    # A folder link on its way pointed elsewhere (both folders unchanged): the model changed.
    repo.saved_model("store2/det", seed=20)
    repo.commit_as_base("store2")
    os.remove(repo.path / "zoo")
    os.symlink("store2", repo.path / "zoo")
    assert by_name(repo.changes(yaml))["det"].reasons == ("changed: zoo (through a symlink)",)


def test_watch_path_change_marks_model_changed(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.write("data/labels.txt", "0\n1\n")
    repo.write("train/config.yaml", "epochs: 1\n")
    repo.commit_as_base()
    policy = ONE + "    watch: [data/labels.txt, 'train/**/*.yaml']\n"
    repo.write("train/config.yaml", "epochs: 2\n")
    m = repo.changes(policy).models[0]
    assert (m.change, m.base_path) == ("modified", "models/digits.tflite")
    assert m.reasons == ("watched path changed: train/config.yaml",)
    repo.write("README.md", "unrelated\n")
    repo.git("checkout", "--", "train/config.yaml")
    assert repo.changes(policy).models == ()


def test_all_gates_every_model(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.write("models/kws.keras", model_bytes(2))
    repo.commit_as_base()
    repo.write("models/kws.keras", model_bytes(3))
    changes = repo.changes(TWO, all_models=True)
    models = by_name(changes)
    assert (models["digits"].change, models["digits"].base_path) == ("requested", "models/digits.tflite")
    assert models["digits"].reasons == ("unchanged; gated on request (--all)",)
    assert models["kws"].change == "modified"


def test_explicit_paths_gate_only_those(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.write("models/kws.keras", model_bytes(2))
    repo.saved_model("models/detector", seed=5)
    repo.commit_as_base()
    repo.write("models/kws.keras", model_bytes(3))  # changed, but not asked for
    policy = TWO + "  - name: detector\n    path: models/detector\n"
    changes = repo.changes(policy, paths=("models/digits.tflite", "./models/detector/saved_model.pb"))
    models = by_name(changes)
    assert sorted(models) == ["detector", "digits"]
    assert models["digits"].reasons == ("unchanged; gated on request (models/digits.tflite)",)
    # A folder holding models selects every model inside it; an absolute path works too.
    changes = repo.changes(policy, paths=(str(repo.path / "models"),))
    assert sorted(by_name(changes)) == ["detector", "digits", "kws"]
    assert by_name(changes)["kws"].change == "modified"


def test_unknown_explicit_path_lists_the_models(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.commit()
    with pytest.raises(UsageError) as err:
        repo.changes(TWO, paths=("models/nope.tflite",))
    msg = str(err.value)
    assert "'models/nope.tflite'" in msg
    assert "digits: models/digits.tflite" in msg and "kws: models/kws.keras" in msg


def test_unknown_explicit_path_that_is_not_utf8_is_shown_escaped(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.commit()
    argv_path = os.fsdecode(b"models/caf\xe9.tflite")  # as Python hands a Latin-1 argument over
    with pytest.raises(UsageError) as err:
        repo.changes(ONE, paths=(argv_path,))
    assert "is at or under 'models/caf\\xe9.tflite' (paths" in str(err.value)
    str(err.value).encode("utf-8")  # printable as it is: no surrogate left in it


def test_glob_expands_to_one_target_per_model(repo):
    repo.write("models/a.tflite", model_bytes(1))
    repo.write("models/b.keras", model_bytes(2))
    repo.write("models/notes.txt", "not a model\n")
    repo.saved_model("models/detector", seed=3)
    repo.write("models/x/deep.h5", model_bytes(4))
    policy = repo.policy("  - name: zoo\n    path: 'models/*'\n  - name: deep\n    path: 'models/**/*.h5'\n")
    targets = [(t.name, t.path) for t in expand_targets(policy)]
    assert targets == [
        ("zoo/a", "models/a.tflite"),
        ("zoo/b", "models/b.keras"),
        ("zoo/detector", "models/detector"),
        ("deep/deep", "models/x/deep.h5"),
    ]


def test_glob_never_targets_files_inside_a_saved_model(repo):
    repo.saved_model("models/detector", seed=3)
    repo.write("models/detector/assets/extra.tflite", model_bytes(7))
    policy = repo.policy(
        "  - name: all\n    path: 'models/**'\n  - name: inner\n    path: 'models/detector/assets/*.tflite'\n"
    )
    assert [(t.name, t.path) for t in expand_targets(policy)] == [("all/detector", "models/detector")]


def test_glob_names_clashing_stems_by_path(repo):
    repo.write("models/x/net.tflite", model_bytes(1))
    repo.write("models/y/net.tflite", model_bytes(2))
    policy = repo.policy("  - name: nets\n    path: 'models/**/*.tflite'\n")
    assert [t.name for t in expand_targets(policy)] == ["nets/x/net.tflite", "nets/y/net.tflite"]


def test_glob_target_changed_and_renamed_within_glob(repo):
    repo.write("models/a.tflite", model_bytes(1))
    repo.write("models/b.tflite", model_bytes(2))
    repo.commit_as_base()
    repo.git("mv", "models/a.tflite", "models/a2.tflite")
    changes = repo.changes("  - name: zoo\n    path: 'models/*.tflite'\n")
    assert [(m.target.name, m.change, m.base_path) for m in changes.models] == [
        ("zoo/a2", "renamed", "models/a.tflite")
    ]
    assert changes.notes == ()  # the old name is followed, not reported as deleted


def test_deleted_models_get_a_note(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.write("zoo/a.tflite", model_bytes(2))
    repo.saved_model("zoo/det", seed=3)
    repo.commit_as_base()
    (repo.path / "models/digits.tflite").unlink()
    repo.git("rm", "-rq", "zoo/det")
    changes = repo.changes(ONE + "  - name: zoo\n    path: 'zoo/*'\n")
    assert changes.models == ()
    assert changes.notes == (
        "model digits: models/digits.tflite was deleted in this change: nothing to gate",
        "model zoo/det: zoo/det was deleted in this change: nothing to gate",
    )


def test_model_moved_away_from_its_policy_path_gets_a_note(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    repo.commit_as_base()
    repo.git("mv", "models/digits.tflite", "models/digits_v2.tflite")
    changes = repo.changes(ONE)
    assert changes.models == ()
    assert changes.notes == (
        "model digits: models/digits.tflite was moved to models/digits_v2.tflite in "
        "this change; update models[0].path in edgegate.yml to gate it there",
    )


def test_missing_model_is_gated_as_an_error_and_empty_glob_gets_a_note(repo):
    changes = repo.changes(ONE + "  - name: zoo\n    path: 'zoo/*.tflite'\n", all_models=True)
    # A path that never existed is a policy typo: gated, so the run fails naming the file.
    (missing,) = changes.models
    assert (missing.target.name, missing.change, missing.base_path) == ("digits", "added", None)
    assert missing.reasons == ("check models[0].path in edgegate.yml",)
    assert changes.notes == ("model zoo: nothing matches 'zoo/*.tflite' in the working tree",)


def test_symlink_escaping_the_repository_is_a_policy_error(repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.tflite").write_bytes(model_bytes(1))
    os.symlink(outside, repo.path / "models")
    with pytest.raises(PolicyError) as err:
        repo.changes(ONE)
    assert err.value.problems == [
        f"edgegate.yml:4: models[0].path: 'models/digits.tflite' resolves to {outside.resolve()}/"
        "digits.tflite, outside the repository, through a symlink; EdgeGate reads models only from inside "
        "the repository"
    ]
    # A glob match through the link is refused the same way.
    with pytest.raises(PolicyError, match=r"models\[0\]\.path: 'models/secret.tflite' resolves to"):
        repo.changes("  - name: zoo\n    path: 'models/*.tflite'\n")


def test_symlink_inside_the_repository_is_fine(repo):
    repo.write("store/digits.tflite", model_bytes(1))
    os.symlink("store", repo.path / "models")
    assert [t.path for t in expand_targets(repo.policy(ONE))] == ["models/digits.tflite"]


def test_dotdot_in_policy_path_is_rejected_by_the_loader(repo):
    with pytest.raises(
        PolicyError,
        match=r"models\[0\]\.path: '\.\./x\.tflite' points outside the "
        r"repository",
    ):
        repo.changes("  - name: up\n    path: ../x.tflite\n")


def test_nul_byte_in_policy_path_is_a_policy_error_not_a_traceback(repo):
    # YAML's "\0" escape puts a NUL byte in the path, which no file system call accepts.
    with pytest.raises(PolicyError, match=r"models\[0\]\.path: 'models/a\\x00b\.tflite' "):
        expand_targets(repo.policy('  - name: nul\n    path: "models/a\\0b.tflite"\n'))


def test_base_given_explicitly(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    first = repo.commit()
    repo.write("models/digits.tflite", model_bytes(2))
    repo.commit()
    assert repo.changes(ONE, base="HEAD").models == ()
    changes = repo.changes(ONE, base=first)
    assert changes.base_ref == first and changes.base_sha == first
    assert changes.models[0].change == "modified"


def test_find_changes_checks_the_base_ref(repo):
    repo.write("models/digits.tflite", model_bytes(1))
    policy = repo.policy(ONE)
    with pytest.raises(UsageError, match="base ref 'origin/nope' does not exist"):
        find_changes(policy, GitRepo(repo.path), base="origin/nope", all_models=True, paths=())


def test_glob_depth_follows_the_pattern(repo):
    repo.write("top.tflite", model_bytes(1))
    repo.write("models/a.tflite", model_bytes(2))
    repo.write("models/sub/b.tflite", model_bytes(3))
    repo.saved_model("models/sub/det", seed=4)
    policy = repo.policy(
        "  - name: root\n    path: '*.tflite'\n  - name: one\n    path: 'models/*/*'\n"
        "  - name: any\n    path: '**/*.tflite'\n"
    )
    assert [t.path for t in expand_targets(policy)] == [
        "top.tflite",
        "models/sub/b.tflite",
        "models/sub/det",
        "models/a.tflite",
        "models/sub/b.tflite",
        "top.tflite",
    ]
