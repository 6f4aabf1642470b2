"""``edgegate shards --plan N``: which changed models each of N shards gates, and its predicted
seconds, before any shard runs: a workflow builds its matrix from the JSON (docs/github-action.md).

The plan is the one every ``edgegate ci --shard I/N --costs FILE`` computes for itself from the
same change and the same costs file (``shards.plan_shards``); printing it changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgegate.log_output import say
from edgegate.run import CheckOptions


def shards(plan: int, policy: Path | None, base: str | None, costs: Path | None, as_json: bool) -> int:
    from edgegate.cli.real_run import change_source
    from edgegate.run.selection import select
    from edgegate.shards import parse_shard

    parse_shard(f"1/{plan}", "--plan")  # the same bound as --shard
    options = CheckOptions(repo=Path.cwd(), policy=policy, base=base, shard=(1, plan), costs=costs)
    selection = select(options, change_source(options))
    split = selection.shard_plan
    assert split is not None  # select plans whenever a shard is asked for
    if as_json:
        data = {
            "by": split.by,
            "plan": split.digest,
            "shard": [f"{i}/{plan}" for i in range(1, plan + 1)],
            "shards": [
                {"shard": f"{i + 1}/{plan}", "models": list(names), "seconds": seconds}
                for i, (names, seconds) in enumerate(zip(split.shards, split.seconds))
            ],
            "notes": list(selection.shard_notes),
        }
        say(json.dumps(data, ensure_ascii=True))
        return 0
    for note in selection.shard_notes:
        say(note)
    for i, (names, seconds) in enumerate(zip(split.shards, split.seconds), 1):
        predicted = f"predicted {seconds:.0f} s" if seconds is not None else "cost unknown"
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        say(f"shard {i}/{plan}: {len(names)} model(s), {predicted}: {shown or 'none'}")
    return 0
