"""The ``edgegate`` command line (typer).

Exit codes, for every command: 0 nothing fails; 1 a gate fails; 2 usage, policy or input
errors (a model that could not be gated at all counts here, after the others are reported).
Commands import their machinery lazily so ``edgegate --help`` and a run with nothing to gate
stay fast and never load TensorFlow.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,  # locals may hold tokens in CI
    help="Guard on-device TensorFlow model budgets (size, latency, accuracy, Edge TPU).",
)
err = Console(stderr=True)


def _fail(e: Exception) -> None:
    err.print(f"edgegate: {e}", style="red", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(2)


def exit_code(run) -> int:
    if any(m.error for m in run.models):
        return 2
    return 1 if run.status.fails else 0


@app.command()
def check(
    paths: List[str] = typer.Argument(None, help="Gate the models at these paths (changed or not)."),
    policy: Optional[Path] = typer.Option(
        None, "--policy", "-p", help="Policy file (default: edgegate.yml at the repository root)."
    ),
    base: Optional[str] = typer.Option(
        None, "--base", "-b", help="Compare with this ref (default: the remote's default branch, else main)."
    ),
    all_models: bool = typer.Option(False, "--all", help="Gate every model in the policy."),
    recipes: Optional[str] = typer.Option(
        None, "--recipes", help="Only these recipe labels, comma-separated."
    ),
    latency: bool = typer.Option(True, "--latency/--no-latency", help="Time the candidates."),
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
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress, only the final table."),
):
    """Gate the models this change touched: optimize, measure, compare with base, judge."""
    from edgegate.run import CheckOptions, run_check
    from edgegate.errors import EdgeGateError

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
    )
    console = Console()
    try:
        if quiet or not console.is_terminal:
            run = run_check(options)
        else:
            from edgegate.progress import RichProgress

            with RichProgress(console) as progress:
                run = run_check(options, progress)
    except EdgeGateError as e:
        _fail(e)
    _write_outputs(run, json_out, report)
    from edgegate.report.terminal import print_summary

    print_summary(run, console)
    raise typer.Exit(exit_code(run))


def _write_outputs(run, json_out: Path | None, report: Path | None) -> None:
    if json_out:
        from edgegate.results import write_results

        write_results(run, json_out)
    if report:
        from edgegate.report.markdown import render_markdown

        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_markdown(run), encoding="utf-8")


@app.command()
def init(
    repo: Path = typer.Option(Path("."), "--repo", help="The repository to scan for models."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Where to write (default: edgegate.yml)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing policy file."),
):
    """Write a commented starter policy for the models found in the repository."""
    from edgegate.errors import EdgeGateError
    from edgegate.policy.starter import write_starter_policy

    try:
        path, found = write_starter_policy(repo, output, force=force)
    except EdgeGateError as e:
        _fail(e)
    Console().print(f"wrote {path} with {len(found)} model(s): {', '.join(found) or 'none found (edit it)'}")


@app.command()
def edgetpu(
    model: Path = typer.Argument(..., help="A .tflite (or compiled *_edgetpu.tflite) file."),
    compiler_version: int = typer.Option(
        16, "--compiler-version", help="edgetpu_compiler major version (14-16)."
    ),
    runtime: Optional[int] = typer.Option(None, "--runtime", help="Target runtime version (10-14)."),
    compiler: str = typer.Option("auto", "--compiler", help="auto | static | path to edgetpu_compiler."),
    as_json: bool = typer.Option(False, "--json", help="Print the analysis as JSON."),
):
    """Predict (or compile and report) how much of a model runs on the Coral Edge TPU."""
    from edgegate.edgetpu.command import run_edgetpu_command

    raise typer.Exit(run_edgetpu_command(model, compiler_version, runtime, compiler, as_json))


@app.command()
def ci(
    policy: Optional[Path] = typer.Option(None, "--policy", "-p"),
    base: Optional[str] = typer.Option(None, "--base", help="Override the base (default: the PR's base)."),
    comment: str = typer.Option("sticky", "--comment", help="sticky | new | off"),
    fail_on: str = typer.Option("error", "--fail-on", help="error | warn | never"),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: gate this share of the changed models."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for results.json, report.md, candidates."),
    json_out: Optional[Path] = typer.Option(None, "--json"),
    report: Optional[Path] = typer.Option(None, "--report"),
):
    """Run in GitHub Actions: gate the PR, comment, annotate, write outputs."""
    from edgegate.ci.commands import run_ci

    raise typer.Exit(run_ci(policy, base, comment, fail_on, shard, out, json_out, report))


@app.command()
def publish(
    results: Path = typer.Argument(..., help="A results JSON from `edgegate check/ci/merge`."),
    pr: Optional[int] = typer.Option(None, "--pr", help="Pull request number (default: from the event)."),
    repo: Optional[str] = typer.Option(None, "--repo", help="owner/name (default: GITHUB_REPOSITORY)."),
    comment: str = typer.Option("sticky", "--comment", help="sticky | new | off"),
):
    """Post a results file as the PR comment (for the trusted half of the fork-safe workflow pair)."""
    from edgegate.ci.commands import run_publish

    raise typer.Exit(run_publish(results, pr, repo, comment))


@app.command()
def merge(
    inputs: List[Path] = typer.Argument(..., help="Shard results files."),
    output: Path = typer.Option(..., "--output", "-o", help="The joined results file."),
):
    """Join the results of `edgegate ci --shard I/N` jobs into one file."""
    from edgegate.ci.commands import run_merge

    raise typer.Exit(run_merge(list(inputs), output))


@app.command()
def report(
    results: Path = typer.Argument(..., help="A results JSON."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
):
    """Render a results file as the markdown report."""
    from edgegate.report.markdown import render_markdown
    from edgegate.results import ResultsFileError, read_results

    try:
        run = read_results(results)
    except ResultsFileError as e:
        _fail(e)
    text = render_markdown(run)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
