"""What a cached figure is a function of: one key recipe per kind of job (docs/cache.md).

A key is the SHA-256 of a stable ``repr`` of everything that determines a job's value:

- **content, never paths**: the source model's bytes (every file of a SavedModel folder with
  its relative path), the candidate ``.tflite`` bytes an evaluation or a target reads, the bytes
  of every dataset file a job reads (``.npz``/``.npy`` files, image folders recursively), the
  float reference's outputs a fidelity evaluation compares with. A work folder or a checkout
  moved elsewhere keeps its keys; one changed byte changes them;
- **settings**: the policy sections as nested tuples without where they were written (``key``,
  ``line``), so the same settings moved into ``defaults:`` keep their keys; a target's own
  frozen settings;
- **the environment** (``environment()``): EdgeGate (its version and a digest of its own source
  files, so an unreleased change is never served figures of the code before it), the libraries
  that convert, run and analyze (TensorFlow, tf-keras, Keras, tfmot, LiteRT, TFLite Micro, Vela,
  NumPy, Pillow, h5py, flatbuffers), Python and the machine (the MCU arena depends on pointer size).

What cannot be hashed makes a job uncacheable (``Uncacheable``, with the reason the run's note
gives): a dataset or training ``hook`` (it runs code whose output we cannot see), ``trust_code``
for a Keras file (loading may import code from the repository), a symlinked folder inside a
dataset or a model (a reader may follow it), a file that cannot be read (the job reports it).
Only regular files are read for a key (``file_digest``: not a FIFO, a device, a folder), a
dataset's within the size a dataset may hold, and not one in a dataset folder that leads out of
the repository: the job then runs and the dataset reader refuses it, in its own words.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import os
import platform
import sys
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any

from edgegate.datasets.limits import MAX_DATASET_BYTES
from edgegate.file_digest import file_sha256
from edgegate.policy.sections import Dataset
from edgegate.recipes.interface import BuildRequest
from edgegate.repo_paths import real_path, resolves_inside
from edgegate.run.jobs import BuildJob, EvaluateJob, Job, LatencyJob, LayerAnalysisJob, MemoryJob, TargetJob

# Bumped when a key recipe changes meaning, so old entries are never read under a new recipe.
# 2: a layer analysis names each layer's node; 3: a build keeps its quantizer's ranking (both for
# the keep-float search).
RECIPE_VERSION = 3
_WHERE = ("key", "line", "key_lines")  # where a policy section was written: never part of a key

# Distributions whose version changes what a job returns (those not installed count as absent).
DISTRIBUTIONS = (
    "tensorflow",
    "tf-keras",
    "keras",
    "tensorflow-model-optimization",
    "ai-edge-litert",
    "litert-quantizer",  # a .tflite's recipes (docs/quantizer.md)
    "scipy",  # the quantizer's
    "tflite-micro",
    "ethos-u-vela",
    "numpy",
    "pillow",
    "h5py",
    "flatbuffers",
)


class Uncacheable(Exception):
    """This job's value depends on something a key cannot hold; the message says what."""


@functools.cache
def environment() -> tuple[tuple[str, str], ...]:
    """The versions and the machine every key includes (computed once per process)."""
    from importlib import metadata

    import edgegate

    versions = [("edgegate", edgegate.__version__), ("edgegate-source", _source_digest())]
    for dist in DISTRIBUTIONS:
        try:
            versions.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            versions.append((dist, "absent"))
    versions += [
        ("python", f"{sys.implementation.name} {sys.version.split()[0]}"),
        ("machine", f"{sys.platform} {platform.machine()} {8 * _pointer_bytes()}-bit"),
    ]
    return tuple(versions)


def _pointer_bytes() -> int:
    import struct

    return struct.calcsize("P")


def _source_digest() -> str:
    """EdgeGate's own code and data files: a checkout between releases keys on what it runs."""
    import edgegate

    package = Path(edgegate.__file__).parent
    h = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".json") and p.is_file()):
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


