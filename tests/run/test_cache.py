"""The results cache (``edgegate.run.cache``): what a warm run reuses, what it must not.

The schedule runs over ``FileRunner``, an in-process runner that does what the workers do to
the file system (a build writes its ``.tflite`` into ``out_dir``, the reference's evaluation
saves its outputs) and derives every figure from the bytes it reads, so a figure served from a
stale or corrupt entry would differ from the one an uncached run computes. The last test runs
``edgegate check --cache`` end to end on a small real model.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from edgegate.checks import Check
from edgegate.measurements.interface import LatencyFigures, SizeFigures
from edgegate.metrics.interface import SampleScores
from edgegate.policy.load import load_policy
from edgegate.recipes.interface import BuiltCandidate, SourceModel
from edgegate.results import Accuracy, LayerError
from edgegate.run import loop
from edgegate.run.cache import CachingRunner, Packed, ResultsCache
from edgegate.run.cache_keys import CacheKeys, stable
from edgegate.run.jobs import (
    AS_IS,
    BuildJob,
    Evaluated,
    EvaluateJob,
    Job,
    LatencyJob,
    LayerAnalysisJob,
    ModelRef,
    TargetJob,
)
from edgegate.run.plan import ModelPlan
from edgegate.status import Status
from edgegate.targets import PlacedTarget
from edgegate.targets.interface import PolicyPlace, Target
from tests.run.inprocess import InProcessRunner

ROOT = Path(__file__).resolve().parents[2]


def _digest(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


@dataclass(frozen=True)
class ByteReport:
    size: int
    first: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ByteTarget(Target[ByteReport]):
    """A target whose report is read from the candidate's bytes; never applies to float16."""

    name: ClassVar[str] = "edgetpu"
    title: ClassVar[str] = "Bytes"
    limit: int = 10_000

    def never_applies(self, conversion: str) -> str | None:
        return "float16 never runs here" if conversion == "float16" else None

    def analyze(self, model: Path) -> ByteReport:
        data = model.read_bytes()
        return ByteReport(len(data), data[0], (f"read {model}",))

    def checks(self, report: ByteReport, base: ByteReport | None, where: PolicyPlace) -> tuple[Check, ...]:
        status = Status.PASS if report.size <= self.limit else Status.FAIL
        return (Check("bytes", status, f"{report.size} B, first {report.first}", key=where.key),)

    def when_broken(self) -> Status:
        return Status.FAIL

    def skipped(self, reason: str, where: PolicyPlace) -> tuple[Check, ...]:
        return (Check("bytes", Status.SKIP, reason, key=where.key),)

    def failed(self, error: str, where: PolicyPlace) -> tuple[Check, ...]:
        return (Check("bytes", Status.FAIL, error, key=where.key),)

    def summary(self, report: ByteReport) -> str:
        return f"bytes {report.size}"


@dataclass
class FileRunner(InProcessRunner):
    """Serves jobs in process, from and to real files; records every job it ran."""

    crash: set[str] = field(default_factory=set)  # labels whose build dies
    failing: set[str] = field(default_factory=set)  # labels built with an error

    def serve(self, job: Job) -> Any:
        if isinstance(job, BuildJob):
            return self._build(job)
        if isinstance(job, EvaluateJob):
            return self._evaluate(job)
        if isinstance(job, LatencyJob):
            return tuple(
                (ref, LatencyFigures(1.0 + i, 1.5 + i, 5)) for i, (ref, _) in enumerate(job.candidates)
            )
        if isinstance(job, TargetJob):
            return job.target.analyze(job.model_path)
        if isinstance(job, LayerAnalysisJob):
            blob = _digest(job.request.source.path.read_bytes(), job.candidate.label.encode())
            return (LayerError("conv", "CONV_2D", round(blob[0] / 10, 3), "try int16x8"),)
        raise AssertionError(f"unexpected job {job!r}")

    def _build(self, job: BuildJob) -> tuple[BuiltCandidate, ...]:
        r = job.request
        if self.crash & set(job.labels):
            raise RuntimeError("the worker process crashed (SIGSEGV)")
        if r.source.kind == "tflite":
            return (BuiltCandidate(AS_IS, r.source.path, size=SizeFigures(r.source.path.stat().st_size, 1)),)
        model = r.source.path.read_bytes()
        r.out_dir.mkdir(parents=True, exist_ok=True)
        out = []
        for recipe in r.recipes:
            if recipe.label in self.failing:
                out.append(BuiltCandidate(recipe.label, None, error="conversion failed: no kernel"))
                continue
            parts = [model, repr(stable(recipe)).encode()]
            if recipe.conversion == "int8":  # like the real converter: only int8 reads calibration
                assert r.calibration is not None and r.calibration.data is not None
                parts.append((r.root / str(r.calibration.data.path)).read_bytes())
            blob = _digest(*parts) * (1 + len(recipe.label))
            path = r.out_dir / f"{recipe.label}.tflite"
            path.write_bytes(blob)
            out.append(
                BuiltCandidate(
                    recipe.label,
                    path,
                    size=SizeFigures(len(blob), blob[0]),
                    # names its places: a warm run must tell its own
                    notes=(f"built from {r.source.display} into {r.out_dir}",),
                )
            )
        return tuple(out)

    def _evaluate(self, job: EvaluateJob) -> Evaluated:
        blob = _digest(job.model_path.read_bytes(), (job.root / str(job.data.path)).read_bytes())
        base = {"float32": 0.9, "float16": 0.89}.get(job.candidate.label, 0.5)  # int8 loses accuracy
        values = np.frombuffer(blob, dtype=np.uint8)[:16] % 2 == 0
        if job.save_outputs is not None:
            np.save(job.save_outputs, np.frombuffer(blob, dtype=np.uint8).astype(np.float32))
        accuracy = Accuracy("top1", round(base + blob[1] / 10_000, 6), len(values))
        return Evaluated(accuracy, SampleScores(values, "mean", "samples-1"))

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for j in self.ran:
            counts[type(j).__name__] = counts.get(type(j).__name__, 0) + 1
        return counts

    def cacheable(self) -> list[tuple[str, str, str, str]]:
        """The cacheable jobs it ran: (kind, model, side, label), sorted."""
        out = []
        for j in self.ran:
            if isinstance(j, BuildJob):
                out += [("build", j.model.name, j.side, label) for label in j.labels]
            elif isinstance(j, (EvaluateJob, TargetJob, LayerAnalysisJob)):
                c = j.candidate
                out.append((type(j).__name__, c.model.name, c.side, c.label))
        return sorted(out)


