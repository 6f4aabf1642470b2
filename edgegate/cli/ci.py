"""``edgegate ci``: the Action's entry point.

From the GitHub environment it finds what to compare with (a pull request's base commit, a
push's previous commit, a merge queue's base), gates the changed models (or one shard of
them), writes the results file and the report, then publishes: the PR comment, the job
summary, annotations at the policy's budget lines, and step outputs. A failure to publish is
explained in the log and the job summary but never changes the exit code, which comes from
the gate alone (``edgegate.cli.errors.exit_code`` with ``--fail-on``):

- 0: nothing fails by ``--fail-on``; 1: the gate fails by ``--fail-on`` (``error``: a model
  fails; ``warn``: also a warning; ``never``: never);
- 2: usage, policy, environment or output errors (nothing was gated, or nothing written), or,
  as with ``edgegate check``, a model that could not be gated at all (the others are still
  gated and reported).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from edgegate.cli.errors import FailOn, exit_code
from edgegate.cli.github_log import Log, could_not_run
from edgegate.cli.outputs import write_run_outputs
from edgegate.cli.pr_number import write_pr_number
from edgegate.cli.real_run import real_run
from edgegate.errors import EdgeGateError, OutputError
from edgegate.github.client import GitHubClient
from edgegate.github.environment import GitHubEnvironment, valid_repository
from edgegate.github.event import Event, MergeGroupEvent, PullRequestEvent, PushEvent, read_event
from edgegate.github.identity import AuthorRule
from edgegate.progress import LogProgress
from edgegate.publishers.annotations import AnnotationsPublisher
from edgegate.publishers.interface import CommentMode, Outcome, Publication
from edgegate.publishers.job_summary import JobSummaryPublisher
from edgegate.publishers.pr_comment import PrCommentPublisher, marker
from edgegate.publishers.step_outputs import StepOutputsPublisher
from edgegate.results.history import read_history, with_trends
from edgegate.results import GitRef, RunResult
from edgegate.status import Status
from edgegate.run import CheckOptions
from edgegate.shards import parse_shard

DOCS = "docs/github-action.md"


def ci(
    policy: Path | None,
    base: str | None,
    comment: str,
    fail_on: str,
    shard: str | None,
    out_dir: Path | None,
    results_path: Path | None,
    report_path: Path | None,
    env: Mapping[str, str] = os.environ,
    *,
    cache_dir: Path | None = None,
    cache_max: int | None = None,
    cache_base: Path | None = None,
    costs: Path | None = None,
    history: Path | None = None,
) -> int:
    github = GitHubEnvironment.from_env(env)
    log = Log(github.actions)
    try:
        mode = CommentMode.parse(comment)
        gate = FailOn.parse(fail_on)
        shard_spec = parse_shard(shard) if shard else None
        event = read_event(github.event_name, github.event_path)
        marker(github.comment_header)  # a bad header is a usage error before any work
    except EdgeGateError as e:
        return could_not_run(e, github, log)

    out = Path(out_dir) if out_dir else _default_out(github)
    results_path = Path(results_path) if results_path else out / "results.json"
    report_path = Path(report_path) if report_path else out / "report.md"
    pr = event if isinstance(event, PullRequestEvent) else None
    base_ref, why = _base(base, event)
    log.info(f"EdgeGate: comparing with {base_ref or 'the default branch'} ({why})")
    if pr and pr.target:
        _warn_if_pr_code_on_target(github, log)

    options = CheckOptions(
        repo=Path.cwd(),
        policy=policy,
        base=base_ref,
        out_dir=out / "candidates",
        shard=shard_spec,
        costs=costs,
        trust="base" if pr else "working-tree",  # a PR's own policy never switches on code
        # A pull request's figures come only from the base branch's entries (--cache-base, read
        # only) or from this run: never from entries its earlier pushes wrote (docs/cache.md).
        cache_dir=cache_dir,
        cache_max_bytes=cache_max,
        cache_base_dir=cache_base,
        cache_fresh_only=pr is not None,
    )
    try:
        run = real_run(options, LogProgress())
    except EdgeGateError as e:
        return _not_gated(e, github, log, pr, mode, (results_path, report_path))
    if pr:
        # The PR's own head commit, in the header as in the footer: the checkout is GitHub's test
        # merge of it into the base, a commit nobody pushed.
        run = replace(
            run, base=GitRef(pr.base_ref, run.base.sha), head=GitRef(pr.head_ref, pr.head_sha or run.head.sha)
        )

    if history is not None:
        # Read as untrusted data, bounded; a file it cannot use is a note in the report.
        run = with_trends(run, read_history(Path(history)))

    try:
        write_run_outputs(run, results_path, report_path)
        if pr:  # for the fork-safe pair: the trusted workflow learns the PR from the artifact
            write_pr_number(results_path, pr.number)
    except OutputError as e:
        return _not_gated(e, github, log, pr, mode)
    _print_table(run)
    log.info(f"results: {results_path}; report: {report_path}")

    _publish(run, github, log, pr, mode, (results_path, report_path))

    code = exit_code(run, gate)
    log.info(f"EdgeGate: status {run.status.value}, fail-on {gate.value}: exit {code}")
    return code


def _publish(
    run: RunResult,
    github: GitHubEnvironment,
    log: Log,
    pr: PullRequestEvent | None,
    mode: CommentMode,
    written: tuple[Path, Path],
) -> None:
    """The PR comment (a pull request's, as ``mode`` says), the job summary, the annotations and
    the step outputs of a finished run whose results and report are ``written``."""
    results_path, report_path = written
    publication = Publication(
        run, results_path, report_path, github.run_url, commit=pr.head_sha if pr else github.sha
    )
    if pr is None:
        commented = Outcome(
            True, f"no PR comment: {github.event_name or 'this run'} is not a pull_request event"
        )
    elif mode is CommentMode.OFF:
        commented = Outcome(True, "PR comment is off (comment: off)")
    else:
        commented = _comment(github, pr, mode, publication)
    (log.info if commented.ok else log.warning)(commented.message)

    JobSummaryPublisher(github.step_summary, notes=(commented.message,)).publish(publication)
    if github.actions:
        AnnotationsPublisher().publish(publication)
    StepOutputsPublisher(github.output, {"comment-url": commented.url or ""}).publish(publication)


def _default_out(github: GitHubEnvironment) -> Path:
    """The runner's temp folder (uploaded as the artifact by the action), else a new folder in the
    system's temp folder: never in the checkout, where it would show as untracked (the log names it)."""
    if github.runner_temp:
        return github.runner_temp / "edgegate"
    return Path(tempfile.mkdtemp(prefix="edgegate-ci-"))


def _base(base: str | None, event: Event | None) -> tuple[str | None, str]:
    """The ref to compare with, and why that one."""
    if base:
        return base, "--base"
    if isinstance(event, PullRequestEvent):
        return event.base_sha, f"pull request #{event.number}: {event.head_ref} → {event.base_ref}"
    if isinstance(event, PushEvent):
        if event.before:
            return event.before, f"push to {event.ref}: the commit before the push"
        return None, f"push created {event.ref}"
    if isinstance(event, MergeGroupEvent):
        return event.base_sha, f"merge queue into {event.base_ref}"
    return None, "no pull request or push event"


def _warn_if_pr_code_on_target(github: GitHubEnvironment, log: Log) -> None:
    """pull_request_target checks out the base by default; anything else is probably the PR's code."""
    from edgegate.changes.git import GitRepo

    try:
        head = GitRepo(Path.cwd()).head_sha()
    except EdgeGateError:
        return
    if head and github.sha and head != github.sha:
        log.warning(
            "running on pull_request_target with a checkout other than the base branch: if that is the "
            "pull request's code, its author can run code (dataset hooks, trust_code models) with this "
            f"workflow's write token and secrets. Use the pull_request + workflow_run pair ({DOCS})."
        )


def _comment(
    github: GitHubEnvironment, pr: PullRequestEvent, mode: CommentMode, publication: Publication
) -> Outcome:
    publisher = _publisher(github, pr, mode)
    return publisher.publish(publication) if isinstance(publisher, PrCommentPublisher) else publisher


def _publisher(
    github: GitHubEnvironment, pr: PullRequestEvent, mode: CommentMode
) -> PrCommentPublisher | Outcome:
    """The PR's comment publisher, or why there is none."""
    where = f"no comment posted on PR #{pr.number}"
    repo = github.repository or pr.base_repo
    if not valid_repository(repo):
        return Outcome(False, f"{where}: GITHUB_REPOSITORY is {repo!r}, not owner/name")
    if not github.token:
        return Outcome(False, f"{where}: no token; the action passes its github-token input as GITHUB_TOKEN")
    client = GitHubClient(github.api_url, github.token)
    return PrCommentPublisher(
        client,
        repo,
        pr.number,
        mode,
        fork=pr.is_fork,
        author=AuthorRule.from_environment(github),
        header=github.comment_header,
    )


def _not_gated(
    error: EdgeGateError,
    github: GitHubEnvironment,
    log: Log,
    pr: PullRequestEvent | None,
    mode: CommentMode,
    outputs: tuple[Path, Path] | None = None,
) -> int:
    """EdgeGate could not gate this push: say so everywhere, the PR comment included, so an
    earlier push's green comment never stays under this red check. With ``outputs``, a results
    file and a report say it too (status error, the reason in its notes): the artifact and the
    fork-safe publish half always have something true to show."""
    written: tuple[Path, Path] | None = None
    if outputs is not None:
        failed = RunResult(
            Status.ERROR,
            GitRef(pr.base_ref if pr else None, pr.base_sha if pr else None),
            GitRef(pr.head_ref if pr else None, pr.head_sha if pr else github.sha),
            notes=(f"EdgeGate could not run: {error}",),
        )
        try:
            write_run_outputs(failed, *outputs)
            if pr:
                write_pr_number(outputs[0], pr.number)
            written = outputs
        except OutputError:
            pass  # the log and the summary below still say what went wrong
    code = could_not_run(
        error,
        github,
        log,
        results_path=written[0] if written else None,
        report_path=written[1] if written else None,
    )
    if pr is not None and mode is not CommentMode.OFF:
        publisher = _publisher(github, pr, mode)
        if isinstance(publisher, PrCommentPublisher):
            outcome = publisher.publish_could_not_run(str(error), pr.head_sha, github.run_url)
        else:
            outcome = publisher
        (log.info if outcome.ok else log.warning)(outcome.message)
    return code


def _print_table(run: RunResult) -> None:
    from rich.console import Console

    from edgegate.report.terminal import print_summary

    print_summary(run, Console(width=120, soft_wrap=True, highlight=False))
