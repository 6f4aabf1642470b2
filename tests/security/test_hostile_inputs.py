"""Hostile inputs a pull request controls, each built for real, each with the safe outcome asserted.

A pull request writes the policy, the models, the datasets, ``.gitattributes`` and the names of
its files. Each test here builds one such input as an attacker would (a real YAML bomb, a real
``.gitattributes``, a real symlink, a real file name that is not UTF-8, a real zip bomb) and
checks that EdgeGate refuses it with a ``file:line: key: message`` or names the model, keeps
gating the others, and still writes its outputs. Work is shown bounded by what it counts
(values built, automaton steps, bytes inflated, memory), never by the clock.
"""

from __future__ import annotations

from edgegate.untrusted_text import md_text

import json
import os
import random
import shutil
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from edgegate.changes.git import GitRepo
from edgegate.changes.select import ModelMaterializer, find_changes
from edgegate.datasets import load_dataset
from edgegate.datasets.limits import MAX_DATASET_BYTES, MAX_IMAGE_PIXELS
from edgegate.errors import InputError, PolicyError
from edgegate.policy import yaml_reader
from edgegate.policy.globs import compile_glob
from edgegate.policy.load import load_policy, parse_dataset
from edgegate.cli.real_run import real_run
from edgegate.run import CheckOptions

CHECKOUT = Path(__file__).resolve().parents[2]  # the EdgeGate the subprocesses must import
GIT_ID = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def isolated_git(tmp_path, monkeypatch):
    """Git ignores the machine's configuration (no system filters, no global attributes)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    for name, value in GIT_ID.items():
        monkeypatch.setenv(name, value)


class Repo:
    """A real repository: main holds the base, the feature branch is the pull request."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.write("README.md", "project\n")
        self.commit("initial")

    def git(self, *args: str, input: bytes | None = None) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, input=input
        ).stdout.decode("utf-8", "surrogateescape")

    def write(self, rel: str, content: str | bytes) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else textwrap.dedent(content).encode())
        return p

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def branch(self) -> None:
        """What is committed so far is the base (main); later commits are the pull request's."""
        self.git("checkout", "-q", "-b", "feature")


@pytest.fixture
def repo(tmp_path) -> Repo:
    return Repo(tmp_path / "repo")


def policy_problems(repo: Repo, text: str | bytes) -> list[str]:
    repo.write("edgegate.yml", text)
    with pytest.raises(PolicyError) as e:
        load_policy(repo.root / "edgegate.yml", root=repo.root)
    return e.value.problems


def edgegate(
    *args: str, cwd: Path, env: dict[str, str] | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """The real command line, importing this checkout's EdgeGate."""
    full_env = {**os.environ, "PYTHONPATH": str(CHECKOUT), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "edgegate", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        **kwargs,
    )


# --- real models ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tflite():
    """``tflite(units)``: a real .tflite of one dense layer; ``units`` sets its size (32 B each)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    made: dict[int, bytes] = {}

    def convert(units: int) -> bytes:
        if units not in made:

            class Dense(tf.Module):
                def __init__(self):
                    self.w = tf.Variable(tf.random.stateless_normal([8, units], seed=[1, 2]))

                @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
                def __call__(self, x):
                    return tf.matmul(x, self.w)

            m = Dense()
            made[units] = tf.lite.TFLiteConverter.from_concrete_functions(
                [m.__call__.get_concrete_function()], m
            ).convert()
        return made[units]

    return convert


def keras_dense(path: Path, units: int) -> None:
    """A real Keras model file: one dense layer of ``units``."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras

    tf_keras.utils.set_random_seed(units)
    model = tf_keras.Sequential([tf_keras.Input((8,)), tf_keras.layers.Dense(units)])
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)


# === 3. The base comparison cannot be switched off ================================================


