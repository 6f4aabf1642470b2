"""A conversion added from this test module through the registry alone (no edit anywhere else) is
parsed in a policy, planned by the loop, tried by ``recipes: auto``, built by a worker, and judged by
every target from what it declares it produces, never from its name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgegate.conversions import CONVERSIONS
from edgegate.conversions.interface import AutoStep, Conversion, Produces
from edgegate.targets.edgetpu.select import why_never_compiles
from edgegate.policy.sections import EdgeTpuSettings, Recipe
from edgegate.run.auto import AutoSearch
from edgegate.run.jobs import BuildJob, LayerAnalysisJob, TargetJob
from edgegate.status import Status
from edgegate.targets.compute.target import ComputeTarget
from edgegate.targets.edgetpu.target import EdgeTpuTarget
from edgegate.targets.ethos_u.target import EthosUSettings, EthosUTarget
from edgegate.targets.gpu.target import GpuSettings, GpuTarget
from edgegate.targets.mcu.target import McuTarget
from tests.run.test_loop import FakeRunner, by_label, gate, plans


def produces(weights: str, activations: str) -> Produces:
    return Produces(weights=frozenset(weights.split(",")), activations=frozenset(activations.split(",")))


class Int8PerTensor(Conversion):
    """Full integer with one scale per tensor: a real LiteRT configuration no built-in recipe names."""

    name = "int8pt"
    produces = produces("int8", "int8")
    needs_calibration = True
    duration_rank = 3  # longer than every built-in: it must start first after the reference
    auto = AutoStep.PTQ

    def configure(self, converter, tf, recipe, representative, after_qat):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter._experimental_disable_per_channel = True


class Declared(Conversion):
    """A conversion known only by what it declares (targets never see it configure anything)."""

    def __init__(self, name: str, produced: Produces):
        self.name = name  # type: ignore[misc]
        self.produces = produced  # type: ignore[misc]

    def configure(self, converter, tf, recipe, representative, after_qat):
        raise AssertionError("never built in these tests")


TOYS = {
    "int4w": produces("int4", "int8"),  # integer-only, weights of a type no built-in produces
    "halfw": produces("float16", "float32"),  # float16 weights, float math
    "act16": produces("int8", "int16"),  # 16-bit activations
    "hybrid": produces("int8,float32", "float32"),  # int weights, float math
    "plain": produces("float32", "float32"),
}


@pytest.fixture
def toys(monkeypatch):
    """Register the toys the one way a conversion is added: a line in the registry."""
    monkeypatch.setitem(CONVERSIONS, Int8PerTensor.name, Int8PerTensor())
    for name, produced in TOYS.items():
        monkeypatch.setitem(CONVERSIONS, name, Declared(name, produced))


def test_the_policy_takes_a_registered_conversion_and_only_while_it_is_registered(toys, monkeypatch):
    assert Recipe(recipe="prune+int8pt").conversion == "int8pt"
    assert Recipe(recipe="int4w").trainings == ()
    monkeypatch.delitem(CONVERSIONS, "int4w")
    with pytest.raises(ValueError, match="unknown recipe 'int4w'"):
        Recipe(recipe="int4w")


def test_the_loop_plans_it_by_its_duration_and_targets_decide_by_what_it_produces(toys, tmp_path):
    """The real Edge TPU target: it analyzes the integer-only toy and skips the float one, with the
    sentence it gives float16 (what ``halfw`` produces), without either name written anywhere."""
    runner = FakeRunner()
    yaml = "  - {name: m, path: m.keras, recipes: [halfw, int8, int8pt], deploy: all}\n"
    edgetpu = EdgeTpuTarget(EdgeTpuSettings(key="models[0].edgetpu", level="error", compiler="static"))
    (m,) = gate(tmp_path, runner, yaml, targets=(edgetpu,))
    # The reference first, then the longest: the toy's declared rank 3 before int8's 1.
    assert [j.labels for j in runner.of(BuildJob)] == [("float32",), ("int8pt",), ("int8",), ("halfw",)]
    assert [j.candidate.label for j in runner.of(TargetJob)] == ["int8pt", "int8"]
    c = by_label(m)
    assert [(ch.status, ch.message) for ch in c["halfw"].checks if ch.target == "edgetpu"] == [
        (Status.SKIP, f"not checked for the Edge TPU: {why_never_compiles('float16')}")
    ]
    # Analyzed (the fake runner's file is no model, so the analysis fails): not skipped.
    assert [ch.status for ch in c["int8pt"].checks if ch.target == "edgetpu"] == [Status.FAIL]


def test_the_layer_analysis_follows_the_calibration_it_declares(toys, tmp_path):
    """Candidates losing accuracy get the per-layer analysis when their conversion calibrates."""
    runner = FakeRunner(accuracy={"float32": 0.95, "int8pt": 0.80, "hybrid": 0.80})
    yaml = "  - {name: m, path: m.keras, recipes: [int8pt, hybrid], budgets: {accuracy: {max_drop: 1pt}}"
    (m,) = gate(tmp_path, runner, yaml + ", eval: {data: e.npz}, calibration: {data: e.npz}}\n")
    assert [j.candidate.label for j in runner.of(LayerAnalysisJob)] == ["int8pt"]


def test_auto_tries_it_at_the_step_it_declares(toys, tmp_path):
    (plan,) = plans(tmp_path, "  - {name: m, path: m.keras, recipes: auto}\n")
    search = AutoSearch(plan.policy, has_training_data=False, edgetpu_required=True)
    assert [r.label for r in search.next_recipes([])] == ["float16", "dynamic", "int8", "int8pt"]


@pytest.mark.parametrize(
    "name, edgetpu, ethos_u, mcu, gpu",
    [
        ("int4w", None, None, None, None),
        ("int8pt", None, None, None, None),
        ("halfw", "float16", "float16", "float16", None),
        ("act16", "int16x8", None, None, "int16x8"),
        ("hybrid", "dynamic", "dynamic", None, None),
        ("plain", "float32", "float32", None, None),
    ],
)
def test_each_target_decides_from_the_declared_properties(toys, name, edgetpu, ethos_u, mcu, gpu):
    """Each toy gets from every target what the built-in producing the same dtypes gets (None: the
    target considers it): the Edge TPU considers an integer-only conversion it was never told of."""
    targets = (
        EdgeTpuTarget(EdgeTpuSettings(key="edgetpu", level="error")),
        EthosUTarget(EthosUSettings()),
        McuTarget(),
        GpuTarget(GpuSettings()),
    )
    for target, same_as in zip(targets, (edgetpu, ethos_u, mcu, gpu)):
        expected = None if same_as is None else target.never_applies(same_as)
        assert same_as is None or expected is not None, (target.name, same_as)
        assert target.never_applies(name) == expected, (target.name, name)
    assert ComputeTarget().never_applies(name) is None


def test_a_worker_builds_it_for_real(toys, tmp_path):
    """The build converts with the registered conversion: int8 with one scale per tensor."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    pytest.importorskip("tensorflow")
    import numpy as np
    import tf_keras
    from ai_edge_litert.interpreter import Interpreter

    from tests.formats.builds import built as build

    tf_keras.utils.set_random_seed(0)
    inputs = tf_keras.Input((8, 8, 1))
    x = tf_keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(3)(tf_keras.layers.Flatten()(x)))
    built = build(tmp_path, model, ("int8pt", "int8"), samples=8)

    def conv_weight_scales(path: Path) -> int:
        details = Interpreter(model_path=str(path)).get_tensor_details()
        kernels = [
            d for d in details if d["dtype"] == np.int8 and len(d["shape"]) == 4 and d["shape"][0] == 4
        ]
        (kernel,) = kernels
        return len(kernel["quantization_parameters"]["scales"])

    assert conv_weight_scales(built["int8pt"].path) == 1  # per tensor: the toy's configuration
    assert conv_weight_scales(built["int8"].path) == 4  # per channel: the built-in's


def test_the_small_weights_note_follows_what_the_conversion_produces(toys, tmp_path):
    """dynamic's note (small weights stay float) goes to any conversion producing int and float32
    weights around float math, when its candidate is barely smaller than the reference."""
    from edgegate.run.assemble import DYNAMIC_NOTE

    runner = FakeRunner(sizes={"float32": 1000, "dynamic": 950, "hybrid": 950, "int8pt": 950, "halfw": 950})
    yaml = "  - {name: m, path: m.keras, recipes: [dynamic, hybrid, int8pt, halfw], deploy: all}\n"
    (m,) = gate(tmp_path, runner, yaml)
    c = by_label(m)
    assert [
        label for label in ("dynamic", "hybrid", "int8pt", "halfw") if DYNAMIC_NOTE in c[label].notes
    ] == [
        "dynamic",
        "hybrid",
    ]
