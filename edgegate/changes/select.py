"""Which models a change touched, and local copies of their head and base versions.

``expand_targets`` turns the policy's model entries into concrete models on disk (globs
expanded, every path checked to stay inside the repository). ``find_changes`` compares the
merge base of the base ref and HEAD with the working tree: a model changed when a file under
its path or under one of its ``watch`` paths changed. ``ModelMaterializer`` hands out the
working-tree path of a model's head version and exports its base version into a temp dir.

Policy paths are relative to ``policy.root``, which is the repository's top level.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Callable

from edgegate.changes.interface import ChangedModel, ChangeSet, ChangeSource, ModelTarget, PathChange
from edgegate.changes.lfs import check_not_lfs_pointer
from edgegate.changes.path_index import ChangeIndex, LinkIndex
from edgegate.errors import EdgeGateError, InputError, UsageError
from edgegate.formats import ModelKind, model_kind, model_suffixes
from edgegate.model_files import SAVED_MODEL_FILES, is_saved_model
from edgegate.policy.globs import GlobError, compile_glob, is_glob
from edgegate.policy.names import describe_char, printable, unshowable
from edgegate.policy.problems import PolicyProblem, policy_error
from edgegate.policy.sections import ModelPolicy, Policy
from edgegate.repo_paths import real_path, resolves_inside

SHOWN_PATHS = 3  # changed paths listed in a reason before "and N more"


# --- paths and globs -------------------------------------------------------------------------


def _normalize(path: str) -> str:
    """A policy or command-line path as a repository-relative POSIX path; "" for the root."""
    norm = posixpath.normpath(path.replace("\\", "/"))
    return "" if norm == "." else norm


def _is_glob(path: str) -> bool:
    return is_glob(path)


def _under(path: str, top: str) -> bool:
    """``path`` is ``top`` or inside it."""
    return top == "" or path == top or path.startswith(top + "/")


def _matches(pattern: str, path: str) -> bool:
    """``path`` is the file or folder ``pattern`` names (a path or glob), or lies inside a match."""
    if not _is_glob(pattern):
        return _under(path, pattern)
    return compile_glob(pattern).covers(path)


# Probes of paths that come from git or the policy: a name too long for the file system (git
# stores any length) must mean "not there", never an OSError that stops the whole run.


def _probe_kind(path: Path) -> ModelKind | None:
    try:
        return model_kind(path)
    except (OSError, ValueError):  # no such file can exist: what its name says it would be
        return model_suffixes().get(path.suffix.lower())


def _probe_saved_model(folder: Path) -> bool:
    try:
        return is_saved_model(folder)
    except (OSError, ValueError):
        return False


def _lexists(path: Path) -> bool:
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


def _fixed_prefix(pattern: str) -> str:
    """The folders of a glob before its first wildcard: where to start looking for matches."""
    fixed = []
    for part in pattern.split("/")[:-1]:
        if _is_glob(part):
            break
        fixed.append(part)
    return "/".join(fixed)


def _glob(root: Path, pattern: str) -> list[str]:
    """Models in the working tree matching ``pattern``: model files and whole SavedModel folders."""
    matcher = compile_glob(pattern)
    start = _fixed_prefix(pattern)
    top = root / start
    # Files inside a SavedModel folder belong to that one model, never targets of their own.
    if any(
        _probe_saved_model(root / folder)
        for folder in [start, *map(str, PurePosixPath(start).parents)]
        if folder and folder != "."
    ):
        return []
    # Without ** a match has as many folders as the pattern: no need to walk deeper.
    max_depth = None if "**" in pattern else pattern.count("/")
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        for d in sorted(dirnames):
            rel = posixpath.join(rel_dir, d)
            if d == ".git" or _probe_saved_model(Path(dirpath) / d):
                dirnames.remove(d)
                if d != ".git" and matcher.fullmatch(rel):
                    found.append(rel)
        if max_depth is not None and (rel_dir.count("/") + 1 if rel_dir else 0) >= max_depth:
            dirnames.clear()
        for f in filenames:
            rel = posixpath.join(rel_dir, f)
            if matcher.fullmatch(rel) and _probe_kind(Path(dirpath) / f) is not None:
                found.append(rel)
    return sorted(found)


# --- targets ---------------------------------------------------------------------------------


def _glob_names(entry: ModelPolicy, matches: list[str]) -> list[str]:
    """``name/stem`` per match; the match's path below the glob's fixed folders where stems clash.

    File names come from the repository: what cannot be shown in a line of text (a byte that is
    not UTF-8, a newline) is escaped, so the name prints; the model itself is refused when read
    (``ModelMaterializer.head``)."""
    stems = [PurePosixPath(m).stem for m in matches]
    uses = Counter(stems)
    prefix = _fixed_prefix(_normalize(entry.path))
    return [
        printable(f"{entry.name}/{stem}")
        if uses[stem] == 1
        else printable(f"{entry.name}/{m[len(prefix) + 1 :] if prefix else m}")
        for m, stem in zip(matches, stems)
    ]


def _compiled(policy: Policy) -> list[PolicyProblem]:
    """Each glob of the policy compiled once (the loader checked them; a policy made in code may
    not have been): a malformed one as a ``file:line: key: message`` problem."""
    problems = []
    for entry in policy.models:
        written = [(f"{entry.key}.path", entry.path)] + [
            (f"{entry.key}.watch[{j}]", w) for j, w in enumerate(entry.watch)
        ]
        for key, pattern in written:
            if _is_glob(_normalize(pattern)):
                try:
                    compile_glob(_normalize(pattern))
                except GlobError as e:
                    line = _path_line(entry) if key.endswith(".path") else entry.line or 1
                    problems.append(
                        PolicyProblem(
                            policy.display_path, line, f"{key}: {pattern!r} is not a valid glob: {e}"
                        )
                    )
    return problems


def _path_line(entry: ModelPolicy) -> int:
    """The line of a model's ``path:`` (of the entry when unknown; 1 for a policy made in code)."""
    return entry.path_line or entry.line or 1