POLICY = """\
version: 1
models:
  - name: a
    path: a.keras
    recipes: [float16, int8]
    eval: {data: eval.npz}
    calibration: {data: calib.npz}
    budgets: {accuracy: {max_drop: 5pt}}
  - {name: b, path: b.keras, recipes: [float16, int8], eval: {data: eval.npz}, calibration: {data: calib.npz}}
"""


def write_repo(root: Path, policy: str = POLICY) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "edgegate.yml").write_text(policy, encoding="utf-8")
    (root / "a.keras").write_bytes(b"model a " * 50)
    (root / "b.keras").write_bytes(b"model b " * 50)
    rng = np.random.default_rng(0)
    np.savez(root / "eval.npz", x=rng.random((16, 4), dtype=np.float32), y=rng.integers(0, 2, 16))
    np.savez(root / "calib.npz", x=rng.random((16, 4), dtype=np.float32))


def plans(root: Path, work: Path, *, base: bool = True) -> list[ModelPlan]:
    policy = load_policy(root / "edgegate.yml", root=root)
    out = []
    for i, model in enumerate(policy.models):
        head = SourceModel(root / model.path, "keras", model.path)
        out.append(
            ModelPlan(
                ModelRef(i, model.name),
                model,
                "modified",
                model.path,
                model.path if base else None,
                work / model.name,
                head=head,
                # The base version: same bytes in another folder (as the materializer exports it).
                base=SourceModel(_export(root, work, model.path), "keras", f"{model.path} (base)")
                if base
                else None,
                targets=(PlacedTarget(ByteTarget(), PolicyPlace(f"models[{i}].edgetpu", 3)),),
            )
        )
    return out


def _export(root: Path, work: Path, rel: str) -> Path:
    dest = work / "base-export" / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes((root / rel).read_bytes())
    return dest


def gate(root: Path, work: Path, runner: loop.Runner, **kw: Any) -> tuple[Any, ...]:
    return loop.run(plans(root, work, **kw), runner, loop.Settings(root=root, latency=True))


def cached(cache_dir: Path, inner: FileRunner, **kw: Any) -> CachingRunner:
    return CachingRunner(inner, ResultsCache(cache_dir, **kw))


# --- reuse -----------------------------------------------------------------------------------


def test_a_warm_run_runs_no_cacheable_job_and_equals_an_uncached_run(tmp_path):
    root = tmp_path / "repo"
    write_repo(root)
    cold_inner = FileRunner()
    cold = cached(tmp_path / "cache", cold_inner)
    gate(root, tmp_path / "w1", cold)
    assert cold_inner.cacheable() and cold.summary().stored > 0

    warm_inner = FileRunner()
    warm = cached(tmp_path / "cache", warm_inner)  # a new run: another work folder
    warm_results = gate(root, tmp_path / "w2", warm)
    reference = gate(root, tmp_path / "w2", FileRunner())  # no cache, the same folders

    assert warm_inner.cacheable() == []
    assert warm_inner.kinds() == {"LatencyJob": 2}  # latency runs, every time, per model
    assert cold_inner.kinds()["LatencyJob"] == 2
    # Progress counts what the workers run: the hits come off the announced total.
    assert warm_inner.expected == len(warm_inner.ran) == 2
    assert cold_inner.expected == len(cold_inner.ran)
    assert warm_results == reference  # notes name the warm run's own folders
    a = {c.recipe: c for c in warm_results[0].candidates}
    assert a["int8"].worst_layers and a["int8"].accuracy is not None
    assert all(f"into {tmp_path / 'w2'}" in c.notes[0] for c in warm_results[0].candidates)
    summary = warm.summary()
    assert summary.reused == {k: v for k, v in cold.summary().ran.items()}
    assert summary.note().startswith(f"cache: {sum(summary.reused.values())} of {summary.total} jobs reused")
    # Restored files are the built ones, byte for byte, where the loop expects them.
    for side, labels in BUILT.items():
        for label in labels:
            built = tmp_path / "w1" / "a" / side / f"{label}.tflite"
            assert (tmp_path / "w2" / "a" / side / f"{label}.tflite").read_bytes() == built.read_bytes()


