"""The results cache: figures that are pure functions of their inputs, reused across runs.

``CachingRunner(inner, cache)`` is a ``Runner`` (``run/loop.py``) in front of another: for
every job it can key (``run/cache_keys.py``) a valid entry answers the outcome without running
the job, its files restored where the job would have written them (a build's ``.tflite`` into
its ``out_dir``, the float reference's outputs to ``save_outputs``); a miss runs on the inner
runner and its successful outcome is stored. Latency is never cached: it is measured fresh,
interleaved as always, on the candidate files, restored or built. The loop does not know.

``ResultsCache`` is the storage (docs/cache.md):

- ``DIR/v1/<key[:2]>/<key>/value.json`` plus ``files/0``, ``files/1``, ...: the outcome's value
  as plain JSON (``edgegate.results.codec``) with a type tag, and its files with their SHA-256.
  Never pickle: a cache restored in CI is data, never code (arrays are ``np.save`` files read
  with ``allow_pickle=False``);
- written into a temp folder beside the entry and renamed into place: a reader sees a whole
  entry or none, and of two runs writing one key the one that loses the rename drops its copy;
- a read that fails in any way (missing file, bad JSON, a checksum that does not match, a
  value that does not decode as its type) is a miss, and the entry is removed; every file is
  read through ``file_digest.open_regular`` (a regular file, not through a symlink, within its
  recorded size): a FIFO or a link to ``/dev/zero`` is a miss, never a hang;
- a read-only cache (``--cache-base``: the base branch's entries in a pull request's run) is
  never written, touched or cleaned; ``CachingRunner`` then reads back, of the folder it writes,
  only what this run stored;
- bounded: a hit touches the entry's modification time; after a round of writes the least
  recently used entries are removed until the total is under ``max_bytes``.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import stat
import time
import typing
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgegate.file_digest import open_regular, read_blocks, read_regular
from edgegate.measurements.interface import MemoryFigures
from edgegate.recipes.interface import BuiltCandidate
from edgegate.results import Accuracy, LayerError
from edgegate.results.codec import decode, encode
from edgegate.run.cache_keys import CacheKeys, Uncacheable
from edgegate.run.jobs import (
    BuildJob,
    Evaluated,
    EvaluateJob,
    Job,
    JobOutcome,
    LayerAnalysisJob,
    MemoryJob,
    TargetJob,
)
from edgegate.run.loop import Runner
from edgegate.run.options import CheckOptions

FORMAT = "edgegate.cache/1"
LAYOUT = "v1"  # the folder under DIR: a new layout starts beside the old one, never reads it
DEFAULT_MAX_BYTES = 2 * 1000**3  # 2 GB; EDGEGATE_CACHE_MAX / --cache-max change it
MAX_VALUE_BYTES = 64 * 1024 * 1024  # a value.json larger than this is not one of ours
STALE_S = 24 * 3600  # a temp folder this old belongs to a writer that died
_KEY = re.compile(r"^[0-9a-f]{64}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_TMP, _TRASH = ".tmp-", ".trash-"
_KINDS = {
    BuildJob: "build",
    EvaluateJob: "evaluate",
    TargetJob: "target",
    LayerAnalysisJob: "layers",
    MemoryJob: "memory",
}
_SHOWN = {
    "build": "builds",
    "evaluate": "evaluations",
    "target": "target analyses",
    "layers": "layer analyses",
    "memory": "memory measurements",
}


class CorruptEntry(Exception):
    """An entry that cannot be used: the cache treats it as a miss and removes it."""


# --- storage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int


@dataclass(frozen=True)
class Entry:
    """One valid ``value.json`` and where its files are; the files are checked when read."""

    key: str
    folder: Path
    kind: str
    type: str  # the value's type, as the writer named it
    value: Any  # plain JSON data
    files: tuple[StoredFile, ...]

    def read_bytes(self, index: int) -> bytes:
        data = read_regular(self._path(index), self.files[index].size)
        self._check(index, hashlib.sha256(data).hexdigest(), len(data))
        return data

    def copy_to(self, index: int, dest: Path) -> None:
        """Copy a stored file to ``dest`` (atomically), checking its bytes on the way."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}")
        try:
            h, size = hashlib.sha256(), 0
            path, limit = self._path(index), self.files[index].size
            with open_regular(path, limit) as src, open(tmp, "wb") as out:
                for chunk in read_blocks(src, limit, str(path)):
                    h.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            self._check(index, h.hexdigest(), size)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def _path(self, index: int) -> Path:
        if not 0 <= index < len(self.files):
            raise CorruptEntry(f"no stored file {index}")
        if not _real_dir(self.folder / "files"):
            raise CorruptEntry("files/ is not a folder")
        return self.folder / "files" / str(index)

    def _check(self, index: int, sha256: str, size: int) -> None:
        want = self.files[index]
        if (sha256, size) != (want.sha256, want.size):
            raise CorruptEntry(f"stored file {index} does not match its checksum")


