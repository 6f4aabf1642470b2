"""The GPU target's fp16 observation in a process of its own, run as a script.

The model is a pull request's: a WHILE loop whose condition is always true, tensors of
gigabytes, a kernel that crashes. So LiteRT's interpreter never runs it in an EdgeGate
process: ``gpu_analyzer.observe_fp16`` starts ``python -I fp16_child.py JOB`` in a private
folder under ``child_process.run_child``'s time and memory limits, and reads one JSON object.

It imports only the standard library, numpy and ``ai_edge_litert`` (never EdgeGate).

JOB is a JSON file: ``{"model": path, "samples": path of an .npy or null, "watched": [tensor
indices], "random": n, "memory_shown": "4 GiB"}``. With samples, each one (axis 0) is one invoke, quantized on the way
in for a quantized input; without, ``random`` seeded inputs in each input's range. The model
runs with every tensor kept (``experimental_preserve_all_tensors``) and without the XNNPACK
delegate (which would own the intermediate tensors and hide their values); after each invoke
the largest magnitude of each watched tensor (dequantized when quantized) is kept.

Answer (stdout): ``{"peaks": [[index, max_abs], ...], "used": n, "random": [what the random
inputs were, per kind of input] or null}``, or ``{"failure": "why the model could not run"}``. NaN in a float run
is reported as infinity: the range is already lost.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: the child imports numpy where it uses it
    import numpy as np

Detail = dict[str, Any]  # one of the interpreter's input or tensor details, as LiteRT gives it

RANDOM_FLOAT_RANGE = (-1.0, 1.0)  # a float input records no range: the usual normalized image range


def _first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return (lines[0] if lines else type(e).__name__)[:300]


def _to_input(real: np.ndarray, detail: Detail) -> np.ndarray:
    """Real-valued samples as the input tensor takes them: quantized for a quantized integer input."""
    import numpy as np

    dtype: np.dtype[Any] = np.dtype(detail["dtype"])
    params = detail["quantization_parameters"]
    if dtype.kind in "iu" and len(params["scales"]):
        # Per-tensor: model inputs are quantized with one scale (per-channel is for weights).
        scale, zero = float(params["scales"][0]), float(params["zero_points"][0])
        info = np.iinfo(dtype)
        return np.clip(np.rint(real / scale) + zero, info.min, info.max).astype(dtype)
    return np.ascontiguousarray(real, dtype=dtype)


def _random_feed(inputs: list[Detail], rng: np.random.Generator) -> list[np.ndarray]:
    """One seeded random input per input tensor, in its range (a quantized one's, or ±1 for floats)."""
    import numpy as np

    feed = []
    for d in inputs:
        shape = tuple(max(int(s), 1) for s in d["shape"])
        dtype: np.dtype[Any] = np.dtype(d["dtype"])
        if dtype.kind == "f":
            feed.append(rng.uniform(*RANDOM_FLOAT_RANGE, size=shape).astype(dtype))
        elif dtype.kind in "iu" and len(d["quantization_parameters"]["scales"]):
            info = np.iinfo(dtype)
            feed.append(rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype))
        else:  # ids, indices, flags: zeros are always in range
            feed.append(np.zeros(shape, dtype))
    return feed


def _random_kinds(inputs: list[Detail]) -> list[str]:
    """What the random inputs were, per kind of input."""
    import numpy as np

    return sorted(
        {
            "±1 for float inputs"
            if np.dtype(d["dtype"]).kind == "f"
            else "the quantized range"
            if len(d["quantization_parameters"]["scales"])
            else "zeros for integer inputs"
            for d in inputs
        }
    )


def _real(raw: np.ndarray, detail: Detail) -> np.ndarray:
    """A tensor's values as real numbers: dequantized when it is quantized."""
    import numpy as np

    q = detail["quantization_parameters"]
    if raw.dtype.kind in "iu" and len(q["scales"]):
        scales = np.asarray(q["scales"], np.float32)
        zeros = np.asarray(q["zero_points"] if len(q["zero_points"]) else (0,), np.float32)
        axis = int(q["quantized_dimension"])
        if scales.size > 1 and 0 <= axis < raw.ndim and raw.shape[axis] == scales.size:
            shape = [1] * raw.ndim
            shape[axis] = scales.size
            scales = scales.reshape(shape)
            zeros = zeros.reshape(shape) if zeros.size == scales.size else zeros[:1]
        else:
            scales, zeros = scales[:1], zeros[:1]
        return (raw.astype(np.float32) - zeros) * scales
    return np.asarray(raw, np.float32)


def _invoke(interpreter: Any, inputs: list[Detail], feed: list[np.ndarray]) -> str | None:
    """One invoke on ``feed``; the interpreter's complaint when it cannot run the model."""
    try:
        for detail, value in zip(inputs, feed):
            if tuple(detail["shape"]) != value.shape:
                interpreter.resize_tensor_input(detail["index"], value.shape, strict=True)
        interpreter.allocate_tensors()
        for detail, value in zip(inputs, feed):
            interpreter.set_tensor(detail["index"], value)
        interpreter.invoke()
    except (ValueError, RuntimeError) as e:
        return _first_line(e)
    return None


def observe(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(
            model_path=job["model"],
            num_threads=1,
            experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    except (ValueError, RuntimeError) as e:
        return {"failure": f"the LiteRT interpreter cannot load the model ({_first_line(e)})"}
    inputs = interpreter.get_input_details()
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    watched = [i for i in job["watched"] if i in details]
    samples = np.load(job["samples"], mmap_mode="r", allow_pickle=False) if job["samples"] else None
    rng = np.random.default_rng(0)
    used = len(samples) if samples is not None else int(job["random"])
    peaks: dict[int, float] = {}
    for n in range(used):
        if samples is not None:
            feed = [_to_input(np.asarray(samples[n : n + 1], np.float32), inputs[0])]
        else:
            feed = _random_feed(inputs, rng)
        failure = _invoke(interpreter, inputs, feed)
        if failure:  # a Flex or custom op, say: the model runs only where its kernels are linked
            return {"failure": f"the LiteRT interpreter cannot run the model ({failure})"}
        for index in watched:
            value = _real(interpreter.get_tensor(index), details[index])
            if value.size:
                with np.errstate(invalid="ignore"):
                    m = float(np.max(np.abs(value)))
                peaks[index] = max(peaks.get(index, 0.0), float("inf") if np.isnan(m) else m)
    kinds = _random_kinds(inputs) if samples is None else None
    return {"peaks": sorted(peaks.items()), "used": used, "random": kinds}


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as f:
        job = json.load(f)
    try:
        answer = observe(job)
    except MemoryError:
        answer = {"failure": f"it needed more than the {job['memory_shown']} of memory it may use"}
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
