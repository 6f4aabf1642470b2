"""The results cache under attack, rebuilt for real (issues 21.7 and 22.6).

Each test commits a real ``.tflite`` (one dense layer, 8 x 7 = 56 MACs) to a temp git repository
and runs the real command line as a subprocess, bounded: a hang is killed with its process group
and fails the test (it must never hang CI); a run that would read ``/dev/zero`` runs under an
address-space limit, and its peak memory is measured.

- a dataset file symlinked to ``/dev/zero`` is refused with ``--cache`` as without it (the key
  hashed ``/dev/zero`` forever);
- a cache entry replaced by a FIFO (``open()`` blocked forever) or a symlink to ``/dev/zero``
  (read until MemoryError) is a miss, and the run completes with the real figure;
- an entry an earlier push of the pull request forged (10 MACs, its digest recomputed) decides
  nothing: a pull request's run takes figures only from the base branch's entries (read only)
  or from its own work.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.github.conftest import load_event
from tests.gitrepo import GitRepo
from tests.security.test_hostile_inputs import tflite  # noqa: F401  (a real .tflite of one dense layer)

CHECKOUT = Path(__file__).resolve().parents[2]
HANG_S = 300.0  # a run here takes seconds; only a hang reaches this
ADDRESS_SPACE = 4 * 1024**3  # enough for the parent and its LiteRT workers, not for /dev/zero
MACS = 56  # the model's real count: 8 inputs x 7 outputs
POLICY = """\
version: 1
models:
  - name: dense
    path: models/dense.tflite
    targets:
      compute:
        macs: {max: 20}
