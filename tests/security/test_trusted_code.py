"""A trusted setting runs the base branch's bytes, never the pull request's (docs/security.md,
"Trusted settings run the base branch's code").

Each test builds the attack for real: a repository whose default branch's policy names a hook, a
compiler script or a ``trust_code`` model, and a pull-request branch that edits the code that
setting runs (each edit appends to a marker file when it runs). The real ``edgegate ci`` runs in
a subprocess on a ``pull_request`` event file, with a stand-in GitHub API on 127.0.0.1, and the
marker proves whether the PR's code ran. A second model in each PR is still gated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.github.conftest import FakeGitHub, load_event
from tests.gitrepo import GitRepo

EDGEGATE = Path(sys.executable).with_name("edgegate")  # the installed command, as the action runs it

BUILD = """
import os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np
import tensorflow as tf
import tf_keras as keras

out, marker = sys.argv[1], sys.argv[2]

class Dense(tf.Module):
    def __init__(self):
        self.w = tf.Variable(tf.random.stateless_normal([4, 2], seed=[1, 2]))

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def __call__(self, x):
        return tf.nn.softmax(tf.matmul(x, self.w))

m = Dense()
tflite = tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m).convert()
open(os.path.join(out, "model.tflite"), "wb").write(tflite)

def keras_model(seed, code=None):
    keras.utils.set_random_seed(seed)
    x = keras.Input((4,))
    y = keras.layers.Dense(2, activation="softmax")(x)
    if code is not None:
        y = keras.layers.Lambda(code)(y)
    return keras.Model(x, y)

keras_model(1).save(os.path.join(out, "plain.h5"))
# Marshalled with the model: runs whenever the model is rebuilt from its config.
writes = eval(f"lambda t: (open({marker!r}, 'a').write('the lambda ran\\\\n'), t)[1]")
keras_model(2, writes).save(os.path.join(out, "lambda.h5"))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """A .tflite, a plain tf-keras .h5, and a .h5 whose Lambda appends to ``marker``."""
    out = tmp_path_factory.mktemp("models")
    marker = out / "lambda-ran"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", BUILD, str(out), str(marker)], check=True, env=env, cwd=out)
    return {
        "tflite": out / "model.tflite",
        "plain": out / "plain.h5",
        "lambda": out / "lambda.h5",
        "marker": marker,
    }


@pytest.fixture
def api():
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


def policy(*models: str) -> str:
    plain = "  - name: plain\n    path: models/plain.tflite\n    budgets: {size: 100 KB}\n"
    return (
        "version: 1\nmodels:\n" + plain + "".join(textwrap.indent(textwrap.dedent(m), "  ") for m in models)
    )


def hook_module(marker: Path, what: str) -> str:
    """A hook returning 8 labelled samples, appending ``what`` to ``marker`` when it runs."""
    return (
        "import numpy as np\n\n\ndef load():\n"
        f"    with open({str(marker)!r}, 'a') as f:\n        f.write({what!r} + '\\n')\n"
        "    return np.ones((8, 4), np.float32), np.zeros(8, np.int64)\n"
    )


def start(repo: GitRepo, built: dict[str, Path], policy_text: str, files: dict[str, str | bytes]) -> None:
    """main: the policy, the files, and two .tflite models."""
    repo.write("edgegate.yml", policy_text)
    repo.write("models/plain.tflite", built["tflite"].read_bytes())
    for rel, content in files.items():
        repo.write(rel, content)


def pull_request(repo: GitRepo, built: dict[str, Path], files: dict[str, str | bytes]) -> None:
    """The PR's commit: ``files``, and a change to the plain model, which is gated as usual."""
    repo.write("models/plain.tflite", built["tflite"].read_bytes() + b"\0")
    for rel, content in files.items():
        repo.write(rel, content)
    repo.commit("pull request")


def run_ci(repo: GitRepo, api: FakeGitHub, base_sha: str, tmp_path: Path) -> tuple[dict, str]:
    """``edgegate ci`` as the action runs it on a pull_request event: results.json and the comment."""
    event = load_event(
        "pull_request_opened",
        pull_request__base__sha=base_sha,
        pull_request__head__sha=repo.git("rev-parse", "HEAD"),
    )
    from tests.github.test_ci import Runner  # inside: importing its tests here would collect them

    runner = Runner(tmp_path / "runner", api, "pull_request", event)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.update(runner.env, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [str(EDGEGATE), "ci", "--fail-on", "never"], cwd=repo.root, env=env, capture_output=True, text=True
    )
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr
    results = json.loads((runner.out / "results.json").read_text())
    (comment,) = api.comments_on(17)
    return results, comment["body"]


def model(results: dict, name: str) -> dict:
    return next(m for m in results["models"] if m["name"] == name)


def plain_is_gated(results: dict) -> None:
    plain = model(results, "plain")
    assert plain["error"] is None and plain["status"] == "pass", plain


HOOKED = """\
  - name: hooked
    path: models/hooked.tflite
    eval: {data: {hook: "evalhook:load"}, metric: top1}
"""


def test_a_pr_editing_a_trusted_hooks_module_is_refused_naming_the_file(repo, built, api, tmp_path):
    marker = tmp_path / "hook-ran"
    start(repo, built, policy(HOOKED), {"evalhook.py": hook_module(marker, "base")})
    repo.write("models/hooked.tflite", built["tflite"].read_bytes())
    base = repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    pull_request(
        repo,
        built,
        {
            "evalhook.py": hook_module(marker, "the PR's hook"),
            "models/hooked.tflite": built["tflite"].read_bytes() + b"1",
        },
    )

    results, comment = run_ci(repo, api, base, tmp_path)

    assert not marker.exists(), marker.read_text()
    hooked = model(results, "hooked")
    assert "models[1].eval.data.hook would import this pull request's Python" in hooked["error"]
    assert "it changes evalhook.py" in hooked["error"]
    assert "evalhook.py" in comment
    plain_is_gated(results)


