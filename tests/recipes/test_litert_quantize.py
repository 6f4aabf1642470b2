"""LiteRT Quantizer on float .tflite files made here from small Keras models (real conversions,
the real quantizer in its child process, the real LiteRT interpreter)."""

import json
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
pytest.importorskip("litert_quantizer")

from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from edgegate.targets.flatbuffer import parse_tflite  # noqa: E402
from edgegate.errors import InputError, PolicyError  # noqa: E402
from edgegate.recipes import litert_quantize as lq  # noqa: E402
from edgegate.recipes.node_data import SUFFIX, node_data, write_node_data  # noqa: E402
from edgegate.recipes.quantizer_child import unpack_float16  # noqa: E402
from edgegate.recipes.quantizer_recipes import RECIPES, KeepFloat, rules, with_granularity  # noqa: E402


def keras_model():
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((16, 16, 3), name="image")
    x = tf.keras.layers.Conv2D(32, 3, activation="relu", name="conv_a")(inputs)
    x = tf.keras.layers.Conv2D(64, 3, activation="relu", name="conv_b")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    x = tf.keras.layers.Dense(128, activation="relu", name="dense_a")(x)
    outputs = tf.keras.layers.Dense(10, name="dense_out")(x)
    return tf.keras.Model(inputs, outputs)


def convert(model, float16: bool = False) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if float16:  # how MediaPipe ships its models: float16 constants, each behind a DEQUANTIZE
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quantizer")
    model = keras_model()
    f32, f16 = folder / "float.tflite", folder / "f16.tflite"
    f32.write_bytes(convert(model))
    f16.write_bytes(convert(model, float16=True))
    x = np.random.default_rng(0).uniform(0, 1, (16, 16, 16, 3)).astype(np.float32)
    return f32, f16, x


def direct(model_bytes: bytes, recipe, x: np.ndarray) -> bytes:
    """litert-quantizer called directly, its own recipe function, the same samples."""
    from litert_quantizer import quantizer

    q = quantizer.Quantizer(model_bytes)
    q.load_quantization_recipe(recipe)
    signature = {"serving_default": [{"image": x[i : i + 1]} for i in range(len(x))]}
    calibration = q.calibrate(signature) if q.need_calibration else None
    return bytes(q.quantize(calibration, enable_progress_report=False).quantized_model)


@pytest.mark.parametrize(
    "name, library_recipe",
    [
        ("dynamic", "dynamic_wi8_afp32"),
        ("weight_int8", "weight_only_wi8_afp32"),
        ("int8", "static_wi8_ai8"),
        ("int16x8", "static_wi8_ai16"),
        ("weight_int4", "weight_only_wi4_afp32"),
        ("dynamic_int4", "dynamic_wi4_afp32"),
    ],
)
def test_candidate_bytes_equal_the_quantizer_called_directly(models, name, library_recipe):
    from litert_quantizer import recipe as library

    f32, _, x = models
    samples = lq.match_inputs(f32.read_bytes(), x, "calibration.data", f32)
    made = lq.quantize(f32, RECIPES[name], samples=samples)
    assert made.data == direct(f32.read_bytes(), getattr(library, library_recipe)(), x)
    assert made.quantized_weights >= 4 and made.unpacked_float16 == 0
    assert len(made.data) < 0.5 * f32.stat().st_size
    # Fidelity per layer, worst first, every op's output named with its op.
    assert made.layers and [-la.lost_db for la in made.layers] == sorted(-la.lost_db for la in made.layers)
    assert {la.op for la in made.layers} >= {"CONV_2D", "FULLY_CONNECTED"}


