"""The action's own steps run nothing of the checkout and take no configuration from it (issue 21, item 2).

The attack: a pull request adds ``hashlib.py``, ``pip/``, ``venv/``, ``json.py``, ``yaml/``, ...
at the repository root (each writes a marker when imported), a ``uv.toml`` whose
``[pip] index-url`` and ``extra-index-url`` name an index the attacker serves, and a ``pip.conf``
naming it too. The
``run:`` scripts of action.yml run under bash as the runner runs them: the step's ``env:`` with
its ``${{ }}`` expressions filled in, its ``working-directory`` (the checkout when it has none),
``GITHUB_OUTPUT``. The attacker's index is a real HTTP server on 127.0.0.1 that records every
request. No marker, no request, and each step still gives its outputs. After the installs,
``needs`` and the gate itself run the installed console script in the checkout, the gate's
workers (``python -I``) measuring the PR's .tflite model: an installed (not editable) EdgeGate,
made by uv or by pip, works isolated.

The install steps install for real, offline: the job picks a mirror as a user would
(``UV_INDEX_URL`` / ``PIP_INDEX_URL`` in its ``env:``), a package index on 127.0.0.1 serving the
wheelhouse .ci/run builds (tests/wheelhouse.py: uv at action.yml's pin, EdgeGate's light core
dependencies, its build backend). Every proxy variable names a proxy on 127.0.0.1 that records
and refuses every request, so anything else (PyPI, another registry) is seen and fails: nothing
asks it; pip reads no configuration file of this machine (a runner without one). Both paths: uv's and the pip fallback (taken when uv cannot be
had: here a uv version the index lacks). pip's and uv's download caches start empty. The
TensorFlow step installs the ``tensorflow`` extra of a copy of the action in which that extra
names one small package (``six``) instead of 2 GB of TensorFlow: what it installs is not what is
tested here.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.github.test_action import run_script
from tests.github.conftest import REPO, github, load_event, tflite_models  # noqa: F401 (fixtures)
from tests.gitrepo import GitRepo
from tests import wheelhouse
from tests.security.shadowing import plant, ran

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
# setup-python's interpreter: a plain one, not a virtual environment.
PYTHON = getattr(sys, "_base_executable", sys.executable)
TOKEN = "ghs_" + "ActionStepsToken0123456789"
SHADOWS = (
    "hashlib.py",
    "pip/",
    "venv/",
    "ensurepip/",
    "setuptools/",
    "uv/",
    "json.py",
    "yaml/",
    "typer/",
    "numpy/",
)
PROBE = "six-offline-probe"  # a package installed nowhere: asking for it always asks the index
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
POLICY = """\
version: 1
models:
  - {name: m, path: models/m.keras}
  - {name: t, path: models/t.tflite}
"""


class PackageIndex:
    """A PEP 503 package index on 127.0.0.1 serving wheels; it remembers every request.

    ``/simple/<project>/`` lists a project's wheels (404: no such project), ``/files/<name>`` is one;
    HEAD as GET without the body (uv asks it before a download). As a proxy it records every
    ``CONNECT host:port`` and ``GET http://…`` and refuses them (404)."""

    def __init__(self, wheels: list[Path]) -> None:
        self.requests: list[str] = []
        pages: dict[str, str] = {}  # a project's page: links to its wheels, with their sha256
        for w in wheels:
            digest = hashlib.sha256(w.read_bytes()).hexdigest()
            project = f"simple/{normalized(w.name.split('-')[0])}"
            pages[project] = (
                pages.get(project, "") + f'<a href="/files/{w.name}#sha256={digest}">{w.name}</a>\n'
            )
        files = {f"files/{w.name}": w for w in wheels}
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index.requests.append(f"{self.command} {self.path}")
                parts = self.path.split("?")[0].strip("/").split("/")
                name = (
                    f"{parts[0]}/{normalized(parts[1])}" if len(parts) == 2 and parts[0] == "simple" else ""
                )
                if name in pages:
                    body, kind = (
                        f"<!DOCTYPE html><html><body>\n{pages[name]}</body></html>".encode(),
                        "text/html",
                    )
                elif "/".join(parts) in files:
                    body, kind = files["/".join(parts)].read_bytes(), "application/octet-stream"
                else:
                    return self.send_error(404)
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(body)

            do_HEAD = do_CONNECT = do_GET

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def projects_asked(self) -> set[str]:
        return {normalized(r.split("/")[2]) for r in self.requests if r.startswith("GET /simple/")}


