"""A float ``.tflite`` → a quantized ``.tflite`` with LiteRT Quantizer (``litert-quantizer``).

No TensorFlow: the quantizer is pure Python on ``ai_edge_litert``. It runs in a child process
(``quantizer_child.py``) started with ``python -I`` in a private folder, an allow-listed
environment, a time and a memory limit (``targets.child_process.run_child``): the model and
the recipe's patterns come from a pull request.

What this side adds to the quantizer:

- calibration samples matched to the model's inputs by name, shape and dtype
  (``match_inputs``: a mismatch is an ``InputError`` naming the input and both shapes);
- layers kept float validated against the model: a pattern that matches nothing is a
  ``PolicyError`` at its policy line;
- no silent no-op: float16 weights behind DEQUANTIZE (MediaPipe) are unpacked first, and a
  result that quantized no weight raises ``NothingQuantized`` instead of becoming a candidate;
- the per-layer noise (SNR of each op's output, float vs quantized, on the samples), worst first.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from edgegate.targets.flatbuffer import TensorInfo, parse_tflite
from edgegate.errors import InputError, PolicyError
from edgegate.exception_text import bounded
from edgegate.policy.sections import Calibration
from edgegate.recipes.quantizer_recipes import KeepFloat, QuantizerRecipe, rules
from edgegate.targets.child_process import death, run_script_child

CHILD = Path(__file__).with_name("quantizer_child.py")
CHILD_MEMORY_BYTES = 8 << 30  # numpy copies of the weights, calibration statistics of every tensor
TIMEOUT_S = 900.0
# An op whose own quantization lost more than this (its output's SNR below its cleanest input's)
# is one a keep-float search may keep float, worst first; the ops that lose nothing (a reshape, a
# softmax fed int8) are never tried. Measured under int8: the tests' sensitive layer 46.6 dB, the
# other weighted layers of small trained models 4–11 dB, reshapes and softmax 0.
STANDS_OUT_DB = 3.0


class NothingQuantized(InputError):
    """The quantizer returned the model without quantizing a weight: never a candidate."""


@dataclass(frozen=True)
class LayerNoise:
    """How far one op's output moved: its SNR (dB) between the float and the quantized model,
    and the dB the op itself lost (its inputs' SNR minus its output's: what ranks the layers)."""

    tensor: str
    op: str
    snr_db: float
    lost_db: float


def stands_out(layers: tuple[LayerNoise, ...]) -> tuple[str, ...]:
    """The op output names of ``layers`` (the most lost first) whose own loss stands out."""
    return tuple(layer.tensor for layer in layers if layer.lost_db > STANDS_OUT_DB)


@dataclass(frozen=True)
class QuantizedModel:
    data: bytes
    float_data: bytes  # the float model the quantizer read (float16 weights unpacked)
    unpacked_float16: int  # float16 constants behind DEQUANTIZE widened to float32 first
    quantized_weights: int
    integer_weights: int  # integer constants the source already had (an integer model: nothing to do)
    layers: tuple[LayerNoise, ...]  # the most lost first; empty without samples


def _plain(name: str) -> str:
    """``serving_default_image:0`` → ``image``: how a converter names a signature input's tensor."""
    name = re.sub(r":\d+$", "", name)
    return name.removeprefix("serving_default_")


def _dtype_fits(t: TensorInfo, a: np.ndarray) -> bool:
    kind = "f" if t.dtype.startswith("float") else ("b" if t.dtype == "bool" else "iu")
    return a.dtype.kind in kind or (kind == "f" and a.dtype.kind in "iu")  # integer images calibrate floats


def match_inputs(
    model: bytes, samples: np.ndarray | Mapping[str, np.ndarray], key: str, path: Path
) -> dict[int, np.ndarray]:
    """The samples for each of the model's inputs (by tensor index), as the model takes them.

    One array fits a one-input model; several are matched by input name (the tensor's name or
    its signature name). Shapes compare without the batch axis (axis 0 indexes samples)."""
    parsed = parse_tflite(model, path)
    inputs = [t for i in parsed.inputs if (t := parsed.tensor(i)) is not None]
    if isinstance(samples, np.ndarray):
        if len(inputs) != 1:
            names = ", ".join(t.name for t in inputs)
            raise InputError(
                f"{key}: one array of samples for a model with {len(inputs)} inputs ({names}); "
                "give an .npz with one array per input, named after it."
            )
        arrays = {inputs[0].name: samples}
    else:
        by_name = {n: a for n, a in samples.items()}
        arrays = {}
        for t in inputs:
            found = by_name.get(t.name, by_name.get(_plain(t.name)))
            if found is None:
                raise InputError(
                    f"{key}: no samples for the input {t.name!r} of {path.name} "
                    f"(arrays given: {', '.join(sorted(by_name)) or 'none'})."
                )
            arrays[t.name] = found
    out: dict[int, np.ndarray] = {}
    for t in inputs:
        a = arrays[t.name]
        want = tuple(t.shape[1:])
        if tuple(a.shape[1:]) != want or not _dtype_fits(t, a):
            raise InputError(
                f"{key}: samples of shape {tuple(a.shape[1:])} ({a.dtype}) do not fit the input {t.name!r} "
                f"of {path.name}, shape {want} ({t.dtype}); give samples the model takes."
            )
        out[t.index] = np.ascontiguousarray(a, dtype=np.dtype(t.dtype) if t.dtype != "bool" else bool)
    return out


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to a single bool
class CalibrationSamples:
    samples: dict[int, np.ndarray]  # per input tensor index, axis 0 indexes samples
    note: str | None  # for the report: synthetic inputs, or fewer samples than asked


