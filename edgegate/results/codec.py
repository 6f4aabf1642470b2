"""The results file's JSON, both ways, versioned and validated.

``encode_run`` writes every field of the typed model; ``decode_run`` reads it back and checks
each field against the model's own annotations, so a malformed or hostile file is refused
with the path of the bad field (``models[0].candidates[2].size_bytes: expected an integer``),
never a traceback or a half-read run. Schema 2 added ``skip_reason`` (schema 1 wrote a skip as
an ``error`` starting with ``skipped:``); schema 3 keeps each target's report in one slot,
``targets`` (schemas 1 and 2 gave each target a field of its own); schema 4 adds optional fields
(a candidate's ``latency_changes``, its model ``diff`` vs base, ``kept_float``; the memory figures
``memory_bytes``, ``memory_error``; a model's ``trend`` on the default branch's history, its
``keep_float`` lines; a layer's ``node``) that older files lack: they read at their defaults
(None, empty). Older files are still read.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

from edgegate.errors import OutputError, UsageError
from edgegate.exception_text import first_line
from edgegate.results.model import CandidateResult, RunResult, TargetReports
from edgegate.target_registry import kind, kinds

SCHEMA = "edgegate.results/4"
_ONE_FIELD_PER_TARGET = ("edgegate.results/1", "edgegate.results/2")
_READABLE = (*_ONE_FIELD_PER_TARGET, "edgegate.results/3", SCHEMA)
_LEGACY_SKIP = "skipped: "
# Schemas 1 and 2: a candidate's field for each target's report → the target's registered name.
_LEGACY_TARGET_FIELDS = {
    "edgetpu": "edgetpu",
    "compute": "compute",
    "mcu": "mcu",
    "ethos_u": "ethos-u",
    "gpu": "gpu",
}
MAX_BYTES = 64 * 1024 * 1024  # far above any real run; a bigger file is not ours


class ResultsFileError(UsageError):
    """A results file that cannot be read: the message names the file and the bad field."""


def encode(value: Any) -> Any:
    """A typed value as plain JSON data (dataclasses as objects, enums as their value)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def encode_run(run: RunResult) -> str:
    data = {"schema": SCHEMA, **encode(run)}
    return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def decode_run(text: str | bytes) -> RunResult:
    """Parse a results file; ``ValueError`` naming the bad field when it is not one."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"not JSON ({first_line(e, 200)})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object at the top level")
    schema = data.get("schema")
    if schema not in _READABLE:
        raise ValueError(
            f"schema: {_shown(schema)} is not a results schema this EdgeGate reads ({', '.join(_READABLE)})"
        )
    body = {k: v for k, v in data.items() if k != "schema"}
    if schema in _ONE_FIELD_PER_TARGET:
        _one_target_slot(body)
    run = decode(RunResult, body, "")
    return _upgrade(run) if schema == "edgegate.results/1" else run


def write_results(run: RunResult, path: Path) -> None:
    """Write atomically (a temp file renamed into place): never a partial or empty file, and
    never one larger than ``read_results`` reads (``edgegate merge`` joins files from other jobs)."""
    text = encode_run(run)
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise OutputError(
            f"{path}: the results would be {size} bytes, more than the {MAX_BYTES // 2**20} MiB "
            "a results file may hold; not written"
        )
    write_text_atomic(Path(path), text)


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_results(path: Path) -> RunResult:
    """Read a results file; ``ResultsFileError`` naming the file and what is wrong."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ResultsFileError(f"{path}: {size} bytes is too large for an EdgeGate results file")
        raw = path.read_bytes()
    except OSError as e:
        raise ResultsFileError(f"{path}: cannot read the results file ({e.strerror or e})") from None
    try:
        return decode_run(raw)
    except ValueError as e:
        raise ResultsFileError(f"{path}: not an EdgeGate results file: {e}") from None


# --- decoding against the annotations ------------------------------------------------------------


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _where(path: str) -> str:
    return path or "(top level)"


