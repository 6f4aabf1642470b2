"""The conversions family: what a recipe's last stage makes, declared (no TensorFlow here).

A ``Conversion`` turns a model into a ``.tflite`` with an engine (today one: LiteRT's
``tf.lite.TFLiteConverter``, handed in by the worker that runs it) and declares everything
the parent decides from before anything is built: what it ``produces`` (the dtypes of the
weights and of the activations; integer-only when no op computes in float), whether it
``needs_calibration`` data, the ``engine`` and the ``install`` that engine needs, how long it
takes next to the others (``duration_rank``) and which step of ``recipes: auto`` tries it.
Targets, the loop, ``recipes: auto``, ``edgegate needs`` and ``edgegate init`` ask these
declarations, never a conversion's name. A leaf: it imports nothing of EdgeGate.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable

# What a calibrating conversion reads: batches of input arrays, one list per sample.
Representative = Callable[[], Iterable[list[Any]]]

FLOATS = frozenset(("float32", "float16"))


@dataclass(frozen=True)
class Install:
    """What has to be installed for an engine: the light core, or one of EdgeGate's extras."""

    extra: str | None  # None: the core; "tensorflow": the distribution's tensorflow extra


CORE = Install(None)
TENSORFLOW = Install("tensorflow")


@dataclass(frozen=True)
class Produces:
    """What a conversion's ``.tflite`` holds: the dtypes of its weights and of its activations."""

    weights: frozenset[str]  # {"int8"}; {"int8", "float32"} when small weights stay float
    activations: frozenset[str]  # what the ops compute on: {"float32"}, {"int8"}, {"int16"}

    @property
    def integer_only(self) -> bool:
        """No op computes in float: what integer-only accelerators (Edge TPU, Ethos-U) need."""
        return not self.activations & FLOATS

    @property
    def float16_weights(self) -> bool:
        return "float16" in self.weights

    @property
    def quantized_weights(self) -> bool:
        """Some weights are stored as integers."""
        return any(dtype not in FLOATS for dtype in self.weights)

    @property
    def int16_activations(self) -> bool:
        return "int16" in self.activations


class AutoStep(enum.Enum):
    """Where ``recipes: auto`` (LiteRT's optimization decision path) tries a conversion."""

    PTQ = "ptq"  # the first batch: post-training quantization
    MORE_ACCURATE = "more_accurate"  # where the full-integer PTQ loses too much accuracy


class Conversion(abc.ABC):
    """One way to convert a model to ``.tflite``; its class attributes are its declarations."""

    name: ClassVar[str]
    produces: ClassVar[Produces]
    needs_calibration: ClassVar[bool] = False
    engine: ClassVar[str] = "tensorflow-converter"  # LiteRT's TFLiteConverter
    install: ClassVar[Install] = TENSORFLOW
    # How long it takes next to the others, as a rank (the schedule starts the longest first).
    # Measured on MobileNetV2 with 100 calibration samples: 7 s float, 18 s int8, 28 s int16x8.
    duration_rank: ClassVar[int] = 0
    auto: ClassVar[AutoStep | None] = None  # the step of ``recipes: auto`` that tries it; None: none
    # The model's own function in float: what every accuracy drop is measured against.
    reference: ClassVar[bool] = False
    # How its engine leaves a recipe's ``keep_float`` layers float (the report says it); None: it
    # cannot, and a recipe asking for it is a policy problem. The keep-float search builds on it.
    keeps_float: ClassVar[str | None] = None

    @abc.abstractmethod
    def configure(
        self, converter: Any, tf: Any, recipe: Any, representative: Representative | None, after_qat: bool
    ) -> None:
        """Set ``converter``'s options (``tf``: the TensorFlow module; ``recipe``: the policy's
        ``Recipe``, for this conversion's options; ``after_qat``: the model was trained with QAT)."""