class CacheKeys:
    """The key of each cacheable job; None for a job that is never cached (latency).

    Holds the content digests of one run, so a dataset every evaluation reads is hashed once.
    A digest is remembered with the file's size, modification time and inode: a file rewritten
    meanwhile is hashed again.
    """

    def __init__(self) -> None:
        self._digests: dict[tuple[str, int, int, int], str] = {}

    def key(self, job: Job[Any]) -> str | None:
        """``Uncacheable`` when this job's value cannot be keyed."""
        if isinstance(job, LatencyJob):
            return None  # timing is measured fresh, every run
        if isinstance(job, BuildJob):
            return self.build_key(job)
        if isinstance(job, EvaluateJob):
            return self.evaluate_key(job)
        if isinstance(job, TargetJob):
            return self.target_key(job)
        if isinstance(job, LayerAnalysisJob):
            return self.layer_analysis_key(job)
        if isinstance(job, MemoryJob):
            return self.memory_key(job)
        return None  # a kind of job this module does not know: run it

    # --- one recipe per kind of job ------------------------------------------------------------

    def build_key(self, job: BuildJob) -> str:
        """The request's inputs (below); the side and the work folder are not: the base version
        of a model and the head version of another run with the same bytes share their entries."""
        return _digest("build", self._request(job.request))

    def evaluate_key(self, job: EvaluateJob) -> str:
        return _digest(
            "evaluate",
            ("candidate", self.content(job.model_path)),
            ("data", self._dataset(job.data, job.root)),
            ("metric", stable(job.metric)),
            ("batch_size", job.batch_size),
            ("threads", job.threads),
            ("reference", self.content(job.reference_outputs) if job.reference_outputs else None),
            ("keeps_outputs", job.save_outputs is not None),  # the entry then holds them
        )

    def target_key(self, job: TargetJob) -> str:
        target = job.target
        return _digest(
            "target",
            ("class", f"{type(target).__module__}.{type(target).__qualname__}"),
            ("settings", self._target_settings(target)),
            ("candidate", self.content(job.model_path)),
        )

    def layer_analysis_key(self, job: LayerAnalysisJob) -> str:
        return _digest("layers", self._request(job.request), ("label", job.candidate.label), ("top", job.top))

    def memory_key(self, job: MemoryJob) -> str:
        """The candidate's bytes and the thread count, like an evaluation; plus the kernel's release,
        whose page accounting the figure is (the libraries, Python and the machine are in every key).
        Its run-to-run spread is a few pages (docs/cache.md), so a stored figure stands for a new one."""
        return _digest(
            "memory",
            ("candidate", self.content(job.model_path)),
            ("threads", job.threads),
            ("kernel", platform.release()),
        )

    # --- the parts ----------------------------------------------------------------------------

    def _request(self, request: BuildRequest) -> tuple[Any, ...]:
        """A build request's inputs: the source's bytes and kind, the recipes, the calibration
        (always: the float32 reference is compared with the source on its samples) and, when a
        recipe trains, the training section and its data. The model's name is in it: the
        candidates' notes and skip reasons name it."""
        source = request.source
        if source.trust_code and source.format.may_run_code:
            raise Uncacheable("trust_code: loading the model may run code from the repository")
        trains = any(r.trainings for r in request.recipes)
        calibration = request.calibration
        training = request.training
        if trains and training is not None and training.hook:
            raise Uncacheable("a training hook runs code whose output cannot be hashed")
        return (
            ("model", request.model_name),
            ("source", source.kind, self.content(source.path)),
            ("recipes", tuple(stable(r) for r in request.recipes)),
            (
                "calibration",
                None
                if calibration is None
                else (
                    stable(calibration, skip=("data",)),
                    self._dataset(calibration.data, request.root) if calibration.data else None,
                ),
            ),
            (
                "training",
                None
                if not trains or training is None
                else (
                    stable(training, skip=("data",)),
                    self._dataset(training.data, request.root) if training.data else None,
                ),
            ),
        )

    def _dataset(self, spec: Dataset, root: Path) -> tuple[Any, ...]:
        """A dataset's settings with each path it names replaced by the content there (its
        suffix kept: it chooses the reader)."""
        if spec.hook:
            raise Uncacheable("a dataset hook runs code whose output cannot be hashed")
        written = {name: getattr(spec, name) for name in ("path", "x", "y", "images")}
        files = []
        for name, rel in written.items():
            if rel is None:
                continue
            # The readers refuse a path leading out of the repository; so does the key (the job
            # then runs and reports it).
            target = real_path(root, rel)
            if target is None or not resolves_inside(root, rel) or not target.exists():
                raise Uncacheable(f"{spec.key}: {rel} cannot be read here")
            content = self.content(target, inside=root, limit=MAX_DATASET_BYTES)
            files.append((name, PurePath(rel).suffix.lower(), content))
        return (stable(spec, skip=tuple(written)), tuple(files))

    def _target_settings(self, target: Any) -> tuple[Any, ...]:
        """A target's fields: its settings as values, a file it reads (the GPU target's samples)
        by content, and a field standing for files it reads (``Target.read_files``: the Edge TPU's
        compiler) by those files' bytes, not by the field (the repository folder it is found in)."""
        from edgegate.errors import EdgeGateError

        try:
            read = target.read_files()
        except EdgeGateError as e:  # the analysis reports it, by name
            raise Uncacheable(str(e)) from None
        if not dataclasses.is_dataclass(target):
            raise Uncacheable(f"the {target.title} target is not a frozen dataclass")
        parts: list[Any] = []
        for f in dataclasses.fields(target):
            value = getattr(target, f.name)
            if f.name in read:
                parts.append((f.name, self.content(read[f.name]) if read[f.name] is not None else "none"))
            elif isinstance(value, Path):
                parts.append((f.name, self.content(value) if value.exists() else "absent"))
            else:
                parts.append((f.name, stable(value)))
        return tuple(parts)

    # --- content ------------------------------------------------------------------------------

    def content(self, path: Path, inside: Path | None = None, limit: int | None = None) -> str:
        """The digest of a file's bytes, or of a folder's files with their relative paths. Only
        regular files are read (``file_digest``), each of at most ``limit`` bytes; with
        ``inside`` (a dataset's repository), a file leading out of it is not read either."""
        path = Path(path)
        try:
            if path.is_dir():
                return "folder:" + self._folder(path, inside, limit)
            return "file:" + self._file(path, limit)
        except OSError as e:
            raise Uncacheable(f"{path.name}: cannot be read ({e.strerror or e})") from None

    def _file(self, path: Path, limit: int | None = None) -> str:
        real = os.path.realpath(path)
        st = os.stat(real)
        memo = (real, st.st_size, st.st_mtime_ns, st.st_ino)
        found = self._digests.get(memo)
        if found is None:
            found = self._digests[memo] = file_sha256(real, limit)
        return found

    def _folder(self, folder: Path, inside: Path | None, limit: int | None) -> str:
        h = hashlib.sha256()
        for rel, path in _files_under(folder):
            if inside is not None and not resolves_inside(inside, path):
                # The reader refuses it, with its own message, when the job runs.
                raise Uncacheable(f"{folder.name}/{rel} resolves outside the repository")
            try:
                digest = self._file(path, limit)
            except OSError as e:
                raise Uncacheable(f"{folder.name}/{rel}: cannot be read ({e.strerror or e})") from None
            h.update(rel.encode() + b"\0" + digest.encode() + b"\n")
        return h.hexdigest()


