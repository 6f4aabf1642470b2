"""`edgegate check` on a repository holding the attacker's SavedModels, with a token in the
environment: each hostile model is refused in its worker, nothing is written or read outside,
the legitimate model is gated, and no output holds the token."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
pytest.importorskip("tensorflow")

from edgegate.results.codec import encode_run  # noqa: E402
from edgegate.report.markdown import render_markdown  # noqa: E402
from edgegate.cli.real_run import real_run  # noqa: E402
from edgegate.run import CheckOptions  # noqa: E402
from edgegate.status import Status  # noqa: E402
from tests.security import hostile  # noqa: E402

TOKEN = "ghs_" + "e2eTokenValue0123456789"
POLICY = """\
version: 1
defaults:
  recipes: [float32]
models:
  - {name: evil, path: models/evil}
  - {name: reader, path: models/reader}
  - {name: plain, path: models/plain}
"""


def test_hostile_savedmodels_are_refused_in_a_real_run(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    outside = tmp_path / "outside"
    outside.mkdir()
    sentinel, copy = outside / "written", outside / "copy"
    environ = outside / "environ"  # stands for /proc/self/environ, which holds no token now
    environ.write_text(f"GITHUB_TOKEN={TOKEN}")
    hostile.writes_at_load(repo.root / "models/evil", sentinel)
    hostile.copies_at_load(repo.root / "models/reader", environ, copy)
    hostile.plain(repo.root / "models/plain")
    repo.write("edgegate.yml", POLICY)
    repo.commit()
    monkeypatch.chdir(tmp_path)

    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False, out_dir=Path("out")))

    models = {m.name: m for m in run.models}
    assert "models/evil (SavedModel): refused: function __inference__initializer_" in models["evil"].error
    assert "runs ReadFile (file I/O at load time)" in models["reader"].error
    assert not sentinel.exists() and not copy.exists()
    assert models["plain"].status == Status.PASS, models["plain"]
    assert list((tmp_path / "out").rglob("*.tflite"))  # a relative --out is the caller's, not the worker's
    for text in (encode_run(run), render_markdown(run)):
        assert TOKEN not in text