def test_gitattributes_committed_by_the_pr_cannot_corrupt_the_base_version(repo, tflite, tmp_path):
    """``*.tflite text eol=crlf`` made git's checkout filters rewrite the base model's bytes on
    export: the base failed to load, every vs_base budget was skipped, a 15 % growth passed a 5 %
    budget. The base is now read as its raw blob, so the growth fails the gate."""
    base_model = tflite(400)
    repo.write("models/net.tflite", base_model)
    repo.write(
        "edgegate.yml",
        """\
        version: 1
        models:
          - name: net
            path: models/net.tflite
            budgets:
              vs_base: {size: 5%, on_missing_base: warn}
        """,
    )
    base = repo.commit("base")
    repo.branch()
    grown = tflite(470)
    assert 1.12 < len(grown) / len(base_model) < 1.2  # the growth the budget must catch
    repo.write(".gitattributes", "*.tflite text eol=crlf\n")
    repo.write("models/net.tflite", grown)
    repo.commit("grow the model; make git treat models as text")

    # The attack is real: through the checkout filters, the base model comes out rewritten.
    filtered = subprocess.run(
        ["git", "cat-file", "--filters", f"{base}:models/net.tflite"], cwd=repo.root, capture_output=True
    ).stdout
    assert filtered != base_model and len(filtered) > len(base_model)

    with ModelMaterializer(GitRepo(repo.root), base) as m:
        assert m.base("models/net.tflite").read_bytes() == base_model

    out = tmp_path / "out"
    proc = edgegate(
        "check", "--base", "main", "--quiet", "--no-latency", "--json", str(out / "r.json"), cwd=repo.root
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (model,) = json.loads((out / "r.json").read_text())["models"]
    (candidate,) = model["candidates"]
    (check,) = [c for c in candidate["checks"] if c["name"] == "vs_base.size"]
    assert check["status"] == "fail" and candidate["base"]["size_bytes"] == len(base_model)


LFS_OBJECT = random.Random(7).randbytes(5000)


def lfs_pointer(data: bytes) -> bytes:
    import hashlib

    oid = hashlib.sha256(data).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n".encode()


def test_an_lfs_pointer_at_base_is_read_from_the_local_lfs_store(repo, tmp_path):
    """A base version is a raw blob, so an LFS-tracked model is its pointer: the object git-lfs
    fetched into .git/lfs/objects is used (checked against the pointer), else the clear error."""
    import hashlib

    repo.write(".gitattributes", "*.tflite filter=lfs diff=lfs merge=lfs -text\n")
    repo.write("models/net.tflite", lfs_pointer(LFS_OBJECT))
    base = repo.commit("base: the model is in LFS")
    git = GitRepo(repo.root)

    with ModelMaterializer(git, base) as m:  # the object was never fetched
        with pytest.raises(InputError, match=r"Git LFS pointer, not the model.*git lfs fetch origin main"):
            m.base("models/net.tflite")

    oid = hashlib.sha256(LFS_OBJECT).hexdigest()
    stored = repo.root / ".git/lfs/objects" / oid[:2] / oid[2:4] / oid
    stored.parent.mkdir(parents=True)
    stored.write_bytes(LFS_OBJECT)
    with ModelMaterializer(git, base) as m:
        assert m.base("models/net.tflite").read_bytes() == LFS_OBJECT

    stored.write_bytes(LFS_OBJECT[:-1] + b"\0")  # a store that does not hold what the pointer names
    with ModelMaterializer(git, base) as m:
        with pytest.raises(InputError, match="does not match it"):
            m.base("models/net.tflite")


VS_BASE = "vs_base: {size: 5%, on_missing_base: error}"


def checks(result: dict, model: str) -> dict[str, dict]:
    (m,) = [m for m in result["models"] if m["name"] == model]
    (candidate,) = m["candidates"]
    return {c["name"]: c for c in candidate["checks"]} | {"": {"base": candidate["base"], "model": m}}


def test_a_model_moved_by_its_policy_path_is_judged_against_its_old_file(repo, tflite, tmp_path):
    """The PR moves ``digits`` to a new file 60 times its size and updates its ``path:``: git sees
    no rename (nothing alike), so it was "new", its vs_base budget skipped, the gate green. A
    model is the one its name names: its base version is the base policy's ``digits``."""
    small, big = tflite(4), tflite(400)
    repo.write("models/digits.tflite", small)
    repo.write(
        "edgegate.yml",
        f"""\
        version: 1
        models:
          - {{name: digits, path: models/digits.tflite, budgets: {{{VS_BASE}}}}}
        """,
    )
    repo.commit("base")
    repo.branch()
    (repo.root / "models/digits.tflite").unlink()
    repo.write("models/digits_v2.tflite", big)
    repo.write("models/kws.tflite", tflite(8))  # genuinely new: vs_base has nothing to compare with
    repo.write(
        "edgegate.yml",
        f"""\
        version: 1
        models:
          - {{name: digits, path: models/digits_v2.tflite, budgets: {{{VS_BASE}}}}}
          - {{name: kws, path: models/kws.tflite, budgets: {{{VS_BASE}}}}}
        """,
    )
    repo.commit("v2")
    diff = repo.git("diff", "--name-status", "-M", "main", "HEAD")
    assert "R" not in diff.split()  # the attack: git pairs nothing

    out = tmp_path / "out"
    args = ("--json", str(out / "r.json"), "--report", str(out / "r.md"))
    proc = edgegate("check", "--base", "main", "--quiet", "--no-latency", *args, cwd=repo.root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads((out / "r.json").read_text())
    digits = checks(result, "digits")
    assert digits["vs_base.size"]["status"] == "fail", digits["vs_base.size"]
    assert digits[""]["base"]["size_bytes"] == len(small)
    model = digits[""]["model"]
    assert (model["change"], model["base_path"]) == ("moved", "models/digits.tflite")
    assert "moved from models/digits.tflite (its path in the base branch's policy)" in model["notes"]
    assert "(moved from `models/digits.tflite`)" in (out / "r.md").read_text()
    # A model new in the change stays as docs/policy.md says: its vs_base budgets are skipped,
    # on_missing_base (for a base version that could not be measured) does not apply.
    kws = checks(result, "kws")
    assert kws["vs_base.size"]["status"] == "skip"
    assert "the model is new in this change" in kws["vs_base.size"]["message"]
    assert kws[""]["model"]["change"] == "added"


def test_a_model_changed_through_its_symlink_is_gated(repo, tflite, tmp_path):
    """``models/m.tflite`` links to ``real/a.tflite`` on both sides; the PR grows only the file the
    link leads to. It was "no model changed", exit 0; the model's bytes changed, so it is gated
    and its base version is the base commit's file the link led to there."""
    small, big = tflite(4), tflite(40)
    assert len(big) > 1.05 * len(small)
    repo.write("real/a.tflite", small)
    (repo.root / "models").mkdir()
    os.symlink("../real/a.tflite", repo.root / "models/m.tflite")
    repo.write(
        "edgegate.yml",
        """\
        version: 1
        models:
          - {name: m, path: models/m.tflite, budgets: {vs_base: {size: 5%}}}
        """,
    )
    repo.commit("base")
    repo.branch()
    repo.write("real/a.tflite", big)
    repo.commit("grow the file the model links to")

    out = tmp_path / "out"
    proc = edgegate(
        "check", "--base", "main", "--quiet", "--no-latency", "--json", str(out / "r.json"), cwd=repo.root
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads((out / "r.json").read_text())
    m = checks(result, "m")
    assert m["vs_base.size"]["status"] == "fail", m["vs_base.size"]
    assert m[""]["base"]["size_bytes"] == len(small)
    assert "changed: real/a.tflite (through a symlink)" in m[""]["model"]["notes"]

    # A link leading out of the repository is still refused, naming the policy line.
    outside = tmp_path / "outside.tflite"
    outside.write_bytes(big)
    os.symlink(outside, repo.root / "models/out.tflite")
    repo.write(
        "edgegate.yml",
        """\
        version: 1
        models:
          - {name: m, path: models/m.tflite}
          - {name: out, path: models/out.tflite}
        """,
    )
    repo.commit("a model outside")
    proc = edgegate("check", "--base", "main", "--quiet", "--no-latency", cwd=repo.root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "models[1].path: 'models/out.tflite' resolves to" in proc.stderr
    assert "outside the repository, through a symlink" in proc.stderr


# === 4. The right thing is measured ===============================================================


@pytest.fixture(scope="module")
def named_run(tmp_path_factory):
    """One real run over models named ``m a``, ``m_a`` (one folder before safe_name) and ``..``
    (a folder above the work folder), each built with a recipe into ``--out``."""
    tmp = tmp_path_factory.mktemp("named")
    env = {**GIT_ID, "HOME": str(tmp)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        repo = Repo(tmp / "repo")
        keras_dense(repo.root / "models/wide.keras", 400)
        keras_dense(repo.root / "models/narrow.keras", 4)
        keras_dense(repo.root / "models/up.keras", 40)
        repo.write(
            "edgegate.yml",
            """\
            version: 1
            defaults:
              recipes: [float16]
            models:
              - {name: "m a", path: models/wide.keras}
              - {name: m_a, path: models/narrow.keras}
              - {name: "..", path: models/up.keras}
            """,
        )
        repo.commit("models")
        out = tmp / "work" / "out"
        run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False, out_dir=out))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return run, out


def test_models_named_m_a_and_m_underscore_a_are_each_measured_on_their_own_file(named_run):
    run, out = named_run
    models = {m.name: m for m in run.models}
    (wide,), (narrow,) = models["m a"].candidates, models["m_a"].candidates
    assert wide.artifact != narrow.artifact
    # Each candidate is its own model's: 400 units of float16 weights against 4.
    assert wide.size_bytes > 5000 > 2000 > narrow.size_bytes
    for c in (wide, narrow):
        assert (out / c.artifact).stat().st_size == c.size_bytes


def test_a_model_named_dotdot_keeps_its_candidates_inside_the_out_folder(named_run):
    run, out = named_run
    (up,) = {m.name: m for m in run.models}[".."].candidates
    assert up.artifact is not None and (out / up.artifact).resolve().is_relative_to(out.resolve())
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]  # nothing written beside it


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            """\
            version: 1
            models:
              - name: net
                path: net.tflite
                budgets:
                  size: 100 KB
                budgets:
                  latency: 5 ms
            """,
            "edgegate.yml:7: models[0].budgets: duplicate key (first written at line 5); "
            "YAML would silently keep only the last one",
        ),
        (
            """\
            version: 1
            models:
              - {name: net, path: net.tflite, budgets: {size: 1 KB}}
            models:
              - {name: net, path: net.tflite}
            """,
            "edgegate.yml:4: models: duplicate key (first written at line 2); "
            "YAML would silently keep only the last one",
        ),
    ],
    ids=["budgets twice", "models twice"],
)
def test_duplicate_keys_are_refused_at_their_line(repo, text, expected):
    assert policy_problems(repo, text) == [expected]


