"""Building candidates from a source model (worker-only: imports TensorFlow).

``build_candidates`` serves one ``BuildRequest``: it loads the source once, runs the shared
training stages once (if any), then converts once per recipe. A failure in one recipe
becomes that candidate's error; it never hides the others. The float32 reference is checked
against the source's own outputs (``reference_check``): a reference that does not reproduce
them fails, so no figure of a model that was not the user's is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgegate.conversions import CONVERSIONS
from edgegate.conversions.interface import Representative
from edgegate.errors import EdgeGateError, InputError, PolicyError
from edgegate.policy.sections import Recipe
from edgegate.exception_text import bounded, first_line
from edgegate.recipes.conversions import convert, make_converter
from edgegate.recipes.denylist import convert_keeping_float
from edgegate.recipes.interface import (
    BuildRequest,
    BuiltCandidate,
    is_float_reference,
    stages_of,
)
from edgegate.recipes.loading import load_keras_model_for_conversion, open_saved_model
from edgegate.recipes.reference_check import (
    NotCompared,
    SourceRunner,
    check_reference,
    keras_runner,
    saved_model_runner,
)
from edgegate.repo_paths import safe_name
from edgegate.transforms import TRANSFORMS
from edgegate.transforms.interface import Applied, TfliteTransform


def _failure_text(e: BaseException) -> str:
    # The converter's useful sentence is usually the last 'error:' line of its MLIR dump.
    errors = [ln.split("error:", 1)[1].strip() for ln in str(e).splitlines() if "error:" in ln]
    return bounded(errors[-1], 400) if errors and errors[-1] else first_line(e, 400)


def _model_input_shape(converter_source) -> tuple | None:
    try:
        return tuple(converter_source.inputs[0].shape[1:])
    except Exception:
        return None


def _calibration_x(request: BuildRequest, input_shape: tuple | None) -> np.ndarray:
    """The policy's calibration samples (the eval set when it gives none), as many as it asks;
    seeded random inputs for ``synthetic: true``."""
    assert request.calibration is not None
    if request.calibration.data is None:
        return _synthetic_inputs(request, input_shape)
    from edgegate.datasets import load_dataset

    hw = tuple(input_shape[:2]) if input_shape and len(input_shape) == 3 else None
    data = load_dataset(request.calibration.data, request.root, key=request.calibration.data.key, input_hw=hw)
    return data.x[: request.calibration.samples]


def _representative(request: BuildRequest, input_shape: tuple | None, notes: list[str]):
    """The calibration generator, or None when the policy gives no calibration data."""
    calibration = request.calibration
    if calibration is None:
        return None
    x = _calibration_x(request, input_shape).astype(np.float32)
    if calibration.data is None:
        notes.append(
            f"calibrated on {len(x)} synthetic inputs (uniform in [0, 1)): size, latency and target "
            "mapping are right; int8 ranges, and so accuracy, may not be"
        )
    if input_shape is not None and tuple(x.shape[1:]) != tuple(d for d in input_shape):
        if None not in input_shape:
            raise InputError(
                f"{calibration.data.key if calibration.data else calibration.key}: samples of shape {tuple(x.shape[1:])} do not fit model "
                f"{request.model_name}'s input {tuple(input_shape)}"
            )
    if len(x) < calibration.samples:
        notes.append(f"calibrated on {len(x)} samples (fewer than the {calibration.samples} asked)")

    def gen():
        for i in range(len(x)):
            yield [x[i : i + 1]]

    return gen


def _synthetic_inputs(request: BuildRequest, input_shape: tuple | None) -> np.ndarray:
    """``calibration.samples`` inputs drawn (seeded) in [0, 1), the usual range of normalized inputs."""
    assert request.calibration is not None
    if input_shape is None and request.source.kind == "savedmodel":
        input_shape = _saved_model_input_shape(request)
    if input_shape is None or any(d is None for d in input_shape):
        raise InputError(
            f"{request.calibration.key}: synthetic calibration needs a fixed input shape, and model "
            f"{request.model_name!r} has {tuple(input_shape) if input_shape else 'none readable'}; give "
            "calibration data instead"
        )
    rng = np.random.default_rng(0)
    return rng.random((request.calibration.samples, *input_shape), dtype=np.float32)


def _saved_model_input_shape(request: BuildRequest) -> tuple | None:
    loaded, key = open_saved_model(request.source)
    signature = loaded.signatures[key]
    specs = list(signature.structured_input_signature[1].values())
    return tuple(specs[0].shape[1:]) if len(specs) == 1 else None


NOT_COMPARED = "float32 reference not compared with the model's own outputs: {reason}"


def _source_runner(make: Callable[[], SourceRunner]) -> tuple[SourceRunner | None, str | None]:
    """The source's forward pass for the reference check, or a note saying why there is none."""
    try:
        return make(), None
    except NotCompared as e:
        return None, NOT_COMPARED.format(reason=e)
    except Exception as e:  # a model whose inputs cannot be read: converting it says more, by name
        return None, NOT_COMPARED.format(reason=f"its inputs could not be read ({first_line(e, 200)})")


