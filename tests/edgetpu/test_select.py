"""Who answers: compiled input, the configured or installed compiler, or the static check."""

from __future__ import annotations

import pytest

from edgegate.targets.edgetpu.select import analyze, why_never_compiles
from edgegate.errors import InputError
from edgegate.policy.load import parse_edgetpu
from edgegate.policy.sections import Recipe

ALL_MAPPED = """Edge TPU Compiler version 16.0.384591198
Model compiled successfully in 5 ms.
Number of Edge TPU subgraphs: 1
Total number of operations: 4
"""


def _stand_in(fake_compiler, compiled):
    return fake_compiler(f"""
os.makedirs(out, exist_ok=True)
shutil.copyfile({str(compiled)!r}, os.path.join(out, stem + "_edgetpu.tflite"))
sys.stdout.write({ALL_MAPPED!r})
""")


def test_auto_without_a_compiler_on_path_is_static(model, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    r = analyze(model("conv_chain_int8"), parse_edgetpu(dict(level="error")))
    assert r.analyzer == "static" and any("not on PATH" in n for n in r.notes)


def test_auto_uses_the_compiler_on_path(model, fake_compiler, monkeypatch):
    binary = _stand_in(fake_compiler, model("conv_chain_int8_edgetpu"))
    monkeypatch.setenv("PATH", str(binary.parent))
    r = analyze(model("conv_chain_int8"), parse_edgetpu(dict(level="error", compiler="auto")))
    assert r.analyzer == "compiler" and r.compiler_version == "16.0.384591198" and r.ops_on_tpu == 4


def test_static_setting_ignores_an_installed_compiler(model, fake_compiler, monkeypatch):
    binary = _stand_in(fake_compiler, model("conv_chain_int8_edgetpu"))
    monkeypatch.setenv("PATH", str(binary.parent))
    r = analyze(
        model("conv_chain_int8"), parse_edgetpu(dict(level="error", compiler="static", compiler_version=15))
    )
    assert r.analyzer == "static" and r.compiler_version == "15 (static rules)" and r.notes == ()


def test_a_configured_compiler_path_is_used(model, fake_compiler, monkeypatch, tmp_path):
    binary = _stand_in(fake_compiler, model("conv_chain_int8_edgetpu"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert analyze(model("conv_chain_int8"), parse_edgetpu(dict(compiler=str(binary)))).analyzer == "compiler"
    assert (
        analyze(model("conv_chain_int8"), parse_edgetpu(dict(compiler=str(binary.parent)))).analyzer
        == "compiler"
    )


def test_a_bad_compiler_path_is_an_input_error(model, tmp_path):
    with pytest.raises(InputError, match="edgetpu.compiler: .* is not an executable file"):
        analyze(model("conv_chain_int8"), parse_edgetpu(dict(compiler=str(tmp_path / "nowhere"))))


def test_compiled_input_is_reported_as_compiled(model, fake_compiler, monkeypatch):
    binary = _stand_in(fake_compiler, model("conv_chain_int8_edgetpu"))
    monkeypatch.setenv("PATH", str(binary.parent))
    r = analyze(model("conv_chain_int8_edgetpu"), parse_edgetpu())
    assert r.analyzer == "compiled-model" and r.partitions == 1
    assert not (binary.parent / "argv.txt").exists()  # the compiler was not run on compiled input


def test_bad_input_is_an_input_error(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"TFL3")
    with pytest.raises(InputError, match="not a TensorFlow Lite model"):
        analyze(path, parse_edgetpu())


@pytest.mark.parametrize(
    "recipe, phrase",
    [
        ("float32", "float32 model"),
        ("prune+float16", "float16"),
        ("cluster+dynamic", "dynamic-range"),
        ("int16x8", "int16 activations"),
        ("prune", "float32 model"),
    ],
)
def test_candidates_that_can_never_compile_say_why(recipe, phrase):
    sentence = why_never_compiles(Recipe(recipe=recipe).conversion)
    assert phrase in sentence and sentence.endswith(".") and sentence.count(". ") == 0


@pytest.mark.parametrize("recipe", ["int8", "prune+int8", "qat", "cluster+qat", "prune+cluster+qat+int8"])
def test_int8_candidates_can_compile(recipe):
    assert why_never_compiles(Recipe(recipe=recipe).conversion) is None