def expand_targets(policy: Policy) -> list[ModelTarget]:
    """One target per plain ``path`` and per glob match (sorted), in policy order.

    Raises ``PolicyError`` naming ``models[i].path`` when a path resolves outside the
    repository through a symlink (the loader already rejects ``..`` and absolute paths), or when
    two paths make models of one name.
    """
    targets, problems = expand_targets_checked(policy)
    if problems:
        raise policy_error(problems)
    return targets


def expand_targets_checked(policy: Policy) -> tuple[list[ModelTarget], list[PolicyProblem]]:
    """``expand_targets``, with its problems returned (for one error listing every problem of
    the file: ``edgegate.run.select``)."""
    root = Path(policy.root)
    targets: list[ModelTarget] = []
    problems = _compiled(policy)
    if problems:
        return [], problems
    for entry in policy.models:
        pattern = _normalize(entry.path)
        if _is_glob(pattern):
            matches = _glob(root, pattern)
            names = _glob_names(entry, matches)
        else:
            matches, names = [pattern], [entry.name]
        for path, name in zip(matches, names):
            if not resolves_inside(root, path):
                real = real_path(root, path)
                line = _path_line(entry)
                where = (
                    f"resolves to {real}, outside the repository, through a symlink"
                    if real
                    else "is not a usable path (it holds a NUL byte)"
                )
                problems.append(
                    PolicyProblem(
                        policy.display_path,
                        line,
                        f"{entry.key}.path: {path!r} {where}; EdgeGate reads models only from inside the repository",
                    )
                )
            targets.append(ModelTarget(name, entry, path))
    named: dict[str, ModelTarget] = {}
    for t in targets:
        other = named.setdefault(t.name, t)
        if other is not t and (_is_glob(_normalize(t.model.path)) or _is_glob(_normalize(other.model.path))):
            # (two entries of one name are the loader's to report: "model names must be unique")
            # Results, shards and the report tell models apart by name: two models under one
            # name would be reported as one, or one measured in place of the other.
            line = _path_line(t.model)
            problems.append(
                PolicyProblem(
                    policy.display_path,
                    line,
                    f"{t.model.key}.path: {printable(t.path)!r} makes a model named {t.name!r}, and so "
                    f"does {printable(other.path)!r} ({other.model.key}); rename one",
                )
            )
    return targets, problems