def test_a_trusted_compiler_path_runs_the_base_branchs_script(repo, built, api, tmp_path):
    ran = tmp_path / "compiler-ran"
    script = "#!/bin/sh\necho {who} >> " + str(ran) + "\nexit 3\n"
    compiled = """\
      - name: tpu
        path: models/tpu.tflite
        edgetpu: {level: warn, compiler: tools/edgetpu_compiler}
    """
    start(repo, built, policy(compiled), {"models/tpu.tflite": built["tflite"].read_bytes()})
    (repo.write("tools/edgetpu_compiler", script.format(who="base"))).chmod(0o755)
    base = repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    pull_request(
        repo,
        built,
        {
            "tools/edgetpu_compiler": script.format(who="the-pr"),
            "models/tpu.tflite": built["tflite"].read_bytes() + b"1",
        },
    )

    results, _ = run_ci(repo, api, base, tmp_path)

    assert ran.read_text().split() == ["base"]  # the base branch's script ran, once; the PR's never
    tpu = model(results, "tpu")
    assert tpu["error"] is None
    assert "edgetpu_compiler printed an output EdgeGate cannot read" in json.dumps(
        tpu
    )  # the base script said nothing
    plain_is_gated(results)


def test_trust_comes_from_the_base_branchs_head_not_the_merge_base(repo, built, api, tmp_path):
    """The PR branches from a commit whose policy still had a hook; main has removed it since."""
    marker = tmp_path / "hook-ran"
    start(repo, built, policy(HOOKED), {"evalhook.py": hook_module(marker, "hook")})
    repo.write("models/hooked.tflite", built["tflite"].read_bytes())
    old = repo.commit("base with a hook")
    repo.write(
        "edgegate.yml",
        policy(HOOKED.replace('    eval: {data: {hook: "evalhook:load"}, metric: top1}\n', "")),
    )
    tip = repo.commit("main drops the hook")
    repo.git("checkout", "-qb", "feature", old)
    pull_request(repo, built, {"models/hooked.tflite": built["tflite"].read_bytes() + b"1"})

    results, _ = run_ci(repo, api, tip, tmp_path)

    assert not marker.exists()
    hooked = model(results, "hooked")
    assert "models[1].eval.data.hook ('evalhook:load') would run this pull request's code" in hooked["error"]
    assert "Land the hook on the base branch first" in hooked["error"]
    plain_is_gated(results)


TRUSTED = """\
  - name: kmodel
    path: models/k.h5
    trust_code: true
    recipes: [float16]
"""


@pytest.mark.parametrize("attack", ["re-pointed", "replaced"])
def test_trust_code_applies_to_the_base_branchs_bytes_only(repo, built, api, tmp_path, attack):
    built["marker"].unlink(missing_ok=True)
    start(repo, built, policy(TRUSTED), {"models/k.h5": built["plain"].read_bytes()})
    base = repo.commit("base")
    repo.git("checkout", "-qb", "feature")
    if attack == "re-pointed":  # the PR points the trusted model at its own file
        changes: dict[str, str | bytes] = {
            "edgegate.yml": policy(TRUSTED.replace("models/k.h5", "models/k2.h5")),
            "models/k2.h5": built["lambda"].read_bytes(),
        }
        said = "this pull request points models[1].path at 'models/k2.h5'"
    else:  # the PR replaces the trusted model's file
        changes = {"models/k.h5": built["lambda"].read_bytes()}
        said = "this pull request changes models/k.h5"
    pull_request(repo, built, changes)

    results, comment = run_ci(repo, api, base, tmp_path)

    assert not built["marker"].exists(), "the PR's Lambda ran"
    assert any(said in n and "loaded in safe mode" in n for n in results["notes"]), results["notes"]
    kmodel = json.dumps(model(results, "kmodel"))
    assert "Lambda" in kmodel and model(results, "kmodel")["status"] == "error"
    assert "loaded in safe mode" in comment
    plain_is_gated(results)


@pytest.mark.parametrize(
    "path,refused",
    [
        ("numpy.py", True),  # shadows the installed numpy the base's hook imports
        ("lib/__pycache__/util.cpython-311.pyc", True),  # an unchecked .pyc runs without its source
        ("native.cpython-311-x86_64-linux-gnu.so", True),  # an extension module wins over evalhook.py
        ("vendor/site.pth", True),
        ("data/eval.npz", False),
        ("README.md", False),
    ],
)
def test_a_hook_is_refused_when_the_pr_changes_anything_python_could_import(tmp_path, path, refused):
    from edgegate.changes.interface import ChangedModel, ModelTarget, PathChange
    from edgegate.policy.load import load_policy
    from edgegate.run.trusted_code import pin_to_base

    (tmp_path / "edgegate.yml").write_text(policy(HOOKED))
    base = load_policy(tmp_path / "edgegate.yml", root=tmp_path)
    hooked = base.models[1]
    changed = [ChangedModel(ModelTarget("hooked", hooked, hooked.path), "modified", hooked.path, ())]

    (pinned,), _ = pin_to_base(changed, base, [PathChange("A", path)])

    error = pinned.target.model.refused
    assert (error is not None) == refused
    if refused:
        assert error is not None and f"it changes {path}" in error
