"""``edgegate merge``: join the results of ``edgegate ci --shard I/N`` jobs into one file."""

from __future__ import annotations

from pathlib import Path

from edgegate.cli.outputs import write_run_outputs
from edgegate.errors import UsageError
from edgegate.log_output import say
from edgegate.results import read_results
from edgegate.results.codec import MAX_BYTES
from edgegate.shards import merge_results


def merge(inputs: list[Path], output: Path) -> int:
    """0 when written; unreadable or inconsistent inputs and an unwritable output propagate."""
    _check_total_size(inputs)
    merged = merge_results([read_results(Path(p)) for p in inputs], [str(p) for p in inputs])
    write_run_outputs(merged, results_path=Path(output))
    say(
        f"merged {len(inputs)} results file(s): {len(merged.models)} model(s), status {merged.status.value} "
        f"→ {output}"
    )
    return 0


def _check_total_size(inputs: list[Path]) -> None:
    """Inputs that together exceed what one results file may hold cannot be merged into one:
    refused before reading any (each alone is bounded by ``read_results``)."""
    total = 0
    for p in inputs:
        try:
            total += Path(p).stat().st_size
        except OSError:
            continue  # read_results names the file that cannot be read
        if total > MAX_BYTES:
            raise UsageError(
                f"{p}: the results files up to this one hold {total} bytes, more than the "
                f"{MAX_BYTES // 2**20} MiB one merged results file may hold"
            )
