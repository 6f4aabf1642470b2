"""Hook datasets: ``module:function`` from the repository, for every source EdgeGate does not read.

The function is called without arguments and may return ``(x, y)``, ``x`` alone, a dict with
``x`` (and ``y``), or an iterable of batches in any of those forms (a generator, a list, a
``tf.data.Dataset``), which are concatenated. The module must live in the repository: the
repository root goes first on ``sys.path`` and a module found elsewhere is refused.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

from edgegate.datasets.interface import Dataset, DatasetSource
from edgegate.datasets.paths import resolve_inside
from edgegate.errors import InputError
from edgegate.exception_text import first_line_with_type
from edgegate.policy import sections


class HookSource(DatasetSource):
    def load(
        self, spec: sections.Dataset, root: Path, *, key: str, input_hw: tuple[int, int] | None = None
    ) -> Dataset:
        assert spec.hook is not None  # chosen for a spec with a hook
        function = import_hook(spec.hook, root, key=key)
        try:
            x, y = _arrays(function())
        except InputError as e:
            raise InputError(f"{key}: hook {spec.hook}: {e}") from None
        except Exception as e:  # noqa: BLE001 - the repository's code failed: show its message, not a traceback
            raise InputError(f"{key}: hook {spec.hook} raised {first_line_with_type(e)}") from None
        return Dataset(x, y, f"{key} (hook {spec.hook})")


def import_hook(hook: str, root: Path, *, key: str):
    """The callable that ``'module:function'`` names, imported from the repository at ``root``."""
    module_name, _, attr = hook.partition(":")
    real_root = os.path.realpath(root)
    if real_root not in sys.path:
        sys.path.insert(0, real_root)
    top = module_name.split(".")[0]
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError) as e:
        raise InputError(f"{key}: cannot import hook module {module_name!r}: {e}") from None
    if found is None:
        raise InputError(
            f"{key}: hook module {module_name!r} not found in the repository (looked for "
            f"{top.replace('.', '/')}.py or {top}/ at the repository root)"
        )
    location = (
        found.origin
        if found.origin not in (None, "built-in", "frozen")
        else next(iter(found.submodule_search_locations or []), None)
    )
    if location is None:
        raise InputError(f"{key}: hook module {top!r} is built into Python, not a file of the repository")
    resolve_inside(root, location, key=key)  # refuses installed packages and symlinks out of the repository
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # noqa: BLE001 - any error in the repository's module
        raise InputError(
            f"{key}: importing hook module {module_name!r} failed: {first_line_with_type(e)}"
        ) from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise InputError(f"{key}: hook module {module_name!r} has no function {attr!r}")
    return function


def _arrays(returned) -> tuple[np.ndarray, np.ndarray | None]:
    """(x, y) from any of the accepted return forms."""
    one = _one_batch(returned)
    if one is not None:
        return one
    try:
        batches = iter(returned)
    except TypeError:
        raise InputError(
            f"the hook returned a {type(returned).__name__}; return (x, y), x, a dict with 'x' "
            "and 'y', or an iterable of such batches"
        ) from None
    xs, ys = [], []
    for i, batch in enumerate(batches):
        part = _one_batch(batch)
        if part is None:
            raise InputError(
                f"batch {i} from the hook is a {type(batch).__name__}; each batch must be (x, y), "
                "x, or a dict with 'x' and 'y'"
            )
        xs.append(part[0])
        ys.append(part[1])
    if not xs:
        return np.empty((0,)), None
    if any(y is None for y in ys) and not all(y is None for y in ys):
        raise InputError("some hook batches have labels and others do not")
    try:
        x = np.concatenate(xs)
        labels = [y for y in ys if y is not None]  # all batches or none, checked above
        y = np.concatenate(labels) if labels else None
    except ValueError as e:
        raise InputError(f"the hook's batches do not stack into one array ({e})") from None
    return x, y


def _one_batch(value) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(x, y) when ``value`` is one batch in a known form, else None (it may be an iterable of batches)."""
    if isinstance(value, dict):
        if "x" not in value:
            raise InputError(f"the hook returned a dict without 'x' (keys: {', '.join(map(str, value))})")
        return np.asarray(value["x"]), None if value.get("y") is None else np.asarray(value["y"])
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and all(_array_like(v) or v is None for v in value)
        and value[0] is not None
    ):
        return np.asarray(value[0]), None if value[1] is None else np.asarray(value[1])
    if _array_like(value):
        return np.asarray(value), None
    return None


def _array_like(value) -> bool:
    """An ndarray or an array from another library (e.g. a TensorFlow tensor); lists are batches."""
    return isinstance(value, np.ndarray) or (hasattr(value, "__array__") and hasattr(value, "shape"))