def calibration_samples(calibration: Calibration, root: Path, model: Path) -> CalibrationSamples:
    """The policy's calibration data for a ``.tflite`` source, read through ``datasets/`` and
    matched to the model's inputs; ``synthetic: true`` draws seeded inputs in [0, 1) and says so."""
    data = model.read_bytes()
    parsed = parse_tflite(data, model)
    first = parsed.tensor(parsed.inputs[0]) if parsed.inputs else None
    if calibration.data is None:
        rng = np.random.default_rng(0)
        samples = {}
        for i in parsed.inputs:
            t = parsed.tensor(i)
            if t is None or t.dynamic and any(d < 0 for d in t.shape[1:]):
                raise InputError(
                    f"{calibration.key}: synthetic calibration needs a fixed input shape, and "
                    f"{model.name}'s input {t.name if t else i!r} has none; give calibration data instead"
                )
            shape = (calibration.samples, *t.shape[1:])
            samples[i] = rng.random(shape, dtype=np.float32).astype(np.dtype(t.dtype))
        note = (
            f"calibrated on {calibration.samples} synthetic inputs (uniform in [0, 1)): size, latency and "
            "target mapping are right; int8 ranges, and so accuracy, may not be"
        )
        return CalibrationSamples(samples, note)
    from edgegate.datasets import load_dataset

    hw = (first.shape[1], first.shape[2]) if first is not None and first.rank == 4 else None
    key = calibration.data.key
    loaded = load_dataset(calibration.data, root, key=key, input_hw=hw)
    x = loaded.x[: calibration.samples]
    fewer = f"calibrated on {len(x)} samples (fewer than the {calibration.samples} asked)"
    return CalibrationSamples(
        match_inputs(data, x, key, model), fewer if len(x) < calibration.samples else None
    )


def quantize(
    model: Path,
    recipe: QuantizerRecipe,
    *,
    keep_float: tuple[KeepFloat, ...] = (),
    samples: Mapping[int, np.ndarray] | None = None,
    keep_float_key: str = "keep_float",
    timeout_s: float = TIMEOUT_S,
) -> QuantizedModel:
    """Quantize ``model`` with ``recipe`` in a child process (see the module's docstring)."""
    if recipe.needs_calibration and samples is None:
        raise InputError(f"{model.name}: the {recipe.name} recipe needs calibration samples.")
    with tempfile.TemporaryDirectory(prefix="edgegate-quantizer-") as tmp:
        work = Path(tmp)
        job = {
            "model": str(model.resolve()),
            "rules": rules(recipe, keep_float),
            "keep_float": [k.pattern for k in keep_float],
            "samples": _write_samples(work, samples),
            "out": str(work),
        }
        done = run_script_child(CHILD, job, work, timeout_s=timeout_s, memory_bytes=CHILD_MEMORY_BYTES)
        answer = _answer(model, recipe, done.returncode, done.stdout, done.stderr, timeout_s)
        if "unmatched" in answer:
            raise PolicyError([_unmatched(model, keep_float, answer["unmatched"], keep_float_key)])
        result = QuantizedModel(
            data=Path(answer["model"]).read_bytes(),
            float_data=Path(answer["float_model"]).read_bytes(),
            unpacked_float16=int(answer["unpacked"]),
            quantized_weights=int(answer["quantized_weights"]),
            integer_weights=int(answer["integer_weights"]),
            layers=tuple(LayerNoise(str(n), str(op), float(s), float(d)) for n, op, s, d in answer["layers"]),
        )
    if result.quantized_weights == 0:
        why = (
            f"its weights are already integer ({result.integer_weights} integer constants)"
            if result.integer_weights
            else "no op of this model takes this recipe's weights"
        )
        raise NothingQuantized(
            f"{model.name}: the {recipe.name} recipe quantized no weight ({len(result.data)} bytes, "
            f"{model.stat().st_size} before): {why}, so there is no quantized candidate to report."
        )
    return result


def _write_samples(work: Path, samples: Mapping[int, np.ndarray] | None) -> str | None:
    if samples is None:
        return None
    path = work / "samples.npz"
    arrays: dict[str, np.ndarray] = {str(i): a for i, a in samples.items()}
    np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stub types the keywords as allow_pickle
    return str(path)


def _answer(
    model: Path, recipe: QuantizerRecipe, rc: int | None, stdout: bytes, stderr: bytes, timeout_s: float
) -> dict:
    what = f"{model.name}: LiteRT Quantizer ({recipe.name})"
    if rc is None:
        raise InputError(f"{what} did not finish within {timeout_s:g} s.")
    last = (stdout.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
    try:
        answer = json.loads(last)
    except ValueError:
        answer = None
    if rc != 0 or not isinstance(answer, dict):
        tail = (stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise InputError(f"{what} failed ({death(rc)}): {bounded(tail)}")
    if "failure" in answer:
        raise InputError(f"{what} could not quantize the model: {bounded(str(answer['failure']))}")
    return answer


def _unmatched(model: Path, keep: tuple[KeepFloat, ...], missing: list[str], key: str) -> str:
    lines = {k.pattern: k.line for k in keep}
    parts = []
    for p in missing:
        at = f" (line {lines[p]})" if lines.get(p) else ""
        parts.append(f"{key}{at}: {p!r} matches no layer of {model.name}")
    return "; ".join(parts) + " — name an op (CONV_2D) or a regex over its output tensor names."
