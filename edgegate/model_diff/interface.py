"""The model diff as typed values: what the results file stores and the report shows.

Every name here (tensors, ops of custom kinds, metadata entries, associated files) comes from
the models, which are pull-request content: the report escapes each where it shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Change = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class TensorSignature:
    """One input or output of the model as the app that loads it sees it."""

    name: str
    dtype: str  # int8, float32, ...
    shape: tuple[int, ...]  # the shape signature: -1 for a dynamic dimension
    scales: tuple[float, ...] = ()  # quantization, when the tensor is quantized
    zero_points: tuple[int, ...] = ()


@dataclass(frozen=True)
class SignatureChange:
    """An input or output that appeared, disappeared or changed (at the same position)."""

    side: Literal["input", "output"]
    index: int
    change: Change
    what: tuple[str, ...]  # what changed: "name", "dtype", "shape", "quantization"
    base: TensorSignature | None = None
    head: TensorSignature | None = None


@dataclass(frozen=True)
class OpKindCount:
    """How many ops of one kind each version has (``CONV_2D``; a custom op as ``CUSTOM:<code>``)."""

    kind: str
    base: int
    head: int


@dataclass(frozen=True)
class OpChange:
    """An op that was added, removed, or whose kind or weights changed, matched by its output
    tensor's name (the layer it comes from); its position in each version's execution order."""

    name: str
    change: Change
    kind: str  # head's kind; base's for a removed op
    base_kind: str | None = None
    base_index: int | None = None
    head_index: int | None = None
    base_params: int = 0  # elements of its constant inputs (weights, biases)
    head_params: int = 0
    base_weight_bytes: int = 0
    head_weight_bytes: int = 0
    base_weight_shape: tuple[int, ...] = ()  # of its largest constant input
    head_weight_shape: tuple[int, ...] = ()


@dataclass(frozen=True)
class ShapeChange:
    """An op output whose shape changed along the graph (matched by name), in head's order."""

    name: str
    kind: str
    base: tuple[int, ...]
    head: tuple[int, ...]


@dataclass(frozen=True)
class MetadataChange:
    """A metadata entry, the description, or an associated file (labels) that changed."""

    part: Literal["metadata", "description", "associated file"]
    name: str
    change: Change
    base_bytes: int | None = None
    head_bytes: int | None = None


@dataclass(frozen=True)
class ModelDiff:
    """Base vs head of one ``.tflite``. ``error`` says why it could not be compared (the rest is then
    empty). Lists are bounded: ``*_omitted`` says how many more there were."""

    bytes_changed: bool = False
    graph_changed: bool = False  # ops, tensors or weights differ (else only metadata, if anything)
    metadata_changed: bool = False
    base_ops: int = 0
    head_ops: int = 0
    base_params: int = 0
    head_params: int = 0
    base_weight_bytes: int = 0
    head_weight_bytes: int = 0
    op_kinds: tuple[OpKindCount, ...] = ()  # every kind either version has
    ops: tuple[OpChange, ...] = ()  # the largest weight changes first, then added and removed ops
    ops_omitted: int = 0
    shapes: tuple[ShapeChange, ...] = ()
    shapes_omitted: int = 0
    inputs: tuple[TensorSignature, ...] = ()  # head's
    outputs: tuple[TensorSignature, ...] = ()
    signature: tuple[SignatureChange, ...] = ()
    metadata: tuple[MetadataChange, ...] = ()
    error: str | None = None

    @property
    def metadata_only(self) -> bool:
        """The bytes changed, the graph and its weights did not: only metadata did."""
        return self.bytes_changed and not self.graph_changed and self.error is None

    def kinds(self, side: Literal["base", "head"]) -> tuple[str, ...]:
        """The op kinds that version has."""
        return tuple(k.kind for k in self.op_kinds if (k.base if side == "base" else k.head) > 0)

    @property
    def new_kinds(self) -> tuple[str, ...]:
        """Op kinds head has that base does not."""
        return tuple(k.kind for k in self.op_kinds if k.head > 0 and k.base == 0)


@dataclass(frozen=True)
class HeadOps:
    """A candidate's op kinds read without a base (an ``allowed`` list needs none), or why not."""

    kinds: tuple[str, ...] = ()
    error: str | None = None
