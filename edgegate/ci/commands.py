"""``edgegate ci``, ``edgegate publish`` and ``edgegate merge`` as functions returning exit codes.

``run_ci`` is the Action's entry point. From the GitHub environment it finds what to compare
with (a pull request's base commit, a push's previous commit, a merge queue's base), gates
the changed models (or one shard of them), writes the results file and the report, then
publishes: the PR comment, the job summary, annotations at the policy's budget lines, and
step outputs. A failure to publish is explained in the log and the job summary but never
changes the exit code, which comes from the gate alone:

- 0: nothing fails by ``--fail-on``; 1: the gate fails by ``--fail-on`` (``error``: a model
  fails; ``warn``: also a warning; ``never``: never);
- 2: usage, policy or environment errors (nothing was gated), or, as with `edgegate check`,
  a model that could not be gated at all (the others are still gated and reported).

``run_publish`` posts an existing results file as the PR comment (the trusted half of the
fork-safe workflow pair, or the job after a sharded matrix); ``run_merge`` joins shards.
"""

from __future__ import annotations

import enum
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from edgegate.errors import EdgeGateError, PolicyError, UsageError
from edgegate.github.client import GitHubClient
from edgegate.github.environment import GitHubEnvironment, valid_repository
from edgegate.github.event import (
    Event,
    MergeGroupEvent,
    PullRequestEvent,
    PushEvent,
    WorkflowRunEvent,
    read_event,
)
from edgegate.github.interface import GitHubApiError
from edgegate.publishers.annotations import Annotation, AnnotationsPublisher
from edgegate.publishers.interface import CommentMode, Outcome, Publication
from edgegate.publishers.job_summary import JobSummaryPublisher
from edgegate.publishers.pr_comment import PrCommentPublisher
from edgegate.publishers.step_outputs import StepOutputsPublisher, write_outputs
from edgegate.results import GitRef, RunResult, read_results, write_results
from edgegate.shards import merge_results, parse_shard
from edgegate.status import Status

PR_NUMBER_FILE = "pr-number"  # beside results.json: which PR a fork's results belong to
DOCS = "docs/github-action.md"
_PROBLEM = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<message>.+)$", re.DOTALL)


class FailOn(str, enum.Enum):
    ERROR = "error"
    WARN = "warn"
    NEVER = "never"

    @classmethod
    def parse(cls, value: str) -> FailOn:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise UsageError(f"--fail-on {value!r}: use one of {', '.join(m.value for m in cls)}") from None

    def exit_code(self, run: RunResult) -> int:
        """As `edgegate check`: 2 when a model could not be gated at all, 1 when a gate fails."""
        if self is FailOn.NEVER:
            return 0
        if any(m.error for m in run.models):
            return 2
        if run.status.fails or (self is FailOn.WARN and run.status == Status.WARN):
            return 1
        return 0


class _Log:
    """Log lines; workflow commands (``::warning::``) only where a runner reads them."""

    def __init__(self, actions: bool):
        self.actions = actions

    def info(self, text: str) -> None:
        print(text, flush=True)

    def warning(self, text: str) -> None:
        self._command("warning", text)

    def error(self, text: str, title: str = "EdgeGate") -> None:
        self._command("error", text, title)

    def _command(self, level: str, text: str, title: str = "EdgeGate") -> None:
        if self.actions:
            print(Annotation(level, text, title).command(), flush=True)
        else:
            print(f"edgegate: {level}: {text}", file=sys.stderr, flush=True)


# --- edgegate ci -------------------------------------------------------------------------------


