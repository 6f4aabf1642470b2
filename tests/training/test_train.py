"""``train``: skipping without data, unsupported layers, hooks, determinism, shared parents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgegate.datasets.interface import Dataset
from edgegate.errors import InputError
from edgegate.policy.load import parse_recipe, parse_training
from edgegate.policy.sections import Recipe
from edgegate.recipes import training
from edgegate.recipes.interface import BuildRequest, SourceModel
from edgegate.recipes.training import TrainingSkipped, context_for, train
from tests.training.conftest import make_context


def _recipe(value) -> Recipe:
    return parse_recipe(value)


@pytest.mark.parametrize("recipe", ["prune+int8", "cluster", "qat"])
def test_without_training_data_the_recipe_is_skipped_with_the_reason(float_model, tmp_path, recipe):
    context = make_context(None, tmp_path)
    with pytest.raises(TrainingSkipped, match=r"needs training data: add `training: data:`") as err:
        train(float_model, ("prune",), _recipe(recipe), context)
    assert recipe in str(err.value) and "'digits'" in str(err.value)
    assert isinstance(err.value, InputError)  # the build reports the full message


def test_without_a_training_section_the_recipe_is_skipped(tmp_path):
    source = SourceModel(tmp_path / "digits.h5", "h5", "digits.h5")
    request = BuildRequest("digits", source, (_recipe("prune+int8"),), tmp_path / "out", tmp_path)
    with pytest.raises(
        TrainingSkipped, match=r"'digits': prune\+int8 needs training data: add `training: data:`"
    ):
        context_for(request)


def test_labels_are_required_for_fit(float_model, train_data, tmp_path):
    context = make_context(Dataset(train_data.x, None, "models[0].training.data (x.npy)"), tmp_path)
    with pytest.raises(InputError, match=r"x\.npy\) has no labels"):
        train(float_model, ("prune",), _recipe("prune"), context)


def test_samples_must_fit_the_model_input(float_model, tmp_path):
    data = Dataset(np.zeros((10, 4, 4, 1), np.float32), np.zeros(10, np.int64), "training.data (t.npz)")
    with pytest.raises(InputError, match=r"shape \(4, 4, 1\) do not fit the model's input \(8, 8, 1\)"):
        train(float_model, ("prune",), _recipe("prune"), make_context(data, tmp_path))


def test_samples_without_the_size_1_channel_axis_fit(float_model, train_data, tmp_path):
    data = train_data.take(64)
    squeezed = Dataset(data.x[..., 0], data.y, data.source)
    outcome = train(float_model, ("prune",), _recipe("prune"), make_context(squeezed, tmp_path))
    assert outcome.figures.sparsity > 0.4


def test_unknown_loss_and_optimizer_are_named(float_model, train_data, tmp_path):
    with pytest.raises(InputError, match="training.loss: unknown loss 'hinge_of_doom'"):
        train(
            float_model,
            ("prune",),
            _recipe("prune"),
            make_context(train_data, tmp_path, loss="hinge_of_doom"),
        )
    with pytest.raises(InputError, match="training.optimizer: unknown optimizer 'nope'"):
        train(float_model, ("prune",), _recipe("prune"), make_context(train_data, tmp_path, optimizer="nope"))


def _model_with_prelu():
    import tf_keras

    inputs = tf_keras.Input((8, 8, 1))
    h = tf_keras.layers.Rescaling(1.0, name="rescale")(inputs)  # no weights: no obstacle to prune/cluster
    h = tf_keras.layers.Conv2D(8, 3, name="conv")(h)
    alpha = tf_keras.initializers.RandomUniform(0.1, 0.3, seed=0)
    h = tf_keras.layers.PReLU(alpha_initializer=alpha, name="prelu")(h)
    h = tf_keras.layers.Flatten()(h)
    outputs = tf_keras.layers.Dense(10, activation="softmax", name="classes")(h)
    return tf_keras.Model(inputs, outputs)


@pytest.mark.parametrize("stage,verb", [("prune", "prune"), ("cluster", "cluster")])
def test_unsupported_layers_fail_by_name_unless_skipped(train_data, tmp_path, stage, verb):
    model = _model_with_prelu()
    context = make_context(train_data.take(200), tmp_path)
    with pytest.raises(InputError, match=rf"tfmot cannot {verb} 'prelu' \(PReLU is not in tfmot's") as err:
        train(model, (stage,), _recipe(stage), context)
    assert f"`{stage}: {{skip_unsupported: true}}`" in str(err.value)

    before = model.get_layer("prelu").get_weights()[0].copy()
    outcome = train(model, (stage,), _recipe({"recipe": stage, stage: {"skip_unsupported": True}}), context)
    assert outcome.figures.skipped_layers == ("prelu",)
    assert any("prelu" in note for note in outcome.notes)
    # The PReLU was fine-tuned along, but neither pruned nor clustered; the caller's model is untouched.
    alpha = outcome.model.get_layer("prelu").get_weights()[0]
    assert np.unique(alpha).size > 8 and np.count_nonzero(alpha == 0) == 0
    np.testing.assert_array_equal(model.get_layer("prelu").get_weights()[0], before)


def test_qat_names_layers_it_cannot_quantize(train_data, tmp_path):
    with pytest.raises(InputError, match=r"quantize-aware-train 'rescale' \(Rescaling .*'prelu' \(PReLU"):
        train(_model_with_prelu(), ("qat",), _recipe("qat"), make_context(train_data.take(200), tmp_path))


def test_qat_folds_batch_norms_after_convolutions_only(train_data, tmp_path):
    import tf_keras

    inputs = tf_keras.Input((8, 8, 1))
    h = tf_keras.layers.Conv2D(8, 3, name="conv")(inputs)
    h = tf_keras.layers.BatchNormalization(name="folded")(h)
    h = tf_keras.layers.Flatten()(tf_keras.layers.ReLU()(h))
    outputs = tf_keras.layers.Dense(10, activation="softmax")(
        tf_keras.layers.BatchNormalization(name="alone")(h)
    )
    context = make_context(train_data.take(64), tmp_path)
    with pytest.raises(InputError, match=r"quantize-aware-train 'alone' \(BatchNormalization[^;]*$"):
        train(tf_keras.Model(inputs, outputs), ("qat",), _recipe("qat"), context)
    folded_only = tf_keras.Model(inputs, tf_keras.layers.Dense(10, activation="softmax")(h))
    assert train(folded_only, ("qat",), _recipe("qat"), context).figures.epochs == 1


def test_prune_cluster_needs_room_for_the_zero_cluster(float_model, train_data, tmp_path):
    recipe = _recipe({"recipe": "prune+cluster", "cluster": {"clusters": 2}})
    with pytest.raises(InputError, match="cluster.clusters must be at least 3 after prune"):
        train(float_model, ("prune", "cluster"), recipe, make_context(train_data.take(100), tmp_path))


def test_training_is_deterministic_across_processes(monkeypatch):
    """Two runs on the same commit give the same weights and the same report, byte for byte."""
    from tests.training.determinism_run import fingerprint

    monkeypatch.setattr(training, "_PARENTS", type(training._PARENTS)())
    root = Path(__file__).resolve().parents[2]
    # Another process, with another hash seed (set order must not leak into the report), running
    # while this one trains.
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.training.determinism_run", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": "123"},
    )
    here = fingerprint(0)
    out, _ = child.communicate(timeout=300)
    assert child.returncode == 0
    [line] = [ln for ln in out.splitlines() if ln.startswith("FINGERPRINT ")]
    assert line.removeprefix("FINGERPRINT ") == here
    assert json.loads(here)["figures"]["unique_weights"] == {"conv": 8, "hidden": 8, "classes": 8}
    training._PARENTS.clear()
    assert json.loads(fingerprint(1))["weights"] != json.loads(here)["weights"]
    # The process-wide switch is back off for whatever this worker runs next.
    from tensorflow.python.framework import config

    assert not config.is_op_determinism_enabled()


def test_a_shared_parent_is_trained_once(float_model, train_data, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "_PARENTS", type(training._PARENTS)())
    calls = []
    prune = training.STAGES["prune"]
    original = type(prune).apply
    monkeypatch.setattr(type(prune), "apply", lambda self, *a: calls.append(1) or original(self, *a))
    context = make_context(train_data.take(300), tmp_path)
    alone = train(float_model, ("prune",), _recipe("prune+int8"), context)
    combined = train(float_model, ("prune", "qat"), _recipe("prune+qat"), context)
    assert len(calls) == 1
    assert combined.figures.sparsity == pytest.approx(alone.figures.sparsity, abs=0.01)
    assert combined.figures.epochs == 2


def test_a_hook_fine_tunes_the_wrapped_model(float_model, train_data, tmp_path):
    (tmp_path / "tuning.py").write_text(
        textwrap.dedent("""
        import tensorflow_model_optimization as tfmot

        seen = []

        def fine_tune(model, dataset):
            seen.append(type(model.layers[1]).__name__)
            model.compile("adam", "sparse_categorical_crossentropy")
            model.fit(dataset.x, dataset.y, epochs=1, verbose=0,
                      callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
            return model

        def forgets(model, dataset):
            return None
    """)
    )
    context = make_context(train_data.take(300), tmp_path, hook="tuning:fine_tune")
    outcome = train(
        float_model, ("prune",), _recipe({"recipe": "prune", "prune": {"schedule": "constant"}}), context
    )
    import tuning

    assert tuning.seen == ["PruneLowMagnitude"]
    assert outcome.figures.sparsity == pytest.approx(0.5, abs=0.01)
    assert any("training.hook" in note for note in outcome.notes)

    with pytest.raises(InputError, match="training.hook 'tuning:forgets' returned NoneType"):
        train(
            float_model, ("cluster",), _recipe("cluster"), make_context(None, tmp_path, hook="tuning:forgets")
        )
    with pytest.raises(InputError, match="training.hook: hook module 'missing' not found in the repository"):
        train(float_model, ("cluster",), _recipe("cluster"), make_context(None, tmp_path, hook="missing:f"))


def test_logits_models_train_with_a_from_logits_loss(train_data, tmp_path):
    import tf_keras

    from edgegate.recipes.training.fine_tune import _loss

    inputs = tf_keras.Input((8, 8, 1))
    logits = tf_keras.layers.Dense(10)(tf_keras.layers.Flatten()(inputs))
    context = make_context(train_data.take(64), tmp_path)
    assert context.data is not None
    assert _loss(context, tf_keras.Model(inputs, logits), context.data).get_config()["from_logits"] is True
    probabilities = tf_keras.layers.Softmax()(logits)
    softmax = tf_keras.Model(inputs, probabilities)
    assert _loss(context, softmax, context.data).get_config()["from_logits"] is False
    assert parse_training().loss == "sparse_categorical_crossentropy"
