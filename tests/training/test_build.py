"""The training stages inside the pipeline's build step: policy specs in, .tflite candidates out."""

from __future__ import annotations

import numpy as np
import pytest

from edgegate.policy.load import parse_calibration, parse_recipe, parse_training
from edgegate.recipes.build import build_candidates
from edgegate.recipes.interface import BuildRequest, SourceModel
from edgegate.recipes.layer_errors import worst_layers_for_request
from tests.training.tflite_weights import tflite_sparsity, tflite_weights


@pytest.fixture(scope="module")
def repo(tmp_path_factory, float_model, digits):
    root = tmp_path_factory.mktemp("repo")
    x, y, _, _ = digits
    (root / "data").mkdir()
    np.savez(root / "data" / "digits.npz", x=x[:400], y=y[:400])
    float_model.save(root / "digits.h5")
    return root


def _request(root, *recipes, training=True) -> BuildRequest:
    data = {"path": "data/digits.npz"}
    return BuildRequest(
        "digits",
        SourceModel(root / "digits.h5", "h5", "digits.h5"),
        tuple(parse_recipe(r) for r in recipes),
        root / "out",
        root,
        parse_calibration({"data": data, "samples": 50}, key="models[0].calibration"),
        parse_training({"data": data, "epochs": 1, "learning_rate": 1e-3}, key="models[0].training")
        if training
        else None,
    )


def test_recipes_sharing_a_parent_build_from_one_fine_tuning(repo):
    built = build_candidates(_request(repo, "prune+int8", "prune", "prune+dynamic"))
    assert [b.error for b in built] == [None, None, None]
    assert {b.training.sparsity for b in built} == {built[0].training.sparsity}
    for b in built:
        assert tflite_sparsity(tflite_weights(b.path)) == pytest.approx(0.5, abs=0.01)
    assert built[0].path.stat().st_size < built[1].path.stat().st_size  # int8 vs float32


def test_cluster_candidate(repo):
    [built] = build_candidates(_request(repo, {"recipe": "cluster+int8", "cluster": {"clusters": 8}}))
    assert built.error is None
    # Post-training int8 scales each output channel: K centroids become at most K integers per channel.
    assert all((w.unique_per_channel or w.unique) <= 8 for w in tflite_weights(built.path))


def test_without_training_data_candidates_are_skipped_with_the_reason(repo):
    built = build_candidates(_request(repo, "prune+int8", "prune", training=False))
    assert all(
        b.path is None and b.error is None and b.skip_reason.startswith("model 'digits': prune")
        for b in built
    )
    assert all("needs training data" in b.skip_reason for b in built)


def test_qat_candidate_converts_to_int8(repo):
    [built] = build_candidates(_request(repo, "prune+qat"))
    assert built.error is None
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(built.path))
    assert it.get_input_details()[0]["dtype"] == np.int8 and it.get_output_details()[0]["dtype"] == np.int8
    assert tflite_sparsity(tflite_weights(built.path)) == pytest.approx(0.5, abs=0.01)


def test_worst_layers_for_a_request(repo):
    # The digits model quantizes cleanly: nothing stands out from rounding noise.
    assert worst_layers_for_request(_request(repo, "int8"), "int8") == ()
