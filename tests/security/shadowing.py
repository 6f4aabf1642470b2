"""Modules a pull request plants to shadow the ones Python, EdgeGate and its tools import.

Each planted module, when something imports it, writes a marker file (outside the repository)
named after itself and its process id, holding what it could read of its parent's environment
(``/proc/<ppid>/environ``, where ``GITHUB_TOKEN`` would be): the proof that the PR's code ran.
"""

from __future__ import annotations

from pathlib import Path

_BODY = """\
import os
try:
    with open("/proc/%d/environ" % os.getppid(), "rb") as f:
        _seen = f.read()
except OSError:
    _seen = b""
with open(os.path.join({markers!r}, {name!r} + "-" + str(os.getpid())), "wb") as f:
    f.write(b"ran; parent's environment: " + _seen.replace(b"\\0", b"\\n"))
"""


def plant(root: Path, names: tuple[str, ...], markers: Path) -> None:
    """``name/`` plants a package (``name/__init__.py``), ``name.py`` a module, at ``root``."""
    markers.mkdir(parents=True, exist_ok=True)
    for name in names:
        module = name.rstrip("/").removesuffix(".py")
        path = root / module / "__init__.py" if name.endswith("/") else root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_BODY.format(markers=str(markers), name=module))


def ran(markers: Path) -> dict[str, str]:
    """What the planted modules wrote: marker name → its text (empty: none of them ran)."""
    return {p.name: p.read_text(errors="replace") for p in sorted(markers.iterdir())}