# --- selection -------------------------------------------------------------------------------


def _quoted(path: str) -> str:
    """A path from the command line or the disk in quotes, unshowable characters escaped once."""
    return f"'{printable(path)}'"


def listed_paths(paths: list[str]) -> str:
    """Paths for a message: the first few, then "and N more"."""
    more = len(paths) - SHOWN_PATHS
    return ", ".join(map(printable, paths[:SHOWN_PATHS])) + (f" and {more} more" if more > 0 else "")


def _renamed_from(target: ModelTarget, changes: ChangeIndex) -> str | None:
    """The base path of a target that is the new side of a rename (for folders: of files inside it)."""
    inside = []
    for c in changes.under(target.path):
        if c.status != "R" or c.old_path is None or not _under(c.path, target.path):
            continue
        if c.path == target.path:
            return c.old_path
        rel = c.path[len(target.path) + 1 :]
        if c.old_path.endswith("/" + rel):
            inside.append((rel not in SAVED_MODEL_FILES, c.old_path[: -len(rel) - 1]))
    return min(inside)[1] if inside else None


def _unchanged_copy(c: PathChange, target: ModelTarget, old: str) -> bool:
    """``c`` moved a file of the target from ``old`` without touching its content."""
    return c.status == "R" and c.similarity == 100 and c.old_path == old + c.path[len(target.path) :]


def _head_paths(root: Path, path: str) -> set[str]:
    """Where a model's working-tree path and the symlinks inside its folder lead, inside the repository."""
    real_root = Path(os.path.realpath(root))
    full = root / path
    try:
        links = [full]
        if full.is_dir():
            for dirpath, dirnames, filenames in os.walk(full):
                links += [Path(dirpath) / n for n in dirnames + filenames if (Path(dirpath) / n).is_symlink()]
        reals = [Path(os.path.realpath(link)) for link in links]
    except (OSError, ValueError):  # refused when the model is read (ModelMaterializer.head)
        return set()
    return {r.relative_to(real_root).as_posix() for r in reals if r.is_relative_to(real_root)}


def _base_paths(repo: ChangeSource, base_sha: str, path: str, links: LinkIndex) -> set[str]:
    """Where a model's base path and the symlinks inside its folder lead in the base commit's tree."""
    try:
        real = repo.resolve_at(base_sha, path)
        if real is None:
            return set()
        inner = links.inside(real)
        return {real} | {r for r in map(lambda p: repo.resolve_at(base_sha, p), inner) if r is not None}
    except EdgeGateError:  # a symlink loop: its export says so, on this model
        return set()


