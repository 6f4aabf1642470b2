"""The keep-float search in real runs (issue 17 ★): a model trained here with a deliberately
sensitive layer; plain int8 breaks ``max_drop``; the run rebuilds int8 with that layer float
through the TensorFlow converter's denylist and ships it within budget, and the report (markdown,
terminal, results file) names the layer and what each step bought."""

from __future__ import annotations

import io
import os
import re

import numpy as np
from rich.console import Console

from edgegate.cli.real_run import real_run
from edgegate.report.markdown import render_markdown
from edgegate.report.terminal import print_summary
from edgegate.results import decode_run, encode_run
from edgegate.run import CheckOptions
from edgegate.status import Status
from tests.pipeline.conftest import dataset

ENGINE = "TensorFlow converter, QuantizationDebugger denylisted_nodes"


def sensitive_model(sensitive: tuple[str, ...] = ("sensitive",)):
    """features (normal) → each of ``sensitive`` → head, trained on the quadrant task.

    ``features``' unit 0 is dead (zero weights, bias −1, ReLU: always 0, and no gradient revives
    it); every sensitive layer weighs its dead input 1000× in each unit, which training leaves as
    it is (its gradient is 0). The float model never sees that weight, but it sets each unit's
    per-channel int8 scale (~8), so the layer's real weights (~0.1) round to 0 and int8 breaks."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    layers = [tf_keras.Input((8, 8, 1)), tf_keras.layers.Flatten()]
    features = tf_keras.layers.Dense(256, activation="relu", name="features")
    layers.append(features)
    weak = [tf_keras.layers.Dense(16, activation="relu", name=name) for name in sensitive]
    layers += weak + [tf_keras.layers.Dense(4, activation="softmax", name="head")]
    model = tf_keras.Sequential(layers)
    w, b = features.get_weights()
    w[:, 0], b[0] = 0.0, -1.0
    features.set_weights([w, b])
    for layer in weak:
        w, b = layer.get_weights()
        w[0, :] = 1000.0
        layer.set_weights([w, b])
    x, y = dataset(256, seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10, verbose=0)
    assert weak[0].get_weights()[0][0, 0] == 1000.0  # training left the outlier as it was
    return model


def setup(repo, sensitive: tuple[str, ...], settings: str, *, tflite: bool = False) -> None:
    """The model (saved as .h5, or converted here to a float .tflite), its data and its policy."""
    (repo.root / "data").mkdir()
    x, y = dataset(256, seed=2)
    np.savez(repo.root / "data/calib.npz", x=x, y=y)
    xe, ye = dataset(200, seed=1)
    np.savez(repo.root / "data/eval.npz", x=xe, y=ye)
    model = sensitive_model(sensitive)
    if tflite:
        import tensorflow as tf

        repo.write("model.tflite", tf.lite.TFLiteConverter.from_keras_model(model).convert())
    else:
        model.save(repo.root / "model.h5")
    repo.write(
        "edgegate.yml",
        f"version: 1\nmodels:\n  - name: m\n    path: model.{'tflite' if tflite else 'h5'}\n"
        "    eval: {data: data/eval.npz}\n    calibration: {data: data/calib.npz, samples: 64}\n"
        "    budgets: {accuracy: {max_drop: 5pt}}\n" + settings,
    )
    repo.commit()


def reports(run) -> tuple[str, str]:
    """The markdown report and the terminal summary of a run."""
    terminal = io.StringIO()
    print_summary(run, Console(file=terminal, width=200, force_terminal=False))
    return render_markdown(run), terminal.getvalue()


def test_auto_ships_int8_with_the_sensitive_layer_float_and_the_report_names_it(repo):
    setup(repo, ("sensitive",), "    recipes: auto\n")
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (m,) = run.models
    assert m.error is None, m.error
    by = {c.recipe: c for c in m.candidates}
    plain = by["int8"]
    assert plain.status == Status.FAIL and plain.accuracy.drop > 0.05  # plain int8 breaks max_drop
    assert plain.worst_layers[0].name == "sensitive"  # the ranking the search starts from
    assert m.deploy == "int8 except sensitive", (m.deploy, list(by))
    shipped = by["int8 except sensitive"]
    assert shipped.status == Status.PASS and shipped.accuracy.drop <= 0.05
    assert shipped.kept_float.layers == ("sensitive",) and shipped.kept_float.of == "int8"
    assert shipped.kept_float.engine == ENGINE
    # Int8 everywhere else: smaller than the float16 candidate, bigger than plain int8.
    assert plain.size_bytes < shipped.size_bytes < by["float16"].size_bytes
    # One step was enough: the search stopped at the first candidate within budget.
    assert [c.recipe for c in m.candidates if c.kept_float] == ["int8 except sensitive"]
    (line,) = m.keep_float
    assert re.match(
        r"int8 except sensitive: [−±+]\d+\.\d\d pt at \+[\d.]+ KB; plain int8: −\d+\.\d\d pt", line
    )
    assert ENGINE in line
    assert decode_run(encode_run(run)) == run  # the results file keeps all of it
    markdown, terminal = reports(run)
    assert "**Layers kept float**" in markdown and "plain int8: −" in markdown
    assert "kept float: `sensitive`" in markdown
    assert "kept float: int8 except sensitive: " in terminal and "plain int8: −" in terminal


def test_listed_recipe_reports_the_recipe_to_write_and_that_recipe_ships(repo):
    setup(repo, ("sensitive",), "    recipes: [int8]\n    deploy: smallest\n")
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (m,) = run.models
    by = {c.recipe: c for c in m.candidates}
    found = by["int8 except sensitive"]
    assert found.status == Status.PASS
    # Listed recipes: the step is reported, not shipped (keep_float_search.ship is off for them).
    assert m.deploy is None and m.status == Status.FAIL
    written = re.search(r"list the recipe \{recipe: int8, keep_float: \[(.*)\]\}", m.keep_float[-1])
    assert written, m.keep_float
    # Writing what the report says builds the same candidate as a listed recipe, which ships.
    patterns = written.group(1)
    repo.write(
        "edgegate.yml",
        (repo.root / "edgegate.yml")
        .read_text()
        .replace(
            "recipes: [int8]", f"recipes: [{{recipe: int8, name: int8-kept, keep_float: [{patterns}]}}]"
        ),
    )
    repo.commit()
    again = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (m2,) = again.models
    assert m2.deploy == "int8-kept" and m2.status == Status.PASS, (m2.deploy, m2.candidates[0].error)
    kept = m2.candidates[0]
    assert kept.size_bytes == found.size_bytes and kept.accuracy.value == found.accuracy.value
    assert kept.kept_float.of is None and kept.kept_float.engine == ENGINE


def test_the_search_stops_at_the_bound_and_nothing_ships(repo):
    setup(
        repo,
        ("sensitive", "fragile"),
        "    recipes: [int8]\n    deploy: smallest\n    keep_float_search: {max_layers: 1, ship: true}\n",
    )
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (m,) = run.models
    assert {c.recipe for c in m.candidates} >= {"int8"}
    steps = [c for c in m.candidates if c.kept_float]
    assert len(steps) == 1 and len(steps[0].kept_float.layers) == 1  # the bound: one layer float
    assert steps[0].status == Status.FAIL  # the other sensitive layer still breaks it
    assert m.deploy is None and m.status == Status.FAIL
    assert any(
        "no step within the accuracy budget up to the bound, keep_float_search.max_layers: 1; not shipped"
        in line
        for line in m.keep_float
    ), m.keep_float
    markdown, _ = reports(run)
    assert "keep\\_float\\_search.max\\_layers: 1" in markdown  # escaped as markdown text


def test_a_keep_float_pattern_matching_no_layer_names_its_line(repo):
    setup(
        repo,
        ("sensitive",),
        "    recipes:\n      - recipe: int8\n        keep_float:\n          - no_such_layer\n",
    )
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (int8,) = run.models[0].candidates
    assert int8.error.startswith(
        "int8: keep_float (policy line 11): 'no_such_layer' matches no layer of model 'm'"
    )
    assert "sensitive" in int8.error  # the model's layers are listed


QUANTIZER = "LiteRT Quantizer, a no-quantize rule per layer"


def test_a_float_tflite_ships_int8_with_the_sensitive_layer_float_on_the_quantizer(repo):
    """A .tflite source: its int8 is the LiteRT Quantizer's, ranked by the quantizer's own per-layer
    SNR (no TensorFlow debugger), and the search's step is the quantizer's with that layer float."""
    settings = "    recipes: [int8]\n    deploy: smallest\n    keep_float_search: {ship: true}\n"
    setup(repo, ("sensitive",), settings, tflite=True)
    run = real_run(CheckOptions(repo=repo.root, all_models=True, latency=False))
    (m,) = run.models
    assert m.error is None, m.error
    by = {c.recipe: c for c in m.candidates}
    plain = by["int8"]
    assert plain.status == Status.FAIL and plain.accuracy.drop > 0.05, plain  # plain int8 breaks max_drop
    assert m.deploy == "int8 except sensitive", (m.deploy, list(by), m.keep_float)
    shipped = by["int8 except sensitive"]
    assert shipped.status == Status.PASS and shipped.accuracy.drop <= 0.05
    assert shipped.kept_float.layers == ("sensitive",) and shipped.kept_float.of == "int8"
    assert shipped.kept_float.engine == QUANTIZER
    assert plain.size_bytes < shipped.size_bytes < by["as-is"].size_bytes  # int8 everywhere else
    (line,) = m.keep_float
    assert line.startswith("int8 except sensitive: ") and "plain int8: −" in line and QUANTIZER in line
    markdown, terminal = reports(run)
    assert "kept float: `sensitive`" in markdown and "kept float: int8 except sensitive: " in terminal
