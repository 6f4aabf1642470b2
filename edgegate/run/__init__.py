"""The run: policy → changed models → jobs on workers → figures → verdicts → ``RunResult``.

``run_check(options, progress)`` is the one entry point the commands call. It reads the
policy, finds the changed models, materializes their versions (``plan``), and hands them to
the schedule (``loop.run``) over a worker pool. The parent never imports TensorFlow.

Bad input never costs the report: a model that cannot be read gets its error and the others
are gated; a folder that cannot be written is an ``OutputError`` naming it; and the result
holds only text every output can encode (a file name that is not UTF-8 comes out escaped).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from edgegate.run.options import CheckOptions

if TYPE_CHECKING:
    from edgegate.progress import Progress
    from edgegate.results import RunResult
    from edgegate.run.cache import ResultsCache

__all__ = ["CheckOptions", "run_check"]


def run_check(options: CheckOptions, progress: Progress | None = None) -> RunResult:
    """Run the gate. ``UsageError``/``PolicyError`` before any work for bad options or policy;
    a problem with one model is recorded on that model and the others are still gated."""
    from edgegate.errors import OutputError
    from edgegate.policy.diff import policy_changes as policy_changes_between
    from edgegate.progress import Progress
    from edgegate.results import NO_CHANGE_NOTE, GitRef, RunResult
    from edgegate.status import Status

    progress = progress or Progress()
    started = time.monotonic()
    repo, policy, changes, changed = select(options)
    cache = _cache(options)
    cache_base = _cache_base(options)
    notes = list(changes.notes) + list(options.extra_notes)
    base_policy, base_note = _base_policy(repo, policy, changes.base_sha)
    if base_note and options.trust != "base":
        # Nothing is turned off in a local run: only the comparison of the two policies is missing.
        notes.append(f"{base_note}: the policy's changes since the base are not listed")
    policy_changes = policy_changes_between(base_policy, policy) if base_policy is not None else ()
    if options.trust == "base":
        changed = _trusted_only(repo, policy, changes, changed, (base_policy, base_note), notes)

    def result(models: tuple[Any, ...], status: Status) -> RunResult:
        return _encodable(
            RunResult(
                status,
                GitRef(changes.base_ref, changes.base_sha),
                GitRef("working tree", changes.head_sha),
                models,
                policy.display_path,
                _versions(),
                round(time.monotonic() - started, 3),
                f"{options.shard[0]}/{options.shard[1]}" if options.shard else None,
                tuple(notes),
                policy_changes=policy_changes,
            )
        )

    if not changed:
        notes.append(NO_CHANGE_NOTE)
        return result((), Status.PASS)
    keep = options.out_dir is not None
    try:
        # Absolute: workers run in a private working folder, where a relative --out would land.
        work_root = (
            Path(options.out_dir).absolute()
            if options.out_dir is not None
            else Path(tempfile.mkdtemp(prefix="edgegate-"))
        )
        work_root.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a read-only RUNNER_TEMP, a full disk: nothing can be built
        where = options.out_dir if options.out_dir is not None else tempfile.gettempdir()
        raise OutputError(
            f"{where}: cannot create the folder for the candidates ({e.strerror or e}); it must be "
            "writable (--out, or RUNNER_TEMP in GitHub Actions, or TMPDIR)"
        ) from None
    try:
        models = _gate(
            options, policy, repo, changes, changed, work_root, keep, progress, cache, cache_base, notes
        )
    finally:
        if not keep:
            shutil.rmtree(work_root, ignore_errors=True)
    return result(models, RunResult.status_of(models))


def _trusted_only(repo, policy, changes, changed: list[Any], at_merge_base, notes: list[str]) -> list[Any]:
    """``changed`` with its code-running settings taken from the base branch's head (its policy,
    not the merge base's: the PR's author picks that by branching early) and kept only where the
    PR leaves the code they run as the base has it (``run/trusted_code.py``)."""
    from edgegate.policy.trust import restrict_to_trusted
    from edgegate.run.trusted_code import pin_to_base, runs_code

    trusted_sha = changes.trusted_sha or changes.base_sha
    base_policy, base_note = (
        at_merge_base if trusted_sha == changes.base_sha else _base_policy(repo, policy, trusted_sha)
    )
    if base_note:
        notes.append(f"{base_note}: every setting that runs code is off")
    trusted, said = restrict_to_trusted(policy, base_policy)
    notes += said
    by_index = {m.index: m for m in trusted.models}
    changed = [replace(c, target=replace(c.target, model=by_index[c.target.model.index])) for c in changed]
    if trusted_sha is None or not any(runs_code(c.target.model) for c in changed):
        return changed
    changed, pinned = pin_to_base(changed, base_policy, repo.changed_paths(trusted_sha))
    notes += pinned
    return changed


def _gate(
    options,
    policy,
    repo,
    changes,
    changed,
    work_root: Path,
    keep: bool,
    progress,
    cache,
    cache_base,
    notes: list[str],
) -> tuple[Any, ...]:
    from edgegate.changes.select import ModelMaterializer
    from edgegate.repo_paths import safe_name
    from edgegate.run import loop
    from edgegate.run.jobs import ModelRef
    from edgegate.run.needs import missing_tensorflow_message, needs_of, tensorflow_installed
    from edgegate.run.plan import plan_model
    from edgegate.run.pool_runner import PoolRunner
    from edgegate.workers.pool import WorkerPool

    settings = loop.Settings(
        root=policy.root,
        latency=options.latency,
        threads=options.threads,
        only_recipes=options.recipes,
        keep_in=work_root if keep else None,
    )
    needs = needs_of(changed, repo.root)
    # Without TensorFlow (the light core install) the .tflite models are still gated; the others
    # say what to install.
    unconvertible = set() if tensorflow_installed() else set(needs.tensorflow_for)
    # Compilers the base policy names are exported to a private folder (mkdtemp: mode 0700) that
    # outlives the pool running them, outside --out (the artifact has no use for them).
    with (
        ModelMaterializer(repo, changes.base_sha) as materializer,
        tempfile.TemporaryDirectory(prefix="edgegate-trusted-code-") as trusted_code,
    ):
        plans = []
        for i, ch in enumerate(changed):
            # Unique per exact name: "m a" and "m_a" never share a folder, ".." never climbs.
            work = work_root / safe_name(ch.target.name)
            plan = plan_model(ModelRef(i, ch.target.name), ch, materializer, work, policy.display_path)
            shown = f"{ch.target.name} ({ch.target.path})"
            if shown in unconvertible and plan.error is None:
                plan = replace(plan, error=missing_tensorflow_message(shown))
            plans.append(plan)
        if options.trust == "base" and changes.trusted_sha:
            from edgegate.run.trusted_code import pin_compilers

            plans, said = pin_compilers(plans, repo, changes.trusted_sha, Path(trusted_code))
            notes += said
        jobs = options.jobs or os.cpu_count() or 1
        with WorkerPool(size=max(1, min(jobs, 8)), log_dir=work_root / "logs") as pool:
            if cache is None:
                return loop.run(plans, PoolRunner(pool, progress), settings)
            from edgegate.run.cache import CachingRunner

            runner = CachingRunner(
                PoolRunner(pool, progress), cache, base=cache_base, fresh_only=options.cache_fresh_only
            )
            models = loop.run(plans, runner, settings)
            notes.append(runner.summary().note())
            return models


def _cache(options: CheckOptions) -> ResultsCache | None:
    """The results cache ``--cache`` names, or None; ``UsageError`` for a folder it cannot use."""
    if options.cache_dir is None:
        return None
    from edgegate.errors import UsageError
    from edgegate.run.cache import DEFAULT_MAX_BYTES, ResultsCache

    try:
        return ResultsCache(Path(options.cache_dir), options.cache_max_bytes or DEFAULT_MAX_BYTES)
    except OSError as e:
        raise UsageError(f"--cache {options.cache_dir}: cannot use this folder ({e.strerror or e})") from None


def _cache_base(options: CheckOptions) -> ResultsCache | None:
    """The read-only entries ``--cache-base`` names, or None; it needs ``--cache`` (where the
    run writes)."""
    if options.cache_base_dir is None:
        return None
    from edgegate.errors import UsageError
    from edgegate.run.cache import ResultsCache

    if options.cache_dir is None:
        raise UsageError(
            f"--cache-base {options.cache_base_dir}: also give --cache DIR (where this run writes)"
        )
    return ResultsCache(Path(options.cache_base_dir), read_only=True)


def select(options: CheckOptions) -> tuple[Any, Any, Any, list[Any]]:
    """The repository, its policy, the change set and the models this run (or shard) gates."""
    from edgegate.changes.no_base import every_model_without_base
    from edgegate.changes.select import find_changes
    from edgegate.errors import UsageError
    from edgegate.policy.load import load_policy_checked
    from edgegate.policy.problems import policy_error

    repo, without_base = _repository(options)
    checked = load_policy_checked(options.policy or repo.root / "edgegate.yml", root=repo.root)
    problems = list(checked.problems)  # the targets' settings among them: one error lists them all
    if problems:
        from edgegate.changes.select import expand_targets_checked

        # and what only the file system can tell (a path leading out, two models of one name):
        # without other problems, finding the changes below raises these by themselves
        problems += expand_targets_checked(checked.policy)[1]
        raise policy_error(problems)
    policy = checked.policy
    if options.recipes:
        known = {r.label for m in policy.models for r in m.recipes}
        unknown = sorted(set(options.recipes) - known)
        if unknown:
            raise UsageError(
                f"--recipes: no recipe labelled {', '.join(unknown)} in {policy.display_path}; "
                f"the policy has {', '.join(sorted(known))}"
            )
    changes = (
        every_model_without_base(policy, without_base)
        if without_base
        else find_changes(
            policy,
            repo,
            base=options.base,
            all_models=options.all_models,
            paths=options.paths,
            # A model is the one its name names: its base version is where the base branch's
            # policy had it, wherever the pull request's policy moved it.
            base_policy=lambda sha: _base_policy(repo, policy, sha)[0],
        )
    )
    changed = list(changes.models)
    if options.shard:
        from edgegate.shards import select_shard

        names = select_shard([c.target.name for c in changed], *options.shard)
        changed = [c for c in changed if c.target.name in names]
    return repo, policy, changes, changed


def _repository(options: CheckOptions) -> tuple[Any, Any]:
    """The git repository; with ``--all`` and no ``--base``, a folder without git or without a
    base branch is gated without comparisons (``changes/no_base.py``) instead of refused."""
    from edgegate.changes.git import GitRepo
    from edgegate.changes.no_base import NoBase
    from edgegate.errors import UsageError

    without_base_allowed = options.all_models and options.base is None and not options.paths
    try:
        repo = GitRepo(options.repo)
    except UsageError:
        if not without_base_allowed or not Path(options.repo).is_dir():
            raise
        source = NoBase(Path(options.repo), f"{Path(options.repo).resolve()} is not a git repository")
        return source, source
    if without_base_allowed:
        try:
            repo.default_base()
        except UsageError:
            return repo, NoBase(repo.root, "no base branch (origin/HEAD, main or master) in this repository")
    return repo, None


def _base_policy(repo: Any, policy: Any, base_sha: str | None) -> tuple[Any, str | None]:
    """The base branch's version of the policy file (what a pull-request run trusts), if it has one."""
    from edgegate.errors import EdgeGateError
    from edgegate.policy.load import load_policy

    if base_sha is None:
        return None, None
    rel = policy.display_path
    with tempfile.TemporaryDirectory(prefix="edgegate-base-policy-") as tmp:
        try:
            if not repo.exists_at(base_sha, rel):
                return None, f"the base commit has no {rel}"
            exported = repo.export(base_sha, rel, Path(tmp))
            return load_policy(exported, root=Path(tmp)), None
        except EdgeGateError as e:
            first = str(e).splitlines()[-1].strip()
            return (
                None,
                f"the base branch's {rel} cannot be read ({first})",
            )