def test_int4_blocks_are_a_recipe_option(models):
    f32, _, x = models
    blocked = with_granularity(RECIPES["dynamic_int4"], 32)
    made = lq.quantize(f32, blocked, samples=lq.match_inputs(f32.read_bytes(), x, "k", f32))
    channel = lq.quantize(f32, RECIPES["dynamic_int4"])
    assert made.data != channel.data and made.quantized_weights >= 1
    assert rules(blocked)[0]["op_config"]["weight_tensor_config"]["granularity"] == "BLOCKWISE_32"  # type: ignore[index]
    with pytest.raises(ValueError, match="32, 64, 128"):
        with_granularity(RECIPES["weight_int4"], 16)  # type: ignore[arg-type]


def run(model: bytes, x: np.ndarray) -> list[np.ndarray]:
    interpreter = Interpreter(model_content=model)
    runner = interpreter.get_signature_runner()
    return [next(iter(runner(image=x[i : i + 1]).values())) for i in range(len(x))]


def test_float16_weights_unpack_to_float32_with_equal_outputs(models):
    _, f16, x = models
    original = f16.read_bytes()
    unpacked, n = unpack_float16(original)
    before = parse_tflite(original, f16)
    assert n == sum(t.dtype == "float16" for t in before.tensors) >= 4
    after = parse_tflite(unpacked, f16)
    assert "DEQUANTIZE" in {op.op for op in before.operators}
    assert "DEQUANTIZE" not in {op.op for op in after.operators}
    assert not any(t.dtype == "float16" for t in after.tensors)
    for a, b in zip(run(original, x), run(unpacked, x)):
        np.testing.assert_array_equal(a, b)


def test_float16_model_gets_a_real_dynamic_int8_candidate(models):
    _, f16, x = models
    made = lq.quantize(f16, RECIPES["dynamic"], samples=lq.match_inputs(f16.read_bytes(), x, "k", f16))
    assert made.unpacked_float16 >= 4 and made.quantized_weights >= 4
    assert len(made.data) <= 0.6 * f16.stat().st_size
    assert made.layers and all(la.snr_db > 10 for la in made.layers)  # fidelity reported, and sane


def test_the_quantizer_alone_passes_float16_models_through_unchanged(models):
    """The trap the unpacking exists for: the library returns the same model, silently."""
    from litert_quantizer import recipe as library

    _, f16, x = models
    out = direct(f16.read_bytes(), library.dynamic_wi8_afp32(), x)
    assert abs(len(out) - f16.stat().st_size) < 0.02 * f16.stat().st_size


def test_a_recipe_that_quantizes_no_weight_is_never_a_candidate(tmp_path):
    inputs = tf.keras.Input((8,), name="image")
    outputs = tf.keras.layers.ReLU()(inputs * 2.0 + 1.0)
    path = tmp_path / "no_weights.tflite"
    path.write_bytes(convert(tf.keras.Model(inputs, outputs)))
    with pytest.raises(lq.NothingQuantized, match="quantized no weight"):
        lq.quantize(path, RECIPES["dynamic"])


def test_an_integer_model_is_refused_as_already_integer(tmp_path):
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model())
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # full integer: every weight int8
    x = np.random.default_rng(0).uniform(0, 1, (4, 1, 16, 16, 3)).astype(np.float32)
    converter.representative_dataset = lambda: ([s] for s in x)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    path = tmp_path / "int8_weights.tflite"
    path.write_bytes(converter.convert())
    with pytest.raises(
        lq.NothingQuantized, match=r"its weights are already integer \(\d+ integer constants\)"
    ):
        lq.quantize(path, RECIPES["dynamic"])


def test_keep_float_keeps_the_named_layer_float(models):
    f32, _, x = models
    samples = lq.match_inputs(f32.read_bytes(), x, "k", f32)
    made = lq.quantize(f32, RECIPES["int8"], samples=samples, keep_float=(KeepFloat("conv_b"),))
    parsed = parse_tflite(made.data, f32)
    convs = [op for op in parsed.operators if op.op == "CONV_2D"]
    kinds = {}
    for op in convs:
        out = parsed.tensor(op.outputs[0])
        weights = parsed.tensor(op.inputs[1])
        assert out is not None and weights is not None
        kinds["conv_b" in out.name] = weights.dtype
    assert kinds == {True: "float32", False: "int8"}
    by_op = lq.quantize(f32, RECIPES["dynamic"], keep_float=(KeepFloat("FULLY_CONNECTED"),))
    assert len(by_op.data) > len(lq.quantize(f32, RECIPES["dynamic"]).data)