def test_a_policy_that_is_a_symlink_out_of_the_repository_is_refused(repo, tmp_path):
    outside = tmp_path / "secret.yml"
    outside.write_text("version: 1\nmodels: [{name: net, path: net.tflite}]\n")
    os.symlink(outside, repo.root / "edgegate.yml")
    with pytest.raises(PolicyError) as e:
        load_policy(repo.root / "edgegate.yml", root=repo.root)
    assert e.value.problems == [
        f"edgegate.yml:1: (file): resolves to {outside}, outside the repository {repo.root}; "
        "the policy must be a file inside it (not a symlink leading out)"
    ]
    # The same file inside the repository, through a symlink that stays inside, is fine.
    os.unlink(repo.root / "edgegate.yml")
    shutil.copy(outside, repo.root / "policy.yml")
    os.symlink("policy.yml", repo.root / "edgegate.yml")
    assert load_policy(repo.root / "edgegate.yml", root=repo.root).models[0].name == "net"


@pytest.mark.parametrize(
    "name, message",
    [
        (r'"net\nfails: nothing"', "holds U+000A (LINE FEED)"),
        (r'"net\r"', "holds U+000D (CARRIAGE RETURN)"),
        (r'"a\u202ebad"', "holds U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        (r'"a\u200bb"', "holds U+200B (ZERO WIDTH SPACE)"),
        (r'"a\x1b[31mred"', "holds U+001B"),
        ('"net "', "must not start or end with a space"),
        ("n" * 101, "101 characters is too long for a name; use at most 100"),
    ],
    ids=["newline", "carriage return", "bidi override", "zero width", "escape", "trailing space", "long"],
)
def test_model_names_are_one_line_of_visible_text(repo, name, message):
    found = policy_problems(repo, f"version: 1\nmodels:\n  - name: {name}\n    path: net.tflite\n")
    assert len(found) == 1 and found[0].startswith("edgegate.yml:3: models[0].name: ") and message in found[0]


def test_recipe_labels_follow_the_same_rule(repo):
    found = policy_problems(
        repo,
        'version: 1\ndefaults:\n  recipes: [{recipe: int8, name: "int8\\nok"}]\n'
        "models: [{name: net, path: net.keras}]\n",
    )
    assert len(found) == 1 and found[0].startswith("edgegate.yml:3: defaults.recipes[0].name: names are")


# === 6. Tiny inputs cannot stop the job ===========================================================


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: each level is 9 aliases of the one before, 9^levels strings."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "version: 1\nmodels: [{name: net, path: net.tflite}]\n" + "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_stops_at_the_alias_bound(repo):
    bomb = billion_laughs()
    assert len(bomb.encode()) < 600  # 9^9 = 387 million strings, gigabytes once expanded
    tracemalloc.start()
    try:
        found = policy_problems(repo, bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == [
        "edgegate.yml:7: l4[0]: aliases expand to more than 10000 values (a YAML alias bomb?); "
        "share settings with defaults: instead"
    ]
    assert peak < 50 * 2**20  # bounded by the alias limit, not by the bomb


def test_an_alias_cycle_stops_at_the_depth_bound(repo):
    found = policy_problems(repo, "version: 1\nmodels: &m [{name: net, path: net.tflite, watch: *m}]\n")
    assert found == [
        "edgegate.yml:2: models[0].watch: nested deeper than 32 levels; a policy needs fewer than 10 "
        "(through aliases)"
    ]


def test_anchors_within_the_bound_still_work(repo):
    """The bound is on what aliases add; sharing a block between models is what they are for."""
    shared = "  - {name: m0, path: m0.tflite, budgets: &b {size: 1 KB, latency: 5 ms}}\n"
    models = "".join(f"  - {{name: m{i}, path: m{i}.tflite, budgets: *b}}\n" for i in range(1, 500))
    repo.write("edgegate.yml", f"version: 1\nmodels:\n{shared}{models}")
    policy = load_policy(repo.root / "edgegate.yml", root=repo.root)
    assert len(policy.models) == 500 and all(len(m.budgets) == 2 for m in policy.models)
    assert 500 * 5 < yaml_reader.MAX_ALIAS_NODES  # 499 aliases of 5 values each fit


def test_yaml_nested_100000_deep_is_refused_at_its_line(repo):
    deep = "version: 1\nmodels: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert policy_problems(repo, deep) == [
        "edgegate.yml:2: yaml: nested deeper than 32 levels; a policy needs fewer than 10"
    ]


UNKNOWN_KEY = "unknown key (see docs/policy.md for the keys this section takes)"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "version: 1\nmodels: [{name: net, path: net.tflite}]\n? [a, b]\n: x\n",
            ["edgegate.yml:3: (top level): keys are names: a list cannot be a key"],
        ),
        (
            "version: 1\nmodels: [{name: net, path: net.tflite, {size: 1}: x}]\n",
            ["edgegate.yml:2: models[0]: keys are names: a mapping cannot be a key"],
        ),
        (
            "version: 1\nmodels: [{name: net, path: net.tflite}]\non: push\n",
            [
                "edgegate.yml:3: (top level): keys are names: the key 'on' reads as bool, not text; "
                'quote it ("on") if it is a name'
            ],
        ),
        (
            # The schema's problems come in the same run, but not "missing required key 'name'":
            # that one follows from the merge key left out.
            "version: 1\nd: &d {name: net}\nmodels: [{<<: *d, path: net.tflite}]\n",
            [
                f"edgegate.yml:2: d: {UNKNOWN_KEY}",
                "edgegate.yml:3: models[0]: keys are names: merge keys (<<) are not supported; "
                "share settings with defaults: instead",
            ],
        ),
        (
            "version: 1\nmodels: [{name: net, path: net.tflite}]\nwhen: 2001-13-01\n",
            [
                "edgegate.yml:3: when: cannot read '2001-13-01' (month must be in 1..12)",
                f"edgegate.yml:3: when: {UNKNOWN_KEY}",
            ],
        ),
        (
            "version: 1\nmodels: [{name: net, path: net.tflite}]\nn: " + "9" * 5000 + "\n",
            [
                "edgegate.yml:3: n: cannot read '9999999999999999999999999999999999999999…' (Exceeds the "
                "limit (4300 digits) for integer string conversion: value has 5000 digits; use "
                "sys.set_int_max_str_digits() to increase the limit)",
                f"edgegate.yml:3: n: {UNKNOWN_KEY}",
            ],
        ),
        (
            # Not also "Input should be a valid string" for the value YAML could not build.
            'version: 1\nmodels: [{name: net, path: "net\\udcff.tflite"}]\n',
            ["edgegate.yml:2: models[0].path: holds U+DCFF, a lone surrogate, which is not text"],
        ),
    ],
    ids=["list key", "mapping key", "bool key", "merge key", "bad date", "huge integer", "lone surrogate"],
)
def test_keys_and_scalars_yaml_cannot_build_safely_are_refused(repo, text, expected):
    """Each at its line, with the schema's own problems of the rest of the file, never one that
    only repeats what YAML said."""
    assert policy_problems(repo, text) == expected


