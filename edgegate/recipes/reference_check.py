"""Does the float32 reference compute what the source model computes? (worker-only: imports TensorFlow)

Every figure EdgeGate reports is measured on ``.tflite`` files, and every accuracy drop is
measured against the float32 reference. If that conversion does not compute the model's own
function (a converter path that leaves weights uninitialized, an op whose semantics change),
each figure is about some other model. So before anything is gated, the worker that built the
reference runs both on a few inputs: the source as it runs in TensorFlow (a Keras model's call
with ``training=False``, a SavedModel's serving signature) and the reference in the LiteRT
interpreter, and compares the outputs.

Inputs are matched by name through the ``.tflite`` signature (the converter keeps the Keras
input names and the SavedModel signature's names; the order of ``get_input_details`` is not
the model's). Outputs are matched by name, or in order when the converter numbered them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgegate.exception_text import first_line

PROBES = 8  # inputs compared: enough to catch a broken conversion, cheap next to the conversion
# Relative to an output's scale (max(1, its largest |value|)). float32 kernels that only order
# their sums differently agree to ~1e-6 of the scale; a broken conversion is off by O(1).
TOLERANCE = 1e-3
UNKNOWN_DIM = 32  # the size given to a dimension the model leaves open (besides the batch)

Feed = dict[str, np.ndarray]  # one sample per input, batch 1, by input name
Outputs = dict[str, np.ndarray]


@dataclass(frozen=True)
class InputSpec:
    """One input of the source model, as probes are made for it."""

    name: str  # as the .tflite signature names it
    shape: tuple[int, ...]  # with batch 1
    dtype: np.dtype


@dataclass(frozen=True)
class OutputComparison:
    """How far the reference's outputs are from the source's on the same inputs."""

    max_abs: float  # largest |Δ| over every output value; inf where the two cannot agree (NaN vs a number)
    relative: float  # largest |Δ| / max(1, largest |output|), per output of a sample: what is judged
    inputs: int
    origin: str  # where the inputs came from: "random inputs", "samples of models[0].eval.data"
    reason: str | None = None  # why the outputs could not be paired at all

    @property
    def matches(self) -> bool:
        return self.reason is None and self.relative <= TOLERANCE

    def note(self) -> str:
        return f"float32 reference matches the model's outputs (max |Δ| {self.max_abs:.2g} on {self._on})"

    def error(self, model_name: str) -> str:
        how = self.reason or f"max |Δ| {self.max_abs:.2g} on {self._on}"
        return (
            f"model {model_name}: the converted float32 model does not reproduce the model's own outputs "
            f"({how}): its figures would not be the model's"
        )

    @property
    def _on(self) -> str:
        return f"{self.inputs} {self.origin}"


class NotCompared(Exception):
    """The outputs could not be compared (the message says why); the build notes it, it does not fail."""


def compare_outputs(expected: Sequence[Outputs], got: Sequence[Outputs], *, origin: str) -> OutputComparison:
    """Compare the source's outputs (``expected``) with the reference's, sample by sample.

    Each output is judged against its own scale, so a logit output in the hundreds does not
    loosen the check of a probability output beside it.
    """
    if len(expected) != len(got) or not expected:
        raise ValueError("compare_outputs needs the same, non-zero number of samples on both sides")
    worst = relative = 0.0
    inf = float("inf")
    for want, have in zip(expected, got):
        pairs = _pair_outputs(want, have)
        if isinstance(pairs, str):
            return OutputComparison(inf, inf, len(expected), origin, reason=pairs)
        for a, b in pairs:
            if a.shape != b.shape:
                reason = f"an output of shape {b.shape} where the model gives {a.shape}"
                return OutputComparison(inf, inf, len(expected), origin, reason=reason)
            finite = np.abs(a[np.isfinite(a)].astype(np.float64))
            scale = max(1.0, float(finite.max(initial=0.0)))
            difference = _max_difference(a, b)
            worst, relative = max(worst, difference), max(relative, difference / scale)
    return OutputComparison(worst, relative, len(expected), origin)


def _max_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b|; a NaN or infinity counts as equal only to the same value on the other side."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    both_finite = np.isfinite(a) & np.isfinite(b)
    same_special = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
    if not np.all(both_finite | same_special):
        return float("inf")
    return float(np.max(np.abs(a[both_finite] - b[both_finite]), initial=0.0))


def _natural(name: str) -> list[int | str]:
    """``output_10`` after ``output_2``: the converter numbers outputs in the model's order."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _pair_outputs(want: Outputs, have: Outputs) -> list[tuple[np.ndarray, np.ndarray]] | str:
    if set(want) == set(have):
        return [(np.asarray(want[k]), np.asarray(have[k])) for k in want]
    if len(want) != len(have):
        return f"{len(have)} outputs where the model gives {len(want)}"
    return [
        (np.asarray(want[a]), np.asarray(have[b]))
        for a, b in zip(sorted(want, key=_natural), sorted(have, key=_natural))
    ]


# --- the inputs -----------------------------------------------------------------------------


def random_feeds(specs: Sequence[InputSpec], count: int = PROBES, seed: int = 0) -> list[Feed]:
    """``count`` samples per input, in the input's dtype, from a fixed seed (two runs compare alike)."""
    rng = np.random.default_rng(seed)
    return [{s.name: _random(rng, s) for s in specs} for _ in range(count)]


