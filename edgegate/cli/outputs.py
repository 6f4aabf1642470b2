"""Writing the outputs of a run (the results file, the markdown report), for every command.

Each file is written atomically, so a reader (the next job, ``edgegate publish``) never finds
a partial or empty one (a full disk or a file-size limit leaves the old file, or none); a file
that cannot be written is an ``OutputError`` naming its path. One output that cannot be
written never costs the other: both are attempted, then every failure is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edgegate.errors import OutputError
from edgegate.report.markdown import write_report
from edgegate.results import RunResult, write_results


def write_run_outputs(
    run: RunResult, results_path: Path | None = None, report_path: Path | None = None
) -> None:
    """The results file, then the report (each only when asked for); ``OutputError`` naming
    each one that could not be written, after trying both."""
    failed: list[str] = []
    if results_path:
        try:
            with writing(results_path, "results file"):
                write_results(run, Path(results_path))
        except OutputError as e:
            failed.append(str(e))
    if report_path:
        try:
            with writing(report_path, "report"):
                write_report(run, Path(report_path))
        except OutputError as e:
            failed.append(str(e))
    if failed:
        raise OutputError("; ".join(failed))


@contextmanager
def writing(path: Path, what: str) -> Iterator[None]:
    """An ``OSError`` inside as an ``OutputError`` naming ``path``: the error itself may name
    only the temp file or the folder."""
    try:
        yield
    except OSError as e:
        raise OutputError(f"{path}: cannot write the {what} ({e.strerror or e})") from None
