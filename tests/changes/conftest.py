"""Real git repositories in tmp_path for the changed-models tests (no network, no TensorFlow)."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from edgegate.changes.git import GitRepo
from edgegate.changes.select import find_changes
from edgegate.policy.load import load_policy


@pytest.fixture(autouse=True)
def isolated_git(tmp_path, monkeypatch):
    """Git ignores the machine's and the user's configuration; commits get a fixed identity."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")


def model_bytes(seed: int, size: int = 6000) -> bytes:
    """Incompressible, reproducible content: git's rename detection pairs files by content."""
    return random.Random(seed).randbytes(size)


class Repo:
    def __init__(self, path: Path):
        self.path = path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.path, check=True, capture_output=True, text=True
        ).stdout.strip()

    def write(self, rel: str, content: bytes | str) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
        return p

    def saved_model(self, rel: str, seed: int) -> None:
        self.write(f"{rel}/saved_model.pb", model_bytes(seed))
        self.write(f"{rel}/variables/variables.index", model_bytes(seed + 1, 300))
        self.write(f"{rel}/variables/variables.data-00000-of-00001", model_bytes(seed + 2))

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def commit_as_base(self, message: str = "base") -> str:
        """Commit, and make main point there: the state the change is compared with."""
        sha = self.commit(message)
        self.git("branch", "-f", "main", "HEAD")
        return sha

    def policy(self, models_yaml: str):
        self.write("edgegate.yml", "version: 1\nmodels:\n" + models_yaml)
        return load_policy(self.path / "edgegate.yml", root=self.path)

    def changes(
        self,
        models_yaml: str,
        *,
        base: str | None = "main",
        all_models: bool = False,
        paths: tuple[str, ...] = (),
    ):
        policy = self.policy(models_yaml)
        return find_changes(policy, GitRepo(self.path), base=base, all_models=all_models, paths=paths)


@pytest.fixture
def repo(tmp_path) -> Repo:
    """A repository on branch main with one commit, checked out on a feature branch."""
    r = Repo(tmp_path / "repo")
    r.path.mkdir()
    r.git("init", "-q", "-b", "main")
    r.write("README.md", "project\n")
    r.commit("initial")
    r.git("checkout", "-q", "-b", "feature")
    return r
