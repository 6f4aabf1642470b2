"""Opening ``.tflite`` files with the LiteRT interpreter, and converting tensors to and from floats.

The file is checked before it reaches the interpreter (present, the ``TFL3`` flatbuffer
identifier) so a Git LFS pointer, an HTML error page or an empty file gets a message naming
the model rather than a native error. Quantization parameters come from
``quantization_parameters`` (not ``quantization``, which reads ``(0.0, 0)`` for per-channel tensors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from edgegate.errors import InputError
from edgegate.exception_text import first_line
from edgegate.model_files import LFS_POINTER_MAX_BYTES, is_lfs_pointer

_IDENTIFIER = b"TFL3"  # flatbuffer file identifier of the TFLite schema, at bytes 4..8


def open_interpreter(path: Path, *, name: str, threads: int = 1) -> Interpreter:
    """An interpreter for ``path`` (tensors not yet allocated); ``InputError`` naming ``name`` if unusable."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(LFS_POINTER_MAX_BYTES)
    except OSError as e:
        raise InputError(f"model {name}: cannot read {path} ({e.strerror or e})") from None
    if is_lfs_pointer(head):
        raise InputError(
            f"model {name}: {path.name} is a Git LFS pointer, not the model; fetch LFS files "
            "(actions/checkout with lfs: true, or git lfs pull)"
        )
    if len(head) < 8 or head[4:8] != _IDENTIFIER:
        raise InputError(
            f"model {name}: {path.name} is not a TensorFlow Lite model (no 'TFL3' flatbuffer "
            f"identifier{'; the file is empty' if not head else ''})"
        )
    try:
        return Interpreter(model_path=str(path), num_threads=threads)
    except (ValueError, RuntimeError) as e:
        raise InputError(
            f"model {name}: {path.name} cannot be loaded by the LiteRT interpreter; it may be "
            f"truncated or corrupt ({first_line(e)})"
        ) from None


_UNRESOLVED = re.compile(r"unresolved custom op: ([A-Za-z0-9_.\-]{1,100})")


def why_not_runnable(path: Path, *, name: str) -> str | None:
    """Why the stock LiteRT interpreter cannot run ``path`` (a custom op it has no kernel for), or None.

    Such a model is still measured (size, static target checks); only what needs the interpreter
    (accuracy, latency) is skipped, with this reason. Unreadable files are not judged here: their
    evaluation reports them as it does for any model.
    """
    try:
        interpreter = open_interpreter(path, name=name)
        interpreter.allocate_tensors()
    except InputError:
        return None
    except RuntimeError as e:
        found = _UNRESOLVED.search(str(e))
        if found is None:
            return None
        return (
            f"custom op {found.group(1)} has no kernel in the stock LiteRT interpreter, so accuracy and "
            "latency cannot be measured here"
        )
    return None


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to a single bool
class TensorQuantization:
    """Affine quantization of one tensor: ``real = (q - zero_point) * scale``, per tensor or per channel."""

    scales: np.ndarray  # one value, or one per channel along ``axis``
    zero_points: np.ndarray
    axis: int

    @classmethod
    def of(cls, detail: dict) -> TensorQuantization | None:
        """The quantization of a tensor from ``get_*_details()``; None for an unquantized tensor."""
        params = detail["quantization_parameters"]
        if len(params["scales"]) == 0:
            return None
        return cls(
            np.asarray(params["scales"], np.float32),
            np.asarray(params["zero_points"], np.float32),
            int(params["quantized_dimension"]),
        )

    def _along(self, values: np.ndarray, ndim: int) -> np.ndarray:
        """Parameters shaped to broadcast against an array of ``ndim`` dimensions."""
        if values.size == 1:
            return values.reshape(())
        shape = [1] * ndim
        shape[self.axis] = values.size
        return values.reshape(shape)

    def quantize(self, real: np.ndarray, dtype: np.dtype) -> np.ndarray:
        ndim = np.ndim(real)
        scaled = np.divide(real, self._along(self.scales, ndim), dtype=np.float32)
        np.rint(scaled, out=scaled)  # in place: the eval set is quantized whole, keep memory traffic low
        scaled += self._along(self.zero_points, ndim)
        limits = np.iinfo(dtype)
        np.clip(scaled, limits.min, limits.max, out=scaled)
        return scaled.astype(dtype)

    def dequantize(self, quantized: np.ndarray) -> np.ndarray:
        ndim = np.ndim(quantized)
        return (np.asarray(quantized, np.float32) - self._along(self.zero_points, ndim)) * self._along(
            self.scales, ndim
        )


def to_input(real: np.ndarray, detail: dict) -> np.ndarray:
    """Samples as the input tensor takes them: quantized for integer tensors, else cast to its type."""
    dtype = np.dtype(detail["dtype"])
    quantization = TensorQuantization.of(detail)
    if quantization is not None and dtype.kind in "iu":
        return quantization.quantize(real, dtype)
    return np.ascontiguousarray(real, dtype=dtype)


def from_output(raw: np.ndarray, detail: dict) -> np.ndarray:
    """An output tensor's values as float32, dequantized when the tensor is quantized."""
    quantization = TensorQuantization.of(detail)
    if quantization is not None and np.dtype(detail["dtype"]).kind in "iu":
        return quantization.dequantize(raw)
    return np.asarray(raw, np.float32)
