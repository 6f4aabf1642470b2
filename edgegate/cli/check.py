"""``edgegate check``: gate the models this change touched, print the table, write the outputs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from edgegate.cli.errors import exit_code
from edgegate.cli.outputs import write_run_outputs
from edgegate.log_output import say
from edgegate.progress import RichProgress
from edgegate.report.terminal import print_summary
from edgegate.cli.real_run import real_run
from edgegate.run import CheckOptions


def check(
    options: CheckOptions,
    results_path: Path | None = None,
    report_path: Path | None = None,
    *,
    quiet: bool = False,
) -> int:
    """Run the gate; a usage or policy error propagates (nothing was gated)."""
    console = Console()
    if quiet or not console.is_terminal:  # a redrawn bar only where a person watches it
        run = real_run(options)
    else:
        with RichProgress(console) as progress:
            run = real_run(options, progress)
    try:
        write_run_outputs(run, results_path, report_path)
    finally:
        # The table is never lost to an unwritable --json or --report: the run happened.
        print_summary(run, console)
    if not run.models and not options.all_models and not options.paths:
        # On the default branch, or before the first change, nothing differs from the base.
        say(f"to gate every model of the policy, changed or not: edgegate check --all (base: {run.base.ref})")
    return exit_code(run)
