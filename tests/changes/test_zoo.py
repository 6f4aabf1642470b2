"""A zoo of models under one glob: the selection runs a fixed number of git processes, whatever
the number of models (issue 24: one process per model made 20,000 models take minutes)."""

from __future__ import annotations

import os

from edgegate.changes.git import GitRepo
from edgegate.changes.select import find_changes
from tests.changes.conftest import model_bytes

ZOO = "  - name: zoo\n    path: models/**/*.tflite\n"


def _git_processes(monkeypatch) -> list[list[str]]:
    started: list[list[str]] = []
    run = GitRepo._run

    def counted(args, **kwargs):
        started.append(args)
        return run(args, **kwargs)

    monkeypatch.setattr(GitRepo, "_run", staticmethod(counted))
    return started


def _zoo(repo, count: int, seed: int) -> None:
    for i in range(count):
        repo.write(f"models/g{i % 3}/m{i}.tflite", model_bytes(seed + i, 200))


def test_selecting_a_zoo_runs_as_many_git_processes_for_60_models_as_for_3(repo, monkeypatch):
    started = _git_processes(monkeypatch)
    counts = {}
    for n in (3, 60):
        _zoo(repo, n, seed=1000 * n)
        repo.git("branch", "-f", "main", repo.commit("base"))
        _zoo(repo, n, seed=1000 * n + 1)  # every model changed, uncommitted
        os.symlink("g0", repo.path / "models/link")  # a link: the base tree's links are read too
        started.clear()
        # No base policy: the selection asks whether each model exists at the base commit.
        changes = find_changes(repo.policy(ZOO), GitRepo(repo.path), base="main", all_models=False, paths=())
        counts[n] = len(started)
        assert len(changes.models) == n and {m.change for m in changes.models} == {"modified"}
        os.unlink(repo.path / "models/link")
        for f in (repo.path / "models").rglob("*.tflite"):
            f.unlink()
        repo.commit("empty the zoo")
    assert counts[60] == counts[3], counts


def test_exists_at_reads_the_commits_tree_folders_and_links_included(repo):
    repo.write("store/deep/er/m.tflite", model_bytes(1))
    os.symlink("store/deep", repo.path / "models")
    base = repo.commit()
    git = GitRepo(repo.path)
    for present in ("", "store", "store/deep", "store/deep/er", "store/deep/er/m.tflite", "models"):
        assert git.exists_at(base, present), present
    assert git.exists_at(base, "models/er/m.tflite")  # through the symlinked folder
    for absent in ("store/dee", "store/deep/er/m", "models/nope.tflite", "store/deep/er/m.tflite/x"):
        assert not git.exists_at(base, absent), absent