@dataclass(frozen=True)
class Packed:
    """A value ready to store: JSON data and the files it refers to by index."""

    kind: str
    type: str
    value: Any
    files: tuple[Path | bytes, ...] = ()


class ResultsCache:
    """Entries under ``root/v1``; every method is safe with other runs using the same folder.

    ``read_only``: entries are read and never written, removed or touched (a pull request's
    run reads the base branch's entries so: ``--cache-base``); a missing folder has no entries.
    """

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES, *, read_only: bool = False):
        self.root = Path(root)
        self.base = self.root / LAYOUT
        self.max_bytes = max_bytes
        self.read_only = read_only
        if not read_only:
            self.base.mkdir(parents=True, exist_ok=True)

    def folder(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.base / key[:2] / key

    def get(self, key: str) -> Entry | None:
        """The entry under ``key``, its ``value.json`` checked; None (and the entry removed)
        when there is none or it is unusable. A hit makes it the most recently used."""
        folder = self.folder(key)
        if not (_real_dir(self.base) and _real_dir(folder.parent) and _real_dir(folder)):
            if os.path.islink(folder):
                self.discard(key)  # an entry leading elsewhere: never ours
            return None
        try:
            entry = _read_entry(key, folder)
        except Exception:  # anything at all: an unusable entry is a miss, never a crash
            self.discard(key)
            return None
        if self.read_only:
            return entry
        try:
            os.utime(folder)
        except OSError:
            pass  # evicted meanwhile: its files may still be read, or the read fails (a miss)
        return entry

    def put(self, key: str, packed: Packed) -> bool:
        """Store ``packed`` under ``key``; False when another writer got there first or the
        folder cannot take it (a full disk must not fail the run: the cache is only a shortcut)."""
        folder = self.folder(key)
        if self.read_only or os.path.lexists(folder):
            return False
        tmp = folder.parent / f"{_TMP}{key[:16]}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            (tmp / "files").mkdir(parents=True)
            stored = [_write_file(tmp / "files" / str(i), src) for i, src in enumerate(packed.files)]
            body = {
                "kind": packed.kind,
                "type": packed.type,
                "value": packed.value,
                "files": [{"sha256": f.sha256, "bytes": f.size} for f in stored],
            }
            document = {"format": FORMAT, "key": key, "digest": _body_digest(body), "body": body}
            (tmp / "value.json").write_text(json.dumps(document, ensure_ascii=True), encoding="utf-8")
            try:
                os.rename(tmp, folder)  # atomic; fails when the entry exists
            except OSError as e:
                if e.errno in (errno.EEXIST, errno.ENOTEMPTY) or folder.exists():
                    return False  # a concurrent writer won: its entry holds the same value
                raise
            return True
        except (OSError, TypeError, ValueError):
            return False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def discard(self, key: str) -> None:
        """Remove an entry: renamed aside first, so no reader ever sees half of one."""
        if self.read_only:
            return
        folder = self.folder(key)
        trash = folder.parent / f"{_TRASH}{key[:16]}-{secrets.token_hex(4)}"
        try:
            os.rename(folder, trash)
        except OSError:
            return  # gone already
        if os.path.islink(trash):
            trash.unlink(missing_ok=True)
        else:
            shutil.rmtree(trash, ignore_errors=True)

    def entries(self) -> list[tuple[str, float, int]]:
        """(key, last used, bytes) of every entry; temp folders of dead writers are cleaned up."""
        found = []
        now = time.time()
        for shard in _subdirs(self.base):
            for folder in _subdirs(shard):
                name = folder.name
                try:
                    if not self.read_only and (
                        name.startswith(_TRASH)
                        or (name.startswith(_TMP) and now - folder.stat().st_mtime > STALE_S)
                    ):
                        shutil.rmtree(folder, ignore_errors=True)
                    elif _KEY.match(name) and shard.name == name[:2]:
                        found.append((name, folder.stat().st_mtime, _size(folder)))
                except OSError:
                    continue  # removed by another run meanwhile
        return found

    def total_bytes(self) -> int:
        return sum(size for _, _, size in self.entries())

    def evict(self) -> int:
        """Remove the least recently used entries until the total is at most ``max_bytes``;
        the number removed."""
        if self.read_only:
            return 0
        entries = sorted(self.entries(), key=lambda e: (e[1], e[0]))
        total = sum(size for _, _, size in entries)
        removed = 0
        for key, _, size in entries:
            if total <= self.max_bytes:
                break
            self.discard(key)
            total -= size
            removed += 1
        return removed


def _read_entry(key: str, folder: Path) -> Entry:
    # A regular file within the limit, never through a symlink: a FIFO would block the read
    # forever, a link to /dev/zero would never end (file_digest.open_regular).
    document = json.loads(read_regular(folder / "value.json", MAX_VALUE_BYTES))
    if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("key") != key:
        raise CorruptEntry("not an entry of this format, or of another key")
    body = document.get("body")
    if not isinstance(body, dict) or document.get("digest") != _body_digest(body):
        raise CorruptEntry("value.json does not match its digest")
    files = body.get("files")
    kind, type_ = body.get("kind"), body.get("type")
    if not isinstance(files, list) or not isinstance(kind, str) or not isinstance(type_, str):
        raise CorruptEntry("value.json lacks its kind, type or files")
    stored = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("sha256"), str) or not _SHA.match(f["sha256"]):
            raise CorruptEntry("a stored file without its checksum")
        size = f.get("bytes")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise CorruptEntry("a stored file without its size")
        stored.append(StoredFile(f["sha256"], size))
    return Entry(key, folder, kind, type_, body.get("value"), tuple(stored))