def test_a_base_version_reuses_the_head_entries_of_the_same_bytes(tmp_path):
    """The side is not in a key: the base branch's run of a model serves a PR's base version."""
    root = tmp_path / "repo"
    write_repo(root)
    gate(root, tmp_path / "w1", cached(tmp_path / "cache", FileRunner()), base=False)  # "main": head only
    inner = FileRunner()
    results = gate(root, tmp_path / "w2", cached(tmp_path / "cache", inner))
    assert inner.cacheable() == []
    assert results == gate(root, tmp_path / "w2", FileRunner())


def _mutations() -> dict[str, Callable[[Path], None]]:
    def model(root: Path) -> None:
        data = bytearray((root / "a.keras").read_bytes())
        data[7] ^= 1
        (root / "a.keras").write_bytes(bytes(data))

    def eval_data(root: Path) -> None:
        rng = np.random.default_rng(1)
        np.savez(root / "eval.npz", x=rng.random((16, 4), dtype=np.float32), y=rng.integers(0, 2, 16))

    def calibration(root: Path) -> None:
        np.savez(root / "calib.npz", x=np.ones((16, 4), np.float32))

    def recipe_setting(root: Path) -> None:
        text = (
            (root / "edgegate.yml")
            .read_text()
            .replace(
                "    recipes: [float16, int8]\n",
                "    recipes: [float16, {recipe: int8, int8: {per_channel: false}}]\n",
                1,
            )
        )
        (root / "edgegate.yml").write_text(text)

    return {
        "model": model,
        "eval data": eval_data,
        "calibration": calibration,
        "recipe setting": recipe_setting,
    }


BUILT = {
    "head": ("float32", "float16", "int8"),
    "base": ("float32", "float16", "int8"),
}  # base: its reference for the model diff


def _model_jobs(m: str) -> set[tuple[str, str, str, str]]:
    """Every cacheable job of one model: its builds, three evaluations, the target on int8 and,
    for model a (its accuracy budget fails on int8), int8's per-layer analysis."""
    jobs = {("build", m, side, label) for side, labels in BUILT.items() for label in labels}
    jobs |= {("EvaluateJob", m, "head", label) for label in BUILT["head"]}
    jobs |= {("TargetJob", m, "head", "int8")}  # (never float16; the base is not analyzed)
    return jobs | ({("LayerAnalysisJob", m, "head", "int8")} if m == "a" else set())


def _int8(m: str) -> set[tuple[str, str, str, str]]:
    return {j for j in _model_jobs(m) if j[3] == "int8"}


EXPECTED_MISSES = {
    # every job of model a (both versions hold the changed bytes), none of model b
    "model": _model_jobs("a"),
    # only evaluations read the eval set: the builds, targets and layer analyses are reused
    "eval data": {j for m in "ab" for j in _model_jobs(m) if j[0] == "EvaluateJob"},
    # every build reads the calibration set, but only int8's bytes change: float16's and the
    # reference's evaluations are reused (keyed by the candidate's bytes, not by its build)
    "calibration": {j for m in "ab" for j in _model_jobs(m) if j[0] == "build"} | _int8("a") | _int8("b"),
    # one recipe of one model: its own builds and what measures it
    "recipe setting": _int8("a"),
}


@pytest.mark.parametrize("what", list(EXPECTED_MISSES))
def test_one_changed_input_misses_exactly_the_jobs_it_feeds(tmp_path, what):
    root = tmp_path / "repo"
    write_repo(root)
    gate(root, tmp_path / "w1", cached(tmp_path / "cache", FileRunner()))
    _mutations()[what](root)
    inner = FileRunner()
    results = gate(root, tmp_path / "w2", cached(tmp_path / "cache", inner))
    assert set(inner.cacheable()) == EXPECTED_MISSES[what]
    assert len(inner.cacheable()) == len(EXPECTED_MISSES[what])  # each ran once
    assert results == gate(root, tmp_path / "w2", FileRunner())


def test_a_failed_job_is_never_stored(tmp_path):
    root = tmp_path / "repo"
    write_repo(root)
    gate(root, tmp_path / "w1", cached(tmp_path / "cache", FileRunner(crash={"int8"}, failing={"float16"})))
    inner = FileRunner()
    results = gate(root, tmp_path / "w2", cached(tmp_path / "cache", inner))
    builds = {(m, s, lb) for kind, m, s, lb in inner.cacheable() if kind == "build"}
    assert builds == {(m, s, lb) for m in "ab" for s in BUILT for lb in ("float16", "int8")}
    assert all(c.error is None for m in results for c in m.candidates)


# --- a damaged cache ---------------------------------------------------------------------------


def _entry(tmp_path: Path, job: Job) -> Path:
    key = CacheKeys().key(job)
    assert key is not None
    return tmp_path / "cache" / "v1" / key[:2] / key