def _classify(
    target: ModelTarget,
    changes: ChangeIndex,
    repo: ChangeSource,
    base_sha: str,
    named: str | None,
    links: LinkIndex,
) -> ChangedModel | None:
    """Whether ``target`` changed, and its base version: ``named`` (what the base branch's policy
    called this model by its name, if it exists there), else the same path, else a rename's old path.

    A model's bytes are what its path resolves to: a change to the file a symlink leads to, or to
    a link on its way, changes the model, in the working tree and in the base commit."""
    root = Path(repo.root)
    base_path = named or target.path
    tops = (
        {target.path, base_path}
        | _head_paths(root, target.path)
        | _base_paths(repo, base_sha, base_path, links)
    )
    own = changes.touching(tops)
    watch = target.model.watch
    watched = list(changes.watched(watch, lambda p: any(_matches(_normalize(w), p) for w in watch)))
    watch_reason = (f"watched path changed: {listed_paths(watched)}",) if watched else ()
    paths = sorted({c.path for c in own})
    linked = " (through a symlink)" if any(not _under(p, target.path) for p in paths) else ""
    own_reason = (f"changed: {listed_paths(paths)}{linked}",) if own else ()
    if named is not None and named != target.path:
        # The policy moved the model: it is compared with what its name was at base, whatever
        # git pairs (a model grown 3,000-fold is no rename to git, and would be "new").
        reason = f"moved from {printable(named)} (its path in the base branch's policy)"
        return ChangedModel(target, "moved", named, (reason,) + own_reason + watch_reason)
    if not own and not watched:
        return None
    if named is not None or repo.exists_at(base_sha, target.path):
        return ChangedModel(target, "modified", target.path, own_reason + watch_reason)
    old = _renamed_from(target, changes)
    if old is not None and repo.exists_at(base_sha, old):
        edited = any(not _unchanged_copy(c, target, old) for c in own)
        reason = f"renamed from {printable(old)}" + (", with edits" if edited else "")
        return ChangedModel(target, "renamed", old, (reason,) + watch_reason)
    return ChangedModel(target, "added", None, ("new model: not present at the base commit",) + watch_reason)


def _tree_models(paths: tuple[str, ...], pattern: str) -> list[str]:
    """``_glob`` on a commit's files: model files and SavedModel folders matching ``pattern``."""
    matcher = compile_glob(pattern)
    saved = {posixpath.dirname(p) for p in paths if posixpath.basename(p) in SAVED_MODEL_FILES} - {""}

    def in_saved(p: str) -> bool:
        while saved and p:  # a folder on the way is a SavedModel (string steps: thousands of paths)
            p = p.rpartition("/")[0]
            if p in saved:
                return True
        return False

    files = [p for p in paths if PurePosixPath(p).suffix.lower() in model_suffixes() and not in_saved(p)]
    return sorted(m for m in [*files, *saved] if matcher.fullmatch(m) and not in_saved(m))


def base_models(base: Policy | None, repo: ChangeSource, base_sha: str) -> dict[str, str]:
    """Model name → its path at the base commit, as the base branch's policy names its models
    (globs expanded on the base commit's files); only paths that exist there."""
    named: dict[str, str] = {}
    for entry in base.models if base is not None else ():
        pattern = _normalize(entry.path)
        if not _is_glob(pattern):
            if repo.exists_at(base_sha, pattern):
                named[entry.name] = pattern
            continue
        try:
            matches = _tree_models(repo.paths_at(base_sha), pattern)
        except GlobError:
            continue
        named.update(zip(_glob_names(entry, matches), matches))
    return named


def _requested(policy: Policy, targets: list[ModelTarget], paths: tuple[str, ...]) -> dict[str, str]:
    """Target path → the ``--path`` that asked for it; ``UsageError`` for paths naming no model."""
    real_root = os.path.realpath(policy.root)
    # As git takes them: from the current folder when it is inside the repository, else from its root.
    here = os.path.realpath(os.getcwd())
    from_here = here == real_root or here.startswith(real_root + os.sep)
    chosen: dict[str, str] = {}
    unknown = []
    for raw in paths:
        if os.path.isabs(raw):
            given = os.path.relpath(os.path.realpath(raw), real_root)
        else:  # the path's own symlinks kept: a model may be a link the policy names
            given = os.path.relpath(os.path.join(here, raw), real_root) if from_here else raw
        p = _normalize(given)
        hits = [t for t in targets if _under(p, t.path) or _under(t.path, p) or p == _normalize(t.model.path)]
        if not hits:
            unknown.append(raw)
        for t in hits:
            chosen.setdefault(t.path, raw)
    if unknown:
        models = "\n".join(f"  {m.name}: {m.path}" for m in policy.models)
        raise UsageError(
            f"no model in {policy.display_path} is at or under {', '.join(_quoted(u) for u in unknown)} "
            f"(paths are relative to the current folder inside the repository, else to its root); "
            f"its models are:\n{models}"
        )
    return chosen


