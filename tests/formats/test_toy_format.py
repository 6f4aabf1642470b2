"""A model format added from this test module through the registry alone (no edit anywhere else)
is found by ``edgegate init``, read by the plan, scheduled by the loop and judged by ``edgegate
needs``, each from what it declares: the install it takes, how its float reference is made, what
converts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgegate.changes.interface import ChangedModel, ModelTarget
from edgegate.cli.init import find_models, starter_text
from edgegate.conversions.interface import CORE, TENSORFLOW
from edgegate.formats import FORMATS, format_of
from edgegate.formats.interface import ModelFormat, Reference, Scan
from edgegate.policy.load import load_policy
from edgegate.run import loop
from edgegate.run.jobs import AS_IS, BuildJob, ModelRef
from edgegate.run.needs import needs_of
from edgegate.run.plan import ModelPlan, source_model
from tests.run.test_loop import FakeRunner


class Lite(ModelFormat):
    """A flatbuffer under another name: measured as it is, with the light core."""

    name = "lite"
    title = ".lite"
    suffixes = (".lite",)
    scan = Scan.NONE
    install = CORE
    reference = Reference.NONE
    converted_by = None


class Frozen(ModelFormat):
    """A graph the TensorFlow converter converts."""

    name = "frozen"
    title = ".frozen"
    suffixes = (".frozen",)
    scan = Scan.SAVEDMODEL_GRAPH
    install = TENSORFLOW
    reference = Reference.CONVERTED
    converted_by = "tensorflow-converter"


@pytest.fixture
def toys(monkeypatch):
    monkeypatch.setitem(FORMATS, Lite.name, Lite())
    monkeypatch.setitem(FORMATS, Frozen.name, Frozen())


def policy(root: Path):
    (root / "edgegate.yml").write_text(
        "version: 1\nmodels:\n  - {name: a, path: a.lite}\n  - {name: f, path: f.frozen}\n", encoding="utf-8"
    )
    (root / "a.lite").write_bytes(b"TFL3")
    (root / "f.frozen").write_bytes(b"graph")
    return load_policy(root / "edgegate.yml", root=root)


def test_init_finds_it_and_says_what_its_declarations_mean(toys, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.lite").write_bytes(b"TFL3")
    (tmp_path / "models" / "b.unknown").write_bytes(b"x")
    found = find_models(tmp_path)
    assert [model.path for model in found] == ["models/a.lite"]
    text = starter_text(found)
    assert "# a .lite is measured as it is: no recipe applies to it" in text
    assert "synthetic: true" not in text  # nothing calibrates a model measured as it is


def test_needs_asks_the_install_each_version_declares(toys, tmp_path):
    models = policy(tmp_path).models
    changed = [ChangedModel(ModelTarget(m.name, m, m.path), "added", None, ("new model",)) for m in models]
    assert needs_of(changed, tmp_path).tensorflow_for == ("f (f.frozen)",)
    # A base version not on disk is judged by its name: a .lite one keeps the model on the core.
    moved = ChangedModel(ModelTarget("a", models[0], "a.lite"), "moved", "old/a.lite", ("moved",))
    assert needs_of([moved], tmp_path).tensorflow_for == ()


def test_the_plan_and_the_loop_follow_its_reference_and_converter(toys, tmp_path):
    models = policy(tmp_path).models
    lite = source_model(tmp_path / "a.lite", "a.lite", False)
    frozen = source_model(tmp_path / "f.frozen", "f.frozen", False)
    assert (lite.kind, frozen.kind) == ("lite", "frozen") and format_of(tmp_path / "a.lite") is FORMATS[
        "lite"
    ]
    plans = [
        ModelPlan(ModelRef(i, m.name), m, "added", m.path, None, tmp_path / f"w{i}", head=head)
        for i, (m, head) in enumerate(zip(models, (lite, frozen)))
    ]
    assert (plans[0].measured_as_is, plans[0].reference_label) == (True, None)
    assert (plans[1].measured_as_is, plans[1].reference_label) == (False, "float32")
    runner = FakeRunner()
    loop.run(plans, runner, loop.Settings(root=tmp_path, latency=False))
    built = {(j.model.name, j.labels) for j in runner.of(BuildJob)}
    assert ("a", (AS_IS,)) in built and not any(name == "a" and labels != (AS_IS,) for name, labels in built)
    assert ("f", ("float32",)) in built  # converted: its float reference is built first


def test_an_unregistered_suffix_is_refused_naming_what_is_read(tmp_path):
    (tmp_path / "a.lite").write_bytes(b"TFL3")
    from edgegate.errors import InputError

    with pytest.raises(
        InputError, match=r"unknown model format '\.lite'; EdgeGate reads SavedModel folders, "
    ):
        source_model(tmp_path / "a.lite", "a.lite", False)