def normalized(project: str) -> str:
    return re.sub(r"[-_.]+", "-", project).lower()


def serving(wheels: list[Path]) -> Iterator[PackageIndex]:
    served = PackageIndex(wheels)
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    """The index the pull request's uv.toml and pip.conf name: it has nothing."""
    yield from serving([])


@pytest.fixture
def proxy() -> Iterator[PackageIndex]:
    """The job's proxy for every host but 127.0.0.1: what asks it would have left the machine."""
    yield from serving([])


@pytest.fixture
def mirror() -> Iterator[PackageIndex]:
    """The job's mirror: the wheelhouse .ci/run builds (a missing or stale one fails the test)."""
    if why := wheelhouse.problem():
        pytest.fail(why, pytrace=False)
    yield from serving(sorted(wheelhouse.FOLDER.glob("*.whl")))


@pytest.fixture
def checkout(tmp_path: Path, index: PackageIndex, tflite_models: dict[str, bytes]) -> GitRepo:  # noqa: F811
    """The workspace: a pull request adding its modules and its installer configuration.

    It changes a Keras model (so ``needs`` asks for TensorFlow) and a .tflite model (gated
    through the workers without TensorFlow)."""
    repo = GitRepo(tmp_path / "workspace")
    repo.root.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.write("edgegate.yml", POLICY)
    repo.write("models/m.keras", "the base version")
    repo.write("models/t.tflite", tflite_models["small"])
    repo.base = repo.commit("base")
    repo.git("checkout", "-qb", "pr")
    plant(repo.root, SHADOWS, tmp_path / "markers")
    # extra-index-url too: uv asks it first, also when the job's env: names the index-url.
    repo.write("uv.toml", f'[pip]\nindex-url = "{index.url}"\nextra-index-url = ["{index.url}"]\n')
    repo.write("pip.conf", f"[global]\nindex-url = {index.url}\nextra-index-url = {index.url}\n")
    repo.write("models/m.keras", "the pull request's version")
    repo.write("models/t.tflite", tflite_models["big"])
    repo.head = repo.commit("the pull request")
    return repo


