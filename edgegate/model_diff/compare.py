"""Base vs head of one ``.tflite``: read both flatbuffers (bounded) and say what changed.

Runs in the parent: it reads the two files the run already has (the built candidates, or a
``.tflite`` source as it is), with ``struct`` through ``targets/flatbuffer.py`` — no TensorFlow,
no interpreter, nothing of the model runs. The files are pull-request content, so each is opened
as a regular file within ``MAX_MODEL_BYTES`` (``file_digest.read_regular``), and anything that is
not a complete flatbuffer gives a diff with an ``error``, never an exception.

Ops are matched between the versions by their output tensor's name (the first part, before the
``;`` the converter joins fused names with): the layer they come from.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import struct
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from edgegate.errors import InputError
from edgegate.exception_text import first_line
from edgegate.file_digest import read_regular
from edgegate.model_diff.interface import (
    Change,
    HeadOps,
    MetadataChange,
    ModelDiff,
    OpChange,
    OpKindCount,
    ShapeChange,
    SignatureChange,
    TensorSignature,
)
from edgegate.targets.flatbuffer import OperatorInfo, TfliteModel, TensorInfo, options_text, parse_tflite

MAX_MODEL_BYTES = 1 << 30  # the largest .tflite the diff reads (into the parent's memory)
LIMIT_SHOWN = "1 GiB"
MAX_OPS_LISTED = 25  # op changes kept (largest first); the rest counted
MAX_SHAPES_LISTED = 20
MAX_ZIP_ENTRIES = 1000  # associated files listed from a zip appended to the model


def diff_files(base: Path, head: Path, *, shown: str) -> ModelDiff:
    """The diff of two ``.tflite`` files (the same file: read once); ``shown`` names the model."""
    try:
        head_data, head_model = _read(head, f"{shown} (head)")
        if os.path.realpath(base) == os.path.realpath(head):
            base_data, base_model = head_data, head_model
        else:
            base_data, base_model = _read(base, f"{shown} (base)")
    except _Unreadable as e:
        return ModelDiff(error=str(e))
    return diff_models(base_data, base_model, head_data, head_model)


def head_ops(path: Path, *, shown: str) -> HeadOps:
    """The op kinds of one ``.tflite`` (for an ``allowed`` list when there is no base)."""
    try:
        _, model = _read(path, shown)
    except _Unreadable as e:
        return HeadOps(error=str(e))
    return HeadOps(tuple(sorted({op_kind(op) for op in model.operators})))


class _Unreadable(Exception):
    """Why a version could not be read, for people."""


def _read(path: Path, shown: str) -> tuple[bytes, TfliteModel]:
    try:
        # Symlinks were judged where the file was materialized; the read follows no other.
        data = read_regular(os.path.realpath(path), MAX_MODEL_BYTES)
        return data, parse_tflite(data, Path(shown))
    except InputError as e:
        raise _Unreadable(f"not compared: {e}") from None
    except OSError as e:
        too_big = e.errno == errno.EFBIG  # over the limit (file_digest.RefusedFile)
        why = f"over the {LIMIT_SHOWN} the diff reads" if too_big else e.strerror or first_line(e)
        raise _Unreadable(f"not compared: {shown}: {why}") from None


def diff_models(base_data: bytes, base: TfliteModel, head_data: bytes, head: TfliteModel) -> ModelDiff:
    b_layers, h_layers = _layers(base), _layers(head)
    pairs = _pairs(b_layers, h_layers)
    ops, omitted = _op_changes(pairs)
    shapes = _shape_changes(pairs)
    metadata = _metadata_changes(base_data, base, head_data, head)
    return ModelDiff(
        bytes_changed=base_data != head_data,
        graph_changed=_graph_digest(base_data, base) != _graph_digest(head_data, head),
        metadata_changed=bool(metadata),
        base_ops=len(base.operators),
        head_ops=len(head.operators),
        base_params=sum(layer.params for layer in b_layers),
        head_params=sum(layer.params for layer in h_layers),
        base_weight_bytes=sum(layer.weight_bytes for layer in b_layers),
        head_weight_bytes=sum(layer.weight_bytes for layer in h_layers),
        op_kinds=_kind_counts(base, head),
        ops=ops,
        ops_omitted=omitted,
        shapes=tuple(shapes[:MAX_SHAPES_LISTED]),
        shapes_omitted=max(0, len(shapes) - MAX_SHAPES_LISTED),
        inputs=_signature(head, head.inputs),
        outputs=_signature(head, head.outputs),
        signature=_signature_changes(base, head),
        metadata=metadata,
    )


def op_kind(op: OperatorInfo) -> str:
    """``CONV_2D``; a custom op by its code, ``CUSTOM:TFLite_Detection_PostProcess``, as op
    resolvers register it."""
    return f"CUSTOM:{op.custom_code}" if op.op == "CUSTOM" and op.custom_code else op.op


# --- ops and weights -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layer:
    name: str
    index: int
    kind: str
    output_shape: tuple[int, ...]
    params: int
    weight_bytes: int
    weight_shape: tuple[int, ...]

    @property
    def scope(self) -> str:
        """The layer it belongs to: the name without its last part (``net/head`` of ``net/head/MatMul1``)."""
        return self.name.rsplit("/", 1)[0]


@dataclass(frozen=True)
class _Pair:
    base: _Layer | None
    head: _Layer | None

    @property
    def name(self) -> str:
        shown = self.head or self.base
        assert shown is not None
        return shown.name


def _layers(model: TfliteModel) -> list[_Layer]:
    """Each op, named by its output tensor (``#2`` after a repeated name), in execution order."""
    layers = []
    seen: Counter[str] = Counter()
    for op in model.operators:
        out = model.tensor(op.outputs[0]) if op.outputs else None
        base_name = out.name.split(";")[0] if out is not None else f"op_{op.index}"
        seen[base_name] += 1
        weights = [t for i in op.inputs if (t := model.tensor(i)) is not None and t.constant]
        largest = max(weights, key=lambda t: t.elements, default=None)
        layers.append(
            _Layer(
                name=base_name if seen[base_name] == 1 else f"{base_name}#{seen[base_name]}",
                index=op.index,
                kind=op_kind(op),
                output_shape=out.shape if out is not None else (),
                params=sum(t.elements for t in weights),
                weight_bytes=sum(len(model.buffer_bytes(t.buffer)) for t in weights),
                weight_shape=largest.shape if largest is not None else (),
            )
        )
    return layers


def _pairs(base: list[_Layer], head: list[_Layer]) -> list[_Pair]:
    """Each op matched with its counterpart: the same name and kind, else the same layer and kind in
    order (the converter numbers names to keep them unique, so ``net/head/MatMul2`` may be another
    op in the other version)."""
    left = {(b.name, b.kind): b for b in base}
    pairs, unmatched = [], []
    for h in head:
        b = left.pop((h.name, h.kind), None)
        if b is not None:
            pairs.append(_Pair(b, h))
        else:
            unmatched.append(h)
    queues: dict[tuple[str, str], list[_Layer]] = {}
    for b in left.values():
        queues.setdefault((b.scope, b.kind), []).append(b)
    for h in unmatched:
        queue = queues.get((h.scope, h.kind))
        pairs.append(_Pair(queue.pop(0) if queue else None, h))
    pairs += [_Pair(b, None) for queue in queues.values() for b in queue]
    return pairs


def _op_changes(pairs: list[_Pair]) -> tuple[tuple[OpChange, ...], int]:
    changes = []
    for pair in pairs:
        b, h = pair.base, pair.head
        if b is not None and h is not None:
            if (b.kind, b.params, b.weight_bytes, b.weight_shape) == (
                h.kind,
                h.params,
                h.weight_bytes,
                h.weight_shape,
            ):
                continue
        change: Change = "added" if b is None else "removed" if h is None else "changed"
        changes.append(
            OpChange(
                name=pair.name,
                change=change,
                kind=h.kind if h is not None else b.kind if b is not None else "",
                base_kind=b.kind if b is not None else None,
                base_index=b.index if b is not None else None,
                head_index=h.index if h is not None else None,
                base_params=b.params if b else 0,
                head_params=h.params if h else 0,
                base_weight_bytes=b.weight_bytes if b else 0,
                head_weight_bytes=h.weight_bytes if h else 0,
                base_weight_shape=b.weight_shape if b else (),
                head_weight_shape=h.weight_shape if h else (),
            )
        )

    def order(c: OpChange) -> tuple[int, int, str]:
        where = c.head_index if c.head_index is not None else c.base_index or 0
        return (-abs(c.head_weight_bytes - c.base_weight_bytes), where, c.name)

    changes.sort(key=order)
    return tuple(changes[:MAX_OPS_LISTED]), max(0, len(changes) - MAX_OPS_LISTED)


def _shape_changes(pairs: list[_Pair]) -> list[ShapeChange]:
    matched = sorted((p for p in pairs if p.base and p.head), key=lambda p: p.head.index if p.head else 0)
    return [
        ShapeChange(p.name, p.head.kind, p.base.output_shape, p.head.output_shape)
        for p in matched
        if p.base is not None and p.head is not None and p.base.output_shape != p.head.output_shape
    ]


def _kind_counts(base: TfliteModel, head: TfliteModel) -> tuple[OpKindCount, ...]:
    b = Counter(op_kind(op) for op in base.operators)
    h = Counter(op_kind(op) for op in head.operators)
    return tuple(OpKindCount(k, b[k], h[k]) for k in sorted(b.keys() | h.keys()))


def _graph_digest(data: bytes, model: TfliteModel) -> str:
    """What runs: the first subgraph's ops (with every option), tensors and weight bytes (names
    included), and how many subgraphs there are; not the description, metadata or appended files."""
    digest = hashlib.sha256()
    digest.update(repr((model.subgraphs, model.inputs, model.outputs, model.operators)).encode())
    digest.update(repr(options_text(data)).encode())
    for t in model.tensors:
        digest.update(repr((t.name, t.dtype, t.shape, t.signature, t.quantization, t.constant)).encode())
        if t.constant:
            digest.update(model.buffer_bytes(t.buffer))
    return digest.hexdigest()


# --- the I/O signature -----------------------------------------------------------------------------


def _tensor_signature(t: TensorInfo) -> TensorSignature:
    q = t.quantization
    return TensorSignature(
        name=t.name,
        dtype=t.dtype,
        shape=t.signature,
        scales=q.scales if q is not None else (),
        zero_points=q.zero_points if q is not None else (),
    )


def _signature(model: TfliteModel, indices: tuple[int, ...]) -> tuple[TensorSignature, ...]:
    return tuple(_tensor_signature(t) for i in indices if (t := model.tensor(i)) is not None)


def _signature_changes(base: TfliteModel, head: TfliteModel) -> tuple[SignatureChange, ...]:
    changes: list[SignatureChange] = []
    for side, b_all, h_all in (
        ("input", _signature(base, base.inputs), _signature(head, head.inputs)),
        ("output", _signature(base, base.outputs), _signature(head, head.outputs)),
    ):
        for i in range(max(len(b_all), len(h_all))):
            b = b_all[i] if i < len(b_all) else None
            h = h_all[i] if i < len(h_all) else None
            if b is None or h is None:
                change = "added" if b is None else "removed"
                changes.append(SignatureChange(side, i, change, (), b, h))  # type: ignore[arg-type]
                continue
            what = tuple(
                field
                for field, differs in (
                    ("name", b.name != h.name),
                    ("dtype", b.dtype != h.dtype),
                    ("shape", b.shape != h.shape),
                    ("quantization", (b.scales, b.zero_points) != (h.scales, h.zero_points)),
                )
                if differs
            )
            if what:
                changes.append(SignatureChange(side, i, "changed", what, b, h))  # type: ignore[arg-type]
    return tuple(changes)


# --- metadata --------------------------------------------------------------------------------------


def _metadata_changes(
    base_data: bytes, base: TfliteModel, head_data: bytes, head: TfliteModel
) -> tuple[MetadataChange, ...]:
    changes: list[MetadataChange] = []
    if base.description != head.description:
        changes.append(_changed("description", "description", base.description, head.description))
    for part, b, h in (
        ("metadata", _metadata_entries(base), _metadata_entries(head)),
        ("associated file", _associated_files(base_data), _associated_files(head_data)),
    ):
        for name in sorted(b.keys() | h.keys()):
            if b.get(name) != h.get(name):
                changes.append(_changed(part, name, b.get(name), h.get(name)))
    return tuple(changes)


def _changed(part: str, name: str, b: object, h: object) -> MetadataChange:
    def size(v: object) -> int | None:
        return None if v is None else v[0] if isinstance(v, tuple) else len(str(v).encode())

    change = "added" if b is None else "removed" if h is None else "changed"
    return MetadataChange(part, name, change, size(b), size(h))  # type: ignore[arg-type]


def _metadata_entries(model: TfliteModel) -> dict[str, tuple[int, str]]:
    """Each metadata buffer by name: (its size, its sha256)."""
    found: dict[str, tuple[int, str]] = {}
    for entry in model.metadata:
        data = model.buffer_bytes(entry.buffer)
        found[entry.name] = (len(data), hashlib.sha256(data).hexdigest())
    return found


def _associated_files(data: bytes) -> dict[str, tuple[int, int]]:
    """Files packed in a zip appended to the model (TFLite metadata's labels, vocabularies): (size,
    CRC) from the zip's directory, nothing decompressed. None found, or not a readable zip: empty."""
    try:
        if not zipfile.is_zipfile(io.BytesIO(data)):
            return {}
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {i.filename: (i.file_size, i.CRC) for i in z.infolist()[:MAX_ZIP_ENTRIES]}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, struct.error):
        return {}
