"""The git CLI as a ``ChangeSource``: refs, merge bases, changed paths and base-version exports.

Everything runs ``git`` in a subprocess at the top level of the working tree with literal
pathspecs (a model named ``[v2].tflite`` is a name, not a pattern). Failures the user can fix
(not a repository, unknown ref, shallow history) are ``UsageError``s saying how; a base
version that cannot be read belongs to one model and is an ``InputError``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from edgegate.changes.interface import ChangeSource, PathChange
from edgegate.changes.lfs import resolve_base_pointer
from edgegate.errors import InputError, UsageError
from edgegate.policy.names import encodable, printable
from edgegate.repo_paths import LinkLoop, resolve_links

DEFAULT_BASES = ("origin/main", "main", "origin/master", "master")
SYMLINK_MODE = "120000"
FETCH_ALL_HINT = "in GitHub Actions, give actions/checkout `fetch-depth: 0`"


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _git_error(proc: subprocess.CompletedProcess) -> str:
    # git quotes the paths it names; bytes that are not UTF-8 are escaped so the message prints.
    return encodable(_decode(proc.stderr).strip().replace("\n", " ")) or f"exit status {proc.returncode}"


class GitRepo(ChangeSource):
    """The git working tree containing ``path``."""

    def __init__(self, path: Path | str):
        path = Path(path)
        if not path.is_dir():
            raise UsageError(f"{path}: no such folder; run edgegate inside your repository's checkout")
        proc = self._run(["rev-parse", "--show-toplevel"], cwd=path)
        top = _decode(proc.stdout).strip()
        if proc.returncode or not top:
            raise UsageError(
                f"{path.absolute()} is not inside a git repository (git says: {_git_error(proc)}). EdgeGate "
                "gates the models a change touches by comparing your working tree with a base branch: run it "
                "inside a clone of your repository or point --repo at one (in CI, after actions/checkout), "
                "or `git init` and commit your models first"
            )
        self.root = Path(top)
        self._trees: dict[str, dict[str, tuple[str, str, str]]] = {}
        self._links: dict[str, dict[str, str]] = {}
        self._folders: dict[str, set[str]] = {}

    # --- running git ----------------------------------------------------------------------

    @staticmethod
    def _run(
        args: list[str],
        *,
        cwd: Path,
        env: dict[str, str] | None = None,
        input: bytes | None = None,
        stdout=subprocess.PIPE,
    ) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "GIT_LITERAL_PATHSPECS": "1", **(env or {})}
        try:
            return subprocess.run(
                ["git", *args], cwd=cwd, env=full_env, input=input, stdout=stdout, stderr=subprocess.PIPE
            )
        except FileNotFoundError:
            raise UsageError(
                "git is not installed or not on PATH; EdgeGate needs the git command line"
            ) from None

    def _git(self, *args: str, env: dict[str, str] | None = None, input: bytes | None = None):
        return self._run(list(args), cwd=self.root, env=env, input=input)

    def _checked(self, *args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> bytes:
        proc = self._git(*args, env=env, input=input)
        if proc.returncode:
            raise UsageError(f"`git {' '.join(args)}` failed in {self.root}: {_git_error(proc)}")
        return proc.stdout

    def _commit_of(self, ref: str) -> str | None:
        proc = self._git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        return _decode(proc.stdout).strip() if proc.returncode == 0 else None

    # --- refs -----------------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        sha = self._commit_of(ref)
        if sha:
            return sha
        listed = _decode(self._git("remote").stdout).split()
        # An actions/checkout clone has no local branches but the checked-out one: `main`
        # is then only the remote-tracking branch (origin first).
        for remote in sorted(listed, key=lambda r: r != "origin"):
            sha = self._commit_of(f"refs/remotes/{remote}/{ref}")
            if sha:
                return sha
        remotes = {"origin", *listed}
        remote, _, branch = ref.partition("/")
        if remote not in remotes or not branch:
            remote, branch = "origin", ref
        raise UsageError(
            f"base ref {ref!r} does not exist in this clone ({self.root}). Fetch it first, e.g. "
            f"`git fetch {remote} {branch}` ({FETCH_ALL_HINT}), or pass --base with a branch, tag or "
            "commit that exists here"
        )

    def default_base(self) -> str:
        proc = self._git("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
        origin_head = _decode(proc.stdout).strip()
        if proc.returncode == 0 and origin_head:
            return origin_head
        for ref in DEFAULT_BASES:
            if self._commit_of(ref):
                return ref
        raise UsageError(
            f"no base branch to compare with in {self.root}: origin/HEAD is not set and none of "
            f"{', '.join(DEFAULT_BASES)} exists. Pass --base REF (e.g. --base origin/develop), or fetch the "
            f"default branch, e.g. `git fetch origin main` ({FETCH_ALL_HINT})"
        )

    def merge_base(self, a: str, b: str) -> str:
        proc = self._git("merge-base", "--end-of-options", a, b)
        if proc.returncode == 0:
            return _decode(proc.stdout).strip()
        shallow = _decode(self._git("rev-parse", "--is-shallow-repository").stdout).strip() == "true"
        if shallow:
            raise UsageError(
                f"this clone is shallow and lacks the history where {a} and {b} meet, so EdgeGate cannot "
                "tell what your change touched. Fetch more history, e.g. `git fetch --unshallow origin` "
                f"({FETCH_ALL_HINT})"
            )
        raise UsageError(f"{a} and {b} share no history; pass a --base your branch was started from")

    def head_sha(self) -> str | None:
        return self._commit_of("HEAD")

    # --- paths ----------------------------------------------------------------------------

    def changed_paths(self, base_sha: str) -> list[PathChange]:
        diff = ("diff", "--name-status", "-M", "-z", "--no-relative", "--no-ext-diff", base_sha, "--")
        untracked = self._checked("ls-files", "--others", "--exclude-standard", "-z")
        if not untracked:
            return _parse_name_status(self._checked(*diff))
        # Untracked files join the diff through a throwaway index where they are intent-to-add:
        # git then pairs them with deleted files, so a model moved without `git mv` is a rename.
        # The user's own index is never written.
        index = Path(_decode(self._checked("rev-parse", "--git-path", "index")).strip())
        with tempfile.TemporaryDirectory(prefix="edgegate-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if (self.root / index).is_file():
                # copy2 keeps the mtime git's racy-clean check compares entries with.
                shutil.copy2(self.root / index, env["GIT_INDEX_FILE"])
            self._checked(
                "add",
                "--intent-to-add",
                "--pathspec-from-file=-",
                "--pathspec-file-nul",
                env=env,
                input=untracked,
            )
            return _parse_name_status(self._checked(*diff, env=env))

    def exists_at(self, sha: str, path: str) -> bool:
        # Looked up in the commit's listing (one ``ls-tree`` per commit, cached), never one git
        # process per model: a zoo of thousands asks this of every model.
        if self._in_tree(sha, path):
            return True
        # Through a symlinked folder (``models`` → ``store``), which git does not follow.
        real = self.resolve_at(sha, path)
        return real not in (None, path) and self._in_tree(sha, real)

    def _in_tree(self, sha: str, path: str) -> bool:
        """``path`` is a file, symlink, submodule or folder of ``sha``'s tree (as ``cat-file -e``)."""
        if sha not in self._folders:
            folders = {""}  # the top: ``cat-file -e sha:`` names the root tree
            for entry in self._tree(sha):
                folder = entry.rpartition("/")[0]
                while folder not in folders:  # every folder on the way, once
                    folders.add(folder)
                    folder = folder.rpartition("/")[0]
            self._folders[sha] = folders
        return path in self._tree(sha) or path in self._folders[sha]

    def _tree(self, sha: str) -> dict[str, tuple[str, str, str]]:
        """Every file, symlink and submodule of ``sha``'s tree: path → (mode, kind, object id)."""
        if sha not in self._trees:
            listing = _decode(self._checked("ls-tree", "-r", "-z", "--full-tree", sha)).split("\0")
            tree = {}
            for line in filter(None, listing):
                meta, _, entry_path = line.partition("\t")
                mode, kind, oid = meta.split(" ")
                tree[entry_path] = (mode, kind, oid)
            self._trees[sha] = tree
        return self._trees[sha]

    def paths_at(self, sha: str) -> tuple[str, ...]:
        return tuple(self._tree(sha))

    def links_at(self, sha: str) -> dict[str, str]:
        if sha not in self._links:
            links = {p: oid for p, (mode, _, oid) in self._tree(sha).items() if mode == SYMLINK_MODE}
            self._links[sha] = {
                p: _decode(self._checked("cat-file", "blob", oid)) for p, oid in links.items()
            }
        return self._links[sha]

    def resolve_at(self, sha: str, path: str) -> str | None:
        try:
            return resolve_links(path, self.links_at(sha))
        except LinkLoop as e:
            raise InputError(f"{printable(str(e))} at the base commit {sha[:12]}") from None

    def lfs_objects(self) -> Path:
        """Where git-lfs keeps the objects it fetched: ``lfs/objects`` in the (common) git dir."""
        common = Path(_decode(self._checked("rev-parse", "--git-common-dir")).strip())
        return (self.root / common if not common.is_absolute() else common) / "lfs" / "objects"

    def export(self, sha: str, path: str, dest: Path) -> Path:
        """Write ``path`` (a file or a whole folder) as of ``sha`` below ``dest``; return ``dest / path``.

        Each file is its raw blob (``cat-file blob``), never through the checkout filters: the
        ``.gitattributes`` in the working tree is the pull request's, and ``*.keras text
        eol=crlf`` (or ``ident``, ``working-tree-encoding``) there would rewrite the base model's
        bytes, make it unreadable and silently turn every ``vs_base`` budget into a skip. A blob
        that is a Git LFS pointer is replaced by its object from the local LFS store, if fetched.
        Symlinks (the path's own, its folders', those inside a folder) are followed in ``sha``'s
        tree, never the working tree's: the base version is the bytes the link led to at base. A
        link leading out of the repository is refused.
        An executable blob stays executable (a compiler script the base policy names runs from here).
        """
        self._export(sha, path, dest / path, frozenset())
        return dest / path

    def _export(self, sha: str, path: str, out: Path, following: frozenset[str]) -> None:
        short = sha[:12]
        real = self.resolve_at(sha, path)
        if real is None:
            raise InputError(
                f"{printable(path)} is a symlink at the base commit {short} leading out of the repository; "
                "EdgeGate reads models only from inside the repository"
            )
        if real in following:
            raise InputError(f"{printable(path)}: its symlinks at the base commit {short} form a loop")
        entries = [(p, e) for p, e in self._tree(sha).items() if p == real or p.startswith(real + "/")]
        if not entries:
            raise InputError(f"{printable(path)} does not exist at the base commit {short}")
        lfs_objects = self.lfs_objects()
        for entry_path, (mode, kind, oid) in entries:
            rel = entry_path[len(real) :]  # "" for the file itself, "/…" for a file in the folder
            shown, to = path + rel, Path(str(out) + rel)
            if mode == SYMLINK_MODE:
                self._export(sha, shown, to, following | {real})
                continue
            if kind != "blob":
                raise InputError(
                    f"{printable(shown)} is a submodule at the base commit {short}; EdgeGate reads only "
                    "regular files of a model"
                )
            self._write_blob(oid, to, shown, short)
            resolve_base_pointer(to, lfs_objects, f"{printable(shown)} (base version at {short})")
            if mode == "100755":  # an exported program (a compiler the base policy names) stays runnable
                to.chmod(to.stat().st_mode | stat.S_IXUSR)

    def _write_blob(self, oid: str, out: Path, shown: str, short: str) -> None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(out, "wb") as f:
                proc = self._run(["cat-file", "blob", oid], cwd=self.root, stdout=f)
        except OSError as e:  # a name too long for this file system, a full disk
            raise InputError(
                f"{printable(shown)}: cannot write its base version to {out}: {e.strerror or e}"
            ) from None
        if proc.returncode:
            raise InputError(
                f"{printable(shown)}: cannot read it at the base commit {short}: {_git_error(proc)}"
            )


def _parse_name_status(raw: bytes) -> list[PathChange]:
    """Parse ``git diff --name-status -z``: ``STATUS\\0path\\0``, renames ``R087\\0old\\0new\\0``."""
    fields = _decode(raw).split("\0")
    changes: list[PathChange] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        if status[0] == "R":
            changes.append(
                PathChange(
                    status[0],
                    fields[i + 2],
                    old_path=fields[i + 1],
                    similarity=int(status[1:]) if status[1:].isdigit() else None,
                )
            )
            i += 3
        else:
            changes.append(PathChange(status[0], fields[i + 1]))
            i += 2
    return changes
