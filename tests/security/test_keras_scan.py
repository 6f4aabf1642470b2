"""Keras models whose loading would read files outside themselves are refused unless trusted.

Real layers, saved by tf-keras and Keras 3; the file a layer names is a tripwire (a FIFO that
tells whether anything opened it), and each refusal is paired with the trusted load that does
open it, so the test fails if the scan stops catching the attack.
"""

import json
import os
import zipfile

import h5py
import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
import tf_keras  # noqa: E402

from edgegate.errors import InputError  # noqa: E402
from edgegate.recipes.interface import SourceModel  # noqa: E402
from edgegate.recipes.loading import load_keras_model, saved_model_signature  # noqa: E402
from tests.security.tripwire import Tripwire  # noqa: E402

VOCAB = b"cat\ndog\nbird\n"


def lookup_model(layers, vocabulary):
    inputs = layers.Input(shape=(1,), dtype="string")
    ids = layers.StringLookup(vocabulary=str(vocabulary), name="vocab")(inputs)
    outputs = layers.Dense(2)(layers.CategoryEncoding(num_tokens=5, output_mode="one_hot")(ids))
    return (tf_keras if layers is tf_keras.layers else keras).Model(inputs, outputs)


@pytest.fixture
def outside_vocabulary(tmp_path):
    path = tmp_path / "outside" / "vocab.txt"
    path.parent.mkdir()
    path.write_bytes(VOCAB)
    return path


def assert_refused_without_reading(src, vocabulary, loader=load_keras_model):
    with Tripwire(vocabulary, VOCAB) as wire:
        with pytest.raises(InputError) as caught:
            loader(src)
        assert not wire.close()
    return str(caught.value)


def assert_trusted_load_reads(src, vocabulary, loader=load_keras_model):
    trusted = SourceModel(src.path, src.kind, src.display, trust_code=True)
    with Tripwire(vocabulary, VOCAB) as wire:
        try:
            loader(trusted)
        except Exception:
            pass  # TensorFlow preads the pipe and fails; it opened it first
        assert wire.close()


@pytest.mark.parametrize("suffix,kind", [(".h5", "h5"), (".keras", "keras")])
def test_tf_keras_string_lookup_with_a_file_vocabulary_is_refused(tmp_path, outside_vocabulary, suffix, kind):
    path = tmp_path / f"lookup{suffix}"
    lookup_model(tf_keras.layers, outside_vocabulary).save(path)
    src = SourceModel(path, kind, f"models/lookup{suffix}")

    message = assert_refused_without_reading(src, outside_vocabulary)

    assert message.startswith(f"models/lookup{suffix} ({suffix}): refused: layer 'vocab' (StringLookup) ")
    assert f"reads the file its config names (vocabulary: '{outside_vocabulary}')" in message
    assert "set trust_code: true in the base branch's policy" in message
    assert_trusted_load_reads(src, outside_vocabulary)


def test_keras3_string_lookup_naming_a_file_is_refused(tmp_path, outside_vocabulary):
    # Keras 3 saves the vocabulary inside the archive (config "vocabulary": null); an attacker
    # writes a path into config.json instead, which Keras 3 reads when safe mode is off.
    path = tmp_path / "lookup3.keras"
    lookup_model(keras.layers, outside_vocabulary).save(path)
    _rewrite_config(path, lambda layer: layer["config"].update(vocabulary=str(outside_vocabulary)))
    src = SourceModel(path, "keras", "models/lookup3.keras")
    message = assert_refused_without_reading(src, outside_vocabulary)
    assert "layer 'vocab' (StringLookup) reads the file its config names" in message
    assert_trusted_load_reads(src, outside_vocabulary)