def test_a_keep_float_pattern_matching_nothing_is_a_policy_error_at_its_line(models):
    f32, _, _ = models
    keep = (KeepFloat("conv_b"), KeepFloat("conv_zz", line=12), KeepFloat("LSTM", line=13))
    with pytest.raises(PolicyError) as err:
        lq.quantize(
            f32, RECIPES["dynamic"], keep_float=keep, keep_float_key="models[0].recipes[1].keep_float"
        )
    text = str(err.value)
    assert "models[0].recipes[1].keep_float (line 12): 'conv_zz' matches no layer of float.tflite" in text
    assert "(line 13): 'LSTM'" in text and "'conv_b'" not in text


def test_calibration_samples_must_fit_the_input_by_shape_and_dtype(models):
    f32, _, x = models
    with pytest.raises(InputError) as err:
        lq.match_inputs(f32.read_bytes(), x[:, :8], "models[0].calibration.data", f32)
    assert "(8, 16, 3)" in str(err.value) and "(16, 16, 3)" in str(err.value)
    assert "serving_default_image:0" in str(err.value)
    with pytest.raises(InputError, match="no samples for the input"):
        lq.match_inputs(f32.read_bytes(), {"other": x}, "k", f32)
    by_name = lq.match_inputs(f32.read_bytes(), {"image": x}, "k", f32)
    assert [a.shape for a in by_name.values()] == [x.shape]
    with pytest.raises(InputError, match="needs calibration samples"):
        lq.quantize(f32, RECIPES["int8"])


def test_a_crashing_or_garbage_model_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x18\x00\x00\x00TFL3" + b"\xff" * 200)
    with pytest.raises(InputError, match=r"bad.tflite: LiteRT Quantizer \(dynamic\)"):
        lq.quantize(bad, RECIPES["dynamic"])


def test_node_data_is_model_explorer_graph_node_data(models, tmp_path):
    f32, _, x = models
    made = lq.quantize(f32, RECIPES["int8"], samples=lq.match_inputs(f32.read_bytes(), x, "k", f32))
    data = json.loads(node_data(made.layers))
    assert set(data) == {"results", "gradient"}
    names = {t.name for t in parse_tflite(f32.read_bytes(), f32).tensors}
    assert set(data["results"]) <= names and len(data["results"]) == len(made.layers)
    assert all(set(v) == {"value"} for v in data["results"].values())
    assert [g["stop"] for g in data["gradient"]] == [0, 0.5, 1]
    path = write_node_data(tmp_path / "out", "../int8 except conv", made.layers)
    assert path.parent == tmp_path / "out" and path.name.endswith(SUFFIX)


def test_calibration_of_a_tflite_source_comes_from_the_policy_data_through_datasets(models, tmp_path):
    from edgegate.policy.sections import Calibration, Dataset

    f32, _, x = models
    np.savez(tmp_path / "calib.npz", x=x)
    np.savez(tmp_path / "wrong.npz", x=x[:, :, :, :1])
    spec = Calibration(
        key="models[0].calibration",
        data=Dataset(key="models[0].calibration.data", path="calib.npz"),
        samples=32,
    )
    got = lq.calibration_samples(spec, tmp_path, f32)
    assert [a.shape for a in got.samples.values()] == [x.shape]
    assert got.note == "calibrated on 16 samples (fewer than the 32 asked)"
    wrong = Calibration(
        key="models[0].calibration", data=Dataset(key="models[0].calibration.data", path="wrong.npz")
    )
    with pytest.raises(InputError) as err:
        lq.calibration_samples(wrong, tmp_path, f32)
    assert str(err.value).startswith("models[0].calibration.data: samples of shape (16, 16, 1)")
    assert "'serving_default_image:0' of float.tflite, shape (16, 16, 3)" in str(err.value)
    synthetic = lq.calibration_samples(
        Calibration(key="models[0].calibration", data=None, synthetic=True, samples=4), tmp_path, f32
    )
    assert [a.shape for a in synthetic.samples.values()] == [(4, 16, 16, 3)]
    assert synthetic.note is not None and "synthetic" in synthetic.note


