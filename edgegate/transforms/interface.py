"""The ``.tflite → .tflite`` stage: a transform that takes a LiteRT model and returns another.

Where a recipe's model is already a ``.tflite`` (after its conversion, or a ``.tflite`` source,
which nothing converts), a ``TfliteTransform`` is the next stage: a quantizer that reads a float
model and calibration samples and writes a quantized one (Google's LiteRT Quantizer,
``ai-edge-quantizer``), a rewriter that changes the file without changing its function. Like a
``Conversion`` it declares what the parent decides from before it runs: what it ``takes`` (the
model it accepts: e.g. float activations only, for a quantizer), what it ``produces``, whether it
``needs_calibration``, its ``engine`` and the ``install`` that engine needs (an extra of its own).
``apply`` runs in a worker process, which starts outside the repository; it imports its engine
there, lazily, like every worker-side module.

A transform is one module here and one line in ``TRANSFORMS`` (``__init__.py``).
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

from edgegate.conversions.interface import Install, Produces, Representative


class TfliteTransform(abc.ABC):
    """One ``.tflite → .tflite`` stage; its class attributes are its declarations."""

    name: ClassVar[str]  # its stage name in a recipe
    engine: ClassVar[str]  # "ai-edge-quantizer"
    install: ClassVar[Install]  # Install("quantizer"): the distribution's quantizer extra
    needs_calibration: ClassVar[bool] = False
    produces: ClassVar[Produces]  # what its output holds (asked by targets, like a conversion's)
    duration_rank: ClassVar[int] = 0  # next to the conversions' ranks (the schedule starts the longest first)
    keeps_float: ClassVar[str | None] = None  # as a Conversion declares it: how it keeps layers float

    @abc.abstractmethod
    def takes(self, model: Produces | None) -> str | None:
        """Why it cannot transform a model holding ``model`` (None: not declared, a ``.tflite``
        source); None when it can. A quantizer refuses a model already quantized."""

    @abc.abstractmethod
    def apply(self, model: Path, out: Path, recipe: Any, samples: Representative | None) -> None:
        """Write the transformed ``model`` to ``out`` (in a worker); ``InputError`` naming the
        model for input it cannot take. ``recipe``: the policy's ``Recipe`` (this stage's
        options); ``samples``: the calibration batches when it ``needs_calibration``."""