def _body_digest(body: Any) -> str:
    # A digest of the whole value: a flipped digit in a figure is a corrupt entry, not a figure.
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _write_file(dest: Path, src: Path | bytes) -> StoredFile:
    if isinstance(src, bytes):
        dest.write_bytes(src)
        return StoredFile(hashlib.sha256(src).hexdigest(), len(src))
    h, size = hashlib.sha256(), 0
    with open_regular(src) as f, open(dest, "wb") as out:
        for chunk in read_blocks(f, None, str(src)):
            h.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return StoredFile(h.hexdigest(), size)


def _real_dir(path: Path) -> bool:
    """A folder itself, not a symlink to one (an entry must not lead elsewhere)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _subdirs(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


# --- values ↔ entries ----------------------------------------------------------------------------

# Where a value names the job's own paths (a candidate's notes, a report's log), the entry holds
# a placeholder: another run's work folder, checkout or side ("(base)") reads its own back.
_PLACE = "{{edgegate-cache:%s}}"
_MIN_PLACE_CHARS = 4  # shorter texts are too likely to occur in words


def _places(job: Job[Any]) -> tuple[tuple[str, str], ...]:
    if isinstance(job, (BuildJob, LayerAnalysisJob)):
        r = job.request
        named = {"out_dir": str(r.out_dir), "source": str(r.source.path), "root": str(r.root)}
        named["display"] = r.source.display
    elif isinstance(job, EvaluateJob):
        named = {"model": str(job.model_path), "root": str(job.root)}
    elif isinstance(job, TargetJob):
        named = {"model": str(job.model_path)}
    else:
        named = {}
    return tuple(
        sorted(
            ((_PLACE % name, text) for name, text in named.items() if len(text) >= _MIN_PLACE_CHARS),
            key=lambda p: -len(p[1]),  # the longest first: a path holds the shorter names
        )
    )


def _relocate(data: Any, places: Sequence[tuple[str, str]], back: bool = False) -> Any:
    if isinstance(data, str):
        for token, text in places:
            data = data.replace(text, token) if not back else data.replace(token, text)
        return data
    if isinstance(data, list):
        return [_relocate(v, places, back) for v in data]
    if isinstance(data, dict):
        return {k: _relocate(v, places, back) for k, v in data.items()}
    return data


def _portable(value: Any, tp: Any, places: Sequence[tuple[str, str]]) -> Any:
    """``value`` as JSON with the job's places replaced; ValueError unless it reads back equal."""
    data = _relocate(encode(value), places)
    if decode(tp, _relocate(data, places, back=True)) != value:
        raise ValueError(f"a {tp} does not survive the JSON codec")
    return data


