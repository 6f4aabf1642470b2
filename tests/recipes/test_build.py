"""Worker-side builds: real conversions of small Keras and SavedModel sources, safe loading."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
tf = pytest.importorskip("tensorflow")
import tf_keras  # noqa: E402

from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from edgegate.errors import InputError  # noqa: E402
from edgegate.policy.sections import Recipe  # noqa: E402
from edgegate.recipes.build import build_candidates  # noqa: E402
from edgegate.recipes.interface import BuildRequest, SourceModel  # noqa: E402
from edgegate.recipes.loading import load_keras_model  # noqa: E402


def small_model(lambda_layer=False):
    inputs = tf_keras.Input((8, 8, 1))
    x = tf_keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    if lambda_layer:
        x = tf_keras.layers.Lambda(lambda t: t * 2.0)(x)
    x = tf_keras.layers.Flatten()(x)
    outputs = tf_keras.layers.Dense(40, activation="softmax")(x)
    return tf_keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model.keras"
    small_model().save(path)
    return path


def request(source, tmp_path, *recipes):
    return BuildRequest("m", source, tuple(Recipe(recipe=r) for r in recipes), tmp_path / "out", tmp_path)


def tensor_types(path):
    it = Interpreter(model_path=str(path))
    return it.get_input_details()[0]["dtype"], [d["dtype"] for d in it.get_tensor_details()]


def test_float_conversions_have_batch_one_and_expected_types(keras_file, tmp_path):
    src = SourceModel(keras_file, "keras", "model.keras")
    built = {b.label: b for b in build_candidates(request(src, tmp_path, "float32", "float16", "dynamic"))}
    assert all(b.error is None for b in built.values()), built
    f32, f16, dyn = (built[k].path.stat().st_size for k in ("float32", "float16", "dynamic"))
    assert f16 < 0.6 * f32 and dyn < 0.4 * f32  # the Dense kernel (8192 weights) is quantized
    it = Interpreter(model_path=str(built["float32"].path))
    assert list(it.get_input_details()[0]["shape"]) == [1, 8, 8, 1]
    assert np.float16 in tensor_types(built["float16"].path)[1]
    assert np.int8 in tensor_types(built["dynamic"].path)[1]


def test_int8_without_calibration_data_fails_with_the_fix(keras_file, tmp_path):
    src = SourceModel(keras_file, "keras", "model.keras")
    (built,) = build_candidates(request(src, tmp_path, "int8"))
    assert built.path is None and "needs calibration data: add `calibration:`" in built.error


def test_lambda_layer_refused_unless_trusted(tmp_path):
    path = tmp_path / "lambda.h5"
    small_model(lambda_layer=True).save(path)
    with pytest.raises(
        InputError, match=r"lambda.h5: refusing to load Lambda layer 'lambda'.*trust_code: true"
    ):
        load_keras_model(SourceModel(path, "h5", "lambda.h5"))
    (built,) = build_candidates(request(SourceModel(path, "h5", "lambda.h5"), tmp_path, "float32"))
    assert "refusing to load Lambda layer" in built.error
    assert load_keras_model(SourceModel(path, "h5", "lambda.h5", trust_code=True)) is not None


def test_keras3_custom_module_refused(tmp_path):
    import json
    import zipfile

    path = tmp_path / "custom.keras"
    config = {
        "class_name": "Functional",
        "config": {"layers": [{"module": "evil.payload", "class_name": "Boom", "config": {"name": "boom"}}]},
    }
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
    with pytest.raises(InputError, match="custom object 'Boom' from module 'evil.payload'"):
        load_keras_model(SourceModel(path, "keras", "custom.keras"))


def test_garbage_keras_file_is_an_input_error(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="broken.keras: not a readable keras model file"):
        load_keras_model(SourceModel(path, "keras", "broken.keras"))


def test_saved_model_without_serving_signature(tmp_path):
    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def double(self, x):
            return x * 2.0

    plain = tmp_path / "nosig"
    tf.saved_model.save(Module(), str(plain), signatures={})
    (built,) = build_candidates(request(SourceModel(plain, "savedmodel", "nosig"), tmp_path, "float32"))
    assert "nosig: SavedModel has no serving signatures" in built.error
    assert "serving_default" in built.error

    good = tmp_path / "sig"
    m = Module()
    tf.saved_model.save(m, str(good), signatures={"serving_default": m.double})
    (built,) = build_candidates(request(SourceModel(good, "savedmodel", "sig"), tmp_path, "float16"))
    assert built.error is None and built.path.stat().st_size > 0