def _rewrite_config(path, change):
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    config = json.loads(members["config.json"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "StringLookup":
            change(layer)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_keras_savedmodel_with_a_file_vocabulary_is_refused(tmp_path, outside_vocabulary):
    folder = tmp_path / "lookup_sm"
    lookup_model(tf_keras.layers, outside_vocabulary).save(folder, save_format="tf")
    src = SourceModel(folder, "savedmodel", "models/lookup_sm")
    message = assert_refused_without_reading(src, outside_vocabulary, saved_model_signature)
    # Its table initializer reads the vocabulary (copied into assets/), and its Keras metadata
    # names the outside file tf-keras would read when reviving the layer.
    assert "runs InitializeTableFromTextFileV2 (file I/O at load time)" in message
    assert "keras_metadata.pb: layer 'vocab' (StringLookup) reads the file its config names" in message


def test_a_tf_op_layer_reading_a_file_is_refused(tmp_path):
    # A TFOpLambda names the TensorFlow function it calls; tf.io.read_file does not dispatch on
    # Keras tensors, so the attacker saves tf.strings.strip and renames it in model_config.
    # Nothing runs it at load, but training and evaluation call the model. The file name is
    # built from the input, so no converter could fold it away.
    secret = tmp_path / "outside" / "0"
    secret.parent.mkdir()
    inputs = tf_keras.Input((1,))
    index = tf.strings.as_string(tf.cast(inputs[:, 0] * 0, tf.int32))
    content = tf.strings.strip(tf.strings.join([f"{secret.parent}/", index])[0])
    outputs = inputs + tf.cast(tf.strings.length(content), tf.float32)
    path = tmp_path / "reader.h5"
    tf_keras.Model(inputs, outputs).save(path)
    with h5py.File(path, "r+") as f:
        config = f.attrs["model_config"]
        config = config.decode() if isinstance(config, bytes) else config
        assert '"function": "strings.strip"' in config
        f.attrs["model_config"] = config.replace('"function": "strings.strip"', '"function": "io.read_file"')
    src = SourceModel(path, "h5", "models/reader.h5")

    with pytest.raises(InputError) as caught:
        load_keras_model(src)
    assert "layer 'tf.strings.strip' (TFOpLambda) calls tf.io.read_file (file I/O)" in str(caught.value)
    with Tripwire(secret, b"GITHUB_TOKEN=ghs_x") as wire:
        model = load_keras_model(SourceModel(path, "h5", src.display, trust_code=True))
        try:
            model(np.zeros((1, 1), np.float32))
        except Exception:
            pass
        assert wire.close()  # called, the trusted model reads the file


def test_an_in_memory_vocabulary_is_fine(tmp_path):
    inputs = tf_keras.layers.Input(shape=(1,), dtype="string")
    ids = tf_keras.layers.StringLookup(vocabulary=["cat", "dog"], name="vocab")(inputs)
    path = tmp_path / "inline.h5"
    tf_keras.Model(inputs, ids).save(path)
    assert load_keras_model(SourceModel(path, "h5", "models/inline.h5")) is not None


def test_h5_weights_kept_in_an_external_file_are_refused(tmp_path):
    model = tf_keras.Sequential([tf_keras.layers.Input((4,)), tf_keras.layers.Dense(2, name="dense")])
    path = tmp_path / "external.h5"
    model.save(path)
    outside = tmp_path / "outside.bin"
    kernel = np.ones((4, 2), np.float32)
    with h5py.File(path, "r+") as f:
        name = next(n for n in _datasets(f) if n.endswith("kernel:0"))
        del f[name]
        f.create_dataset(
            name, shape=kernel.shape, dtype=kernel.dtype, external=[(str(outside), 0, kernel.nbytes)]
        )
    src = SourceModel(path, "h5", "models/external.h5")
    with Tripwire(outside, kernel.tobytes()) as wire:
        with pytest.raises(InputError) as caught:
            load_keras_model(src)
        assert not wire.close()
    assert f"external.h5/{name} keeps its data in the external file '{outside}'" in str(caught.value)
    with Tripwire(outside, kernel.tobytes()) as wire:
        try:
            load_keras_model(SourceModel(path, "h5", src.display, trust_code=True))
        except Exception:
            pass
        assert wire.close()  # HDF5 opens the external file for the loader


def _datasets(f):
    names = []
    f.visititems(lambda n, obj: names.append(n) if isinstance(obj, h5py.Dataset) else None)
    return names
