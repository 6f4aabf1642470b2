"""Opening models: unusable files get a message naming the model; quantization is per-channel aware."""

from __future__ import annotations

import numpy as np
import pytest

from edgegate.errors import InputError
from edgegate.measurements.interpreter import TensorQuantization, from_output, open_interpreter, to_input


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "model cand: cannot read"),
        (b"", "not a TensorFlow Lite model .*the file is empty"),
        (b"<html>404</html>", "not a TensorFlow Lite model"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 12\n", "is a Git LFS pointer"),
    ],
)
def test_files_that_are_not_models(tmp_path, content, message):
    path = tmp_path / "cand.tflite"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        open_interpreter(path, name="cand")


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9])
def test_truncated_model(models, tmp_path, keep):
    blob = models.float32.read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(blob[: int(len(blob) * keep)])
    with pytest.raises(InputError, match="model float: cut.tflite cannot be loaded .* truncated or corrupt"):
        open_interpreter(path, name="float")


def test_per_channel_weights_dequantize_to_the_keras_kernel(models):
    interpreter = open_interpreter(models.per_channel, name="pc")
    interpreter.allocate_tensors()
    conv = next(
        d
        for d in interpreter.get_tensor_details()
        if len(d["shape"]) == 4 and d["shape"][0] == 4 and d["dtype"] == np.int8
    )
    assert conv["quantization"] == (0.0, 0)  # per-channel: the legacy field says nothing
    quantization = TensorQuantization.of(conv)
    assert quantization.scales.shape == (4,) and quantization.axis == 0
    kernel = models.keras.layers[1].get_weights()[0].transpose(3, 0, 1, 2)  # TFLite: [out, h, w, in]
    error = np.abs(quantization.dequantize(interpreter.get_tensor(conv["index"])) - kernel)
    assert (error.max(axis=(1, 2, 3)) <= quantization.scales / 2 + 1e-6).all()


def test_per_tensor_model_has_one_weight_scale(models):
    interpreter = open_interpreter(models.int8, name="int8")
    scales = [len(d["quantization_parameters"]["scales"]) for d in interpreter.get_tensor_details()]
    assert max(scales) == 1


def test_quantize_round_trip_per_channel_and_clipping():
    quantization = TensorQuantization(np.array([0.1, 0.5], np.float32), np.array([3, -2], np.float32), axis=1)
    real = np.array([[0.0, 0.0], [1.04, -2.2], [100.0, -100.0]], np.float32)
    q = quantization.quantize(real, np.dtype(np.int8))
    assert q.tolist() == [[3, -2], [13, -6], [127, -128]]  # 1.04/0.1 -> 10 (+3); -2.2/0.5 = -4.4 -> -4 (-2)
    assert np.allclose(quantization.dequantize(q)[:2], [[0.0, 0.0], [1.0, -2.0]])


def test_io_conversion_follows_each_tensor(models):
    for path, dtype in (
        (models.float32, np.float32),
        (models.int8, np.int8),
        (models.uint8_io, np.uint8),
        (models.int16x8, np.int16),
    ):
        interpreter = open_interpreter(path, name=path.stem)
        inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
        assert inp["dtype"] == dtype and out["dtype"] == dtype
        fed = to_input(models.x[:2], inp)
        assert fed.dtype == dtype
        if dtype is not np.float32:
            scale, zero = inp["quantization"]
            assert np.abs((fed.astype(np.float32) - zero) * scale - models.x[:2]).max() <= scale / 2 + 1e-6
            assert from_output(np.array([zero], dtype), out)[0] == 0.0
