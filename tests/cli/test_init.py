"""``edgegate init``: a starter policy that validates as written, and no overwriting by surprise."""

from __future__ import annotations

from typer.testing import CliRunner

from edgegate.cli.init import write_starter_policy
from edgegate.cli.main import app
from edgegate.policy.load import load_policy


def test_starter_policy_validates(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.tflite").write_bytes(b"x")
    (tmp_path / "vision" / "saved").mkdir(parents=True)
    (tmp_path / "vision" / "saved" / "saved_model.pb").write_bytes(b"x")
    (tmp_path / "vision" / "saved" / "variables").mkdir()
    (tmp_path / "vision" / "eval.npz").write_bytes(b"x")
    path, found = write_starter_policy(tmp_path, None)
    assert found == ["models/net.tflite", "vision/saved"]
    policy = load_policy(path, root=tmp_path)
    assert [m.name for m in policy.models] == ["net", "saved"]
    assert policy.models[1].eval.data.path == "vision/eval.npz"


def test_init_command_writes_once_then_needs_force(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "[v2] net.tflite").write_bytes(b"x")  # brackets are not rich markup
    runner = CliRunner()
    first = runner.invoke(app, ["init", "--repo", str(tmp_path)])
    target = tmp_path / "edgegate.yml"
    assert first.exit_code == 0, first.output
    assert f"wrote {target} with 1 model(s): models/[v2] net.tflite" in " ".join(first.stdout.split())
    written = target.read_text()

    again = runner.invoke(app, ["init", "--repo", str(tmp_path)])
    assert again.exit_code == 2 and isinstance(again.exception, SystemExit)
    assert f"edgegate: {target} already exists; pass --force" in again.stderr
    assert "Traceback" not in again.output and target.read_text() == written

    target.write_text("# edited by hand\n")
    forced = runner.invoke(app, ["init", "--repo", str(tmp_path), "--force"])
    assert forced.exit_code == 0 and target.read_text() == written
