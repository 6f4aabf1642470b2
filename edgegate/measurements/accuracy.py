"""Accuracy of one ``.tflite`` model on an eval set, batched through the LiteRT interpreter.

Samples are converted to the input tensor's type once (quantized with its scale and zero
point for integer inputs), fed in batches by resizing the input tensor (batch 1 when the model
refuses another batch size), and the outputs dequantized before the metric scores them.
The evaluation keeps each sample's score too, for the paired intervals of accuracy changes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from edgegate.datasets.interface import Dataset
from edgegate.errors import InputError
from edgegate.exception_text import first_line
from edgegate.measurements.interface import Evaluation
from edgegate.measurements.interpreter import from_output, open_interpreter, to_input
from edgegate.metrics.interface import Metric, data_identity, missing_labels, per_sample
from edgegate.results import Accuracy


def evaluate(
    model: Path,
    data: Dataset,
    metric: Metric,
    *,
    name: str,
    batch_size: int = 32,
    threads: int = 1,
    reference: np.ndarray | None = None,
) -> Evaluation:
    """Score ``model`` on ``data``. ``reference``: the float model's outputs on the same data (for fidelity)."""
    interpreter = open_interpreter(model, name=name, threads=threads)
    inp, outs = _io(interpreter, name, several_outputs=not metric.needs_labels)
    if metric.needs_labels and data.y is None:
        raise missing_labels(metric, data.source)
    if reference is not None and len(reference) != len(data):
        raise InputError(
            f"model {name}: the float model's outputs cover {len(reference)} samples but "
            f"{data.source} has {len(data)}; evaluate both on the same data"
        )
    feed = to_input(_fitted(data, inp, name), inp)
    raws = _run(interpreter, feed, inp["index"], [o["index"] for o in outs], batch_size, name, data.source)
    outputs = (
        from_output(raws[0], outs[0])
        if len(outs) == 1  # several (landmarks and a score): each sample's values side by side
        else np.concatenate([per_sample(from_output(r, o)) for r, o in zip(raws, outs)], axis=1)
    )
    bad = ~np.isfinite(per_sample(outputs)).all(axis=1)
    if bad.any():
        raise InputError(
            f"model {name} produced NaN or infinite outputs for {int(bad.sum())} of {len(bad)} "
            f"samples of {data.source} (the first is sample {int(np.argmax(bad))}); check that the "
            "data is scaled as the model expects and the model's numerics (log, sqrt, division)"
        )
    try:
        score = metric.score(outputs, data.y, reference)
    except InputError as e:
        raise InputError(f"model {name} on {data.source}: {e}") from None
    return Evaluation(
        Accuracy(
            metric=metric.name,
            value=score.value,
            samples=len(outputs),
            higher_is_better=metric.higher_is_better,
            snr_db=score.snr_db,
        ),
        outputs,
        # Which samples these are travels with the scores: a paired test refuses two evaluations
        # whose samples differ, whatever their counts.
        replace(score.samples, identity=data_identity(data.x, data.y)) if score.samples else None,
    )


def _io(interpreter: Interpreter, name: str, *, several_outputs: bool) -> tuple[dict, list[dict]]:
    """The one input and the outputs; several outputs only for a label-free metric (fidelity), in
    the order of their names (a quantizer keeps the names, not always the order)."""
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    for kind, details in (("inputs", inputs), ("outputs", [] if several_outputs else outputs)):
        if len(details) > 1:
            raise InputError(
                f"model {name} has {len(details)} {kind} ({', '.join(d['name'] for d in details)}); "
                f"accuracy evaluation supports single-input, single-output models only for now "
                f"(metric fidelity: several outputs); remove eval: for this model to gate its size and latency"
            )
    if len(inputs) != 1 or not outputs:
        raise InputError(
            f"model {name} has {len(inputs)} inputs and {len(outputs)} outputs; accuracy evaluation "
            "needs one input and an output; remove eval: for this model to gate its size and latency"
        )
    return inputs[0], sorted(outputs, key=lambda d: d["name"]) if len(outputs) > 1 else outputs