def decode(tp: Any, value: Any, path: str = "") -> Any:
    """``value`` (plain JSON data) as the typed ``tp``; ``ValueError`` naming the bad field."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return decode(option, value, path)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(
            errors[0] if len(errors) == 1 else f"{_where(path)}: unexpected value {_shown(value)}"
        )
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{_where(path)}: expected a list, got {_shown(value)}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:  # tuple[X, ...]
            return tuple(decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValueError(f"{_where(path)}: expected {len(args)} items, got {len(value)}")
        return tuple(decode(t, v, f"{path}[{i}]") for i, (t, v) in enumerate(zip(args, value)))
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            allowed = ", ".join(str(a) for a in typing.get_args(tp))
            raise ValueError(f"{_where(path)}: {_shown(value)} is not one of {allowed}")
        return value
    if origin is dict:
        key_t, value_t = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ValueError(f"{_where(path)}: expected an object, got {_shown(value)}")
        return {decode(key_t, k, path): decode(value_t, v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except (ValueError, TypeError):
            allowed = ", ".join(str(m.value) for m in tp)
            raise ValueError(f"{_where(path)}: {_shown(value)} is not one of {allowed}") from None
    if tp is TargetReports:
        return _decode_reports(value, path)
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{_where(path)}: expected true or false, got {_shown(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{_where(path)}: expected an integer, got {_shown(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{_where(path)}: expected a number, got {_shown(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{_where(path)}: expected a string, got {_shown(value)}")
        return value
    raise TypeError(f"results codec: no rule for {tp!r} at {path}")  # a programming error


def _decode_dataclass(tp: Any, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"{_where(path)}: expected an object, got {_shown(value)}")
    hints = typing.get_type_hints(tp)
    kwargs = {}
    for f in dataclasses.fields(tp):
        sub = f"{path}.{f.name}" if path else f.name
        if f.name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{sub}: missing")
            continue
        kwargs[f.name] = decode(hints[f.name], value[f.name], sub)
    return tp(**kwargs)


def _decode_reports(value: Any, path: str) -> TargetReports:
    """Each target's report as the type its target declares; an unknown target is refused."""
    if not isinstance(value, dict):
        raise ValueError(f"{_where(path)}: expected an object, got {_shown(value)}")
    reports = TargetReports()
    for name, report in value.items():
        target = kind(name)
        if target is None:
            known = ", ".join(k.name for k in kinds())
            raise ValueError(f"{_where(path)}: {_shown(name)} is not a target this EdgeGate knows ({known})")
        reports[name] = decode(target.report, report, f"{path}.{name}")
    return reports


def _one_target_slot(body: dict[str, Any]) -> None:
    """Schemas 1 and 2 → 3, in the JSON data: each candidate's per-target fields into ``targets``
    (what is not a mapping is left for ``decode`` to refuse with its path)."""
    models = body.get("models")
    for model in models if isinstance(models, list) else ():
        if not isinstance(model, dict):
            continue
        candidates = model.get("candidates")
        for c in [model.get("reference"), *(candidates if isinstance(candidates, list) else ())]:
            if isinstance(c, dict) and "targets" not in c:
                legacy = {name: c.pop(f) for f, name in _LEGACY_TARGET_FIELDS.items() if f in c}
                c["targets"] = {name: report for name, report in legacy.items() if report is not None}


def _upgrade(run: RunResult) -> RunResult:
    """Schema 1 → 2: a skip was an ``error`` starting with ``skipped:``; it is ``skip_reason`` now."""

    def fix(c: CandidateResult) -> CandidateResult:
        if c.error and c.error.startswith(_LEGACY_SKIP):
            return dataclasses.replace(c, error=None, skip_reason=c.error[len(_LEGACY_SKIP) :])
        return c

    models = tuple(
        dataclasses.replace(
            m,
            reference=None if m.reference is None else fix(m.reference),
            candidates=tuple(fix(c) for c in m.candidates),
        )
        for m in run.models
    )
    return dataclasses.replace(run, models=models)