class Runner:
    """One job's runner: the workspace, RUNNER_TEMP, and the values of the expressions steps use."""

    def __init__(self, tmp_path: Path, workspace: Path, action: Path, proxy: PackageIndex):
        self.tmp, self.workspace = tmp_path, workspace
        self.temp = tmp_path / "runner-temp"
        self.temp.mkdir()
        home = tmp_path / "home"
        home.mkdir()
        # A runner without pip configuration: this machine's pip.conf (find-links, extra indexes)
        # and PIP_* variables are not the job's; os.devnull makes pip read no configuration file.
        self.env = {k: v for k, v in os.environ.items() if k.startswith(("LANG", "LC_"))}
        self.env.update(PIP_CONFIG_FILE=os.devnull)
        # Offline: any host but 127.0.0.1 (the mirror, the attacker's index, the GitHub server) is
        # asked through a proxy that records and refuses, so nothing reaches PyPI or another registry.
        self.proxy = proxy
        proxy_url = proxy.url.removesuffix("/simple")
        self.env.update({name: proxy_url for name in PROXIES}, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        self.env.update(PATH=os.environ["PATH"], HOME=str(home), RUNNER_TEMP=str(self.temp))
        self.env.update(GITHUB_WORKSPACE=str(workspace), GITHUB_ACTIONS="true")
        self.values = {
            "runner.temp": str(self.temp),
            "github.action_path": str(action),
            "steps.python.outputs.python-path": PYTHON,
            "inputs.working-directory": ".",
            "inputs.policy": "",
            "inputs.shard": "",
            "inputs.base": "",
        }

    def value(self, expression: str) -> str:
        """An expression's value; ``a || b``: the first that is set (unset alternatives are empty)."""
        alternatives = [e.strip() for e in expression.split("||")]
        if len(alternatives) == 1:
            return self.values[alternatives[0]]  # KeyError: a step uses an expression this test lacks
        return next((v for v in map(self.values.get, alternatives) if v), "")

    def run(self, name: str, **env: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
        """The step ``name`` as the runner runs it; its process and the outputs it wrote."""
        step = next(s for s in ACTION["runs"]["steps"] if s["name"] == name)
        output = self.tmp / f"output-{len(list(self.tmp.glob('output-*')))}"
        output.write_text("")
        fill = lambda text: EXPRESSION.sub(lambda m: self.value(m.group(1)), text)  # noqa: E731
        step_env = {k: fill(str(v)) for k, v in (step.get("env") or {}).items()}
        cwd = self.workspace / fill(step.get("working-directory", "."))
        full = {**self.env, **step_env, **env, "GITHUB_OUTPUT": str(output)}
        proc = run_script(step["run"], full, cwd)
        return proc, read_outputs(output.read_text())


def read_outputs(text: str) -> dict[str, str]:
    """A GITHUB_OUTPUT file: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    found: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, sep, value = line.partition("=")
        if "<<" in name:
            name, delimiter = line.split("<<", 1)
            found[name] = "\n".join(iter(lines.__next__, delimiter))
        elif sep:
            found[name] = value
    return found


@pytest.fixture
def runner(tmp_path: Path, checkout: GitRepo, github, proxy: PackageIndex) -> Runner:  # noqa: F811
    action = tmp_path / "action"  # the action's checkout, its tensorflow extra made small
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        if (ROOT / rel).is_file():
            (action / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, action / rel)
    pyproject = action / "pyproject.toml"
    text, n = re.subn(
        r"(?m)^tensorflow = \[.*\]$",
        f'tensorflow = ["{wheelhouse.TENSORFLOW_STAND_IN}"]',
        pyproject.read_text(),
    )
    assert n == 1, "pyproject.toml: the tensorflow extra moved"
    pyproject.write_text(text)
    runner = Runner(tmp_path, checkout.root, action, proxy)
    event = tmp_path / "event.json"
    pr = {"pull_request__base__sha": checkout.base, "pull_request__head__sha": checkout.head}
    event.write_text(json.dumps(load_event("pull_request_opened", **pr)))
    runner.env.update(GITHUB_EVENT_NAME="pull_request", GITHUB_EVENT_PATH=str(event), GITHUB_REPOSITORY=REPO)
    runner.env.update(GITHUB_API_URL=github.url, GITHUB_RUN_ID="7", GITHUB_RUN_ATTEMPT="1")
    runner.values.update({"inputs.github-token": TOKEN, "inputs.comment-header": "", "inputs.comment": "off"})
    runner.values.update({"inputs.fail-on": "never", "steps.cache-key.outputs.dir": ""})
    runner.values.update({"steps.cache-key.outputs.base-dir": "", "steps.history.outputs.file": ""})
    return runner


def shows(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def test_reading_edgegates_version_imports_nothing_of_the_checkout(runner: Runner, tmp_path: Path):
    proc, outputs = runner.run("Read EdgeGate's version")

    assert ran(tmp_path / "markers") == {}, "the checkout's hashlib.py ran"
    assert proc.returncode == 0, shows(proc)
    pyproject = Path(runner.values["github.action_path"], "pyproject.toml").read_text()
    assert outputs == {"version": "0.1.0", "digest": hashlib.sha256(pyproject.encode()).hexdigest()[:16]}
    # The planted hashlib.py is live: a stdin script started in the checkout imports it.
    subprocess.run([PYTHON, "-"], input="import hashlib", text=True, cwd=runner.workspace, check=False)
    assert [name.split("-")[0] for name in ran(tmp_path / "markers")] == ["hashlib"]


def install_then_gate_steps(
    runner: Runner, index: PackageIndex, mirror: PackageIndex, tmp_path: Path, **env: str
) -> dict:
    """The install step, then the steps that use what it installed, as a ci run takes them, the job
    installing from ``mirror`` (its env: names it, as a user names theirs)."""
    runner.env.update(UV_INDEX_URL=mirror.url, PIP_INDEX_URL=mirror.url)

    def run(name: str, **more: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
        proc, outputs = runner.run(name, **more)
        assert ran(tmp_path / "markers") == {}, f"{name}: the checkout's modules ran"
        assert index.requests == [], f"{name}: the checkout's uv.toml or pip.conf chose the index"
        assert runner.proxy.requests == [], f"{name}: asked for a host other than 127.0.0.1"
        assert proc.returncode == 0, shows(proc)
        return proc, outputs

    _, installed = run("Install EdgeGate", **env)
    assert Path(installed["edgegate"]).is_file() and Path(installed["python"]).is_file(), installed
    runner.values.update({f"steps.install.outputs.{k}": v for k, v in installed.items()})
    # The installed console script, started in the checkout (its folder is not on its path).
    assert run("Ask what this run needs")[1] == {"tensorflow": "true", "quantizer": "false"}
    run("Install TensorFlow (only when a changed model must be converted)", **env)
    six = subprocess.run([installed["python"], "-I", "-c", "import six"], cwd=tmp_path, check=False)
    assert six.returncode == 0, "the TensorFlow step installed nothing"
    # The gate, in the checkout: the .tflite model goes through this install's workers (-I).
    run("Run EdgeGate")
    models = {m["name"]: m for m in json.loads((runner.temp / "edgegate/results.json").read_text())["models"]}
    assert models["t"]["error"] is None and models["t"]["candidates"][0]["latency_ms"] > 0, models["t"]
    # Everything came from the mirror: uv, the build backend, every dependency, the stand-in.
    wanted = {
        "uv",
        "setuptools",
        wheelhouse.TENSORFLOW_STAND_IN,
        *map(normalized, wheelhouse.dependency_names()),
    }
    assert wanted <= mirror.projects_asked(), sorted(wanted - mirror.projects_asked())
    return installed


def assert_offline(runner: Runner, command: list[str]) -> None:
    """``command``, asking PyPI with the job's env:, goes to the proxy and fails there: the steps'
    installs had no way to the network but through it."""
    env = {
        **runner.env,
        "UV_NO_CONFIG": "1",
        "UV_HTTP_RETRIES": "0",
        "UV_CACHE_DIR": str(runner.tmp / "uv-pypi"),
    }
    proc = subprocess.run(command, cwd=runner.tmp, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and set(runner.proxy.requests) == {"CONNECT pypi.org:443"}, shows(proc)


def test_installing_with_uv_runs_nothing_of_the_checkout_nor_reads_its_uv_toml(
    runner: Runner, index: PackageIndex, mirror: PackageIndex, tmp_path: Path
):
    installed = install_then_gate_steps(runner, index, mirror, tmp_path)
    assert installed["uv"], "uv was not used: this test is about the uv path"
    pypi = ["--index-url", "https://pypi.org/simple", PROBE]
    assert_offline(
        runner, [installed["uv"], "pip", "install", "--dry-run", "--python", installed["python"], *pypi]
    )

    # The planted attack is live: started in the checkout, uv takes its uv.toml, python its pip/.
    dry = [installed["uv"], "pip", "install", "--dry-run", "--python", installed["python"], "no-such-pkg"]
    subprocess.run(dry, cwd=runner.workspace, env=runner.env, capture_output=True, check=False)
    assert index.requests, "uv started in the checkout did not read its uv.toml"
    subprocess.run([PYTHON, "-m", "pip", "--version"], cwd=runner.workspace, capture_output=True, check=False)
    assert [name.split("-")[0] for name in ran(tmp_path / "markers")] == ["pip"]


def test_installing_with_pip_runs_nothing_of_the_checkout(
    runner: Runner, index: PackageIndex, mirror: PackageIndex, tmp_path: Path
):
    no_such_uv = "0.0.0.dev0"
    installed = install_then_gate_steps(runner, index, mirror, tmp_path, UV_VERSION=no_such_uv)
    assert installed["uv"] == "", "uv was used: this test is about the pip fallback"
    pypi = ["--index-url", "https://pypi.org/simple", PROBE]
    assert_offline(
        runner,
        [installed["python"], "-I", "-m", "pip", "download", "--retries", "0", "-d", str(tmp_path), *pypi],
    )
