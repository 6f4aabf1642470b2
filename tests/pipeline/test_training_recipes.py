"""Training-based recipes through `edgegate check`: shared parents, skips with reasons, auto search."""

from __future__ import annotations

import numpy as np

from edgegate.cli.real_run import real_run

from edgegate.run import CheckOptions
from edgegate.status import Status
from tests.pipeline.conftest import dataset, trained_model


def setup(repo, models_yaml: str):
    x, y = dataset(256, seed=2)
    (repo.root / "data").mkdir()
    np.savez(repo.root / "data/train.npz", x=x, y=y)
    xe, ye = dataset(64, seed=1)
    np.savez(repo.root / "data/eval.npz", x=xe, y=ye)
    trained_model(units=64).save(repo.root / "model.h5")
    repo.write("edgegate.yml", "version: 1\nmodels:\n" + models_yaml)
    repo.commit()


def test_prune_parent_is_shared_and_sparsity_reaches_the_report(repo):
    setup(
        repo,
        """\
  - name: m
    path: model.h5
    recipes:
      - {recipe: prune, prune: {sparsity: 0.6, schedule: constant}}
      - {recipe: prune+int8, prune: {sparsity: 0.6, schedule: constant}}
    eval: {data: data/eval.npz}
    calibration: {data: data/train.npz, samples: 32}
    training: {data: data/train.npz, epochs: 1, batch_size: 32, learning_rate: 0.001}
    budgets: {accuracy: {max_drop: 20pt}}
    deploy: all
""",
    )
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (m,) = run.models
    assert m.error is None, m.error
    prune, prune_int8 = m.candidates
    assert prune.error is None and prune_int8.error is None, (prune.error, prune_int8.error)
    # One fine-tuning serves both: identical figures, and sparsity close to the target.
    assert prune.training == prune_int8.training
    assert 0.55 <= prune.training.sparsity <= 0.65
    assert prune_int8.size_bytes < m.reference.size_bytes / 3
    assert prune.gzip_bytes < m.reference.gzip_bytes * 0.8  # zeros compress
    assert m.status == Status.PASS


def test_training_recipes_without_data_are_skipped_with_the_reason(repo):
    setup(
        repo,
        """\
  - name: m
    path: model.h5
    recipes: [int8, qat]
    eval: {data: data/eval.npz}
    deploy: int8
""",
    )
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (m,) = run.models
    qat = next(c for c in m.candidates if c.recipe == "qat")
    assert qat.error is None and "training" in qat.skip_reason
    assert qat.status == Status.SKIP
    assert m.status == Status.PASS


def test_auto_search_stops_at_the_first_passing_ptq_batch(repo):
    setup(
        repo,
        """\
  - name: m
    path: model.h5
    recipes: auto
    objective: smallest
    eval: {data: data/eval.npz}
    budgets: {accuracy: {max_drop: 10pt}, size: 1 MB}
""",
    )
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (m,) = run.models
    assert {c.recipe for c in m.candidates} == {"float16", "dynamic", "int8"}
    assert m.deploy in ("dynamic", "int8") and m.status == Status.PASS
    assert m.decision, "the report explains the path taken"


def test_failing_accuracy_names_the_layers_that_lose_the_most(repo):
    setup(
        repo,
        """\
  - name: m
    path: model.h5
    recipes: [int8]
    eval: {data: data/eval.npz}
    calibration: {data: data/train.npz, samples: 32}
    budgets: {accuracy: {min: 100.1%}}
""",
    )
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (int8,) = run.models[0].candidates
    assert int8.status == Status.FAIL
    # This small model loses nothing notable to int8 (the budget is unreachable on purpose), so
    # the analysis runs and says no single layer is to blame; tests/training/test_layer_errors.py
    # covers a model where one layer breaks.
    assert int8.worst_layers == ()
    assert any(n.startswith("per-layer analysis: no layer's int8 error stands out") for n in int8.notes)
