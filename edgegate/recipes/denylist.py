"""A recipe's ``keep_float`` layers left float by the TensorFlow converter (worker-only).

The converter's own selective path: LiteRT's ``QuantizationDebugger`` calibrates the model
once and quantizes it with ``denylisted_nodes`` (op output tensor names) left float, with a
QUANTIZE / DEQUANTIZE pair around each. Its I/O stays float32 (``get_nondebug_quantized_model``
quantizes with ``fully_quantize`` off: an int8 I/O around float layers would buy nothing).

Each pattern is matched here against the calibrated model's op output tensor names, the names
the debugger's per-layer statistics report (``layer_errors``), so a layer the ranking names is
found by its own name: a regex is searched in each name, an op name (``CONV_2D``) takes every
op of that kind. A pattern matching nothing is an ``InputError`` naming its policy line and the
model's layers; one that leaves no layer quantized is one too (it would be a float model).
The patterns and the names both come from the pull request: a pattern that backtracks is
stopped after ``MATCH_SECONDS`` (docs/security.md, "Tiny inputs cannot stop the job").
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from typing import Any, Iterator

from edgegate.conversions.interface import Conversion, Representative
from edgegate.errors import InputError
from edgegate.policy.sections import KeepFloat, Recipe

SHOWN_LAYERS = 12  # how many of the model's layer names an unmatched pattern's error lists
MATCH_SECONDS = 5.0  # one pattern against every layer name: far above any plain pattern's time


def op_outputs(model: bytes) -> list[tuple[str, str]]:
    """(op name, output tensor name) of every op of a ``.tflite``, in execution order."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    # _get_ops_details: the interpreter's op table (TensorFlow's own debugger reads it the same way).
    return [
        (op["op_name"], names[t]) for op in interpreter._get_ops_details() for t in op["outputs"] if t >= 0
    ]


class _Runaway(Exception):
    pass


@contextlib.contextmanager
def _bounded(seconds: float) -> Iterator[None]:
    """Raise ``_Runaway`` in the block after ``seconds`` (the regex engine checks signals while it
    backtracks); a no-op off the main thread, where no signal arrives (workers run jobs on it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(*_: object) -> None:
        raise _Runaway

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _matches(k: KeepFloat, ops: list[tuple[str, str]], label: str) -> list[str]:
    """The output names ``k`` matches; a pattern from a pull request that backtracks over the
    model's (also its) names for more than ``MATCH_SECONDS`` is an ``InputError``, not a stalled build."""
    if k.is_op_name:
        return [t for op, t in ops if op == k.pattern]
    try:
        with _bounded(MATCH_SECONDS):
            return [t for _, t in ops if re.search(k.pattern, t)]
    except _Runaway:
        where = f" (policy line {k.line})" if k.line else ""
        raise InputError(
            f"{label}: keep_float{where}: {k.pattern!r} took over {MATCH_SECONDS:g} s to match the "
            "model's layer names (a pattern that backtracks); write a plainer one"
        ) from None


def resolve(keep: tuple[KeepFloat, ...], ops: list[tuple[str, str]], *, model: str, label: str) -> list[str]:
    """The output tensor names ``keep`` leaves float; ``InputError`` for a pattern matching none."""
    nodes: list[str] = []
    for k in keep:
        found = _matches(k, ops, label)
        if not found:
            where = f" (policy line {k.line})" if k.line else ""
            shown = ", ".join(repr(t) for _, t in ops[:SHOWN_LAYERS])
            more = f" (and {len(ops) - SHOWN_LAYERS} more)" if len(ops) > SHOWN_LAYERS else ""
            raise InputError(
                f"{label}: keep_float{where}: {k.pattern!r} matches no layer of model "
                f"{model!r}; its layers (op output names) are {shown}{more}"
            )
        nodes += [t for t in found if t not in nodes]
    return nodes


def convert_keeping_float(
    converter: Any, conversion: Conversion, recipe: Recipe, representative: Representative, *, model: str
) -> bytes:
    """``recipe``'s conversion with its ``keep_float`` layers float (``converter``: a fresh one)."""
    import tensorflow as tf

    conversion.configure(converter, tf, recipe, representative, after_qat=False)
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=representative)
    ops = op_outputs(debugger.calibrated_model)
    nodes = resolve(recipe.keep_float_at, ops, model=model, label=recipe.label)
    quantizable = {t for op, t in ops if op not in ("QUANTIZE", "DEQUANTIZE")}
    if quantizable <= set(nodes):
        raise InputError(
            f"{recipe.label}: keep_float leaves every layer of model {model!r} float; that is the "
            "float32 model, not a quantized one"
        )
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=nodes)
    try:
        debugger.options = options
    except ValueError:
        # Raised after quantizing when no op is left to verify (every other op float): the
        # model itself is made; get_nondebug_quantized_model re-quantizes with these options.
        pass
    return bytes(debugger.get_nondebug_quantized_model())