def pack(job: Job[Any], value: Any) -> Packed | None:
    """The entry for a job's successful value; None when it is not to be stored (a candidate
    that failed to build: it may have been a transient failure) or cannot be stored faithfully."""
    try:
        if isinstance(job, BuildJob):
            return _pack_build(job, value)
        if isinstance(job, EvaluateJob):
            return _pack_evaluation(job, value)
        if isinstance(job, TargetJob):
            tp = report_type(job.target)
            if tp is None:
                return None
            return Packed("target", _type_name(tp), _portable(value, tp, _places(job)))
        if isinstance(job, LayerAnalysisJob):
            return Packed(
                "layers", "LayerError", _portable(tuple(value), tuple[LayerError, ...], _places(job))
            )
        if isinstance(job, MemoryJob):
            return Packed("memory", "MemoryFigures", _portable(value, MemoryFigures, ()))
    except (TypeError, ValueError, OSError):
        return None
    return None


def unpack(job: Job[Any], entry: Entry) -> Any:
    """The job's value from its entry, files restored; ``CorruptEntry``/``ValueError``/... when
    the entry cannot be it."""
    places = _places(job)
    expected = _KINDS.get(type(job))
    if entry.kind != expected:
        raise CorruptEntry(f"a {entry.kind} entry where a {expected} was expected")
    if isinstance(job, BuildJob):
        return _unpack_build(job, entry, places)
    if isinstance(job, EvaluateJob):
        return _unpack_evaluation(job, entry)
    if isinstance(job, TargetJob):
        tp = report_type(job.target)
        if tp is None or entry.type != _type_name(tp):
            raise CorruptEntry(f"a {entry.type} where a {tp} was expected")
        return decode(tp, _relocate(entry.value, places, back=True))
    if isinstance(job, LayerAnalysisJob):
        return decode(tuple[LayerError, ...], _relocate(entry.value, places, back=True))
    if isinstance(job, MemoryJob):
        return decode(MemoryFigures, entry.value, "memory")
    raise CorruptEntry(f"no entries for {type(job).__name__}")


def report_type(target: Any) -> Any:
    """The report type a target declares (``class McuTarget(Target[McuReport])``), or None."""
    from edgegate.targets.interface import Target

    for klass in type(target).__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if typing.get_origin(base) is Target:
                (arg,) = typing.get_args(base)
                return arg if isinstance(arg, type) else None
    return None