def _fitted(data: Dataset, inp: dict, name: str) -> np.ndarray:
    """The samples shaped as the model's input; dimensions of size 1 may differ ((28, 28) fits (28, 28, 1))."""
    wanted = [int(d) for d in inp["shape_signature"][1:]]
    sample = tuple(data.x.shape[1:])
    if len(wanted) == len(sample) and all(w in (-1, s) for w, s in zip(wanted, sample)):
        return data.x
    if -1 not in wanted and [d for d in wanted if d != 1] == [d for d in sample if d != 1]:
        return data.x.reshape((len(data.x), *wanted))
    shown = [int(d) for d in inp["shape"]]
    raise InputError(
        f"model {name} expects input {shown} (samples of shape {tuple(shown[1:])}) but {data.source} "
        f"gives samples of shape {sample}; reshape the data or fix the model's input"
    )


def _run(
    interpreter: Interpreter,
    feed: np.ndarray,
    in_index: int,
    out_indices: list[int],
    batch_size: int,
    name: str,
    source: str,
) -> list[np.ndarray]:
    """Raw outputs for every sample, in batches of ``batch_size`` (or 1 if the model cannot be resized)."""
    sample_shape = list(feed.shape[1:])
    batch = min(batch_size, len(feed))
    if batch > 1:
        try:
            interpreter.resize_tensor_input(in_index, [batch, *sample_shape])
            interpreter.allocate_tensors()
            return _batches(interpreter, feed, in_index, out_indices, batch, name, source)
        except (_BatchRefused, RuntimeError, ValueError):  # a fixed batch size: resize or allocation refused
            pass
    try:
        interpreter.resize_tensor_input(in_index, [1, *sample_shape])
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as e:
        raise InputError(
            f"model {name} cannot be prepared for samples of shape {tuple(sample_shape)} from "
            f"{source} ({first_line(e)})"
        ) from None
    return _batches(interpreter, feed, in_index, out_indices, 1, name, source)


class _BatchRefused(Exception):
    """The model ran with a resized batch but did not return one output per sample."""


def _batches(
    interpreter: Interpreter,
    feed: np.ndarray,
    in_index: int,
    out_indices: list[int],
    batch: int,
    name: str,
    source: str,
) -> list[np.ndarray]:
    raws: list[np.ndarray] | None = None
    for start in range(0, len(feed), batch):
        chunk = feed[start : start + batch]
        count = len(chunk)
        if count < batch:  # pad the last batch (outputs of the padding are dropped) rather than reallocate
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch - count, axis=0)])
        try:
            interpreter.set_tensor(in_index, chunk)
            interpreter.invoke()
        except (RuntimeError, ValueError) as e:
            if batch > 1 and start == 0:
                raise _BatchRefused from None
            raise InputError(
                f"model {name} failed on {source} (samples {start}..{start + count - 1}): {first_line(e)}"
            ) from None
        results = [_per_batch(interpreter.get_tensor(i), batch) for i in out_indices]
        if raws is None:
            raws = [np.empty((len(feed), *r.shape[1:]), r.dtype) for r in results]
        for raw, result in zip(raws, results):
            raw[start : start + count] = result[:count]
    if raws is None:  # the loaders refuse empty datasets; a Dataset built by hand may still be one
        raise InputError(f"model {name}: {source} has no samples to evaluate")
    return raws


def _per_batch(result: np.ndarray, batch: int) -> np.ndarray:
    """One output of a batch, one row per sample; ``_BatchRefused`` when a batch gave no batch axis."""
    if result.ndim == 0 or result.shape[0] != batch:
        if batch > 1:
            raise _BatchRefused
        return result[None]  # an output without a batch axis: the whole tensor is the sample's output
    return result
