"""Every registered model format, conversion and ``.tflite`` transform declares every capability.

The parent decides from these declarations alone (targets, the loop, ``recipes: auto``,
``edgegate needs``, ``edgegate init``), so a registered one that leaves a declaration out, or
declares something the deciders cannot read, must fail here rather than in a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from edgegate.conversions import CONVERSIONS, reference_name, tried_by_auto
from edgegate.conversions.interface import AutoStep, Conversion, Install, Produces
from edgegate.formats import FORMATS, format_of, model_suffixes
from edgegate.formats.interface import ModelFormat, Reference, Scan
from edgegate.policy.sections import Engine
from edgegate.transforms import TRANSFORMS
from edgegate.transforms.interface import TfliteTransform

# Types every tensor a conversion can produce is declared in (the TFLite schema's names).
DTYPES = {"float32", "float16", "int32", "int16", "int8", "uint8", "int4"}
ENGINE_EXTRAS = {"tensorflow-converter": Install("tensorflow")}


def declared(obj: object, attribute: str, kind: type | tuple[type, ...]) -> object:
    """The value ``obj`` declares for ``attribute``, which must exist and be of ``kind``."""
    assert hasattr(obj, attribute), f"{type(obj).__name__} does not declare {attribute}"
    value = getattr(obj, attribute)
    assert isinstance(value, kind), f"{type(obj).__name__}.{attribute} = {value!r}, not {kind}"
    return value


def check_produces(produced: object, owner: str) -> None:
    assert isinstance(produced, Produces), f"{owner}.produces = {produced!r}"
    for field in ("weights", "activations"):
        dtypes = getattr(produced, field)
        assert isinstance(dtypes, frozenset) and dtypes, f"{owner}.produces.{field} is empty"
        assert dtypes <= DTYPES, f"{owner}.produces.{field}: unknown dtypes {sorted(dtypes - DTYPES)}"


def check_format(fmt: ModelFormat) -> None:
    name = declared(fmt, "name", str)
    declared(fmt, "title", str)
    suffixes = declared(fmt, "suffixes", tuple)
    assert all(isinstance(s, str) and s.startswith(".") and s == s.lower() for s in suffixes), name
    declared(fmt, "scan", Scan)
    declared(fmt, "install", Install)
    reference = declared(fmt, "reference", Reference)
    converter = declared(fmt, "converted_by", (str, type(None)))
    declared(fmt, "may_run_code", bool)
    # A format nothing converts has no float reference; one that is converted has its reference made.
    assert (converter is None) == (reference is Reference.NONE), name
    if converter is not None:
        assert converter in ENGINE_EXTRAS, f"{name}: no engine {converter!r}"
        assert fmt.install == ENGINE_EXTRAS[converter], f"{name}: installs less than its converter needs"


def check_conversion(conversion: Conversion) -> None:
    name = declared(conversion, "name", str)
    check_produces(declared(conversion, "produces", Produces), name)
    declared(conversion, "needs_calibration", bool)
    engine = declared(conversion, "engine", str)
    install = declared(conversion, "install", Install)
    assert ENGINE_EXTRAS.get(engine) == install, f"{name}: engine {engine!r} with install {install}"
    declared(conversion, "duration_rank", int)
    declared(conversion, "auto", (AutoStep, type(None)))
    declared(conversion, "reference", bool)
    assert callable(conversion.configure)


def check_transform(transform: TfliteTransform) -> None:
    name = declared(transform, "name", str)
    declared(transform, "engine", str)
    declared(transform, "install", Install)
    declared(transform, "needs_calibration", bool)
    check_produces(declared(transform, "produces", Produces), name)
    declared(transform, "duration_rank", int)
    # A name shared with a conversion (the quantizer's int8 beside the converter's) is one answer
    # for a target asking what made a candidate: the same declared output.
    if name in CONVERSIONS:
        assert transform.produces == CONVERSIONS[name].produces, (
            f"{name}: produces differ from the conversion's"
        )


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_declares_every_capability(name):
    assert FORMATS[name].name == name
    check_format(FORMATS[name])


@pytest.mark.parametrize("name", list(CONVERSIONS))
def test_every_conversion_declares_every_capability(name):
    assert CONVERSIONS[name].name == name
    check_conversion(CONVERSIONS[name])


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_every_transform_declares_every_capability(name):
    assert TRANSFORMS[name].name == name
    check_transform(TRANSFORMS[name])
    # A policy's `engine:` can name it (a new engine is also a value of sections.Engine).
    assert TRANSFORMS[name].engine in get_args(Engine)


def test_the_checks_catch_a_missing_declaration():
    """The declaration checks are not vacuous: a format and a conversion that leave one out fail."""

    class Unscanned(ModelFormat):
        name, title, suffixes = "x", ".x", (".x",)
        install, reference, converted_by = Install(None), Reference.NONE, None

    class Undeclared(Conversion):
        name = "undeclared"

        def configure(self, converter, tf, recipe, representative, after_qat):
            pass

    with pytest.raises(AssertionError, match="does not declare scan"):
        check_format(Unscanned())
    with pytest.raises(AssertionError, match="does not declare produces"):
        check_conversion(Undeclared())


def test_what_the_deciders_rely_on_holds():
    """One float reference, a full-integer PTQ for auto to build on, suffixes owned by one format."""
    assert [n for n, c in CONVERSIONS.items() if c.reference] == [reference_name()] == ["float32"]
    reference = CONVERSIONS[reference_name()].produces
    assert reference.weights == reference.activations == frozenset({"float32"})
    assert any(CONVERSIONS[n].produces.integer_only for n in tried_by_auto(AutoStep.PTQ))
    suffixes = [s for f in FORMATS.values() for s in f.suffixes]
    assert len(suffixes) == len(set(suffixes)) == len(model_suffixes())


@pytest.mark.parametrize(
    "name, expected", [("m.keras", "keras"), ("m.h5", "h5"), ("m.HDF5", "h5"), ("m.tflite", "tflite")]
)
def test_a_file_is_the_format_its_declarations_detect(tmp_path: Path, name, expected):
    (tmp_path / name).write_bytes(b"x")
    found = format_of(tmp_path / name)
    assert found is not None and found.name == expected
    saved = tmp_path / "saved"
    saved.mkdir()
    assert format_of(saved) is None
    (saved / "saved_model.pb").write_bytes(b"x")
    assert format_of(saved) is FORMATS["savedmodel"]
