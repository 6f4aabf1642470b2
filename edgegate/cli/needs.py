"""``edgegate needs``: what this run will need installed, decided before installing it.

The action installs the light core, asks this, and installs the ``tensorflow`` extra only when
a changed model must be converted (never for ``publish``). Prints one line for people and, in
GitHub Actions, writes ``tensorflow=true|false`` to the step outputs, and ``quantizer=true|false``
(the LiteRT Quantizer's extra, for a ``.tflite``'s recipes: installed only then, never TensorFlow). Exit 0 either way: a
policy or base problem is reported by ``edgegate ci`` itself, with the PR comment and annotations.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from edgegate.errors import EdgeGateError
from edgegate.log_output import say
from edgegate.publishers.step_outputs import write_outputs
from edgegate.run import CheckOptions
from edgegate.distribution import install_command
from edgegate.run.needs import INSTALL_TENSORFLOW, optional_extras, RunNeeds, needs_of


def needs(
    policy: Path | None,
    base: str | None,
    shard: str | None,
    env: Mapping[str, str] = os.environ,
    *,
    costs: Path | None = None,
) -> int:
    from edgegate.cli.real_run import change_source
    from edgegate.run.selection import select
    from edgegate.shards import parse_shard

    try:
        options = CheckOptions(
            repo=Path.cwd(),
            policy=policy,
            base=base,
            shard=parse_shard(shard) if shard else None,
            costs=costs,
        )
        source = change_source(options)
        found = needs_of(select(options, source).models, source.root)
    except EdgeGateError as e:
        say(f"edgegate needs: {e}; deciding without it (edgegate ci reports it)")
        found = RunNeeds(())
    if found.tensorflow:
        say(f"TensorFlow needed to convert: {', '.join(found.tensorflow_for)} ({INSTALL_TENSORFLOW})")
    else:
        say("TensorFlow not needed: no changed model needs converting")
    for extra, models in found.extras_for:
        say(f"the {extra} extra needed for: {', '.join(models)} ({install_command(extra)})")
    if env.get("GITHUB_OUTPUT"):
        # One output per extra the action may install ("quantizer"), true or false: each step reads its own.
        extras = {extra: "true" if extra in found.extras else "false" for extra in optional_extras()}
        write_outputs(
            Path(env["GITHUB_OUTPUT"]), {"tensorflow": "true" if found.tensorflow else "false", **extras}
        )
    return 0
