"""The float32 reference is compared with the source model's own outputs before anything is gated.

Real models, real conversions, real interpreters. The mismatches are real too: the converter
path that broke Keras 3 models (``from_concrete_functions`` with the Keras 3 model as the
trackable object leaves its weights uninitialized), and a SavedModel whose serving function
draws random noise, which LiteRT's RANDOM_UNIFORM does not reproduce.
"""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
import tf_keras  # noqa: E402

from edgegate.policy.sections import Calibration, Dataset, Recipe  # noqa: E402
from edgegate.recipes.build import build_candidates  # noqa: E402
from edgegate.recipes.conversions import make_converter  # noqa: E402
from edgegate.recipes.interface import BuildRequest, SourceModel  # noqa: E402
from edgegate.recipes.loading import load_keras_model, open_saved_model  # noqa: E402
from edgegate.recipes.reference_check import (  # noqa: E402
    TOLERANCE,
    check_reference,
    compare_outputs,
    keras_runner,
    random_feeds,
    saved_model_runner,
    tflite_outputs,
)

MATCHES = "float32 reference matches the model's outputs (max |Δ| "


def keras3_classifier():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )


def tf_keras_classifier():
    tf_keras.utils.set_random_seed(0)
    return tf_keras.Sequential(
        [
            tf_keras.Input((6,)),
            tf_keras.layers.Dense(16, activation="relu"),
            tf_keras.layers.Dense(4, activation="softmax"),
        ]
    )


def request(path, kind, tmp_path, *recipes, calibration=None):
    return BuildRequest(
        "m",
        SourceModel(path, kind, path.name),
        tuple(Recipe(recipe=r) for r in recipes),
        tmp_path / "out",
        tmp_path,
        calibration=calibration,
    )


def write_tflite(blob, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(blob)
    return path


# --- the comparison itself, on real outputs ---------------------------------------------------


def test_the_broken_keras3_conversion_is_caught_and_the_fixed_one_passes(tmp_path):
    model = keras3_classifier()
    runner = keras_runner(model)
    # The conversion EdgeGate used to make: the Keras 3 model as from_concrete_functions' trackable.
    fn = tf.function(lambda x: model(x, training=False))
    concrete = fn.get_concrete_function(tf.TensorSpec([1, 6], tf.float32))
    broken = tf.lite.TFLiteConverter.from_concrete_functions([concrete], model).convert()
    fixed = make_converter(keras_model=model).convert()

    feeds = random_feeds(runner.specs)
    expected = [runner.run(f) for f in feeds]
    bad = compare_outputs(
        expected, tflite_outputs(write_tflite(broken, tmp_path, "b.tflite"), feeds), origin="x"
    )
    good = compare_outputs(
        expected, tflite_outputs(write_tflite(fixed, tmp_path, "g.tflite"), feeds), origin="x"
    )

    assert not bad.matches and not bad.max_abs <= TOLERANCE  # NaN reads count as inf, O(1) otherwise
    assert good.matches and good.max_abs < 1e-6 and good.inputs == 8
    message = bad.error("digits")
    assert message.startswith(
        "model digits: the converted float32 model does not reproduce the model's own outputs"
    )
    assert "on 8 x): its figures would not be the model's" in message


def test_comparison_rules_on_real_arrays():
    a = np.array([[0.5, np.nan, np.inf]], np.float32)
    same = compare_outputs([{"y": a}], [{"y": a.copy()}], origin="random inputs")
    assert same.matches and same.max_abs == 0.0  # NaN where the model gives NaN is a match

    number_for_nan = compare_outputs(
        [{"y": a}], [{"y": np.array([[0.5, 1.0, np.inf]], np.float32)}], origin="r"
    )
    assert not number_for_nan.matches and number_for_nan.max_abs == float("inf")

    # Tolerance is relative to each output's scale: 0.05 off on values of size 100 is float noise,
    # 0.05 off on probabilities is not, even next to an output in the hundreds.
    big, small = np.array([[100.0, -40.0]]), np.array([[1.0, 0.4]])
    assert compare_outputs([{"y": big}], [{"y": big + 0.05}], origin="r").matches
    assert not compare_outputs([{"y": small}], [{"y": small + 0.05}], origin="r").matches
    mixed = compare_outputs([{"a": big, "b": small}], [{"a": big, "b": small + 0.05}], origin="r")
    assert not mixed.matches and abs(mixed.max_abs - 0.05) < 1e-12

    # The converter numbers outputs: output_10 pairs after output_2, whatever the names on each side.
    want = {f"out{i}": np.full((1, 1), i, np.float32) for i in (0, 2, 10)}
    have = {f"output_{i}": np.full((1, 1), i, np.float32) for i in (0, 2, 10)}
    assert compare_outputs([want], [have], origin="r").matches

    shape = compare_outputs([{"y": np.zeros((1, 4))}], [{"y": np.zeros((1, 3))}], origin="r")
    assert not shape.matches and "(1, 3) where the model gives (1, 4)" in shape.error("m")
    count = compare_outputs([{"a": np.zeros(1), "b": np.zeros(1)}], [{"a": np.zeros(1)}], origin="r")
    assert not count.matches and "1 outputs where the model gives 2" in count.error("m")


def test_random_probes_stay_in_each_dtype_and_repeat(tmp_path):
    from edgegate.recipes.reference_check import InputSpec

    specs = (
        InputSpec("f", (1, 3), np.dtype("float32")),
        InputSpec("u8", (1, 64), np.dtype("uint8")),
        InputSpec("ids", (1, 64), np.dtype("int32")),
    )
    feeds = random_feeds(specs)
    assert len(feeds) == 8 and all(f["f"].dtype == np.float32 and f["f"].shape == (1, 3) for f in feeds)
    u8 = np.concatenate([f["u8"] for f in feeds])
    assert u8.dtype == np.uint8 and u8.min() < 20 and u8.max() > 235  # the whole uint8 range
    assert set(np.unique(np.concatenate([f["ids"] for f in feeds]))) == {0, 1}  # valid ids for any table
    again = random_feeds(specs)
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(feeds, again) for k in a)