def _type_name(tp: type) -> str:
    return f"{tp.__module__}.{tp.__qualname__}"


def _pack_build(job: BuildJob, value: Any) -> Packed | None:
    out_dir, source = job.request.out_dir, job.request.source.path
    places = _places(job)
    items, files = [], []
    for b in value:
        if not isinstance(b, BuiltCandidate) or b.error is not None:
            return None
        if b.path is None:
            where: Any = None
        elif b.path == source:
            where = "source"  # a .tflite measured as it is: the job's own input
        elif b.path.parent == out_dir and _plain_name(b.path.name) and b.path.is_file():
            files.append(b.path)
            where = {"file": len(files) - 1, "name": b.path.name}
        else:
            return None  # a file somewhere a later run could not put it back
        items.append(
            {"candidate": _portable(dataclasses.replace(b, path=None), BuiltCandidate, places), "path": where}
        )
    return Packed("build", "BuiltCandidate", items, tuple(files))


def _unpack_build(
    job: BuildJob, entry: Entry, places: Sequence[tuple[str, str]]
) -> tuple[BuiltCandidate, ...]:
    if not isinstance(entry.value, list):
        raise CorruptEntry("a build entry without its candidates")
    out: list[BuiltCandidate] = []
    for item in entry.value:
        if not isinstance(item, dict):
            raise CorruptEntry("a build entry with a malformed candidate")
        b = decode(BuiltCandidate, _relocate(item.get("candidate"), places, back=True))
        where = item.get("path")
        if where is None:
            path = None
        elif where == "source":
            path = job.request.source.path
        elif (
            isinstance(where, dict) and isinstance(where.get("file"), int) and _plain_name(where.get("name"))
        ):
            path = job.request.out_dir / where["name"]
            entry.copy_to(where["file"], path)
        else:
            raise CorruptEntry("a build entry with a malformed file")
        out.append(dataclasses.replace(b, path=path))
    if sorted(b.label for b in out) != sorted(job.labels):
        raise CorruptEntry("a build entry for other recipes")
    return tuple(out)


def _plain_name(name: Any) -> bool:
    """A file name inside the folder: no separators, not ``.``/``..``, not hidden."""
    return (
        isinstance(name, str)
        and bool(name)
        and "/" not in name
        and "\\" not in name
        and not name.startswith(".")
    )


def _pack_evaluation(job: EvaluateJob, value: Any) -> Packed | None:
    import numpy as np

    if not isinstance(value, Evaluated):
        return None
    files: list[Path | bytes] = []
    scores = None
    if value.scores is not None:
        buf = io.BytesIO()
        np.save(buf, value.scores.values, allow_pickle=False)
        files.append(buf.getvalue())
        scores = {"file": 0, "aggregate": value.scores.aggregate, "identity": value.scores.identity}
    outputs = None
    if job.save_outputs is not None:
        if not job.save_outputs.is_file():
            return None
        files.append(job.save_outputs)
        outputs = {"file": len(files) - 1}
    data = {"accuracy": _portable(value.accuracy, Accuracy, ()), "scores": scores, "outputs": outputs}
    return Packed("evaluate", "Evaluated", data, tuple(files))


def _unpack_evaluation(job: EvaluateJob, entry: Entry) -> Evaluated:
    import numpy as np

    from edgegate.metrics.interface import SampleScores

    data = entry.value
    if not isinstance(data, dict):
        raise CorruptEntry("an evaluation entry without its figures")
    accuracy = decode(Accuracy, data.get("accuracy"), "accuracy")
    scores = None
    stored = data.get("scores")
    if stored is not None:
        if not isinstance(stored, dict) or not isinstance(stored.get("file"), int):
            raise CorruptEntry("an evaluation entry with malformed scores")
        hints = typing.get_type_hints(SampleScores)
        values = np.load(io.BytesIO(entry.read_bytes(stored["file"])), allow_pickle=False)
        scores = SampleScores(
            values,
            decode(hints["aggregate"], stored.get("aggregate"), "scores.aggregate"),
            decode(str, stored.get("identity"), "scores.identity"),
        )
    if job.save_outputs is not None:
        outputs = data.get("outputs")
        if not isinstance(outputs, dict) or not isinstance(outputs.get("file"), int):
            raise CorruptEntry("an evaluation entry without the outputs this job keeps")
        entry.copy_to(outputs["file"], job.save_outputs)
    return Evaluated(accuracy, scores)