"""


@pytest.fixture(scope="module")
def dense(tflite) -> bytes:  # noqa: F811  (the imported fixture)
    return tflite(7)


@dataclass(frozen=True)
class Finished:
    code: int
    output: str
    peak_rss_bytes: int  # the largest of the run's processes (the parent or a worker)


# Starts the command and reports its own peak: Linux folds the resident memory a forked child
# inherited into its ``ru_maxrss`` at exec, so a child of a large pytest process (an xdist worker
# that imported TensorFlow) would look as large as pytest. A small launcher keeps the figure the
# command's own (and its workers', which it waits for).
_LAUNCHER = r"""
import os, resource, subprocess, sys
limit, report = int(sys.argv[1]), sys.argv[2]
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
proc = subprocess.Popen(sys.argv[3:])
_, status, usage = os.wait4(proc.pid, 0)
with open(report, "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss * 1024}")
"""


def edgegate(
    *args: str, cwd: Path, env: dict[str, str] | None = None, limit_memory: bool = False
) -> Finished:
    """The real command line, bounded in time (a hang fails the test) and optionally in memory."""
    log = cwd.parent / f"run-{time.monotonic_ns()}.log"
    report = cwd.parent / f"run-{time.monotonic_ns()}.exit"
    full_env = {**os.environ, "PYTHONPATH": str(CHECKOUT), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    limit = str(ADDRESS_SPACE if limit_memory else 0)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, limit, str(report), sys.executable, "-m", "edgegate", *args],
            cwd=cwd,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers too: a hang is killed as a group
        )
        try:
            proc.wait(timeout=HANG_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"edgegate {' '.join(args)} hung for {HANG_S:.0f} s:\n{log.read_text()[-3000:]}")
    assert proc.returncode == 0 and report.is_file(), f"the launcher failed:\n{log.read_text()[-3000:]}"
    code, peak = (int(v) for v in report.read_text().split())
    return Finished(code, log.read_text(errors="replace"), peak)


def results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def compute_total(run: dict[str, Any]) -> int:
    (model,) = run["models"]
    (candidate,) = model["candidates"]
    return candidate["targets"]["compute"]["total"]


def compute_entry(cache: Path) -> Path:
    """The folder of the one compute-analysis entry in ``cache``."""
    found = [
        p.parent
        for p in (cache / "v1").glob("*/*/value.json")
        if json.loads(p.read_text())["body"]["kind"] == "target"
    ]
    assert len(found) == 1, found
    return found[0]


def forge_macs(entry: Path, macs: int) -> None:
    """What a writer of the cache folder can do: change the figure and recompute the digest."""
    doc = json.loads((entry / "value.json").read_text())
    doc["body"]["value"]["total"] = macs
    doc["body"]["value"]["ops"][0]["macs"] = macs
    canonical = json.dumps(doc["body"], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    doc["digest"] = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    (entry / "value.json").write_text(json.dumps(doc))


def commit_model(repo: GitRepo, dense: bytes, policy: str = POLICY) -> str:
    repo.write("models/dense.tflite", dense)
    repo.write("edgegate.yml", policy)
    return repo.commit("a model with a compute budget")


# === 21.7: hashing and reading only regular files ==================================================


def test_a_dataset_image_symlinked_to_dev_zero_is_refused_with_a_cache_as_without(repo, dense, tmp_path):
    from PIL import Image

    for label, shade in (("cat", 9), ("dog", 1)):
        (repo.root / "data/images" / label).mkdir(parents=True)
        Image.new("RGB", (4, 2), (shade, 2, 3)).save(repo.root / "data/images" / label / "a.png")
    (repo.root / "data/images/cat/zero.png").symlink_to("/dev/zero")
    commit_model(
        repo, dense, POLICY.replace("    targets:", "    eval:\n      data: data/images\n    targets:")
    )

    runs = {}
    for name, extra in (("plain", []), ("cached", ["--cache", str(tmp_path / "cache")])):
        out = tmp_path / f"{name}.json"
        run = edgegate("check", "--all", "--quiet", "--no-latency", "--json", str(out), *extra, cwd=repo.root)
        assert "Traceback" not in run.output, run.output
        (model,) = results(out)["models"]
        runs[name] = model["error"]
    assert "zero.png' resolves outside the repository (to /dev/zero)" in runs["plain"]
    assert runs["cached"] == runs["plain"]  # the same refusal, in the dataset's own words


@pytest.mark.parametrize("replacement", ["fifo", "symlink to /dev/zero"])
def test_a_cache_entry_that_is_not_a_regular_file_is_a_miss(repo, dense, tmp_path, replacement):
    commit_model(repo, dense)
    cache = tmp_path / "cache"
    first = edgegate("check", "--all", "--quiet", "--no-latency", "--cache", str(cache), cwd=repo.root)
    assert first.code == 1, first.output  # 56 MACs over the 20 budget
    value = compute_entry(cache) / "value.json"
    value.unlink()
    if replacement == "fifo":
        os.mkfifo(value)  # open() for reading blocks until a writer comes: none ever does
    else:
        value.symlink_to("/dev/zero")  # st_size 0, and a read that never ends

    out = tmp_path / "warm.json"
    run = edgegate(
        "check", "--all", "--quiet", "--no-latency", "--cache", str(cache), "--json", str(out),
        cwd=repo.root,
        limit_memory=True,
    )  # fmt: skip
    assert run.code == 1 and "Traceback" not in run.output, run.output
    assert compute_total(results(out)) == MACS  # recomputed
    note = next(n for n in results(out)["notes"] if n.startswith("cache:"))
    assert "target analyses 0/1" in note  # a miss, not a hit
    # Never read: an unfixed run read /dev/zero until the address-space limit.
    assert run.peak_rss_bytes < 1024**3, run.peak_rss_bytes
    assert (compute_entry(cache) / "value.json").is_file()  # the miss stored a good entry again


# === 22.6: a pull request's own cache scope decides nothing =========================================


def test_a_forged_entry_is_not_read_with_a_base_cache(repo, dense, tflite, tmp_path):  # noqa: F811
    """``--cache-base`` (what the action passes in a pull request's run): the base branch's entries,
    read only; ``--cache`` is where the run writes, and what was already there is not read.

    The base branch's model has 6 units (48 MACs); the pull request grows it to 7 (56)."""
    commit_model(repo, tflite(6))
    base, scope = tmp_path / "base-branch", tmp_path / "pr-scope"
    assert (
        edgegate("check", "--all", "--quiet", "--no-latency", "--cache", str(base), cwd=repo.root).code == 1
    )
    commit_model(repo, dense)
    # An earlier push of the pull request wrote its scope; the entry now says 10 MACs.
    assert (
        edgegate("check", "--all", "--quiet", "--no-latency", "--cache", str(scope), cwd=repo.root).code == 1
    )
    forge_macs(compute_entry(scope), 10)
    fooled = tmp_path / "fooled.json"
    run = edgegate(
        "check", "--all", "--quiet", "--no-latency", "--cache", str(scope), "--json", str(fooled), cwd=repo.root
    )  # fmt: skip
    assert run.code == 0 and compute_total(results(fooled)) == 10  # the attack, as a plain --cache run
    base_before = sorted((p.relative_to(base), p.stat().st_mtime_ns) for p in base.rglob("*"))

    out = tmp_path / "pr.json"
    run = edgegate(
        "check", "--all", "--quiet", "--no-latency", "--cache", str(scope), "--cache-base", str(base),
        "--json", str(out),
        cwd=repo.root,
    )  # fmt: skip
    assert run.code == 1, run.output  # 56 MACs fail the 20 budget
    assert compute_total(results(out)) == MACS
    note = next(n for n in results(out)["notes"] if n.startswith("cache:"))
    assert f"from {base} (read only) and this run's own entries in {scope}" in note
    assert "target analyses 0/1" in note  # the base branch has no entry for the grown model
    # The base folder is read only: nothing written, removed or touched.
    assert sorted((p.relative_to(base), p.stat().st_mtime_ns) for p in base.rglob("*")) == base_before


def test_a_pull_request_run_of_ci_reads_no_entry_its_earlier_push_wrote(repo, dense, tmp_path):
    """``edgegate ci`` on a ``pull_request`` event with only ``--cache`` (the folder a PR's own
    scope would be restored into): the forged entry is not read, the real figure fails the gate."""
    repo.write("README.md", "base\n")
    base_sha = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    head_sha = commit_model(repo, dense)
    scope = tmp_path / "pr-scope"
    earlier = edgegate("check", "--all", "--quiet", "--no-latency", "--cache", str(scope), cwd=repo.root)
    assert earlier.code == 1, earlier.output
    forge_macs(compute_entry(scope), 10)

    event = load_event(
        "pull_request_opened", pull_request__base__sha=base_sha, pull_request__head__sha=head_sha
    )
    (tmp_path / "event.json").write_text(json.dumps(event))
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "EDGEGATE_CACHE": str(scope),
    }
    out = tmp_path / "ci"
    run = edgegate("ci", "--comment", "off", "--base", base_sha, "--out", str(out), cwd=repo.root, env=env)
    assert run.code == 1, run.output
    assert compute_total(results(out / "results.json")) == MACS
    note = next(n for n in results(out / "results.json")["notes"] if n.startswith("cache:"))
    assert "this run's own entries" in note and "target analyses 0/1" in note
