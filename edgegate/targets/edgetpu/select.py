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

from edgegate.targets.edgetpu.compiled import CompiledModelAnalyzer, is_compiled
from edgegate.targets.edgetpu.compiler import CompilerAnalyzer
from edgegate.targets.flatbuffer import read_tflite
from edgegate.targets.edgetpu.interface import EdgeTpuResult
from edgegate.targets.edgetpu.static import StaticAnalyzer
from edgegate.errors import InputError
from edgegate.policy.sections import EdgeTpuSettings

COMPILER_NAME = "edgetpu_compiler"

_NEVER = {
    "float32": (
        "a float32 model has no 8-bit tensors, so edgetpu_compiler rejects it ('Model not quantized'); "
        "use the int8 recipe."
    ),
    "float16": (
        "float16 quantization keeps float16 weights and float32 math, which the Edge TPU cannot run "
        "('Model not quantized'); use the int8 recipe."
    ),
    "dynamic": (
        "dynamic-range quantization quantizes only the weights and computes in float, so "
        "edgetpu_compiler rejects it ('Model not quantized'); use the int8 recipe with calibration data."
    ),
    "int16x8": (
        "16x8 quantization has int16 activations and the Edge TPU runs only 8-bit tensors, so no op "
        "maps; use the int8 recipe."
    ),
}


def why_never_compiles(conversion: str) -> str | None:
    """One sentence when a conversion (a ``Recipe.conversion``) can never compile for the Edge TPU."""
    return _NEVER.get(conversion)


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
