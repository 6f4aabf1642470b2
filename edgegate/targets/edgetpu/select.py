"""Choosing who answers the Edge TPU question for one model, and which candidates never can compile.

``analyze`` reads the model once: an already compiled ``*_edgetpu.tflite`` (it holds an
``edgetpu-custom-op``) is reported as it is; otherwise ``edgetpu.compiler`` decides: a path
runs that compiler, ``auto`` runs ``edgetpu_compiler`` when it is on PATH and the static
check when not, ``static`` always predicts. The result's ``analyzer`` says which answered.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Callable

from edgegate.conversions import produced_by
from edgegate.conversions.interface import Produces
from edgegate.targets.edgetpu.compiled import CompiledModelAnalyzer, is_compiled
from edgegate.targets.edgetpu.compiler import CompilerAnalyzer
from edgegate.targets.flatbuffer import read_tflite
from edgegate.targets.edgetpu.interface import EdgeTpuResult
from edgegate.targets.edgetpu.static import StaticAnalyzer
from edgegate.errors import InputError
from edgegate.policy.sections import EdgeTpuSettings

COMPILER_NAME = "edgetpu_compiler"

# What the Edge TPU needs of a conversion's model, as (rule over what it produces, why not), the
# first that holds answers: integer-only, with 8-bit activations. Asked of the declarations, so
# a new conversion is judged without being named here.
_NEVER: tuple[tuple[Callable[[Produces], bool], str], ...] = (
    (
        lambda p: p.int16_activations,
        "16x8 quantization has int16 activations and the Edge TPU runs only 8-bit tensors, so no op "
        "maps; use the int8 recipe.",
    ),
    (
        lambda p: not p.integer_only and p.float16_weights,
        "float16 quantization keeps float16 weights and float32 math, which the Edge TPU cannot run "
        "('Model not quantized'); use the int8 recipe.",
    ),
    (
        lambda p: not p.integer_only and p.quantized_weights,
        "dynamic-range quantization quantizes only the weights and computes in float, so "
        "edgetpu_compiler rejects it ('Model not quantized'); use the int8 recipe with calibration data.",
    ),
    (
        lambda p: not p.integer_only,
        "a float32 model has no 8-bit tensors, so edgetpu_compiler rejects it ('Model not quantized'); "
        "use the int8 recipe.",
    ),
)


def never_compiles(produced: Produces) -> str | None:
    """One sentence when a model holding what ``produced`` says can never compile for the Edge TPU."""
    return next((why for rule, why in _NEVER if rule(produced)), None)


def why_never_compiles(conversion: str) -> str | None:
    """``never_compiles`` for a conversion (a ``Recipe.conversion``), asked of what it produces."""
    return never_compiles(produced_by(conversion))


def find_compiler(setting: str, root: Path | None = None) -> Path | None:
    """The compiler ``edgetpu.compiler`` asks for: None for the static check. A relative path is
    relative to the repository ``root`` (the policy's paths all are), not to the current folder."""
    if setting == "static":
        return None
    if setting == "auto":
        found = shutil.which(COMPILER_NAME)
        return Path(found) if found else None
    path = Path(setting).expanduser()
    if root is not None and not path.is_absolute():
        path = root / path
    if path.is_dir():
        path = path / COMPILER_NAME
    if not path.is_file() or not os.access(path, os.X_OK):
        raise InputError(
            f"edgetpu.compiler: {setting!r} is not an executable file; give the path to "
            f"{COMPILER_NAME}, or 'auto' / 'static'."
        )
    return path


def analyze(model: Path, spec: EdgeTpuSettings, root: Path | None = None) -> EdgeTpuResult:
    """The Edge TPU answer for one .tflite under ``spec``; ``InputError`` when the file is unusable."""
    parsed = read_tflite(model)
    if is_compiled(parsed):
        return CompiledModelAnalyzer(spec.runtime).analyze_tflite(parsed)
    binary = find_compiler(spec.compiler, root)
    if binary is None:
        result = StaticAnalyzer(spec.compiler_version, spec.runtime).analyze_tflite(parsed)
        if spec.compiler == "auto":
            result = _with_note(result, f"{COMPILER_NAME} is not on PATH: this is the static prediction")
        return result
    return CompilerAnalyzer(binary, spec.runtime, spec.timeout_s, spec.compiler_version).analyze(model)


def _with_note(result: EdgeTpuResult, note: str) -> EdgeTpuResult:
    return replace(result, notes=result.notes + (note,))
