"""The functions workers run (named by ``Task.func``). Each takes and returns plain typed values.

Datasets are cached per worker process: a model's eval set is read once even though every
candidate of that model is evaluated against it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from edgegate.policy import sections
from edgegate.recipes.interface import BuildRequest, BuiltCandidate


def build(request: BuildRequest) -> list[BuiltCandidate]:
    from edgegate.recipes.build import build_candidates

    return build_candidates(request)


@functools.lru_cache(maxsize=4)  # keyed on the frozen (hashable) policy value itself
def _dataset(spec: sections.Dataset, root: str, key: str, input_hw):
    from edgegate.datasets import load_dataset

    return load_dataset(spec, Path(root), key=key, input_hw=input_hw)


def _input_hw(model: Path, name: str):
    from edgegate.measurements.interpreter import open_interpreter

    shape = open_interpreter(model, name=name).get_input_details()[0]["shape"]
    return (int(shape[1]), int(shape[2])) if len(shape) == 4 else None


def evaluate(
    model: str,
    name: str,
    data: sections.Dataset,
    data_key: str,
    metric: sections.Metric,
    root: str,
    batch_size: int,
    threads: int,
    reference_outputs: str | None,
    save_outputs: str | None,
):
    """Accuracy of one ``.tflite`` on the eval set (``drop`` is filled in by the parent)."""
    from edgegate.measurements.accuracy import evaluate as run_eval
    from edgegate.metrics import metric_for

    path = Path(model)
    # Image folders (images: or a folder path:) resize to the model's input; other sources ignore it.
    dataset = _dataset(data, root, data_key, _input_hw(path, name))
    reference = np.load(reference_outputs) if reference_outputs else None
    result = run_eval(
        path,
        dataset,
        metric_for(metric),
        name=name,
        batch_size=batch_size,
        threads=threads,
        reference=reference,
    )
    if save_outputs:
        np.save(save_outputs, result.outputs)
    return result.accuracy


def latency(models: dict[str, str], runs: int, warmup: int, threads: int):
    from edgegate.measurements.latency import measure_latency

    return measure_latency({k: Path(v) for k, v in models.items()}, runs=runs, warmup=warmup, threads=threads)


def worst_layers(request: BuildRequest, label: str, top: int = 5):
    """Per-layer quantization error of one recipe (for "why accuracy dropped")."""
    from edgegate.recipes.layer_errors import worst_layers_for_request

    return worst_layers_for_request(request, label, top)
