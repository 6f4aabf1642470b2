"""``edgegate publish``: post an existing results file as the PR comment.

The trusted half of the fork-safe workflow pair (a ``workflow_run`` after the untrusted
``pull_request`` run), or the job after a sharded matrix. Exit codes: 0 posted (or comment
off, or deliberately not posted), 1 GitHub refused, 2 usage error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from edgegate.cli.github_log import Log, could_not_run
from edgegate.cli.pr_number import PR_NUMBER_FILE, read_pr_number
from edgegate.errors import InputError, UsageError
from edgegate.github.client import GitHubClient
from edgegate.github.environment import GitHubEnvironment, valid_repository
from edgegate.github.event import Event, PullRequestEvent, WorkflowRunEvent, read_event
from edgegate.github.identity import AuthorRule
from edgegate.github.interface import GitHubApiError
from edgegate.publishers.interface import CommentMode, Publication
from edgegate.publishers.job_summary import JobSummaryPublisher
from edgegate.publishers.pr_comment import PrCommentPublisher, marker
from edgegate.publishers.step_outputs import StepOutputsPublisher
from edgegate.report.markdown import write_report
from edgegate.results import read_results


def publish(
    results: Path, pr: int | None, repo: str | None, comment: str, env: Mapping[str, str] = os.environ
) -> int:
    github = GitHubEnvironment.from_env(env)
    log = Log(github.actions)
    try:
        mode = CommentMode.parse(comment)
        event = read_event(github.event_name, github.event_path)
        # A gate job that crashed before writing its results (the sharded pattern, on the PR's own
        # pull_request run): the PR is told this push was not gated, never left with an old verdict.
        crashed = isinstance(event, PullRequestEvent) and not Path(results).exists()
        run = None if crashed else read_results(Path(results))
        repo = repo or github.repository
        if repo is None:
            raise UsageError("which repository? pass --repo owner/name (GITHUB_REPOSITORY is not set)")
        if not valid_repository(repo):
            raise UsageError(f"--repo {repo!r}: expected owner/name")
        number = pr if pr is not None else _pr_number(event, Path(results))
        marker(github.comment_header)
        if mode is not CommentMode.OFF and not github.token:
            raise UsageError("no GitHub token: set GITHUB_TOKEN (the action passes its github-token input)")
    except UsageError as e:
        # An annotation on the runner, where the job's page shows it.
        log.error(str(e), "EdgeGate publish")
        return e.exit_code
    client = GitHubClient(github.api_url, github.token)
    if run is None:
        assert isinstance(event, PullRequestEvent)  # the only event ``crashed`` is set for
        return _could_not_run(client, repo, number, mode, github, log, Path(results), event)
    if mode is CommentMode.OFF:
        log.info("PR comment is off (comment: off)")
        return 0
    fork = isinstance(event, PullRequestEvent) and event.is_fork
    commit = event.head_sha if isinstance(event, (PullRequestEvent, WorkflowRunEvent)) else run.head.sha
    details = github.run_url
    if isinstance(event, PullRequestEvent) and event.head_sha and run.head.sha != event.head_sha:
        # Results of an older push (an artifact from another run) would replace this push's verdict.
        log.warning(
            f"not posting: these results tested {(run.head.sha or '?')[:7]}, but this run's pull request event "
            f"is for PR #{number}'s head {event.head_sha[:7]} (results of another push)"
        )
        return 0
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

    # The report-markdown output: rendered here from the validated results, never a report.md that
    # came in the (untrusted) artifact beside them.
    report_path = (github.runner_temp or Path(results).parent) / "edgegate-publish" / "report.md"
    shown_report: Path | None = report_path
    try:
        write_report(run, report_path)
    except OSError as e:
        log.warning(f"cannot write the report to {report_path}: {e.strerror or e}")
        shown_report = None
    publication = Publication(run, Path(results), shown_report, details, commit)
    author = AuthorRule.from_environment(github)
    outcome = PrCommentPublisher(
        client, repo, number, mode, fork=fork, author=author, header=github.comment_header
    ).publish(publication)
    (log.info if outcome.ok else log.error)(outcome.message)
    JobSummaryPublisher(github.step_summary, notes=(outcome.message,)).publish(publication)
    StepOutputsPublisher(github.output, {"comment-url": outcome.url or ""}).publish(publication)
    return 0 if outcome.ok else 1


def _could_not_run(
    client: GitHubClient,
    repo: str,
    number: int,
    mode: CommentMode,
    github: GitHubEnvironment,
    log: Log,
    results: Path,
    event: PullRequestEvent,
) -> int:
    """No results file: "could not run" on the PR, in the log, summary and outputs (exit 2), as
    ``ci`` says its own errors."""
    error = InputError(
        f"{results}: no results file: the gate job stopped before it wrote one (cancelled, or it "
        "crashed); its log says why"
    )
    author = AuthorRule.from_environment(github)
    publisher = PrCommentPublisher(
        client, repo, number, mode, fork=False, author=author, header=github.comment_header
    )
    outcome = publisher.publish_could_not_run(str(error), event.head_sha, github.run_url)
    (log.info if outcome.ok else log.error)(outcome.message)
    return could_not_run(error, github, log)


def _pr_number(event: Event | None, results: Path) -> int:
    """The PR to comment on: this run's PR, the workflow_run's only PR, or the ``pr-number`` file."""
    if isinstance(event, PullRequestEvent):
        return event.number
    if isinstance(event, WorkflowRunEvent) and len(event.pull_requests) == 1:
        return event.pull_requests[0]
    saved = read_pr_number(results)
    if saved is not None:
        return saved
    raise UsageError(
        f"which pull request? pass --pr N (no pull_request event, and no {PR_NUMBER_FILE} file "
        f"beside {results})"
    )