# --- the runner ----------------------------------------------------------------------------------

_MISS = object()


@dataclass(frozen=True)
class CacheSummary:
    """What a run took from the cache, per kind of job ("build", "evaluate", ...)."""

    folder: Path
    base: Path | None  # the read-only entries (--cache-base), when the run had them
    fresh_only: bool  # of folder's entries only this run's own were read
    reused: Mapping[str, int]
    ran: Mapping[str, int]  # cacheable jobs that missed and ran
    uncacheable: Mapping[str, int]
    reasons: tuple[str, ...]  # why some jobs could not be cached
    stored: int

    @property
    def total(self) -> int:
        return sum(self.reused.values()) + sum(self.ran.values()) + sum(self.uncacheable.values())

    def note(self) -> str:
        """One line for the run's notes: "cache: 9 of 11 jobs reused from DIR (builds 4/5, ...)"."""
        reused = sum(self.reused.values())
        kinds = [k for k in _SHOWN if self.reused.get(k) or self.ran.get(k) or self.uncacheable.get(k)]
        per_kind = ", ".join(
            f"{_SHOWN[k]} {self.reused.get(k, 0)}/"
            f"{self.reused.get(k, 0) + self.ran.get(k, 0) + self.uncacheable.get(k, 0)}"
            for k in kinds
        )
        if not self.fresh_only:
            text = f"cache: {reused} of {self.total} jobs reused from {self.folder}"
        elif self.base is None:
            text = (
                f"cache: {reused} of {self.total} jobs reused from this run's own entries in {self.folder} "
                "(a pull request's run reads no entry it could have written before)"
            )
        else:
            text = (
                f"cache: {reused} of {self.total} jobs reused from {self.base} (read only) "
                f"and this run's own entries in {self.folder}"
            )
        text += f" ({per_kind})" if per_kind else ""
        if self.reasons:
            text += f"; not cacheable: {'; '.join(self.reasons)}"
        return text + "; latency is always measured"