def test_float16_casts_the_weights_to_half_the_size(models):
    f32, _, x = models
    made = lq.quantize(f32, RECIPES["float16"], samples=lq.match_inputs(f32.read_bytes(), x, "k", f32))
    parsed = parse_tflite(made.data, f32)
    halves = [t for t in parsed.tensors if t.dtype == "float16" and t.constant]
    assert len(halves) == made.quantized_weights >= 4
    assert 0.45 < len(made.data) / f32.stat().st_size < 0.6
    for a, b in zip(run(f32.read_bytes(), x), run(made.data, x)):
        np.testing.assert_allclose(a, b, rtol=0.05, atol=0.05)


def test_proposals_follow_the_weights(models, tmp_path):
    from edgegate.recipes.quantizer_proposals import proposals

    f32, f16, x = models
    assert proposals(f32) == ("float16", "dynamic", "int8")
    assert proposals(f16) == ("dynamic", "int8")  # MediaPipe-style: float16 already
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model())
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[i : i + 1]] for i in range(4))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    integer = tmp_path / "int8.tflite"
    integer.write_bytes(converter.convert())
    assert proposals(integer) == ()


def test_a_keras_source_runs_the_quantizer_on_its_float32_reference_only_when_asked(tmp_path):
    """``engine: litert-quantizer`` quantizes the float32 reference (the bytes of the quantizer called
    directly on it, with the same calibration samples); ``int8`` without it stays the converter's."""
    from ai_edge_litert.interpreter import Interpreter
    from litert_quantizer import quantizer
    from litert_quantizer import recipe as library

    from edgegate.policy.sections import Calibration, Dataset, Recipe
    from edgegate.recipes.build import build_candidates
    from edgegate.recipes.interface import BuildRequest, SourceModel

    keras_model().save(tmp_path / "m.keras")
    x = np.random.default_rng(0).uniform(0, 1, (8, 16, 16, 3)).astype(np.float32)
    np.savez(tmp_path / "c.npz", x=x)
    recipes = (
        Recipe(recipe="float32"),
        Recipe(recipe="int8"),
        Recipe(recipe="int8", name="int8-quantizer", engine="litert-quantizer"),
    )
    request = BuildRequest(
        "m",
        SourceModel(tmp_path / "m.keras", "keras", "m.keras"),
        recipes,
        tmp_path / "out",
        tmp_path,
        calibration=Calibration(key="calibration", data=Dataset(key="calibration.data", path="c.npz")),
    )
    built = {b.label: b for b in build_candidates(request)}
    assert all(b.error is None for b in built.values()), built
    reference = built["float32"].path.read_bytes()
    (signature,) = Interpreter(model_content=reference).get_signature_list().items()
    (name,) = signature[1]["inputs"]
    q = quantizer.Quantizer(reference)
    q.load_quantization_recipe(library.static_wi8_ai8())
    calibration = q.calibrate({signature[0]: [{name: x[i : i + 1]} for i in range(len(x))]})
    expected = bytes(q.quantize(calibration, enable_progress_report=False).quantized_model)
    assert built["int8-quantizer"].path.read_bytes() == expected
    assert built["int8"].path.read_bytes() != expected  # the converter's int8, as before
    assert any("int8-quantizer.node_data.json" in n for n in built["int8-quantizer"].notes)
