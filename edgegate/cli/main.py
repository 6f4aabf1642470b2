"""The ``edgegate`` command line (typer): flags in, one command function called, its exit code out.

Each command parses its flags, imports its module only then (so ``edgegate --help`` and a run
with nothing to gate stay fast and never load TensorFlow), and runs it through the one error
handler, ``edgegate.cli.errors.guarded``. Exit codes are described there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, List, NoReturn, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from edgegate.cli.errors import guarded


class _NoTypeAfterHelp:
    """``--help`` takes no value: typer's own option would show ``<bool>`` after it."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class _Command(_NoTypeAfterHelp, TyperCommand):
    pass


class _Group(_NoTypeAfterHelp, TyperGroup):
    pass


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,  # locals may hold tokens in CI
    help="Guard on-device TensorFlow model budgets (size, latency, accuracy, Edge TPU).",
)


def _exit(command: Callable[..., int], *args: Any, **kwargs: Any) -> NoReturn:
    raise typer.Exit(guarded(command, *args, **kwargs))


COSTS_HELP = (
    "A results file or a folder of them (the base branch's last shard results) whose models' seconds balance --shard by cost; "
    "give every shard the same file (env EDGEGATE_COSTS; see docs/github-action.md)."
)
CACHE_HELP = (
    "Reuse figures of unchanged inputs from this results cache folder, and add new ones "
    "(env EDGEGATE_CACHE; see docs/cache.md). Latency is always measured."
)
CACHE_BASE_HELP = (
    "Also reuse figures from this results cache folder, read only (the base branch's entries in a "
    "pull request's run; env EDGEGATE_CACHE_BASE). With it, --cache is where this run writes and "
    "only the entries this run stored there are read (docs/cache.md)."
)
CACHE_MAX_HELP = "Bound of the results cache, e.g. 2GB (the default); least recently used entries go first."


def _flag(default: bool, *declarations: str, help: str) -> Any:
    """An option that takes no value: no type shown after it in ``--help`` (typer would show
    ``<bool>``, as if it wanted one)."""
    return typer.Option(default, *declarations, metavar="", help=help)


def _size(text: str) -> int:
    """A size flag ("2GB", "500 MB", bytes): typer reports a bad one as a usage error (exit 2)."""
    from edgegate.units import parse_size

    try:
        size = parse_size(text)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    if size <= 0:
        raise typer.BadParameter("must be more than 0 bytes")
    return size


@app.command(cls=_Command)
def check(
    paths: List[str] = typer.Argument(None, help="Gate the models at these paths (changed or not)."),
    policy: Optional[Path] = typer.Option(
        None, "--policy", "-p", help="Policy file (default: edgegate.yml at the repository root)."
    ),
    base: Optional[str] = typer.Option(
        None, "--base", "-b", help="Compare with this ref (default: the remote's default branch, else main)."
    ),
    all_models: bool = _flag(False, "--all", help="Gate every model in the policy."),
    recipes: Optional[str] = typer.Option(
        None, "--recipes", help="Only these recipe labels, comma-separated."
    ),
    latency: bool = _flag(True, "--latency/--no-latency", help="Time the candidates."),
    threads: Optional[int] = typer.Option(
        None,
        "--threads",
        min=1,
        help="Interpreter threads for latency and evaluation (default: the policy's, else 1).",
    ),
    jobs: Optional[int] = typer.Option(
        None, "--jobs", "-j", min=1, help="Worker processes (default: cores)."
    ),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the results file here."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the markdown report here."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Keep the candidate .tflite files in this folder."
    ),
    repo: Path = typer.Option(Path("."), "--repo", help="The repository (default: current folder)."),
    quiet: bool = _flag(False, "--quiet", "-q", help="No progress, only the final table."),
    cache: Optional[Path] = typer.Option(None, "--cache", envvar="EDGEGATE_CACHE", help=CACHE_HELP),
    cache_max: Optional[int] = typer.Option(
        None, "--cache-max", envvar="EDGEGATE_CACHE_MAX", parser=_size, metavar="SIZE", help=CACHE_MAX_HELP
    ),
    cache_base: Optional[Path] = typer.Option(
        None, "--cache-base", envvar="EDGEGATE_CACHE_BASE", help=CACHE_BASE_HELP
    ),
) -> None:
    """Gate the models this change touched: optimize, measure, compare with base, judge."""
    from edgegate.cli.check import check as command
    from edgegate.run import CheckOptions

    options = CheckOptions(
        repo=repo,
        policy=policy,
        base=base,
        all_models=all_models,
        paths=tuple(paths or ()),
        recipes=tuple(r.strip() for r in recipes.split(",")) if recipes else (),
        latency=latency,
        threads=threads,
        jobs=jobs,
        out_dir=out,
        cache_dir=cache,
        cache_max_bytes=cache_max,
        cache_base_dir=cache_base,
    )
    _exit(command, options, json_out, report, quiet=quiet)


@app.command(cls=_Command)
def init(
    repo: Path = typer.Option(Path("."), "--repo", help="The repository to scan for models."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Where to write (default: edgegate.yml)."
    ),
    force: bool = _flag(False, "--force", help="Overwrite an existing policy file."),
) -> None:
    """Write a commented starter policy for the models found in the repository."""
    from edgegate.cli.init import init as command

    _exit(command, repo, output, force=force)


