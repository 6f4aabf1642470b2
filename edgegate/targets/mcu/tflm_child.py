"""TFLite Micro in a process of its own: the ``mcu`` target's helper, run as a script.

TFLite Micro is C++ with no memory safety towards its input: an arena a few hundred bytes too
small makes it write through a null pointer (SIGSEGV), and some kernels abort on parameters
they do not accept (int8 SOFTMAX with a tiny input scale hits a ``TFLITE_CHECK``). So the
interpreter never runs in an EdgeGate process: ``mcu.py`` starts this script with
``python -I tflm_child.py MODEL LOG`` and talks to it one JSON line at a time; when it dies the
parent knows which attempt killed it and starts a new one. Isolated mode (``-I``) keeps this
file's folder (``compute.py``, ``interface.py``, ...) and the working folder off ``sys.path``,
so nothing there shadows what numpy or tflite_micro import.

It imports only the standard library, numpy and the ``tflite_micro`` package (never EdgeGate,
so it starts fast and runs wherever the interpreter runs).

On start it writes ``{"version": tflite_micro.__version__}``. Then commands (stdin), one reply
line each (stdout):

- ``{"cmd": "allocate", "arena": N, "record": bool, "invoke": bool, "inputs": n}``: build an
  interpreter over the whole model with an ``N``-byte arena (``AllocateTensors`` runs in the
  constructor); ``record``: add the recording allocator's printout; ``invoke``: set the ``n``
  inputs to zeros and run once.
- ``{"cmd": "op", "index": k, "arena": N, "invoke": bool}``: the same for operator ``k`` of the
  first subgraph alone (a copy of the model whose first subgraph runs just that op), so every op
  is checked, not only the first one TFLM stops at; ``invoke``: run it too (some kernels refuse
  only in ``Eval``: uint8 DEPTHWISE_CONV_2D, int32 FLOOR_DIV). Its inputs are zeros, and ones
  when zeros are refused, so a value-dependent refusal (a division by zero) is not taken for
  one of the op itself.

Reply: ``{"ok": bool, "error": str|null, "log": str, "allocations": str|null,
"invoke_error": str|null}``. TFLM prints its diagnostics (``MicroPrintf``) on stderr; fds 1 and
2 point at LOG, which is emptied before each attempt, so a crashed attempt's last words stay
there for the parent to quote. Replies go through a private copy of the original stdout.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Iterable
from typing import Any, NotRequired, TypedDict


class _Ops:
    """Single-op copies of a model, built with the flatbuffers object API of TFLM's own schema."""

    def __init__(self, data: bytes):
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        self.schema = schema
        self.model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)

    def single(self, index: int) -> tuple[bytes, int]:
        """Operator ``index`` of the first subgraph as the whole first subgraph, with only its tensors,
        and the number of its inputs.

        Only its own tensors: TFLM plans every non-constant tensor of a subgraph, used or not, so
        keeping the others would make a probe need the whole model's activations.
        """
        import flatbuffers

        schema, model = self.schema, self.model
        graph = model.subgraphs[0]
        op = copy.copy(graph.operators[index])

        def constant(t: Any) -> bool:  # a tensor of the schema's object API (untyped)
            data = model.buffers[t.buffer].data if 0 < t.buffer < len(model.buffers) else None
            return data is not None and len(data) > 0

        def listed(v: Iterable[int] | None) -> list[int]:
            return [int(i) for i in v] if v is not None else []

        own = sorted({t for t in listed(op.inputs) + listed(op.outputs) + listed(op.intermediates) if t >= 0})
        new = {old: i for i, old in enumerate(own)}
        op.inputs = [new.get(t, -1) for t in listed(op.inputs)]
        op.outputs = [new[t] for t in listed(op.outputs)]
        if op.intermediates is not None:
            op.intermediates = [new[t] for t in listed(op.intermediates)]
        alone = copy.copy(graph)
        alone.tensors = [graph.tensors[t] for t in own]
        alone.operators = [op]
        # Everything the op reads that it does not produce comes from outside.
        outside = [
            t
            for t in listed(graph.operators[index].inputs)
            if t >= 0 and not constant(graph.tensors[t]) and not graph.tensors[t].isVariable
        ]
        alone.inputs = [new[t] for t in dict.fromkeys(outside)]  # x * x reads one tensor twice
        alone.outputs = list(op.outputs)
        keep = {t.buffer for t in alone.tensors}
        for other in model.subgraphs[1:]:
            keep |= {t.buffer for t in other.tensors or []}
        probe = copy.copy(model)
        probe.subgraphs = [alone] + list(model.subgraphs[1:])
        # Weights the probe does not read are dropped, so a probe costs what its op costs.
        probe.buffers = [b if i in keep else schema.BufferT() for i, b in enumerate(model.buffers)]
        # An offline memory plan names the full model's tensors: it does not apply to a probe.
        probe.metadata = [m for m in model.metadata or [] if m.name != b"OfflineMemoryAllocation"]
        builder = flatbuffers.Builder(1024)
        builder.Finish(probe.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output()), len(alone.inputs)