def run_ci(
    policy: Path | None,
    base: str | None,
    comment: str,
    fail_on: str,
    shard: str | None,
    out_dir: Path | None,
    results_path: Path | None,
    report_path: Path | None,
    env: Mapping[str, str] = os.environ,
) -> int:
    github = GitHubEnvironment.from_env(env)
    log = _Log(github.actions)
    try:
        mode = CommentMode.parse(comment)
        gate = FailOn.parse(fail_on)
        shard_spec = parse_shard(shard) if shard else None
        event = read_event(github.event_name, github.event_path)
    except UsageError as e:
        return _could_not_run(e, github, log)

    out = Path(out_dir) if out_dir else _default_out(github)
    results_path = Path(results_path) if results_path else out / "results.json"
    report_path = Path(report_path) if report_path else out / "report.md"
    pr = event if isinstance(event, PullRequestEvent) else None
    base_ref, why = _base(base, event)
    log.info(f"EdgeGate: comparing with {base_ref or 'the default branch'} ({why})")
    if pr and pr.target:
        _warn_if_pr_code_on_target(github, log)

    from edgegate.run import CheckOptions, run_check
    from edgegate.progress import LogProgress

    options = CheckOptions(
        repo=Path.cwd(), policy=policy, base=base_ref, out_dir=out / "candidates", shard=shard_spec
    )
    try:
        run = run_check(options, LogProgress())
    except EdgeGateError as e:
        return _could_not_run(e, github, log)
    if pr:
        run = replace(run, base=GitRef(pr.base_ref, run.base.sha), head=GitRef(pr.head_ref, run.head.sha))

    try:
        _write_files(run, results_path, report_path, pr)
    except OSError as e:
        return _could_not_run(UsageError(f"cannot write the results: {e}"), github, log)
    _print_table(run)
    log.info(f"results: {results_path}; report: {report_path}")

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

    code = gate.exit_code(run)
    log.info(f"EdgeGate: status {run.status.value}, fail-on {gate.value}: exit {code}")
    return code


def _default_out(github: GitHubEnvironment) -> Path:
    """The runner's temp folder (uploaded as the artifact by the action), else a git-ignored folder."""
    return github.runner_temp / "edgegate" if github.runner_temp else Path("edgegate-out")


def _write_files(run: RunResult, results_path: Path, report_path: Path, pr: PullRequestEvent | None) -> None:
    from edgegate.report.markdown import render_markdown

    write_results(run, results_path)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_markdown(run), encoding="utf-8")
    if pr:  # for the fork-safe pair: the trusted workflow learns the PR from the artifact
        (results_path.parent / PR_NUMBER_FILE).write_text(f"{pr.number}\n", encoding="utf-8")


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


def _warn_if_pr_code_on_target(github: GitHubEnvironment, log: _Log) -> None:
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
    where = f"no comment posted on PR #{pr.number}"
    repo = github.repository or pr.base_repo
    if not valid_repository(repo):
        return Outcome(False, f"{where}: GITHUB_REPOSITORY is {repo!r}, not owner/name")
    if not github.token:
        return Outcome(False, f"{where}: no token; the action passes its github-token input as GITHUB_TOKEN")
    client = GitHubClient(github.api_url, github.token)
    return PrCommentPublisher(client, repo, pr.number, mode, fork=pr.is_fork).publish(publication)


def _print_table(run: RunResult) -> None:
    from rich.console import Console

    from edgegate.report.terminal import print_summary

    print_summary(run, Console(width=120, soft_wrap=True, highlight=False))


def _could_not_run(error: Exception, github: GitHubEnvironment, log: _Log) -> int:
    """Usage, policy or environment error: say so everywhere the user looks, exit 2."""
    message = str(error)
    if github.actions and isinstance(error, PolicyError):
        for annotation in _policy_annotations(error):
            print(annotation.command(), flush=True)
    else:
        log.error(message, "EdgeGate could not run")
    if github.step_summary:
        try:
            with open(github.step_summary, "a", encoding="utf-8") as f:
                f.write(f"## 💥 EdgeGate could not run\n\n```\n{message}\n```\n")
        except OSError:
            pass  # the annotation above already carries the message
    if github.output:
        try:
            write_outputs(
                github.output,
                {"status": Status.ERROR.value, "results-json": "", "report-markdown": "", "comment-url": ""},
            )
        except OSError:
            pass
    return 2


def _policy_annotations(error: PolicyError) -> list[Annotation]:
    """Each ``file:line: key: message`` problem as an annotation at that line of the policy."""
    found = []
    for problem in error.problems:
        match = _PROBLEM.match(problem)
        if match:
            found.append(
                Annotation(
                    "error", match["message"], "EdgeGate: invalid policy", match["file"], int(match["line"])
                )
            )
        else:
            found.append(Annotation("error", problem, "EdgeGate: invalid policy"))
    return found