@app.command(cls=_Command)
def edgetpu(
    model: Path = typer.Argument(..., help="A .tflite (or compiled *_edgetpu.tflite) file."),
    compiler_version: int = typer.Option(
        16, "--compiler-version", help="edgetpu_compiler major version (14-16)."
    ),
    runtime: Optional[int] = typer.Option(None, "--runtime", help="Target runtime version (10-14)."),
    compiler: str = typer.Option("auto", "--compiler", help="auto | static | path to edgetpu_compiler."),
    as_json: bool = _flag(False, "--json", help="Print the analysis as JSON."),
) -> None:
    """Predict (or compile and report) how much of a model runs on the Coral Edge TPU."""
    from edgegate.cli.edgetpu import edgetpu as command

    _exit(command, model, compiler_version, runtime, compiler, as_json)


@app.command(cls=_Command)
def ci(
    policy: Optional[Path] = typer.Option(None, "--policy", "-p"),
    base: Optional[str] = typer.Option(None, "--base", help="Override the base (default: the PR's base)."),
    comment: str = typer.Option("sticky", "--comment", help="sticky | new | off"),
    fail_on: str = typer.Option("error", "--fail-on", help="error | warn | never"),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: gate this share of the changed models."),
    costs: Optional[Path] = typer.Option(None, "--costs", envvar="EDGEGATE_COSTS", help=COSTS_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for results.json, report.md, candidates."),
    json_out: Optional[Path] = typer.Option(None, "--json"),
    report: Optional[Path] = typer.Option(None, "--report"),
    cache: Optional[Path] = typer.Option(None, "--cache", envvar="EDGEGATE_CACHE", help=CACHE_HELP),
    cache_max: Optional[int] = typer.Option(
        None, "--cache-max", envvar="EDGEGATE_CACHE_MAX", parser=_size, metavar="SIZE", help=CACHE_MAX_HELP
    ),
    cache_base: Optional[Path] = typer.Option(
        None, "--cache-base", envvar="EDGEGATE_CACHE_BASE", help=CACHE_BASE_HELP
    ),
    history: Optional[Path] = typer.Option(
        None,
        "--history",
        help="The default branch's history file (read only, as untrusted data): the report shows "
        "where the shipped candidates' figures sit on it.",
    ),
) -> None:
    """Run in GitHub Actions: gate the PR, comment, annotate, write outputs."""
    from edgegate.cli.ci import ci as command

    _exit(
        command,
        policy,
        base,
        comment,
        fail_on,
        shard,
        out,
        json_out,
        report,
        cache_dir=cache,
        cache_max=cache_max,
        cache_base=cache_base,
        costs=costs,
        history=history,
    )


@app.command(cls=_Command)
def history(
    results: Path = typer.Argument(..., help="The results JSON of a run on the default branch."),
    into: Path = typer.Option(..., "--into", help="The history file (created when missing)."),
) -> None:
    """Add a default-branch run to its history (the last 50 runs), for `edgegate ci --history`."""
    from edgegate.cli.history import history as command

    _exit(command, results, into)


@app.command(cls=_Command)
def needs(
    policy: Optional[Path] = typer.Option(None, "--policy", "-p"),
    base: Optional[str] = typer.Option(None, "--base", help="Compare with this ref (as `edgegate ci`)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: only this share of the changed models."),
    costs: Optional[Path] = typer.Option(None, "--costs", envvar="EDGEGATE_COSTS", help=COSTS_HELP),
) -> None:
    """Say whether this run needs TensorFlow (the action installs it only then)."""
    from edgegate.cli.needs import needs as run_needs

    _exit(run_needs, policy, base, shard, costs=costs)


@app.command(cls=_Command)
def shards(
    plan: int = typer.Option(..., "--plan", min=1, help="N: split the changed models over N shards."),
    policy: Optional[Path] = typer.Option(None, "--policy", "-p"),
    base: Optional[str] = typer.Option(None, "--base", help="Compare with this ref (as `edgegate ci`)."),
    costs: Optional[Path] = typer.Option(None, "--costs", envvar="EDGEGATE_COSTS", help=COSTS_HELP),
    as_json: bool = _flag(False, "--json", help="Print the plan as JSON (a dynamic matrix)."),
) -> None:
    """Print which changed models each shard of N gates and its predicted seconds."""
    from edgegate.cli.shards import shards as command

    _exit(command, plan, policy, base, costs, as_json)


@app.command(cls=_Command)
def publish(
    results: Path = typer.Argument(..., help="A results JSON from `edgegate check/ci/merge`."),
    pr: Optional[int] = typer.Option(None, "--pr", help="Pull request number (default: from the event)."),
    repo: Optional[str] = typer.Option(None, "--repo", help="owner/name (default: GITHUB_REPOSITORY)."),
    comment: str = typer.Option("sticky", "--comment", help="sticky | new | off"),
) -> None:
    """Post a results file as the PR comment (for the trusted half of the fork-safe workflow pair)."""
    from edgegate.cli.publish import publish as command

    _exit(command, results, pr, repo, comment)


@app.command(cls=_Command)
def merge(
    inputs: List[Path] = typer.Argument(..., help="Shard results files."),
    output: Path = typer.Option(..., "--output", "-o", help="The joined results file."),
) -> None:
    """Join the results of `edgegate ci --shard I/N` jobs into one file."""
    from edgegate.cli.merge import merge as command

    _exit(command, list(inputs), output)


@app.command(cls=_Command)
def report(
    results: Path = typer.Argument(..., help="A results JSON."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Render a results file as the markdown report."""
    from edgegate.cli.report import report as command

    _exit(command, results, output)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