def _moved_to(path: str, changes: ChangeIndex) -> str | None:
    """Where a removed file or folder went, when the change renamed it rather than deleting it."""
    for c in changes.under(path):
        if c.status == "R" and c.old_path is not None and _under(c.old_path, path):
            rel = c.old_path[len(path) :]  # "" for the file itself, "/…" for a file in the folder
            if c.path.endswith(rel):
                return c.path[: len(c.path) - len(rel)]
    return None


def _gone_note(policy: Policy, entry: ModelPolicy, name: str, path: str, changes: ChangeIndex) -> str:
    moved = _moved_to(path, changes)
    if moved:
        return (
            f"model {name}: {printable(path)} was moved to {printable(moved)} in this change; update "
            f"{entry.key}.path in {policy.display_path} to gate it there"
        )
    return f"model {name}: {printable(path)} was deleted in this change: nothing to gate"


def _removed_models(root: Path, changes: list[PathChange]) -> set[str]:
    """Model files and SavedModel folders present at the base commit and gone from the working tree."""
    removed = set()
    for c in changes:
        old = c.old_path if c.status == "R" else c.path if c.status == "D" else None
        if old is None:
            continue
        folder, name = posixpath.split(old)
        path = folder if name in SAVED_MODEL_FILES else old if _probe_kind(root / old) is not None else None
        if path is not None and not _lexists(root / path):
            removed.add(path)
    return removed


def find_changes(
    policy: Policy,
    repo: ChangeSource,
    *,
    base: str | None,
    all_models: bool,
    paths: tuple[str, ...],
    base_policy: Callable[[str], Policy | None] | None = None,
) -> ChangeSet:
    """The models to gate: the changed ones, every one (``all_models``) or those at ``paths``.

    A model is the one its name names: its base version is where ``base_policy`` (the base
    branch's policy, loaded for a base commit) had a model of that name, then the same path,
    then a rename git found; else it is new. Unchanged models gated on request get
    ``change="requested"``. Models the change deleted (or moved away from their policy path)
    are not gated; a note says so.
    """
    root = Path(policy.root)
    targets = expand_targets(policy)
    requested = _requested(policy, targets, paths) if paths else {}
    head_sha = repo.head_sha()
    base_ref = base or repo.default_base()
    base_commit = repo.resolve(base_ref)
    base_sha = repo.merge_base(base_ref, "HEAD") if head_sha else base_commit
    changes = ChangeIndex(repo.changed_paths(base_sha))
    links = LinkIndex(lambda: repo.links_at(base_sha))
    named = base_models(base_policy(base_sha), repo, base_sha) if base_policy and base_sha else {}

    models: list[ChangedModel] = []
    notes: list[str] = []
    for t in targets:
        if paths and t.path not in requested:
            continue
        if not _lexists(root / t.path):  # only plain paths: glob targets were found on disk
            if repo.exists_at(base_sha, t.path):
                notes.append(_gone_note(policy, t.model, t.name, t.path, changes))
                continue
            if repo.exists_at(base_commit, t.path):
                notes.append(
                    f"model {t.name}: {printable(t.path)} exists on {base_ref} but not in this branch; "
                    "nothing to gate until the branch has it"
                )
                continue
            # Never existed: a typo in the policy. Gate it so the run fails, naming the file;
            # a note alone would let a misspelt path pass every PR unnoticed.
            models.append(
                ChangedModel(t, "added", None, (f"check {t.model.key}.path in {policy.display_path}",))
            )
            continue
        changed = _classify(t, changes, repo, base_sha, named.get(t.name), links)
        if changed is None and (all_models or paths):
            why = "--all" if all_models else requested[t.path]
            base_path = t.path if repo.exists_at(base_sha, t.path) else None
            changed = ChangedModel(
                t, "requested", base_path, (f"unchanged; gated on request ({printable(why)})",)
            )
        if changed is not None:
            models.append(changed)

    followed = {m.base_path for m in models if m.change in ("renamed", "moved")}
    removed = sorted(_removed_models(root, changes.changes) - followed)
    for entry in policy.models:
        pattern = _normalize(entry.path)
        if not _is_glob(pattern):
            continue
        gone = [p for p in removed if compile_glob(pattern).fullmatch(p)]
        notes += [
            _gone_note(policy, entry, printable(f"{entry.name}/{PurePosixPath(p).stem}"), p, changes)
            for p in gone
        ]
        if not gone and not any(t.model is entry for t in targets):
            notes.append(f"model {entry.name}: nothing matches {entry.path!r} in the working tree")
    return ChangeSet(base_ref, base_sha, head_sha, tuple(models), tuple(notes), trusted_sha=base_commit)


