"""Which distribution installed this EdgeGate, read from its own metadata: every install hint names it.

The package index holds unrelated projects called ``edgegate`` and ``edgegate-runner`` (both
install an ``edgegate`` import package; the first also an ``edgegate`` command). A hint that
named them would have people run a stranger's code, so no hint spells a name: it asks the
installed metadata which distribution owns this program's command (``edgegate.cli.main:main``,
which the other project's ``edgegate`` command is not).
"""

from __future__ import annotations

import functools
import importlib.metadata

# The console script this program installs; another project's `edgegate` command points elsewhere.
ENTRY_POINT = "edgegate.cli.main:main"


@functools.cache
def distribution_name() -> str | None:
    """The installed distribution whose ``edgegate`` command is this program; None when run from
    a source folder that was never installed."""
    for entry in importlib.metadata.entry_points(group="console_scripts", name="edgegate"):
        if entry.value == ENTRY_POINT and entry.dist is not None:
            return entry.dist.name
    return None


def install_command(extra: str | None = None) -> str:
    """``pip install 'NAME[extra]'`` for the distribution that installed this program."""
    name = distribution_name()
    if name is None:  # not installed: only its source folder is known to be this program
        return f"pip install '.[{extra}]' in EdgeGate's source folder" if extra else "pip install ."
    return f"pip install '{name}[{extra}]'" if extra else f"pip install {name}"