def test_a_policy_larger_than_the_limit_is_not_parsed(repo):
    from edgegate.policy.load import MAX_POLICY_BYTES

    big = "version: 1\nmodels: [{name: net, path: net.tflite}]\n" + "# padding\n" * (MAX_POLICY_BYTES // 10)
    assert policy_problems(repo, big) == [
        "edgegate.yml:1: (file): larger than 256 KiB, the most a policy file may hold"
    ]


def test_a_watch_glob_of_twelve_double_stars_is_matched_in_bounded_steps(repo):
    """As a regular expression, ``(?:[^/]*/)*`` twelve times backtracks over every way to split a
    deep path among the twelve (minutes); the automaton takes at most path × states steps."""
    deep = "/".join(["d"] * 40)
    repo.write(f"{deep}/x.txt", "x")
    repo.write("net.tflite", b"model")
    repo.commit("base")
    repo.branch()
    repo.write(f"{deep}/x.txt", "changed")
    pattern = "**/" * 12 + "y.txt"  # never matches: the worst case for backtracking
    hit = "**/" * 12 + "x.txt"
    repo.write(
        "edgegate.yml",
        f'version: 1\nmodels:\n  - {{name: net, path: net.tflite, watch: ["{pattern}"]}}\n'
        f'  - {{name: hit, path: net.tflite, watch: ["{hit}"]}}\n',
    )
    glob = compile_glob(pattern)
    before = glob.steps
    changes = find_changes(
        load_policy(repo.root / "edgegate.yml", root=repo.root),
        GitRepo(repo.root),
        base="main",
        all_models=False,
        paths=(),
    )
    assert [m.target.name for m in changes.models] == ["hit"]  # the glob that should match does
    changed_chars = sum(len(p) for p in (f"{deep}/x.txt", "edgegate.yml"))
    assert 0 < glob.steps - before <= changed_chars * glob.states


def test_a_malformed_glob_is_a_policy_error_at_its_line(repo):
    found = policy_problems(
        repo, 'version: 1\nmodels:\n  - name: net\n    path: net.tflite\n    watch: ["[z-a]"]\n'
    )
    assert found == [
        "edgegate.yml:5: models[0].watch[0]: '[z-a]' is not a valid glob: bad character range z-a in [z-a]: "
        "write the lower end first"
    ]


def test_a_nul_byte_in_a_policy_path_is_named(repo):
    found = policy_problems(
        repo,
        'version: 1\nmodels:\n  - name: net\n    path: "net\\0.tflite"\n    eval: {data: "d\\0.npz"}\n',
    )
    assert found == [
        "edgegate.yml:4: models[0].path: 'net\\x00.tflite' holds a NUL byte, which no file name can",
        "edgegate.yml:5: models[0].eval.data: 'd\\x00.npz' holds a NUL byte, which no file name can",
    ]


def test_a_300_character_path_component_is_refused_in_the_policy_and_survived_from_git(repo):
    long_name = "a" * 300
    found = policy_problems(repo, f"version: 1\nmodels:\n  - name: net\n    path: {long_name}/*.tflite\n")
    assert found == [
        f"edgegate.yml:4: models[0].path: '{'a' * 24}'… is a file or folder name of 300 bytes; "
        "file systems allow at most 255"
    ]
    # git stores a name no file system accepts: the base tree holds one, no working tree can.
    repo.write("models/net.tflite", b"model")
    repo.write("edgegate.yml", "version: 1\nmodels:\n  - {name: nets, path: 'models/*.tflite'}\n")
    repo.git("add", "-A")
    blob = repo.git("hash-object", "-w", "--stdin", input=b"model").strip()
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},models/{long_name}.tflite")
    repo.git("commit", "-q", "-m", "base: a model no checkout can hold")
    repo.branch()
    repo.write("models/net.tflite", b"model, changed")
    changes = find_changes(
        load_policy(repo.root / "edgegate.yml", root=repo.root),
        GitRepo(repo.root),
        base="main",
        all_models=False,
        paths=(),
    )
    assert [m.target.name for m in changes.models] == ["nets/net"]
    assert changes.notes == (
        f"model nets/{long_name}: models/{long_name}.tflite was deleted in this change: nothing to gate",
    )


