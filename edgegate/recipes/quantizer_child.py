"""LiteRT Quantizer on one float ``.tflite``, in a process of its own, run as a script.

The model is a pull request's: its flatbuffer may crash the C++ that reads it, its recipe
patterns may be regexes that take forever. So ``litert_quantize.quantize`` starts
``python -I quantizer_child.py JOB`` in a private folder under ``child_process.run_child``'s
time and memory limits, and reads one JSON object.

It imports only the standard library, numpy, ``ai_edge_litert`` and ``litert_quantizer``
(never EdgeGate, never TensorFlow).

JOB is a JSON file: ``{"model": path, "rules": [the quantizer's recipe], "keep_float":
[patterns], "samples": path of an .npz (one array per signature input, by name) or null,
"out": folder}``. The child

1. unpacks float16 constants behind DEQUANTIZE (how MediaPipe ships its models) into float32
   constants, so the quantizer sees the weights (it leaves float16 ones alone, silently);
2. checks each ``keep_float`` pattern against the model (an op name, or a regex over op
   output tensor names) and answers ``{"unmatched": [...]}`` when one matches nothing;
3. calibrates when the recipe needs it, quantizes, and counts the weights it quantized;
4. compares every tensor of the quantized model with the float one on the samples (SNR).

Answer (stdout): ``{"unpacked": n, "float_model": path, "model": path, "quantized_weights": n,
"weights": n, "integer_weights": n, "layers": [[tensor, op, snr_db, lost_db], ...]}`` or ``{"failure": "why"}``.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

_INTEGER_OR_HALF = ("INT8", "UINT8", "INT4", "INT16", "FLOAT16")


def _first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:300]


def _schema():
    from ai_edge_litert import schema_py_generated as fb

    return fb


def _type_names() -> dict[int, str]:
    fb = _schema()
    return {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}


def _op_names(model) -> list[str]:
    fb = _schema()
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        out.append(names.get(builtin, "CUSTOM") if builtin != fb.BuiltinOperator.CUSTOM else "CUSTOM")
    return out


def _name(tensor) -> str:
    n = tensor.name
    return n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n or "")


def unpack_float16(model_bytes: bytes) -> tuple[bytes, int]:
    """Float16 constants feeding a DEQUANTIZE become the float32 constants it would produce
    (an exact widening), and the DEQUANTIZE goes: the outputs stay bit-identical."""
    import numpy as np
    from ai_edge_litert.tools import flatbuffer_utils as fu

    fb = _schema()
    model = fu.read_model_from_bytearray(bytearray(model_bytes))
    ops = _op_names(model)
    unpacked = 0
    for sg in model.subgraphs:
        kept = []
        for op in sg.operators:
            src = sg.tensors[op.inputs[0]] if ops[op.opcodeIndex] == "DEQUANTIZE" and op.inputs else None
            data = model.buffers[src.buffer].data if src is not None else None
            dst = sg.tensors[op.outputs[0]] if src is not None else None
            if (
                src is not None
                and dst is not None
                and src.type == fb.TensorType.FLOAT16
                and dst.type == fb.TensorType.FLOAT32
                and data is not None
                and len(data)
            ):
                wide = np.frombuffer(bytes(data), dtype="<f2").astype("<f4")
                buf = fb.BufferT()
                buf.data = np.frombuffer(wide.tobytes(), dtype=np.uint8)
                model.buffers.append(buf)
                dst.buffer = len(model.buffers) - 1
                unpacked += 1
                continue
            kept.append(op)
        sg.operators = kept
        _drop_unused_float16(sg, model, fb.TensorType.FLOAT16)
    if not unpacked:
        return model_bytes, 0
    referenced = {t.buffer for sg in model.subgraphs for t in sg.tensors}
    referenced |= {m.buffer for m in model.metadata or []}
    for i, buf in enumerate(model.buffers):
        if i not in referenced:
            buf.data = None  # the float16 copies: nothing points at them any more
    return bytes(fu.convert_object_to_bytearray(model)), unpacked


def _drop_unused_float16(sg, model, float16: int) -> None:
    """Remove the float16 tensors nothing reads any more, renumbering every tensor reference
    (a dangling constant with no data breaks the interpreter's tensor walk)."""
    used = {i for op in sg.operators for i in list(op.inputs) + list(op.outputs)} | set(sg.outputs)
    used |= set(sg.inputs)
    dropped = {i for i, t in enumerate(sg.tensors) if t.type == float16 and i not in used}
    if not dropped:
        return
    new_index: dict[int, int] = {}
    tensors: list = []
    for i, t in enumerate(sg.tensors):
        if i not in dropped:
            new_index[i] = len(tensors)
            tensors.append(t)
    sg.tensors = tensors

    def renumber(indices):
        return [new_index[i] if i != -1 else -1 for i in indices]

    for op in sg.operators:
        op.inputs, op.outputs = renumber(op.inputs), renumber(op.outputs)
        if op.intermediates is not None:
            op.intermediates = renumber(op.intermediates)
    sg.inputs, sg.outputs = renumber(sg.inputs), renumber(sg.outputs)
    index = model.subgraphs.index(sg)
    for sig in model.signatureDefs or []:
        if sig.subgraphIndex == index:
            for io in list(sig.inputs or []) + list(sig.outputs or []):
                io.tensorIndex = new_index[io.tensorIndex]


def _constants_by_type(model_bytes: bytes) -> dict[str, int]:
    from ai_edge_litert.tools import flatbuffer_utils as fu

    model = fu.read_model_from_bytearray(bytearray(model_bytes))
    names = _type_names()
    counts: dict[str, int] = {}
    for sg in model.subgraphs:
        for t in sg.tensors:
            data = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
            if data is not None and len(data):
                kind = names.get(t.type, "?")
                counts[kind] = counts.get(kind, 0) + 1
    return counts


def _scopes(model_bytes: bytes) -> list[tuple[str, str]]:
    """(op name, its output tensor names joined: the quantizer's scope) for every op."""
    from ai_edge_litert.tools import flatbuffer_utils as fu

    model = fu.read_model_from_bytearray(bytearray(model_bytes))
    ops = _op_names(model)
    out = []
    for sg in model.subgraphs:
        for op in sg.operators:
            names = [n for i in op.outputs if i != -1 and (n := _name(sg.tensors[i]))]
            # As the quantizer builds it: names joined, a trailing ";", at most 10000 characters.
            out.append((ops[op.opcodeIndex], (";".join(names) + ";" if names else "")[:10000]))
    return out


def unmatched(model_bytes: bytes, patterns: list[str]) -> list[str]:
    scopes = _scopes(model_bytes)
    op_names = {op for op, _ in scopes}
    missing = []
    for p in patterns:
        if p in op_names:
            continue
        if p.isupper() and p.replace("_", "").isalnum():
            missing.append(p)  # an op name this model does not have
            continue
        rx = re.compile(p)
        if not any(rx.search(scope) for _, scope in scopes):
            missing.append(p)
    return missing


def _samples(path: str | None, model_bytes: bytes):
    """{signature: [{input name: one sample (batch 1)}, ...]} as the quantizer takes them; the
    .npz holds one array per input, named by its tensor index."""
    if path is None:
        return None
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    signature = next(iter(interpreter.get_signature_list()))
    details = interpreter.get_signature_runner(signature).get_input_details()
    name_of = {str(d["index"]): name for name, d in details.items()}
    with np.load(path, allow_pickle=False) as arrays:
        data = {name_of[k]: arrays[k] for k in arrays.files}
    n = min(len(a) for a in data.values())
    return {signature: [{k: a[i : i + 1] for k, a in data.items()} for i in range(n)]}


_CAP_DB = 100.0  # an exact tensor (a model input, float in both models) counts as this clean


def _snr_db(metrics: dict) -> float:
    ratio = float(next(iter(metrics.values()), math.inf))  # signal power over noise power
    if ratio <= 0:
        return -_CAP_DB
    return _CAP_DB if ratio == math.inf else min(10 * math.log10(ratio), _CAP_DB)


def _layers(float_bytes: bytes, result) -> list[list]:
    """[tensor, op, SNR of its output, dB the op itself lost] per op, the most lost first: an op
    fed by a noisy layer inherits that noise, so what ranks a layer is the SNR its inputs had
    (the cleanest non-constant one) minus its output's."""
    from ai_edge_litert.tools import flatbuffer_utils as fu

    snr = {name: _snr_db(m) for name, m in result.get_all_tensor_results().items()}
    model = fu.read_model_from_bytearray(bytearray(float_bytes))
    ops = _op_names(model)
    out = []
    for sg in model.subgraphs:
        for op in sg.operators:
            outputs = [_name(sg.tensors[i]) for i in op.outputs if i != -1]
            measured = [n for n in outputs if n in snr]
            if not measured:
                continue
            fed = [snr.get(_name(sg.tensors[i]), _CAP_DB) for i in op.inputs if i != -1]
            fed_by = [
                v for i, v in zip([i for i in op.inputs if i != -1], fed) if not _constant(model, sg, i)
            ]
            clean_in = max(fed_by) if fed_by else _CAP_DB
            own = min(snr[n] for n in measured)
            out.append([measured[0], ops[op.opcodeIndex], round(own, 2), round(max(clean_in - own, 0.0), 2)])
    out.sort(key=lambda row: -row[3])
    return out


def _constant(model, sg, index: int) -> bool:
    data = model.buffers[sg.tensors[index].buffer].data
    return data is not None and len(data) > 0


def run(job: dict) -> dict:
    from litert_quantizer import quantizer

    original = Path(job["model"]).read_bytes()
    float_bytes, unpacked = unpack_float16(original)
    out = Path(job["out"])
    (out / "float.tflite").write_bytes(float_bytes)
    missing = unmatched(float_bytes, list(job.get("keep_float", [])))
    if missing:
        return {"unmatched": missing}
    samples = _samples(job.get("samples"), float_bytes)
    q = quantizer.Quantizer(float_bytes)
    q.load_quantization_recipe(job["rules"])
    calibration = q.calibrate(samples) if q.need_calibration else None
    quantized = bytes(q.quantize(calibration, enable_progress_report=False).quantized_model)
    (out / "model.tflite").write_bytes(quantized)
    before, after = _constants_by_type(float_bytes), _constants_by_type(quantized)
    made = sum(after.get(k, 0) - before.get(k, 0) for k in _INTEGER_OR_HALF)
    layers = []
    if samples is not None:
        from litert_quantizer.utils.validation_utils import ValidationErrorMetric

        result = q.validate(test_data=samples, error_metrics=[ValidationErrorMetric.SNR])
        layers = _layers(float_bytes, result)
    return {
        "unpacked": unpacked,
        "float_model": str(out / "float.tflite"),
        "model": str(out / "model.tflite"),
        "quantized_weights": max(made, 0),
        "weights": before.get("FLOAT32", 0),
        "integer_weights": sum(before.get(k, 0) for k in ("INT8", "UINT8", "INT4")),
        "layers": layers,
    }


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    try:
        answer = run(job)
    except Exception as e:  # the parent reports it against the candidate; nothing else to do here
        answer = {"failure": _first_line(e)}
    sys.stdout.write("\n" + json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