class _Reply(TypedDict):
    """One attempt's answer to the parent, a JSON line (``targets/mcu.py`` reads it)."""

    ok: bool  # the interpreter was built with the arena
    error: str | None  # why it was not
    log: str  # what TFLM printed meanwhile
    allocations: NotRequired[str | None]  # its allocation record, when asked
    invoke_error: NotRequired[str | None]  # why invoking failed, when asked to invoke


class _Started(TypedDict):
    """The first line to the parent: TFLM imported, at this version."""

    version: str


class _Attempts:
    def __init__(self, log_path: str):
        self.log = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.reply = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(self.log, 1)
        os.dup2(self.log, 2)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)

    def start(self) -> None:
        os.ftruncate(self.log, 0)
        os.lseek(self.log, 0, os.SEEK_SET)  # fds 1, 2 share this offset (dup2)

    def text(self) -> str:
        sys.stdout.flush()
        sys.stderr.flush()
        size = os.fstat(self.log).st_size
        return os.pread(self.log, min(size, 64 * 1024), 0).decode("utf-8", "replace")

    def answer(self, reply: _Reply | _Started) -> None:
        self.reply.write(json.dumps(reply) + "\n")
        self.reply.flush()


def _try(
    data: bytes,
    arena: int,
    record: bool,
    invoke: bool,
    inputs: int,
    attempts: _Attempts,
    fills: tuple[float, ...] = (0,),
) -> _Reply:
    import numpy as np
    from tflite_micro import runtime

    attempts.start()
    reply: _Reply = {"ok": False, "error": None, "log": "", "allocations": None, "invoke_error": None}
    try:
        interpreter = runtime.Interpreter.from_bytes(data, arena_size=arena)
    except Exception as e:  # TFLM's refusals are RuntimeError/ValueError; its words are in the log
        reply["error"] = f"{type(e).__name__}: {e}"
        reply["log"] = attempts.text()
        return reply
    reply["ok"] = True
    if record:
        attempts.start()
        interpreter.print_allocations()
        reply["allocations"] = attempts.text()
    for fill in fills if invoke else ():
        attempts.start()
        try:
            for i in range(inputs):
                details = interpreter.get_input_details(i)
                interpreter.set_input(np.full(details["shape"], fill, details["dtype"]), i)
            interpreter.invoke()
        except Exception as e:
            if reply["invoke_error"] is None:  # the first refusal's words are the ones reported
                reply["invoke_error"], reply["log"] = f"{type(e).__name__}: {e}", attempts.text()
        else:
            reply["invoke_error"] = None
            break
    if reply["invoke_error"] is None:
        reply["log"] = attempts.text()
    del interpreter
    return reply


def main(argv: list[str]) -> int:
    model_path, log_path = argv[1], argv[2]
    attempts = _Attempts(log_path)
    with open(model_path, "rb") as f:
        data = f.read()
    import tflite_micro  # a missing package ends the child here; the parent quotes the log

    attempts.answer({"version": tflite_micro.__version__})
    ops: _Ops | None = None
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["cmd"] == "allocate":
            record, invoke, inputs = (
                bool(cmd.get("record")),
                bool(cmd.get("invoke")),
                int(cmd.get("inputs", 0)),
            )
            reply = _try(data, int(cmd["arena"]), record, invoke, inputs, attempts)
        elif cmd["cmd"] == "op":
            attempts.start()
            try:
                ops = ops or _Ops(data)
                single, inputs = ops.single(int(cmd["index"]))
            except Exception as e:  # the model's object form cannot be built: say so, keep serving
                reply = {"ok": False, "error": f"cannot isolate the op: {type(e).__name__}: {e}", "log": ""}
            else:
                invoke = bool(cmd.get("invoke"))
                reply = _try(single, int(cmd["arena"]), False, invoke, inputs, attempts, (0, 1))
        else:
            reply = {"ok": False, "error": f"unknown command {cmd['cmd']!r}", "log": ""}
        attempts.answer(reply)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