def _check_reference(
    request: BuildRequest,
    source: tuple[SourceRunner | None, str | None],
    path: Path,
    input_shape: tuple | None,
) -> str | None:
    """The note of comparing the float32 reference at ``path`` with the source's own outputs;
    ``InputError`` (the file removed: it is no reference) when they disagree.

    ``source``: what ``_source_runner`` returned (the source's forward pass, or why there is none).
    """
    runner, why_not = source
    if runner is None:
        return why_not
    samples, origin = None, "random inputs"
    if request.calibration is not None:
        try:
            samples = _calibration_x(request, input_shape)
            data = request.calibration.data
            origin = f"samples of {data.key}" if data is not None else "synthetic inputs"
        except InputError:
            pass  # data that does not load fails the builds and evaluations that need it, by name
    try:
        comparison = check_reference(runner, path, samples=samples, origin=origin)
    except NotCompared as e:
        return NOT_COMPARED.format(reason=e)
    if comparison.matches:
        return comparison.note()
    path.unlink()
    raise InputError(comparison.error(request.model_name))


@dataclass
class _Samples:
    """A request's calibration batches, made on first need (its notes go to that candidate), or
    the error that stopped them, raised for every candidate that needs them."""

    request: BuildRequest
    input_shape: tuple | None
    made: Representative | None = None
    error: str | None = None
    tried: bool = False

    def get(self, recipe: Recipe, notes: list[str]) -> Representative:
        if not self.tried:
            self.tried = True
            try:
                self.made = _representative(self.request, self.input_shape, notes)
            except InputError as e:
                self.error = str(e)
        if self.error:
            raise InputError(self.error)
        if self.made is None:
            raise InputError(
                f"{recipe.label} needs calibration data: add `calibration:` (or `eval:`, "
                f"used as a fallback) to model {self.request.model_name!r} in the policy"
            )
        return self.made


class _Engines:
    """The worker's engine objects of one build, made on first need (``transform_engines.ENGINES``)."""

    def __init__(self, request: BuildRequest):
        self.request = request
        self.made: dict[str, Any] = {}

    def __getitem__(self, engine: str) -> Any:
        if engine not in self.made:
            from edgegate.recipes.transform_engines import ENGINES

            self.made[engine] = ENGINES[engine](self.request)
        return self.made[engine]


def _transform(
    transform: TfliteTransform, engines: _Engines, model: Path, path: Path, recipe: Recipe
) -> Applied:
    """Write ``transform``'s output of ``model`` to ``path`` (written beside it first)."""
    out = path.with_name(f"{path.stem}.{transform.name}.tflite")
    try:
        applied = transform.apply(engines[transform.engine], model, out, recipe)
        if not out.is_file():
            raise InputError(f"{transform.name} ({transform.engine}) wrote no model")
        out.replace(path)
    finally:
        out.unlink(missing_ok=True)
    return applied


def _transforms(
    request: BuildRequest, engines: _Engines, path: Path, recipe: Recipe, source: Path | None = None
) -> Applied:
    """Run the recipe's ``.tflite → .tflite`` stages in order, the first on ``source`` (a .tflite
    source, so messages name its file) or on ``path``, each writing ``path``; their notes, and the
    per-layer evidence (and ranking) of the last that has any, written as Model Explorer node data
    beside it."""
    notes: list[str] = []
    layers: tuple[Any, ...] = ()
    ranking: tuple[str, ...] = ()
    for name in recipe.transforms:
        applied = _transform(TRANSFORMS[name], engines, source or path, path, recipe)
        source = None
        notes += applied.notes
        layers, ranking = (applied.layers, applied.ranking) if applied.layers else (layers, ranking)
    if layers:
        from edgegate.recipes.node_data import HOW_TO_OPEN, write_node_data

        written = write_node_data(request.out_dir, recipe.label, layers)
        notes.append(f"per-layer evidence: {written.name}, beside the candidate's .tflite; {HOW_TO_OPEN}")
    return Applied(tuple(notes), layers, ranking)


