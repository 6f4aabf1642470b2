"""``edgegate needs`` and the light core: TensorFlow only when a changed model must be converted."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from edgegate.cli.needs import needs

POLICY = """\
version: 1
models:
  - {name: detector, path: models/detector.tflite}
  - {name: digits, path: models/digits.keras}
"""
ROOT = Path(__file__).resolve().parents[2]


def setup(repo):
    repo.write("edgegate.yml", POLICY)
    repo.write("models/detector.tflite", b"TFL3 stand-in, never opened by needs")
    repo.write("models/digits.keras", b"PK stand-in")
    repo.commit("base")
    repo.git("checkout", "-qb", "feature")


def outputs(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_a_tflite_change_needs_no_tensorflow(repo, tmp_path, monkeypatch, capsys):
    setup(repo)
    repo.write("models/detector.tflite", b"TFL3 changed")
    repo.commit("change the tflite")
    monkeypatch.chdir(repo.root)
    out = tmp_path / "output"
    assert needs(None, "main", None, env={"GITHUB_OUTPUT": str(out)}) == 0
    assert "TensorFlow not needed" in capsys.readouterr().out
    assert "tensorflow<<" in outputs(out) and "\nfalse\n" in outputs(out)


def test_a_keras_change_needs_tensorflow_and_names_the_model(repo, tmp_path, monkeypatch, capsys):
    setup(repo)
    repo.write("models/digits.keras", b"PK changed")
    repo.commit("change the keras model")
    monkeypatch.chdir(repo.root)
    out = tmp_path / "output"
    assert needs(None, "main", None, env={"GITHUB_OUTPUT": str(out)}) == 0
    said = capsys.readouterr().out
    assert "digits (models/digits.keras)" in said and "pip install 'edgegate-ml[tensorflow]'" in said
    assert "\ntrue\n" in outputs(out)


def test_without_tensorflow_the_tflite_models_are_gated_and_the_others_say_what_to_install(repo):
    """A real interpreter where `tensorflow` cannot be found: what the light core install meets."""
    import tensorflow as tf

    setup(repo)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])
    blob = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    repo.write("models/detector.tflite", blob)
    repo.write("models/digits.keras", b"PK changed")
    repo.commit("both")
    code = textwrap.dedent(f"""
        import sys
        sys.modules["tensorflow"] = None  # Python's own way to make a package not importable
        from pathlib import Path
        from edgegate.cli.real_run import real_run
        from edgegate.run import CheckOptions
        run = real_run(CheckOptions(repo=Path({str(repo.root)!r}), base="main", latency=False))
        for m in run.models:
            print(m.name, "|", m.status.value, "|", m.error or "", "|", [c.size_bytes for c in m.candidates])
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = {line.split(" | ")[0]: line for line in proc.stdout.splitlines() if " | " in line}
    assert "pip install 'edgegate-ml[tensorflow]'" in lines["digits"] and "| error |" in lines["digits"]
    assert "| error |" not in lines["detector"] and f"[{len(blob)}]" in lines["detector"]
