"""``edgegate merge``: join the results of ``edgegate ci --shard I/N`` jobs into one file."""

from __future__ import annotations

from pathlib import Path

from edgegate.cli.outputs import write_run_outputs
from edgegate.results import read_results
from edgegate.shards import merge_results


def merge(inputs: list[Path], output: Path) -> int:
    """0 when written; unreadable or inconsistent inputs and an unwritable output propagate."""
    merged = merge_results([read_results(Path(p)) for p in inputs])
    write_run_outputs(merged, results_path=Path(output))
    print(
        f"merged {len(inputs)} results file(s): {len(merged.models)} model(s), status {merged.status.value} "
        f"→ {output}",
        flush=True,
    )
    return 0