def build_from_tflite(request: BuildRequest) -> list[BuiltCandidate]:
    """A ``.tflite`` source's recipes: each a copy of the file through its transforms (no TensorFlow).
    One recipe's failure (nothing quantized, a keep_float pattern matching no layer) is its own."""
    request.out_dir.mkdir(parents=True, exist_ok=True)
    engines = _Engines(request)
    built: list[BuiltCandidate] = []
    for recipe in request.recipes:
        path = request.out_dir / f"{safe_name(recipe.label)}.tflite"
        try:
            applied = _transforms(request, engines, path, recipe, source=request.source.path)
            built.append(BuiltCandidate(recipe.label, path, notes=applied.notes, ranking=applied.ranking))
        except PolicyError as e:  # a keep_float pattern matching no layer: said at its policy line
            built.append(BuiltCandidate(recipe.label, None, error="; ".join(e.problems)))
        except EdgeGateError as e:
            built.append(BuiltCandidate(recipe.label, None, error=str(e)))
    return built


def _builds_reference(request: BuildRequest) -> bool:
    return any(is_float_reference(r) for r in request.recipes)


def build_candidates(request: BuildRequest) -> list[BuiltCandidate]:
    request.out_dir.mkdir(parents=True, exist_ok=True)
    trainings, _ = stages_of(request.recipes[0])
    source = request.source
    notes: list[str] = []
    # The source's own forward pass (or why there is none), when this request builds the reference.
    runner: tuple[SourceRunner | None, str | None] = (None, None)
    try:
        figures = None
        if trainings:
            from edgegate.recipes import training as training_mod

            model = training_mod.load_for_training(source)
            context = training_mod.context_for(request)
            outcome = training_mod.train(model, trainings, request.recipes[0], context)
            model, figures = outcome.model, outcome.figures
            notes.extend(outcome.notes)
            saved_model_dir = signature = None
        elif source.kind == "savedmodel":
            model = None
            loaded, key = open_saved_model(source)
            saved_model_dir, signature = str(source.path), key
            if _builds_reference(request):  # compared through the signature it is converted from
                runner = _source_runner(lambda: saved_model_runner(loaded, key))
        else:
            model = load_keras_model_for_conversion(source)
            saved_model_dir = signature = None
            if _builds_reference(request):
                runner = _source_runner(lambda: keras_runner(model))
    except Exception as e:  # the whole group fails alike: report it on each recipe
        reason = str(e) if isinstance(e, InputError) else _failure_text(e)
        if type(e).__name__ == "TrainingSkipped":
            return [BuiltCandidate(r.label, None, skip_reason=reason) for r in request.recipes]
        return [BuiltCandidate(r.label, None, error=reason) for r in request.recipes]

    input_shape = _model_input_shape(model) if model is not None else None
    built: list[BuiltCandidate] = []
    samples = _Samples(request, input_shape)
    engines = _Engines(request)
    for recipe in request.recipes:
        _, conversion_name = stages_of(recipe)
        conversion = CONVERSIONS[conversion_name]
        own_notes = list(notes)
        try:
            if recipe.quantizer_options_unused:  # a glob the policy could not tell was no .tflite
                raise InputError(recipe.quantizer_options_unused)
            after_qat = "qat" in trainings
            rep = None
            calibrates = conversion.needs_calibration and not after_qat
            if calibrates:
                rep = samples.get(recipe, own_notes)
            converter = make_converter(
                keras_model=model, saved_model_dir=saved_model_dir, signature=signature, name=source.display
            )
            if recipe.keep_float and not recipe.transforms:  # the converter's own selective path
                assert rep is not None  # keep_float is refused (policy) where nothing calibrates
                blob = convert_keeping_float(converter, conversion, recipe, rep, model=request.model_name)
            else:
                blob = convert(
                    converter, conversion, recipe, rep if calibrates else None, after_qat=after_qat
                )
            del converter  # its Keras 3 export folder goes with it
            path = request.out_dir / f"{safe_name(recipe.label)}.tflite"
            path.write_bytes(blob)
            applied = _transforms(request, engines, path, recipe)  # the .tflite → .tflite stages
            own_notes += applied.notes
            if is_float_reference(recipe):
                note = _check_reference(request, runner, path, input_shape)
                own_notes += [note] if note else []
            built.append(
                BuiltCandidate(
                    recipe.label, path, training=figures, notes=tuple(own_notes), ranking=applied.ranking
                )
            )
        except InputError as e:
            built.append(BuiltCandidate(recipe.label, None, error=str(e), training=figures))
        except Exception as e:
            built.append(
                BuiltCandidate(
                    recipe.label, None, error=f"conversion failed: {_failure_text(e)}", training=figures
                )
            )
    return built