def _truncate_value(entry: Path) -> None:
    data = (entry / "value.json").read_bytes()
    (entry / "value.json").write_bytes(data[: len(data) // 2])


def _delete_file(entry: Path) -> None:
    (entry / "files" / "0").unlink()


def _flip_file_byte(entry: Path) -> None:
    data = bytearray((entry / "files" / "0").read_bytes())
    data[-1] ^= 1  # in the data, not a header's padding: the file still parses
    (entry / "files" / "0").write_bytes(bytes(data))


def _change_a_figure(entry: Path) -> None:
    """Still valid JSON, one digit of a figure changed: the digest refuses it."""
    doc = json.loads((entry / "value.json").read_text())
    value = doc["body"]["value"]
    if isinstance(value, list):
        value[0]["candidate"]["size"]["bytes"] += 1
    else:
        value["accuracy"]["value"] += 0.1
    (entry / "value.json").write_text(json.dumps(doc))


def _forge(entry: Path, mutate: Callable[[dict[str, Any]], None]) -> None:
    """Change the body and recompute its digest: what a writer of the cache folder can do."""
    from edgegate.run.cache import _body_digest

    doc = json.loads((entry / "value.json").read_text())
    mutate(doc["body"])
    doc["digest"] = _body_digest(doc["body"])
    (entry / "value.json").write_text(json.dumps(doc))


def _a_folder_for_value(entry: Path) -> None:
    (entry / "value.json").unlink()
    (entry / "value.json").mkdir()


def _a_folder_for_the_file(entry: Path) -> None:
    (entry / "files" / "0").unlink()
    (entry / "files" / "0" / "x").mkdir(parents=True)


def _nested_past_the_parser(entry: Path) -> None:
    depth = 100_000
    (entry / "value.json").write_text(
        '{"format": "edgegate.cache/1", "body": ' + "[" * depth + "]" * depth + "}"
    )


def _nested_with_its_digest(entry: Path) -> None:
    def nest(body: dict[str, Any]) -> None:
        deep: Any = 0
        for _ in range(900):  # parses, and its digest is right: the decoder must refuse it
            deep = [deep]
        body["value"] = [{"candidate": deep, "path": deep}] if isinstance(body["value"], list) else deep

    _forge(entry, nest)


def _invalid_utf8(entry: Path) -> None:
    data = (entry / "value.json").read_bytes()
    i = data.index(b'"kind": "') + len(b'"kind": "')
    (entry / "value.json").write_bytes(data[:i] + b"\xff\xfe" + data[i:])


def _huge_integer(entry: Path) -> None:
    """A figure of 5,000 digits: past what Python parses from text (its int digit limit)."""
    text = (entry / "value.json").read_text()
    (entry / "value.json").write_text(text.replace('"bytes": ', '"bytes": ' + "9" * 5000, 1))


def _infinite_figure(entry: Path) -> None:
    def grow(body: dict[str, Any]) -> None:
        value = body["value"]
        if isinstance(value, list):
            value[0]["candidate"]["size"]["bytes"] = float("inf")
        else:
            value["accuracy"]["value"] = 1e308 * 10
        body["files"][0]["bytes"] = 10**400

    _forge(entry, grow)


CORRUPTIONS = {
    "truncated value.json": _truncate_value,
    "deleted stored file": _delete_file,
    "flipped byte in a stored file": _flip_file_byte,
    "changed figure in value.json": _change_a_figure,
    # Held in issue 22: corrupt values are misses, not crashes.
    "a folder for value.json": _a_folder_for_value,
    "a folder for a stored file": _a_folder_for_the_file,
    "nested past the JSON parser": _nested_past_the_parser,
    "nested 900 deep, digest recomputed": _nested_with_its_digest,
    "invalid UTF-8 in value.json": _invalid_utf8,
    "a 5,000-digit number": _huge_integer,
    "infinite figures, digest recomputed": _infinite_figure,
}
WHICH = {
    # (the head and base versions hold the same bytes: one entry serves both builds)
    "the int8 build": lambda j: isinstance(j, BuildJob) and j.labels == ("int8",),
    "the reference's evaluation": lambda j: (
        isinstance(j, EvaluateJob) and j.candidate.label == "float32" and j.save_outputs is not None
    ),
}


@pytest.mark.parametrize("which", list(WHICH))
@pytest.mark.parametrize("damage", list(CORRUPTIONS))
def test_a_corrupt_entry_is_a_miss_and_the_figures_equal_an_uncached_run(tmp_path, damage, which):
    root = tmp_path / "repo"
    write_repo(root)
    cold = FileRunner()
    gate(root, tmp_path / "w1", cached(tmp_path / "cache", cold))
    jobs = [j for j in cold.ran if WHICH[which](j) and j.model_ref.name == "a"]
    (entry,) = {_entry(tmp_path, job) for job in jobs}
    assert (entry / "value.json").is_file()
    CORRUPTIONS[damage](entry)

    inner = FileRunner()
    results = gate(root, tmp_path / "w2", cached(tmp_path / "cache", inner))
    assert results == gate(root, tmp_path / "w2", FileRunner())
    reran = [j for j in inner.ran if WHICH[which](j) and j.model_ref.name == "a"]
    assert len(reran) == len(jobs)
    others = [j for j in inner.ran if not isinstance(j, LatencyJob) and j not in reran]
    # Only the damaged entry's job (and nothing it feeds: the rebuilt bytes are the same) ran.
    assert others == []
    # The bad entry was removed and the rerun stored a good one in its place.
    doc = json.loads((entry / "value.json").read_text())
    assert doc["key"] == entry.name and (entry / "files" / "0").is_file()


# --- what a key reads: regular files, as the dataset reader would ------------------------------


def _image_folder(root: Path) -> Path:
    for label in ("cat", "dog"):
        (root / "data/images" / label).mkdir(parents=True)
        (root / "data/images" / label / "a.png").write_bytes(label.encode() * 40)
    return root / "data/images"


def _dataset_key(root: Path) -> Any:
    from edgegate.policy.load import parse_dataset

    return CacheKeys()._dataset(parse_dataset({"images": "data/images"}, key="eval.data"), root)


def test_a_symlink_to_another_file_of_the_repository_is_hashed_by_its_target(tmp_path):
    linked, copied = tmp_path / "linked", tmp_path / "copied"
    _image_folder(linked)
    (linked / "data/images/cat/b.png").symlink_to("../dog/a.png")  # the reader reads it: so does the key
    _image_folder(copied)
    (copied / "data/images/cat/b.png").write_bytes((copied / "data/images/dog/a.png").read_bytes())
    assert _dataset_key(linked) == _dataset_key(copied)
    (copied / "data/images/cat/b.png").write_bytes(b"other")
    assert _dataset_key(linked) != _dataset_key(copied)


@pytest.mark.parametrize("leads_to", ["/dev/zero", "a file outside the repository", "a FIFO", "over 1 GiB"])
def test_a_dataset_file_the_reader_refuses_is_never_read_for_a_key(tmp_path, leads_to):
    from edgegate.datasets.limits import MAX_DATASET_BYTES
    from edgegate.run.cache_keys import Uncacheable

    root = tmp_path / "repo"
    folder = _image_folder(root)
    odd = folder / "cat" / "b.png"
    if leads_to == "/dev/zero":
        odd.symlink_to("/dev/zero")
        reason = "images/cat/b.png resolves outside the repository"
    elif leads_to == "a file outside the repository":
        (tmp_path / "secret.png").write_bytes(b"x")
        odd.symlink_to(tmp_path / "secret.png")
        reason = "images/cat/b.png resolves outside the repository"
    elif leads_to == "a FIFO":
        os.mkfifo(odd)  # a local run's checkout may hold one; opening it would wait forever
        reason = "images/cat/b.png: cannot be read (not a regular file)"
    else:
        with open(odd, "wb") as f:
            f.truncate(MAX_DATASET_BYTES + 1)  # sparse: no disk used
        reason = (
            f"images/cat/b.png: cannot be read ({MAX_DATASET_BYTES + 1} bytes, over the {MAX_DATASET_BYTES}"
        )
    raised: list[BaseException] = []

    def key() -> None:
        try:
            _dataset_key(root)
        except BaseException as e:
            raised.append(e)

    # In a thread: a key that reads the FIFO or /dev/zero fails the test instead of hanging it.
    reader = threading.Thread(target=key, daemon=True)
    reader.start()
    reader.join(120)
    assert not reader.is_alive(), f"the key is still reading {leads_to}"
    (error,) = raised
    assert isinstance(error, Uncacheable) and str(error).startswith(reason), error


# --- a read-only base (a pull request's run: --cache-base) ----------------------------------------


def _snapshot(folder: Path) -> list[tuple[str, int, bytes]]:
    return sorted(
        (p.relative_to(folder).as_posix(), p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else b"")
        for p in folder.rglob("*")
    )


def test_a_read_only_base_serves_hits_and_is_never_written_touched_or_cleaned(tmp_path):
    root = tmp_path / "repo"
    write_repo(root)
    cold = FileRunner()
    gate(root, tmp_path / "w1", cached(tmp_path / "base", cold))
    (tmp_path / "base" / "v1" / "ab").mkdir(exist_ok=True)
    (tmp_path / "base" / "v1" / "ab" / ".trash-x").mkdir()  # a writer's leftovers: not ours to clean
    job = next(j for j in cold.ran if WHICH["the int8 build"](j) and j.model_ref.name == "a")
    damaged = CacheKeys().key(job)
    assert damaged is not None
    _flip_file_byte(tmp_path / "base" / "v1" / damaged[:2] / damaged)
    before = _snapshot(tmp_path / "base")

    inner = FileRunner()
    runner = CachingRunner(
        inner, ResultsCache(tmp_path / "own"), base=ResultsCache(tmp_path / "base", read_only=True)
    )
    results = gate(root, tmp_path / "w2", runner)
    assert results == gate(root, tmp_path / "w2", FileRunner())
    # Only the damaged entry's build ran; its good copy went to the run's own folder.
    assert {type(j) for j in inner.ran} <= {BuildJob, LatencyJob}
    assert [j for j in inner.ran if isinstance(j, BuildJob)] and runner.summary().stored == 1
    assert (tmp_path / "own" / "v1" / damaged[:2] / damaged / "value.json").is_file()
    assert _snapshot(tmp_path / "base") == before  # nothing written, removed or touched
    assert "(read only) and this run's own entries" in runner.summary().note()


def test_fresh_only_reads_back_only_what_this_run_stored(tmp_path):
    root = tmp_path / "repo"
    write_repo(root)
    gate(root, tmp_path / "w1", cached(tmp_path / "cache", FileRunner()))  # an earlier push's entries
    inner = FileRunner()
    runner = CachingRunner(inner, ResultsCache(tmp_path / "cache"), fresh_only=True)
    gate(root, tmp_path / "w2", runner)
    assert inner.cacheable()  # every job ran: nothing written before this run was read
    assert sum(runner.summary().reused.values()) == 0


# --- concurrency and bounds -------------------------------------------------------------------


def test_two_concurrent_writers_of_one_key_leave_one_valid_entry(tmp_path):
    cache = ResultsCache(tmp_path / "cache")
    blob = os.urandom(1 << 20)
    src = tmp_path / "candidate.tflite"
    src.write_bytes(blob)
    for round_ in range(20):
        key = hashlib.sha256(f"key {round_}".encode()).hexdigest()
        barrier = threading.Barrier(2)
        won: list[bool] = []
        packed = Packed("layers", "LayerError", [{"n": round_}], (src, b"extra"))

        def write(key: str, packed: Packed, barrier: threading.Barrier, won: list[bool]) -> None:
            barrier.wait()  # both start writing at once
            won.append(cache.put(key, packed))

        threads = [threading.Thread(target=write, args=(key, packed, barrier, won)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(won) == [False, True]
        entry = cache.get(key)
        assert entry is not None and entry.value == [{"n": round_}]
        assert entry.read_bytes(0) == blob and entry.read_bytes(1) == b"extra"
    shard_dirs = [p for p in (tmp_path / "cache" / "v1").iterdir()]
    leftovers = [q.name for p in shard_dirs for q in p.iterdir() if q.name.startswith(".")]
    assert leftovers == []  # the losers' temp copies are gone
    assert len(cache.entries()) == 20


def test_two_concurrent_runs_share_one_cache_folder(tmp_path):
    """Two whole runs at once (threads, one cache folder): both gate correctly, every entry valid."""
    root = tmp_path / "repo"
    write_repo(root)
    results: dict[str, Any] = {}

    def run(name: str) -> None:
        results[name] = gate(root, tmp_path / name, cached(tmp_path / "cache", FileRunner()))

    threads = [threading.Thread(target=run, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["w2"] == gate(root, tmp_path / "w2", FileRunner())
    inner = FileRunner()
    gate(root, tmp_path / "w3", cached(tmp_path / "cache", inner))
    assert inner.cacheable() == []


def test_eviction_keeps_the_total_under_the_bound_and_drops_the_least_recently_used(tmp_path):
    cache = ResultsCache(tmp_path / "cache", max_bytes=10 * 100_000)
    keys = [hashlib.sha256(f"{i}".encode()).hexdigest() for i in range(12)]
    for i, key in enumerate(keys[:8]):
        assert cache.put(key, Packed("layers", "LayerError", [], (os.urandom(100_000),)))
        os.utime(cache.folder(key), (1_000_000 + i, 1_000_000 + i))  # written in this order
    assert cache.get(keys[0]) is not None  # a hit: now the most recently used
    for key in keys[8:]:
        cache.put(key, Packed("layers", "LayerError", [], (os.urandom(100_000),)))
    removed = cache.evict()
    left = {k for k, _, _ in cache.entries()}
    assert cache.total_bytes() <= cache.max_bytes and removed == 12 - len(left)
    # the oldest not used since went first; the one hit survived the newer ones
    assert keys[0] in left and keys[1] not in left and keys[2] not in left
    assert set(keys[8:]) <= left


def test_a_run_evicts_after_writing(tmp_path):
    root = tmp_path / "repo"
    write_repo(root)
    runner = cached(tmp_path / "cache", FileRunner(), max_bytes=3_000)
    gate(root, tmp_path / "w1", runner)
    assert runner.summary().stored > 3 and runner.cache.total_bytes() <= 3_000


# --- what cannot be cached ---------------------------------------------------------------------


def test_a_dataset_hook_makes_the_jobs_that_read_it_uncacheable(tmp_path):
    root = tmp_path / "repo"
    write_repo(
        root, POLICY.replace("    eval: {data: eval.npz}\n", "    eval: {data: {hook: 'data:load'}}\n")
    )
    gate(root, tmp_path / "w1", cached(tmp_path / "cache", FileRunner()))

    class HookRunner(FileRunner):
        def _evaluate(self, job: EvaluateJob) -> Evaluated:  # the hook's data: a stand-in
            return Evaluated(Accuracy("top1", 0.9 if job.candidate.label != "int8" else 0.5, 16))

    for work in ("w1", "w2"):
        inner = HookRunner()
        runner = cached(tmp_path / "cache", inner)
        gate(root, tmp_path / work, runner)
    ran = {(kind, m) for kind, m, _, _ in inner.cacheable()}
    assert ran == {("EvaluateJob", "a")}  # model a's evaluations, every run; b's are reused
    summary = runner.summary()
    assert summary.uncacheable == {"evaluate": 3}
    assert "a dataset hook runs code whose output cannot be hashed" in summary.note()


def test_latency_is_never_cached(tmp_path):
    root = tmp_path / "repo"
    write_repo(root)
    for work in ("w1", "w2", "w3"):
        inner = FileRunner()
        gate(root, tmp_path / work, cached(tmp_path / "cache", inner))
        assert inner.kinds()["LatencyJob"] == 2
    assert not any(e for e in (tmp_path / "cache").rglob("value.json") if '"latency' in e.read_text()[:200])


# --- end to end ---------------------------------------------------------------------------------

E2E_POLICY = """\
version: 1
defaults:
  recipes: [float16, int8]
  eval: {data: data/eval.npz}
  calibration: {data: data/eval.npz, samples: 32}
  latency: {runs: 3, warmup: 1}
  budgets:
    size: 1 MB
    accuracy: {max_drop: 5pt}
models:
  - {name: a, path: models/a.keras}
"""


def _without_latency(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_latency(v) for k, v in data.items() if k not in ("latency_ms", "latency_p90_ms")}
    if isinstance(data, list):
        return [_without_latency(v) for v in data]
    return data


def test_edgegate_check_with_a_cache_reuses_every_build_and_evaluation(repo, tmp_path):
    from tests.pipeline.conftest import dataset, keras_model

    x, y = dataset(64, seed=1)
    (repo.root / "data").mkdir()
    np.savez(repo.root / "data/eval.npz", x=x, y=y)
    (repo.root / "models").mkdir()
    keras_model().save(repo.root / "models/a.keras")
    repo.write("edgegate.yml", E2E_POLICY)
    repo.commit()

    def check(name: str) -> dict[str, Any]:
        out = tmp_path / f"{name}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "edgegate", "check", "--all", "--quiet", "--json", str(out)],
            capture_output=True,
            text=True,
            cwd=repo.root,
            env={**os.environ, "PYTHONPATH": str(ROOT), "EDGEGATE_CACHE": str(tmp_path / "cache")},
        )
        assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
        return json.loads(out.read_text())

    cold, warm = check("cold"), check("warm")
    note = next(n for n in warm["notes"] if n.startswith("cache:"))
    cold_note = next(n for n in cold["notes"] if n.startswith("cache:"))
    assert cold_note.startswith("cache: 0 of ")
    total = int(note.split(" of ")[1].split()[0])
    assert total > 0 and note.startswith(f"cache: {total} of {total} jobs reused from {tmp_path / 'cache'}")
    assert "builds 3/3" in note and "evaluations 3/3" in note
    (cold_model,), (warm_model,) = cold["models"], warm["models"]
    assert _without_latency(warm_model) == _without_latency(cold_model)
    assert all(c["latency_ms"] and c["latency_ms"] > 0 for c in warm_model["candidates"])  # measured anew
    assert warm_model["reference"]["latency_ms"] > 0


# --- the action's cache steps ---------------------------------------------------------------------


def _action_step(step_id: str) -> dict[str, Any]:
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    return next(s for s in action["runs"]["steps"] if s.get("id") == step_id or s.get("name") == step_id)


def _bash(step_id: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script = _action_step(step_id)["run"]
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd)}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_the_action_restores_the_base_branch_scope_and_saves_to_its_own_key(tmp_path):
    """A run on a branch restores into the folder it writes and saves it; a pull request's (or
    merge queue's) run restores into a read-only folder (--cache-base), writes into another and
    saves nothing: what its earlier pushes computed never decides its verdict (issue 22.6)."""
    from edgegate import __version__

    restore, save, gate_step = (
        _action_step(n) for n in ("Restore the results cache", "Save the results cache", "gate")
    )
    assert restore["uses"].startswith("actions/cache/restore@") and save["uses"].startswith(
        "actions/cache/save@"
    )
    assert restore["with"]["restore-keys"] == "${{ steps.cache-key.outputs.prefix }}"
    assert restore["with"]["key"] == save["with"]["key"] == "${{ steps.cache-key.outputs.key }}"
    assert restore["with"]["path"] == "${{ steps.cache-key.outputs.restore-dir }}"
    assert save["with"]["path"] == "${{ steps.cache-key.outputs.dir }}"
    assert save["if"].startswith("always()")  # a failing gate still saves what it computed
    assert "steps.cache-key.outputs.save == 'true'" in save["if"]
    assert _action_step("cache-before")["if"] == "steps.cache-key.outputs.save == 'true'"
    assert gate_step["env"]["EDGEGATE_CACHE"] == "${{ steps.cache-key.outputs.dir }}"
    assert gate_step["env"]["EDGEGATE_CACHE_BASE"] == "${{ steps.cache-key.outputs.base-dir }}"
    name = _action_step("cache-key")
    assert "steps.meta.outputs.version" in name["env"]["PREFIX"] and "github.run_id" in name["env"]["RUN"]
    assert name["env"]["EVENT"] == "${{ github.event_name }}"

    out = tmp_path / "out"
    out.write_text("")
    env = {"GITHUB_OUTPUT": str(out), "RUNNER_TEMP": str(tmp_path), "RUN": "7-1", "SHARD": " 2/3 "}
    prefix = f"edgegate-results-v2-Linux-X64-py3.11.7-{__version__}-abc-"
    written, base = str(tmp_path / "edgegate-cache"), str(tmp_path / "edgegate-cache-base")
    on_a_branch = {"restore-dir": written, "save": "true"}
    in_a_pull_request = {"base-dir": base, "restore-dir": base, "save": "false"}
    for event, expected in (
        ("push", on_a_branch),
        ("schedule", on_a_branch),
        ("workflow_dispatch", on_a_branch),
        ("pull_request", in_a_pull_request),
        ("pull_request_target", in_a_pull_request),
        ("merge_group", in_a_pull_request),
    ):
        out.write_text("")
        proc = _bash("cache-key", {**env, "CACHE": "true", "PREFIX": prefix, "EVENT": event}, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert _outputs(out) == {
            "prefix": prefix,
            "key": prefix + "7-1-shard-2-of-3",
            "dir": written,
            **expected,
        }
    out.write_text("")
    assert _bash("cache-key", {**env, "CACHE": "false", "PREFIX": prefix}, tmp_path).returncode == 0
    assert out.read_text() == ""  # no key: restore, save and --cache are all skipped
    proc = _bash("cache-key", {**env, "CACHE": "yes", "PREFIX": prefix}, tmp_path)
    assert proc.returncode == 2 and "cache must be true or false" in proc.stdout

    # Saved only when the run added entries.
    cache_dir = tmp_path / "edgegate-cache"
    ResultsCache(cache_dir).put("a" * 64, Packed("layers", "LayerError", []))
    before = tmp_path / "before"
    before.write_text("")
    assert (
        _bash("cache-before", {"GITHUB_OUTPUT": str(before), "DIR": str(cache_dir)}, tmp_path).returncode == 0
    )
    entries = _outputs(before)["entries"]
    after = tmp_path / "after"
    after.write_text("")
    env = {"GITHUB_OUTPUT": str(after), "DIR": str(cache_dir), "BEFORE": entries}
    assert _bash("cache-after", env, tmp_path).returncode == 0 and after.read_text() == ""
    ResultsCache(cache_dir).put("b" * 64, Packed("layers", "LayerError", []))
    assert _bash("cache-after", env, tmp_path).returncode == 0 and _outputs(after) == {"changed": "true"}


class _Caches:
    """A stand-in for GitHub's ``GET /repos/{repo}/actions/caches`` on 127.0.0.1."""

    def __init__(self) -> None:
        import http.server

        self.status, self.caches, self.asked = 200, [], []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.asked.append((self.path, self.headers.get("Authorization")))
                body = json.dumps({"total_count": len(outer.caches), "actions_caches": outer.caches}).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def origin_check_env(api_url: str) -> dict[str, str]:
    """The env of the step that checks where restored caches come from, in pull request 7's run."""
    return {
        "PYTHON": sys.executable,
        "GITHUB_TOKEN": "tok-123",
        "API": api_url,
        "REPOSITORY": "o/r",
        "OWN_REF": "refs/pull/7/merge",
        "EVENT": "pull_request",
    }


def test_a_restored_folder_from_the_pull_requests_own_scope_is_not_used(tmp_path):
    """GitHub restores from the run's own scope first; only a workflow the pull request changed can
    have saved there. The step asks GitHub whether the restored key is in the run's own ref, and
    drops the folder when it is, or when the question cannot be answered."""
    api = _Caches()
    key = "edgegate-results-v2-Linux-X64-py3.11-1.0-abc-99-1"
    base_dir = tmp_path / "edgegate-cache-base"
    env = {**origin_check_env(api.url), "MATCHED": key, "DIR": str(base_dir)}
    step = "Check that the restored caches are the base branch's"
    cases = [
        (200, [{"key": key + "-shard-1-of-2", "ref": "refs/pull/7/merge"}], None),  # another key
        (200, [{"key": key, "ref": "refs/pull/7/merge"}], "saved in the cache scope of this pull request"),
        (403, [], "GitHub answered 403 when asked which branch saved it (the token needs actions: read)"),
    ]
    for status, caches, warning in cases:
        ResultsCache(base_dir).put("a" * 64, Packed("layers", "LayerError", []))
        api.status, api.caches = status, caches
        proc = _bash(step, env, tmp_path)
        assert proc.returncode == 0, proc.stderr
        if warning is None:
            assert base_dir.is_dir() and proc.stdout == ""
        else:
            assert not base_dir.exists()
            assert proc.stdout.startswith(
                "::warning title=EdgeGate::the restored results cache is not used: "
            )
            assert warning in proc.stdout and proc.stdout.count("\n") == 1
    path, auth = api.asked[0]
    assert path == f"/repos/o/r/actions/caches?key={key}&ref=refs%2Fpull%2F7%2Fmerge&per_page=100"
    assert auth == "Bearer tok-123"
    # Closed, not only stopped: a listening socket nobody answers would hold the step for its
    # whole 30 s timeout; closed, the connection is refused at once.
    api.server.shutdown()
    api.server.server_close()

    ResultsCache(base_dir).put("a" * 64, Packed("layers", "LayerError", []))  # GitHub unreachable
    proc = _bash(step, env, tmp_path)
    assert not base_dir.exists() and "asking GitHub which branch saved it failed" in proc.stdout
    ResultsCache(base_dir).put("a" * 64, Packed("layers", "LayerError", []))
    assert _bash(step, {**env, "EVENT": "pull_request_target"}, tmp_path).returncode == 0
    assert base_dir.is_dir()  # its own scope is the base branch's
    step_if = _action_step(step)["if"]
    assert "steps.cache-key.outputs.base-dir" in step_if and "cache-matched-key" in step_if
