"""Starting a Python child process that nothing in the repository can reach into.

Every Python process EdgeGate starts runs the same interpreter in isolated mode (``-I``): the
long-lived ones (workers, TFLite Micro's child) start here; the bounded target runs (Vela, the
GPU target's children) go through ``targets/child_process.run_child`` with ``python -I``
commands. Neither the working folder nor the script's folder goes on ``sys.path``; ``PYTHON*``
variables (``PYTHONPATH``, ``PYTHONSTARTUP``, ...) and the user's site-packages are ignored. So
a pull request's ``multiprocessing/``, ``numpy/`` or ``json.py`` never shadows a module,
whatever folder the parent was started in. Site-packages and its ``.pth`` files still load, so
an installed or an editable EdgeGate imports as usual.
The caller names the child's working folder (``cwd``, required): a private one, never the
repository, from the first instruction on.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence


def start_python(args: Sequence[str], *, cwd: Path | str, **popen: Any) -> subprocess.Popen[Any]:
    """Start ``python -I ARGS`` (EdgeGate's interpreter) in the folder ``cwd``.

    ``popen`` are ``subprocess.Popen``'s other options (``env``, pipes, ``pass_fds``, ...)."""
    return subprocess.Popen([sys.executable, "-I", *args], cwd=cwd, **popen)