# --- edgegate publish --------------------------------------------------------------------------


def run_publish(
    results: Path, pr: int | None, repo: str | None, comment: str, env: Mapping[str, str] = os.environ
) -> int:
    """Post a results file as the PR comment: 0 posted (or off), 1 GitHub refused, 2 usage error."""
    github = GitHubEnvironment.from_env(env)
    log = _Log(github.actions)
    try:
        mode = CommentMode.parse(comment)
        run = read_results(Path(results))
        event = read_event(github.event_name, github.event_path)
        repo = repo or github.repository
        if not valid_repository(repo):
            raise UsageError(f"--repo {repo!r}: expected owner/name (default: GITHUB_REPOSITORY)")
        number = pr if pr is not None else _pr_number(event, Path(results))
        if mode is not CommentMode.OFF and not github.token:
            raise UsageError("no GitHub token: set GITHUB_TOKEN (the action passes its github-token input)")
    except UsageError as e:
        log.error(str(e), "EdgeGate publish")
        return 2
    if mode is CommentMode.OFF:
        log.info("PR comment is off (comment: off)")
        return 0

    client = GitHubClient(github.api_url, github.token)
    fork = isinstance(event, PullRequestEvent) and event.is_fork
    commit = event.head_sha if isinstance(event, (PullRequestEvent, WorkflowRunEvent)) else run.head.sha
    details = github.run_url
    if isinstance(event, WorkflowRunEvent):
        # The results came from another (untrusted) run: post them only on the PR that run tested.
        try:
            target = client.get_pull_request(repo, number)
        except GitHubApiError as e:
            log.error(f"cannot look up PR #{number}: {e}", "EdgeGate publish")
            return 1
        if target.head_sha != event.head_sha:
            log.warning(
                f"not posting: PR #{number}'s head is {target.head_sha[:7]}, but the run that produced "
                f"these results tested {event.head_sha[:7]} (a newer push, or a PR number that does not "
                "belong to that run)"
            )
            return 0
        fork = target.head_repo != repo
        details = f"{github.server_url}/{repo}/actions/runs/{event.run_id}"

    publication = Publication(run, Path(results), None, details, commit)
    outcome = PrCommentPublisher(client, repo, number, mode, fork=fork).publish(publication)
    (log.info if outcome.ok else log.error)(outcome.message)
    JobSummaryPublisher(github.step_summary, notes=(outcome.message,)).publish(publication)
    StepOutputsPublisher(github.output, {"comment-url": outcome.url or ""}).publish(publication)
    return 0 if outcome.ok else 1


def _pr_number(event: Event | None, results: Path) -> int:
    """The PR to comment on: this run's PR, the workflow_run's only PR, or the ``pr-number`` file."""
    if isinstance(event, PullRequestEvent):
        return event.number
    if isinstance(event, WorkflowRunEvent) and len(event.pull_requests) == 1:
        return event.pull_requests[0]
    saved = results.parent / PR_NUMBER_FILE
    if saved.is_file():
        text = saved.read_text(encoding="utf-8", errors="replace").strip()
        if not re.fullmatch(r"[1-9][0-9]{0,9}", text):
            raise UsageError(f"{saved}: expected a pull request number, found {text[:40]!r}")
        return int(text)
    raise UsageError(
        f"which pull request? pass --pr N (no pull_request event, and no {PR_NUMBER_FILE} file "
        f"beside {results})"
    )


# --- edgegate merge ----------------------------------------------------------------------------


def run_merge(inputs: list[Path], output: Path) -> int:
    """Join shard results into one file: 0 written, 2 unreadable or inconsistent inputs."""
    try:
        merged = merge_results([read_results(Path(p)) for p in inputs])
    except UsageError as e:
        print(f"edgegate merge: {e}", file=sys.stderr, flush=True)
        return 2
    write_results(merged, Path(output))
    print(
        f"merged {len(inputs)} results file(s): {len(merged.models)} model(s), status {merged.status.value} "
        f"→ {output}",
        flush=True,
    )
    return 0