class CachingRunner:
    """A ``Runner`` that answers what the cache holds and runs the rest on ``inner``.

    With ``base`` (read only) or ``fresh_only``, the figures it answers come only from ``base`` or
    from this run: ``cache`` is where the run writes, and of its entries only those this run
    stored are read. Whatever wrote ``cache`` before (a pull request's earlier push) decides
    nothing.
    """

    def __init__(
        self,
        inner: Runner,
        cache: ResultsCache,
        keys: CacheKeys | None = None,
        base: ResultsCache | None = None,
        fresh_only: bool = False,
    ):
        self.inner = inner
        self.cache = cache
        self.base = base
        self.fresh_only = fresh_only or base is not None
        self.keys = keys or CacheKeys()
        self._written: set[str] = set()  # keys this run stored
        self._reused: Counter[str] = Counter()
        self._ran: Counter[str] = Counter()
        self._uncacheable: Counter[str] = Counter()
        self._reasons: dict[str, None] = {}  # ordered, unique
        self._stored = 0
        self._pending: dict[int, tuple[Job[Any], str]] = {}  # id(job) → (job, key) of misses running

    def expect(self, jobs: int) -> None:
        self.inner.expect(jobs)

    def run(
        self, jobs: Sequence[Job[Any]], on_outcome: Callable[[JobOutcome[Any]], Iterable[Job[Any]]]
    ) -> None:
        stored_before = self._stored

        def answer(todo: Iterable[Job[Any]]) -> list[Job[Any]]:
            """The jobs to run: every hit is answered here, and its follow-ups looked up too."""
            queue, run = deque(todo), []
            while queue:
                job = queue.popleft()
                key = self._key(job)
                if key is not None:
                    value = self._lookup(job, key)
                    if value is not _MISS:
                        self._reused[_KINDS[type(job)]] += 1
                        self.inner.expect(-1)  # answered here: it never reaches the workers
                        queue.extend(on_outcome(JobOutcome(job, value)))
                        continue
                    self._ran[_KINDS[type(job)]] += 1
                    self._pending[id(job)] = (job, key)
                run.append(job)
            return run

        def finished(outcome: JobOutcome[Any]) -> list[Job[Any]]:
            pending = self._pending.pop(id(outcome.job), None)
            if pending is not None and pending[0] is outcome.job and outcome.ok:
                self._store(outcome.job, pending[1], outcome.value)
            return answer(on_outcome(outcome))

        self.inner.run(answer(jobs), finished)
        if self._stored > stored_before:
            self.cache.evict()

    def summary(self) -> CacheSummary:
        return CacheSummary(
            self.cache.root,
            None if self.base is None else self.base.root,
            self.fresh_only,
            dict(self._reused),
            dict(self._ran),
            dict(self._uncacheable),
            tuple(self._reasons),
            self._stored,
        )

    def _key(self, job: Job[Any]) -> str | None:
        if type(job) not in _KINDS:
            return None  # latency, and any kind the cache does not know: always run
        try:
            return self.keys.key(job)
        except Uncacheable as e:
            self._uncacheable[_KINDS[type(job)]] += 1
            self._reasons[str(e)] = None
            return None

    def _lookup(self, job: Job[Any], key: str) -> Any:
        sources = [] if self.base is None else [self.base]
        if not self.fresh_only or key in self._written:
            sources.append(self.cache)
        for cache in sources:
            entry = cache.get(key)
            if entry is None:
                continue
            try:
                return unpack(job, entry)
            except Exception:  # a read that fails in any way is a miss, never a crash or a wrong figure
                cache.discard(key)  # (never in a read-only cache)
        return _MISS

    def _store(self, job: Job[Any], key: str, value: Any) -> None:
        packed = pack(job, value)
        if packed is not None and self.cache.put(key, packed):
            self._stored += 1
            self._written.add(key)


@dataclass(frozen=True)
class RunCache:
    """The results cache a run is given: where it writes (``store``), the read-only entries it
    may also answer from (``base``), and whether only what this run stored is read back."""

    store: ResultsCache
    base: ResultsCache | None = None
    fresh_only: bool = False

    def runner(self, inner: Runner) -> CachingRunner:
        return CachingRunner(inner, self.store, base=self.base, fresh_only=self.fresh_only)


def run_cache(options: CheckOptions) -> RunCache | None:
    """The cache ``--cache`` (and ``--cache-base``) name, or None; ``UsageError`` for a folder it
    cannot use, or ``--cache-base`` without ``--cache`` (where the run writes)."""
    from edgegate.errors import UsageError

    if options.cache_dir is None:
        if options.cache_base_dir is not None:
            raise UsageError(
                f"--cache-base {options.cache_base_dir}: also give --cache DIR (where this run writes)"
            )
        return None
    try:
        store = ResultsCache(Path(options.cache_dir), options.cache_max_bytes or DEFAULT_MAX_BYTES)
    except OSError as e:
        raise UsageError(f"--cache {options.cache_dir}: cannot use this folder ({e.strerror or e})") from None
    base = (
        None if options.cache_base_dir is None else ResultsCache(Path(options.cache_base_dir), read_only=True)
    )
    return RunCache(store, base, fresh_only=options.cache_fresh_only)
