"""A ``.tflite → .tflite`` transform added from this test module through its registry alone is a
recipe stage after the conversion: the policy takes it where what comes before is what it declares
it takes, the build runs it on the converted model with calibration samples, and targets judge the
candidate by what the transform declares it produces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgegate.conversions.interface import Install, Produces
from edgegate.policy.sections import EdgeTpuSettings, Recipe
from edgegate.recipes.interface import is_float_reference
from edgegate.run.jobs import BuildJob, TargetJob
from edgegate.targets.edgetpu.target import EdgeTpuTarget
from edgegate.transforms import TRANSFORMS
from edgegate.recipes.transform_engines import ENGINES
from edgegate.transforms.interface import Applied, TfliteTransform
from tests.formats.test_registry import check_transform
from tests.run.test_loop import FakeRunner, gate

MARK = b"\0toy-quantizer:"


class ToyQuantizer(TfliteTransform):
    """Shaped like a quantizer: a float model and calibration samples in. It appends a mark and the
    number of samples it read (a flatbuffer ignores trailing bytes), so the test sees it ran."""

    name = "toyq"
    engine = "toy-engine"
    install = Install("toy")
    needs_calibration = True
    produces = Produces(weights=frozenset({"int8"}), activations=frozenset({"int8"}))
    duration_rank = 4

    def takes(self, model):
        return "takes float models only" if model is not None and model.integer_only else None

    def apply(self, engine, model, out, recipe):
        out.write_bytes(Path(model).read_bytes() + MARK + str(engine.samples()).encode())
        return Applied(notes=("toy quantized",))


class ToyEngine:
    """The worker's object for the toy engine: it reads the build's calibration data."""

    def __init__(self, request):
        self.request = request

    def samples(self) -> int:
        from edgegate.datasets import load_dataset

        data = self.request.calibration.data
        return len(load_dataset(data, self.request.root, key=data.key).x[: self.request.calibration.samples])


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(TRANSFORMS, ToyQuantizer.name, ToyQuantizer())
    monkeypatch.setitem(ENGINES, ToyQuantizer.engine, ToyEngine)


def test_it_declares_every_capability(toy):
    check_transform(TRANSFORMS["toyq"])


def test_the_policy_places_it_after_a_conversion_it_can_take(toy):
    recipe = Recipe(recipe="toyq")
    assert (recipe.conversion, recipe.transforms, recipe.made_by) == ("float32", ("toyq",), "toyq")
    assert not is_float_reference(recipe)  # the float reference is the plain conversion only
    assert Recipe(recipe="float16+toyq").made_by == "toyq"
    with pytest.raises(ValueError, match="'int8\\+toyq': toyq takes float models only"):
        Recipe(recipe="int8+toyq")
    with pytest.raises(ValueError, match="come last"):
        Recipe(recipe="toyq+float16")


def test_targets_judge_the_candidate_by_what_the_transform_produces(toy, tmp_path):
    runner = FakeRunner()
    edgetpu = EdgeTpuTarget(EdgeTpuSettings(key="models[0].edgetpu", level="error", compiler="static"))
    (m,) = gate(
        tmp_path, runner, "  - {name: m, path: m.keras, recipes: [float16, toyq]}\n", targets=(edgetpu,)
    )
    assert [j.labels for j in runner.of(BuildJob)] == [("float32",), ("toyq",), ("float16",)]
    assert [j.candidate.label for j in runner.of(TargetJob)] == ["toyq"]  # integer-only: analyzed
    assert edgetpu.never_applies("toyq") is None and edgetpu.never_applies("float32") is not None


def test_the_build_runs_it_on_the_converted_model_with_the_calibration_samples(toy, tmp_path):
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    pytest.importorskip("tensorflow")
    import tf_keras

    from tests.formats.builds import built as build

    tf_keras.utils.set_random_seed(0)
    inputs = tf_keras.Input((4,))
    built = build(
        tmp_path, tf_keras.Model(inputs, tf_keras.layers.Dense(2)(inputs)), ("float32", "toyq"), samples=6
    )
    plain = built["float32"].path.read_bytes()
    assert built["toyq"].path.read_bytes() == plain + MARK + b"6"  # the conversion's model, transformed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["float32.tflite", "toyq.tflite"]
