"""``edgegate report``: a results file as the markdown report (no TensorFlow, no policy)."""

from __future__ import annotations

from pathlib import Path

from edgegate.cli.outputs import write_run_outputs
from edgegate.log_output import say_rendered
from edgegate.report.markdown import render_markdown
from edgegate.results import read_results


def report(results: Path, output: Path | None = None) -> int:
    """Write the report to ``output``, else stdout; an unreadable results file propagates."""
    run = read_results(Path(results))
    if output:
        write_run_outputs(run, report_path=Path(output))
    else:
        # Printed in a CI log, a code span quoting "##[error]" would be a (legacy) workflow command.
        say_rendered(render_markdown(run))
    return 0