def test_a_file_name_that_is_not_utf8_costs_only_its_own_model(repo, tflite, tmp_path):
    repo.write("edgegate.yml", "version: 1\nmodels:\n  - {name: nets, path: 'models/*.tflite'}\n")
    repo.commit("policy")
    repo.branch()
    repo.write("models/ok.tflite", tflite(4))
    bad = os.fsencode(repo.root / "models") + b"/caf\xe9.tflite"  # Latin-1, as an old tool names it
    with open(bad, "wb") as f:
        f.write(tflite(4))
    repo.commit("two models, one named in Latin-1")

    out = tmp_path / "out"
    proc = edgegate(
        "check",
        "--base",
        "main",
        "--no-latency",
        "--json",
        str(out / "r.json"),
        "--report",
        str(out / "r.md"),
        cwd=repo.root,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    results = json.loads((out / "r.json").read_text(encoding="utf-8"))
    models = {m["name"]: m for m in results["models"]}
    assert set(models) == {"nets/ok", "nets/caf\\xe9"}
    assert models["nets/ok"]["status"] == "pass"
    assert models["nets/caf\\xe9"]["error"] == (
        "models/caf\\xe9.tflite: the file name holds the byte 0xe9, which is not UTF-8; EdgeGate names "
        "models by their files in reports, so rename it to UTF-8 text without control characters"
    )
    # The report escapes markdown too: the backslash of the escaped byte is written as \\.
    assert md_text("nets/caf\\xe9") in (out / "r.md").read_text(encoding="utf-8")
    assert "nets/caf\\xe9" in proc.stdout


def _nothing_to_gate(repo: Repo) -> None:
    repo.write("edgegate.yml", "version: 1\nmodels:\n  - {name: net, path: net.tflite}\n")
    repo.write("net.tflite", b"model")
    repo.commit("base")


def test_results_to_a_file_size_limit_fail_with_the_path_and_leave_no_file(repo, tmp_path):
    """RLIMIT_FSIZE makes every write past 64 bytes fail (EFBIG), as a full disk would."""
    import resource
    import signal

    _nothing_to_gate(repo)
    out = tmp_path / "out"
    out.mkdir()

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

    proc = edgegate(
        "check",
        "--base",
        "main",
        "--quiet",
        "--json",
        str(out / "r.json"),
        "--report",
        str(out / "r.md"),
        cwd=repo.root,
        preexec_fn=small_files,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{out / 'r.json'}: cannot write the results file (File too large)" in proc.stderr
    assert f"{out / 'r.md'}: cannot write the report (File too large)" in proc.stderr
    assert "no model changed" in proc.stdout  # the table is still printed
    assert list(out.iterdir()) == []  # no partial file, no temp file left behind


def _unshare_available() -> bool:
    probe = (
        subprocess.run(["unshare", "-rm", "true"], capture_output=True) if shutil.which("unshare") else None
    )
    return probe is not None and probe.returncode == 0


needs_mount = pytest.mark.skipif(not _unshare_available(), reason="needs unshare -rm to mount a tmpfs")


@needs_mount
def test_results_to_a_full_disk_fail_with_the_path_and_keep_the_old_file(repo, tmp_path):
    _nothing_to_gate(repo)
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        f"mount -t tmpfs -o size=8k tmpfs {disk} && "
        f"echo old > {disk}/r.json && head -c 8192 /dev/zero > {disk}/fill 2>/dev/null; "
        f"{sys.executable} -m edgegate check --base main --quiet --json {disk}/r.json; rc=$?; "
        f"cat {disk}/r.json; ls -A {disk}; exit $rc"
    )
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=repo.root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(CHECKOUT), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{disk}/r.json: cannot write the results file (No space left on device)" in proc.stderr
    assert proc.stdout.splitlines()[-3:] == ["old", "fill", "r.json"]  # the old file, whole; no temp file


@needs_mount
def test_results_to_a_read_only_folder_fail_with_the_path_and_leave_no_file(repo, tmp_path):
    """Root writes through a chmod, so the folder is a read-only mount (tests/cli has the chmod one)."""
    _nothing_to_gate(repo)
    folder = tmp_path / "ro"
    folder.mkdir()
    script = (
        f"mount -t tmpfs -o ro tmpfs {folder} && "
        f"{sys.executable} -m edgegate check --base main --quiet --json {folder}/r.json --report {folder}/r.md; "
        f"rc=$?; ls -A {folder}; exit $rc"
    )
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=repo.root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(CHECKOUT), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert f"{folder}/r.json: cannot write the results file (Read-only file system)" in proc.stderr
    assert f"{folder}/r.md: cannot write the report (Read-only file system)" in proc.stderr
    assert proc.stdout.splitlines()[-1] == "✅ EdgeGate: no model changed"  # the table; ls shows nothing


@needs_mount
def test_a_read_only_runner_temp_exits_2_and_still_writes_summary_and_outputs(repo, tflite, tmp_path):
    repo.write("edgegate.yml", "version: 1\nmodels:\n  - {name: net, path: net.tflite}\n")
    repo.write("net.tflite", tflite(4))
    repo.commit("base")
    repo.branch()
    repo.write("net.tflite", tflite(40))
    repo.commit("grow")
    temp, runner = tmp_path / "temp", tmp_path / "runner"
    temp.mkdir()
    runner.mkdir()
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
        "GITHUB_OUTPUT": str(runner / "output"),
        "RUNNER_TEMP": str(temp),
        "PYTHONPATH": str(CHECKOUT),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    script = (
        f"mount -t tmpfs -o ro tmpfs {temp} && exec {sys.executable} -m edgegate ci --base main --comment off"
    )
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=repo.root,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    message = (
        f"{temp}/edgegate/candidates: cannot create the folder for the candidates (Read-only file system)"
    )
    assert message in proc.stdout
    assert (runner / "summary.md").read_text().startswith("## 💥 EdgeGate could not run") and message in (
        runner / "summary.md"
    ).read_text()
    assert "status<<" in (runner / "output").read_text() and "\nerror\n" in (runner / "output").read_text()


# --- datasets -------------------------------------------------------------------------------------


def _crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """zlib's crc32_combine: the CRC of A + B from the CRCs of A and B and B's length."""

    def times(mat: list[int], vec: int) -> int:
        out, i = 0, 0
        while vec:
            if vec & 1:
                out ^= mat[i]
            vec >>= 1
            i += 1
        return out

    def square(mat: list[int]) -> list[int]:
        return [times(mat, mat[n]) for n in range(32)]

    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = square(odd)  # two zero bits
    odd = square(even)  # four
    while True:
        even = square(odd)
        if len2 & 1:
            crc1 = times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = square(even)
        if len2 & 1:
            crc1 = times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def write_zip_bomb(path: Path, member: str, payload_header: bytes, zeros: int) -> None:
    """A real .npz member of ``payload_header`` + ``zeros`` zero bytes, deflated: one 1 MiB block
    of zeros compressed once and repeated (each block ends with a full flush, so blocks are
    independent), the CRC combined rather than computed over gigabytes. Valid for any unzip."""
    chunk = 1 << 20
    assert zeros % chunk == 0
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = head.compress(payload_header) + head.flush(zlib.Z_FULL_FLUSH)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    zero_block = block.compress(bytes(chunk)) + block.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc_chunk = zlib.crc32(bytes(chunk))
    crc_zeros, length = crc_chunk, chunk
    while length < zeros:  # doubling: the CRC of 2^k MiB of zeros
        crc_zeros, length = _crc32_combine(crc_zeros, crc_zeros, length), 2 * length
    assert length == zeros
    crc = _crc32_combine(zlib.crc32(payload_header), crc_zeros, zeros)
    data_size = len(start) + len(zero_block) * (zeros // chunk) + len(end)
    size = len(payload_header) + zeros
    name = member.encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, data_size, size, len(name), 0))
        f.write(name + start)
        for _ in range(zeros // chunk):
            f.write(zero_block)
        f.write(end)
        directory = f.tell()
        f.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                data_size,
                size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                0,
            )
            + name
        )
        end_of_directory = f.tell()
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, end_of_directory - directory, directory, 0))


def npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A real .npy header (magic included), as np.save writes it, for data of ``shape``."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_a_zip_bomb_npz_is_refused_before_it_is_inflated(repo, monkeypatch):
    """2 MB on disk, 2 GiB once inflated: refused from the zip directory, reading nothing."""
    gib2 = 2 << 30
    header = npy_header((gib2 // 4,))
    bomb = repo.root / "data/eval.npz"
    bomb.parent.mkdir()
    write_zip_bomb(bomb, "x.npy", header, gib2)
    assert bomb.stat().st_size < 3 * 2**20 and len(header) + gib2 > MAX_DATASET_BYTES
    with zipfile.ZipFile(bomb) as z:  # a real archive: any unzip inflates it to 2 GiB of zeros
        (info,) = z.infolist()
        assert info.file_size == len(header) + gib2
        with z.open(info) as f:
            assert f.read(len(header)) == header and f.read(1 << 24) == bytes(1 << 24)
            f.seek(0)
            assert np.lib.format.read_magic(f) == (1, 0)
            assert np.lib.format.read_array_header_1_0(f)[0] == (gib2 // 4,)  # np.load would take it

    inflated = []
    real_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = real_read(self, n)
        inflated.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    spec = parse_dataset("data/eval.npz", key="models[0].eval.data")
    with pytest.raises(InputError) as e:
        load_dataset(spec, repo.root, key="models[0].eval.data")
    assert str(e.value) == (
        f"models[0].eval.data: array 'x' in data/eval.npz inflates to {len(header) + gib2} bytes "
        f"({info.compress_size} compressed), over the 1 GiB a dataset may hold in memory; use a smaller file"
    )
    assert sum(inflated) < 1 << 20  # at most a header read: nowhere near the 2 GiB


def test_an_npy_header_declaring_a_huge_shape_is_refused_unread(repo):
    """A 200-byte .npy (or .npz member) whose header declares a trillion floats."""
    lie = npy_header((10**12,)) + bytes(64)
    repo.write("data/x.npy", lie)
    with zipfile.ZipFile(repo.root / "data/eval.npz", "w") as z:
        z.writestr("x.npy", lie)
    for written in ("data/x.npy", "data/eval.npz"):
        spec = parse_dataset(written, key="models[0].eval.data")
        with pytest.raises(
            InputError,
            match=r"declares 4000000000000 bytes of data \(shape \(1000000000000,\), float32\), over the",
        ):
            load_dataset(spec, repo.root, key="models[0].eval.data")
    # Under the limit but more than the file holds: refused as truncated, before any allocation.
    repo.write("data/x.npy", npy_header((1000,)) + bytes(64))
    with pytest.raises(
        InputError, match=r"declares 4000 bytes of data .* but holds only 64; the file is truncated"
    ):
        load_dataset(parse_dataset("data/x.npy", key="k"), repo.root, key="k")


def test_an_image_declaring_81_megapixels_is_refused_before_decoding(repo):
    from PIL import Image

    folder = repo.root / "data/images/cat"
    folder.mkdir(parents=True)
    Image.new("1", (9_000, 9_000)).save(folder / "huge.png")  # 1-bit: a few KB, 81 M pixels
    assert (folder / "huge.png").stat().st_size < 100_000 and 9_000 * 9_000 > MAX_IMAGE_PIXELS
    spec = parse_dataset({"images": "data/images"}, key="k")
    with pytest.raises(
        InputError, match=r"^k: image images/cat/huge.png is 9000 x 9000 pixels, over the 64,000,000"
    ):
        load_dataset(spec, repo.root, key="k", input_hw=(8, 8))
