"""The run: policy → changed models → jobs on a runner → figures → verdicts → ``RunResult``.

``run_check(options, changes=, runner=, cache=)`` is the one entry point the commands call. Its
parts are injected: ``changes`` is version control (git in a real run), ``runner`` opens the
``Runner`` the jobs go to (the worker pool), ``cache`` the results cache (or None). It reads the
policy, finds the changed models (``selection.py``), materializes their versions (``plan``), and
hands them to the schedule (``loop.run``). The parent never imports TensorFlow.

Bad input never costs the report: a model that cannot be read gets its error and the others
are gated; a folder that cannot be written is an ``OutputError`` naming it; and the result
holds only text every output can encode (a file name that is not UTF-8 comes out escaped).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from edgegate.changes.interface import ChangedModel, ChangeSet, ChangeSource
from edgegate.run.options import CheckOptions
from edgegate.run.selection import Selection, select, trusted_only

if TYPE_CHECKING:
    from edgegate.changes.select import ModelMaterializer
    from edgegate.policy.sections import Policy
    from edgegate.results import ModelResult, RunResult
    from edgegate.run.cache import RunCache
    from edgegate.run.loop import Runner
    from edgegate.run.plan import ModelPlan
    from edgegate.status import Status


class OpenRunner(Protocol):
    """Opens the ``Runner`` a run's jobs go to, its logs under ``log_dir``, for the run's length
    (``run/pool_runner.WorkerPoolRunners`` in a real run; an in-process fake in the tests)."""

    def __call__(self, log_dir: Path) -> AbstractContextManager[Runner]: ...


def run_check(
    options: CheckOptions, *, changes: ChangeSource, runner: OpenRunner, cache: RunCache | None
) -> RunResult:
    """Run the gate. ``UsageError``/``PolicyError`` before any work for bad options or policy;
    a problem with one model is recorded on that model and the others are still gated."""
    from edgegate.policy.diff import policy_changes as policy_changes_between
    from edgegate.results import NO_CHANGE_NOTE, RunResult
    from edgegate.status import Status

    started = time.monotonic()
    selection = select(options, changes)
    notes = [*selection.changes.notes, *selection.shard_notes, *options.extra_notes]
    at_merge_base = selection.at_merge_base
    if at_merge_base[1] and options.trust != "base":
        # Nothing is turned off in a local run: only the comparison of the two policies is missing.
        notes.append(f"{at_merge_base[1]}: the policy's changes since the base are not listed")
    base = at_merge_base[0]
    said = policy_changes_between(base, selection.policy) if base is not None else ()
    models = selection.models
    if options.trust == "base":
        models = trusted_only(changes, selection, at_merge_base, notes)

    def result(gated: tuple[ModelResult, ...], status: Status, seconds: dict[str, float]) -> RunResult:
        took = round(time.monotonic() - started, 3)
        return _result(options, selection, gated, status, notes, said, took, seconds)

    if not models:
        notes.append(NO_CHANGE_NOTE)
        return result((), Status.PASS, {})
    work_root = _work_root(options)
    run = _Run(options, selection.policy, changes, selection.changes, work_root)
    try:
        gated, seconds = _gate(run, models, runner, cache, notes)
    finally:
        if options.out_dir is None:
            shutil.rmtree(work_root, ignore_errors=True)
    return result(gated, RunResult.status_of(gated), seconds)


@dataclass(frozen=True)
class _Run:
    """What every stage of one run reads: its options, policy, version control and work folder."""

    options: CheckOptions
    policy: Policy
    source: ChangeSource
    changes: ChangeSet
    work_root: Path  # candidates are built below it; removed after the run unless --out named it

    @property
    def keep(self) -> bool:
        return self.options.out_dir is not None


def _work_root(options: CheckOptions) -> Path:
    """The folder candidates are built in: ``--out``, else a new temporary folder."""
    from edgegate.errors import OutputError

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
    return work_root


def _gate(
    run: _Run,
    models: tuple[ChangedModel, ...],
    runner: OpenRunner,
    cache: RunCache | None,
    notes: list[str],
) -> tuple[tuple[ModelResult, ...], dict[str, float]]:
    from edgegate.changes.select import ModelMaterializer
    from edgegate.run import loop

    settings = loop.Settings(
        root=run.policy.root,
        latency=run.options.latency,
        threads=run.options.threads,
        only_recipes=run.options.recipes,
        keep_in=run.work_root if run.keep else None,
    )
    # Compilers the base policy names are exported to a private folder (mkdtemp: mode 0700) that
    # outlives the runner running them, outside --out (the artifact has no use for them).
    with (
        ModelMaterializer(run.source, run.changes.base_sha) as materializer,
        tempfile.TemporaryDirectory(prefix="edgegate-trusted-code-") as trusted_code,
    ):
        plans = _plans(run, models, materializer)
        if run.options.trust == "base" and run.changes.trusted_sha:
            from edgegate.run.trusted_code import pin_compilers

            plans, said = pin_compilers(plans, run.source, run.changes.trusted_sha, Path(trusted_code))
            notes += said
        with runner(run.work_root / "logs") as jobs_runner:
            if cache is None:
                return loop.run_timed(plans, jobs_runner, settings)
            caching = cache.runner(jobs_runner)
            gated = loop.run_timed(plans, caching, settings)
            notes.append(caching.summary().note())
            return gated


def _plans(run: _Run, models: tuple[ChangedModel, ...], materializer: ModelMaterializer) -> list[ModelPlan]:
    """Each model's plan, its versions materialized; a model that needs TensorFlow where it is not
    installed (the light core install) gets an error saying what to install, the .tflite models
    are still gated."""
    from edgegate.repo_paths import safe_name
    from edgegate.run.jobs import ModelRef
    from edgegate.run.needs import missing_tensorflow_message, needs_of, tensorflow_installed
    from edgegate.run.plan import plan_model

    needs = needs_of(models, run.source.root)
    unconvertible = set() if tensorflow_installed() else set(needs.tensorflow_for)
    plans = []
    for i, ch in enumerate(models):
        # Unique per exact name: "m a" and "m_a" never share a folder, ".." never climbs.
        work = run.work_root / safe_name(ch.target.name)
        plan = plan_model(ModelRef(i, ch.target.name), ch, materializer, work, run.policy.display_path)
        shown = f"{ch.target.name} ({ch.target.path})"
        if shown in unconvertible and plan.error is None:
            plan = replace(plan, error=missing_tensorflow_message(shown))
        plans.append(plan)
    return plans


def _result(
    options: CheckOptions,
    selection: Selection,
    models: tuple[ModelResult, ...],
    status: Status,
    notes: list[str],
    policy_changes: tuple[str, ...],
    duration_s: float,
    model_seconds: dict[str, float],
) -> RunResult:
    """The run's result, its text made encodable as UTF-8: a surrogate (a byte of a file name that
    is not UTF-8) is escaped, so the results file, the report, the PR comment and the terminal
    can all be written. A clean result is returned as it is (``map_text`` copies nothing)."""
    from edgegate.policy.names import encodable
    from edgegate.results import GitRef, RunResult
    from edgegate.text_walk import map_text

    changes = selection.changes
    return map_text(
        RunResult(
            status,
            GitRef(changes.base_ref, changes.base_sha),
            GitRef("working tree", changes.head_sha),
            models,
            selection.policy.display_path,
            _versions(),
            duration_s,
            f"{options.shard[0]}/{options.shard[1]}" if options.shard else None,
            tuple(notes),
            policy_changes=policy_changes,
            shard_plan=selection.shard_plan.digest if selection.shard_plan else None,
            model_seconds={encodable(name): s for name, s in model_seconds.items()},
        ),
        encodable,
    )


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