def _random(rng: np.random.Generator, spec: InputSpec) -> np.ndarray:
    dtype = spec.dtype
    if dtype.kind == "f":
        return rng.standard_normal(spec.shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, spec.shape).astype(dtype)
    if dtype.kind in "iu" and dtype.itemsize <= 2:
        info = np.iinfo(dtype)
        return rng.integers(int(info.min), int(info.max) + 1, spec.shape).astype(dtype)
    if dtype.kind in "iu":
        # Wide integers are mostly ids into an embedding: 0 and 1 are valid for any table, while
        # TensorFlow raises on an id past the table's end and LiteRT reads whatever lies there.
        return rng.integers(0, 2, spec.shape).astype(dtype)
    raise NotCompared(f"input {spec.name!r} has dtype {dtype}, for which no probe values are made")


def sample_feeds(specs: Sequence[InputSpec], x: np.ndarray, count: int = PROBES) -> list[Feed] | None:
    """The first ``count`` data samples as feeds of a single-input model; None when they do not fit it."""
    if len(specs) != 1 or len(x) == 0:
        return None
    (spec,) = specs
    if tuple(x.shape[1:]) != spec.shape[1:]:
        return None
    return [{spec.name: x[i : i + 1].astype(spec.dtype)} for i in range(min(count, len(x)))]


def _probe_shape(shape: Sequence[int | None]) -> tuple[int, ...]:
    dims = list(shape)
    if dims and dims[0] is None:
        dims[0] = 1
    return tuple(UNKNOWN_DIM if d is None else int(d) for d in dims)


# --- the source, as TensorFlow runs it --------------------------------------------------------


@dataclass(frozen=True)
class SourceRunner:
    """A source model's inputs and its own forward pass (one feed in, outputs by name out)."""

    specs: tuple[InputSpec, ...]
    run: Callable[[Feed], Outputs]


def _named(outputs: Any) -> Outputs:
    """A model call's outputs by name: a dict's keys, else ``output_<i>`` as the converter numbers them."""
    if isinstance(outputs, dict):
        return {str(k): np.asarray(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return {f"output_{i}": np.asarray(v) for i, v in enumerate(outputs)}
    return {"output_0": np.asarray(outputs)}


def keras_runner(model: Any) -> SourceRunner:
    """A Keras 3 or tf-keras model called as the converter traced it (``training=False``)."""
    from edgegate.recipes.conversions import is_keras3, keras3_input_structure

    structure = None
    inputs = list(model.inputs)
    if is_keras3(model):
        import keras

        structure = keras3_input_structure(model)
        inputs = keras.tree.flatten(structure)  # the order pack_sequence_as fills
    specs = tuple(
        InputSpec(str(t.name), _probe_shape(t.shape), np.dtype(_dtype_name(t.dtype))) for t in inputs
    )

    def run(feed: Feed) -> Outputs:
        arrays = [feed[s.name] for s in specs]
        if structure is not None:
            import keras

            # Called with the structure it was built with, as export_keras3 traces it.
            call_with: Any = keras.tree.pack_sequence_as(structure, arrays)
        else:
            call_with = arrays if len(arrays) > 1 else arrays[0]
        return _named(model(call_with, training=False))

    return SourceRunner(specs, run)


def _dtype_name(dtype: Any) -> str:
    """A numpy-readable name of a Keras 3 dtype string or a ``tf.DType``."""
    return dtype if isinstance(dtype, str) else dtype.name


def saved_model_runner(loaded: Any, signature: str) -> SourceRunner:
    """A SavedModel called through the serving signature the reference was converted from."""
    import tensorflow as tf

    fn = loaded.signatures[signature]
    _, kwargs = fn.structured_input_signature
    specs = tuple(
        InputSpec(name, _probe_shape(spec.shape.as_list()), np.dtype(spec.dtype.as_numpy_dtype))
        for name, spec in sorted(kwargs.items())
    )

    def run(feed: Feed) -> Outputs:
        return _named({k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in feed.items()}).items()})

    return SourceRunner(specs, run)


# --- the reference, as LiteRT runs it ------------------------------------------------------------


def tflite_outputs(path: Path, feeds: Sequence[Feed]) -> list[Outputs]:
    """The ``.tflite``'s outputs on ``feeds``, through its (only) signature."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    signatures = interpreter.get_signature_list()
    if len(signatures) != 1:
        raise NotCompared(f"the converted model has {len(signatures)} signatures where one was expected")
    runner = interpreter.get_signature_runner(next(iter(signatures)))
    names = set(runner.get_input_details())
    given = set(feeds[0]) if feeds else set()
    rename: dict[str, str] = {}
    if names != given:
        if len(names) != 1 or len(given) != 1:
            raise NotCompared(f"its inputs {sorted(names)} do not match the model's {sorted(given)} by name")
        rename = {next(iter(given)): next(iter(names))}
    results = []
    for feed in feeds:
        try:
            out = runner(**{rename.get(k, k): v for k, v in feed.items()})
        except Exception as e:  # e.g. a probe shape the converted model cannot be resized to
            raise NotCompared(f"the converted model refused the probe inputs: {first_line(e, 200)}") from None
        results.append({k: np.array(v, copy=True) for k, v in out.items()})
    return results


def check_reference(
    source: SourceRunner, reference: Path, *, samples: np.ndarray | None, origin: str
) -> OutputComparison:
    """Run the source and the reference on the same inputs and compare (``NotCompared`` if impossible).

    ``samples``: data (calibration or eval) to probe with when they fit the model's single
    input; otherwise random inputs in each input's dtype.
    """
    feeds = sample_feeds(source.specs, samples) if samples is not None else None
    if feeds is None:
        feeds, origin = random_feeds(source.specs), "random inputs"
    got = tflite_outputs(reference, feeds)
    try:
        expected = [source.run(feed) for feed in feeds]
    except Exception as e:  # the model's own call refused the probe: nothing to compare with
        raise NotCompared(f"the model's own call failed on the probe inputs: {first_line(e, 200)}") from None
    return compare_outputs(expected, got, origin=origin)
