"""The loop on a real model with one deliberately sensitive layer: plain int8 breaks max_drop,
int8 with that layer float is within budget, and the report line names the layer."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
pytest.importorskip("litert_quantizer")

from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from edgegate.policy.sections import KeepFloat  # noqa: E402
from edgegate.recipes import litert_quantize as lq  # noqa: E402
from edgegate.recipes.keep_float_loop import Judged, counts, describe, keep_for, run_loop  # noqa: E402
from edgegate.recipes.quantizer_recipes import RECIPES  # noqa: E402

MAX_DROP_PT = 10.0  # this random 4-class net loses ~8 pt to int8 activations alone; the outlier ~70 pt


def sensitive_model():
    """pre (normal) → sensitive → head. ``pre``'s unit 0 is always 0 (zero weights, bias −1,
    ReLU); ``sensitive`` weighs that dead input 1000× in every unit, so its per-channel int8
    weight scale is ~8 and its real weights (~0.5) round to 0. Nothing else is hard to quantize."""
    tf.keras.utils.set_random_seed(1)
    inputs = tf.keras.Input((8,), name="features")
    pre = tf.keras.layers.Dense(8, activation="relu", name="pre")
    sensitive = tf.keras.layers.Dense(16, activation="relu", name="sensitive")
    head = tf.keras.layers.Dense(4, name="head")
    model = tf.keras.Model(inputs, head(sensitive(pre(inputs))))
    w, b = pre.get_weights()
    w[:, 0], b[0] = 0.0, -1.0
    pre.set_weights([w, b])
    w, b = sensitive.get_weights()
    w[0, :] = 1000.0
    sensitive.set_weights([w, b])
    return model


def logits(model: bytes, x: np.ndarray) -> np.ndarray:
    """The outputs per sample; an int8 input takes the samples quantized with its own scale."""
    interpreter = Interpreter(model_content=model)
    runner = interpreter.get_signature_runner()
    detail = runner.get_input_details()["features"]
    if detail["dtype"] == np.int8:
        scale, zero = detail["quantization"]
        x = np.clip(np.rint(x / scale) + zero, -128, 127).astype(np.int8)
    return np.concatenate([next(iter(runner(features=x[i : i + 1]).values())) for i in range(len(x))])


def predictions(model: bytes, x: np.ndarray) -> np.ndarray:
    return np.argmax(logits(model, x), axis=1)


def confident(model: bytes, x: np.ndarray) -> np.ndarray:
    """The samples the float model decides by a clear margin (an eval set with clear labels:
    a drop there is the quantization's, not rounding on a tie)."""
    top2 = np.sort(logits(model, x), axis=1)[:, -2:]
    gap = top2[:, 1] - top2[:, 0]
    return x[gap > np.median(gap)]


def test_counts_double_up_to_the_bound():
    assert counts(10, 8) == [1, 2, 4, 8]
    assert counts(3, 8) == [1, 2, 3]
    assert counts(10, 5) == [1, 2, 4, 5]
    assert counts(0, 4) == []


def test_the_loop_keeps_the_sensitive_layer_float_and_says_so(tmp_path):
    model = sensitive_model()
    path = tmp_path / "sensitive.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    x = np.random.default_rng(0).uniform(0, 1, (400, 8)).astype(np.float32)
    x = confident(path.read_bytes(), x)
    labels = predictions(path.read_bytes(), x)  # label-free: agreement with the float model
    samples = lq.match_inputs(path.read_bytes(), x[:64], "calibration.data", path)

    def build(kept: tuple[str, ...]) -> lq.QuantizedModel:
        return lq.quantize(
            path, RECIPES["int8"], samples=samples, keep_float=tuple(KeepFloat(p) for p in keep_for(kept))
        )

    def judge(made: lq.QuantizedModel) -> Judged:
        drop = 100.0 * float(np.mean(predictions(made.data, x) != labels))
        return Judged(drop, drop <= MAX_DROP_PT, len(made.data))

    plain = build(())
    result = run_loop("int8", plain, plain.layers, build, judge, bound=4)
    assert not result.steps[0].judged.within_budget  # plain int8 breaks max_drop
    shipped = result.shipped
    assert shipped is not None and shipped.kept_float and "sensitive" in shipped.kept_float[0]
    assert len(shipped.kept_float) == 1  # the ranking found it first
    line = describe(result)
    assert line.startswith(f"int8 except {shipped.kept_float[0]}: −")
    assert f"plain int8: −{result.steps[0].judged.drop_pt:.1f} pt" in line
    # The shipped candidate is int8 everywhere else: its other weights are quantized.
    assert shipped.built.quantized_weights >= 2