T = TypeVar("T")


def _encodable(value: T) -> T:
    """``value`` (a result, and every value inside it) with its text made encodable as UTF-8:
    a surrogate (a byte of a file name that is not UTF-8) is escaped, so the results file, the
    report, the PR comment and the terminal can all be written. Unchanged values stay the same
    objects, so a clean result is returned as it is."""
    if isinstance(value, str):
        from edgegate.policy.names import encodable

        return value if value.isascii() else encodable(value)  # type: ignore[return-value]
    if isinstance(value, tuple):
        items = tuple(_encodable(v) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items  # type: ignore[return-value]
    if isinstance(value, dict):
        pairs = [(k, v, _encodable(k), _encodable(v)) for k, v in value.items()]
        if all(k2 is k and v2 is v for k, v, k2, v2 in pairs):
            return value
        return {k2: v2 for _, _, k2, v2 in pairs}  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = {}
        for f in dataclasses.fields(value):
            if f.init:
                old = getattr(value, f.name)
                new = _encodable(old)
                if new is not old:
                    changed[f.name] = new
        return dataclasses.replace(value, **changed) if changed else value
    return value


def _versions() -> dict[str, str]:
    from importlib import metadata

    from edgegate import __version__

    out = {"edgegate": __version__, "python": sys.version.split()[0]}
    for dist in ("tensorflow", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out