class ModelMaterializer:
    """Local paths to read a model's versions from: the working tree (head) and a temp export (base).

    Use as a context manager; the exports are removed on exit, whether or not an error occurred.
    """

    def __init__(self, repo: ChangeSource, base_sha: str | None):
        self.repo = repo
        self.base_sha = base_sha
        self._dir: Path | None = None
        self._exported: dict[str, Path] = {}

    def __enter__(self) -> ModelMaterializer:
        self._dir = Path(tempfile.mkdtemp(prefix="edgegate-base-"))
        return self

    def __exit__(self, *exc) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None
        self._exported.clear()

    def _check_inside(self, path: Path, display: str) -> None:
        if not resolves_inside(self.repo.root, path):
            real = real_path(self.repo.root, path)
            raise InputError(
                f"{printable(display)} resolves to {printable(str(real))}, outside the repository, "
                "through a symlink; EdgeGate reads models only from inside the repository"
            )

    def head(self, path: str) -> Path:
        """The working-tree path of ``path``, checked to stay inside the repository, LFS pointers refused."""
        _check_showable(path)
        full = self.repo.root / path
        self._check_inside(full, path)
        try:
            if full.is_file():
                check_not_lfs_pointer(full, path)
            elif full.is_dir():
                for dirpath, dirnames, filenames in os.walk(full):
                    for name in dirnames + filenames:
                        entry = Path(dirpath) / name
                        display = entry.relative_to(self.repo.root).as_posix()
                        _check_showable(display)
                        if entry.is_symlink():
                            self._check_inside(entry, display)
                        if entry.is_file():
                            check_not_lfs_pointer(entry, display)
        except OSError as e:
            raise InputError(f"{printable(path)}: cannot read it ({e.strerror or e})") from None
        return full

    def base(self, path: str) -> Path:
        """A local copy of ``path`` as of the base commit (exported once, then reused)."""
        if self.base_sha is None or self._dir is None:
            raise RuntimeError("ModelMaterializer.base needs a base commit and an open `with` block")
        _check_showable(path)
        if path not in self._exported:
            self._exported[path] = self.repo.export(self.base_sha, path, self._dir)
        return self._exported[path]


def _check_showable(path: str) -> None:
    """``InputError`` for a model file whose name cannot be shown as written: the report, the PR
    comment and the results file name models by their files, and an escaped name (``\\xff``)
    could be mistaken for another file's. Renaming it is the fix; the other models go on."""
    bad = unshowable(path)
    if bad is not None:
        raise InputError(
            f"{printable(path)}: the file name holds {describe_char(bad)}; EdgeGate names models by "
            "their files in reports, so rename it to UTF-8 text without control characters"
        )