# --- every kind of source, through a real build -------------------------------------------------


def keras3_multi_io():
    """Dict inputs (not in model.inputs order) and dict outputs: matched by name, not position."""
    keras.utils.set_random_seed(4)
    beta, alpha = keras.Input((3,), name="beta"), keras.Input((4,), name="alpha")
    x = keras.layers.Concatenate()([alpha, keras.layers.Dense(4)(beta)])
    outputs = {"zeta": keras.layers.Dense(2)(x), "eta": keras.layers.Dense(5, activation="tanh")(x)}
    return keras.Model({"beta": beta, "alpha": alpha}, outputs)


SOURCES = {
    "keras3.keras": (lambda: keras3_classifier(), "keras"),
    "keras3.h5": (lambda: keras3_classifier(), "h5"),
    "keras3_multi.keras": (keras3_multi_io, "keras"),
    "tf_keras.keras": (lambda: tf_keras_classifier(), "keras"),
    "tf_keras.h5": (lambda: tf_keras_classifier(), "h5"),
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_keras_source_gets_a_checked_reference(name, tmp_path):
    make, kind = SOURCES[name]
    path = tmp_path / name
    make().save(path)
    built = {b.label: b for b in build_candidates(request(path, kind, tmp_path, "float32", "float16"))}
    assert built["float32"].error is None and built["float16"].error is None, built
    (note,) = built["float32"].notes
    assert note.startswith(MATCHES) and note.endswith(" on 8 random inputs)"), note
    delta = float(note[len(MATCHES) :].split()[0])
    print(f"{name}: {note}")
    assert delta <= 1e-5
    assert built["float16"].notes == ()  # only the reference is the model's stand-in


def test_keras3_h5_loads_with_keras3(tmp_path):
    path = tmp_path / "m.h5"
    keras3_classifier().save(path)
    assert type(load_keras_model(SourceModel(path, "h5", "m.h5"))).__module__.startswith("keras.")


def test_calibration_samples_are_the_probes_when_given(tmp_path):
    path = tmp_path / "m.keras"
    keras3_classifier().save(path)
    x = np.random.default_rng(5).random((20, 6), dtype=np.float32)
    np.savez(tmp_path / "cal.npz", x=x, y=np.zeros(20, np.int64))
    data = Dataset(key="models[0].calibration.data", line=1, path="cal.npz")
    calibration = Calibration(key="models[0].calibration", line=1, data=data, samples=5)
    (built,) = build_candidates(request(path, "keras", tmp_path, "float32", calibration=calibration))
    (note,) = built.notes
    assert note.startswith(MATCHES) and note.endswith(" on 5 samples of models[0].calibration.data)"), note


class Doubler(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def double(self, x):
        return {"twice": x * 2.0 + 1.0}


class Noisy(tf.Module):
    """A serving function that draws noise: TensorFlow and LiteRT draw different numbers."""

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="x")])
    def noisy(self, x):
        return {"y": x + tf.random.uniform([1, 4])}


def save_module(module, fn, path):
    tf.saved_model.save(module, str(path), signatures={"serving_default": fn})
    return path


def test_saved_model_reference_is_checked_through_its_signature(tmp_path):
    m = Doubler()
    path = save_module(m, m.double, tmp_path / "sm")
    (built,) = build_candidates(request(path, "savedmodel", tmp_path, "float32"))
    assert built.error is None and built.notes == (
        "float32 reference matches the model's outputs (max |Δ| 0 on 8 random inputs)",
    )
    loaded, key = open_saved_model(SourceModel(path, "savedmodel", "sm"))
    comparison = check_reference(saved_model_runner(loaded, key), built.path, samples=None, origin="-")
    assert comparison.matches and comparison.inputs == 8


def test_a_reference_that_does_not_reproduce_the_model_fails_the_build(tmp_path):
    m = Noisy()
    path = save_module(m, m.noisy, tmp_path / "noisy")
    built = {
        b.label: b for b in build_candidates(request(path, "savedmodel", tmp_path, "float32", "float16"))
    }
    ref = built["float32"]
    assert ref.path is None and not (tmp_path / "out" / "float32.tflite").exists()
    assert ref.error.startswith(
        "model m: the converted float32 model does not reproduce the model's own outputs (max |Δ| "
    ), ref.error
    assert ref.error.endswith(" on 8 random inputs): its figures would not be the model's")
    assert built["float16"].error is None  # only the reference is checked; the model's error says why