def _files_under(folder: Path) -> Iterable[tuple[str, Path]]:
    """Every file below ``folder`` with its relative path, sorted. A symlinked folder inside is
    refused: a reader may follow it, and a key that does not would miss what it reads."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                raise Uncacheable(f"{Path(dirpath, d).relative_to(folder)}: a symlinked folder")
        for name in filenames:
            path = Path(dirpath, name)
            found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


def stable(value: Any, skip: tuple[str, ...] = ()) -> Any:
    """``value`` as nested tuples of plain values whose ``repr`` is the same in every process.

    What ``edgegate.policy.sections.settings_of`` does for one section, through tuples and
    mappings too: dataclasses field by field without ``key``/``line`` (and ``skip``), enums by
    value. Anything else (a function, a path) is ``Uncacheable``: its ``repr`` says nothing
    about what it does or holds.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple(
                (f.name, stable(getattr(value, f.name)))
                for f in dataclasses.fields(value)
                if f.name not in _WHERE and f.name not in skip
            ),
        )
    if isinstance(value, enum.Enum):
        return (type(value).__name__, stable(value.value))
    if isinstance(value, (tuple, list)):
        return tuple(stable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((repr(stable(k)), stable(v)) for k, v in value.items()))
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise Uncacheable(f"a setting of type {type(value).__name__} has no stable form")


def _digest(kind: str, *parts: Any) -> str:
    """Every key holds the recipe's version and the environment besides its own parts."""
    return hashlib.sha256(repr((RECIPE_VERSION, environment(), kind, parts)).encode("utf-8")).hexdigest()
