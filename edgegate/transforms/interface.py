"""The ``.tflite → .tflite`` stage: a transform that takes a LiteRT model and returns another.

Where a recipe's model is already a ``.tflite`` (after its conversion, or a ``.tflite`` source,
which nothing converts), a ``TfliteTransform`` is the next stage: a quantizer that reads a float
model and calibration samples and writes a quantized one (Google's LiteRT Quantizer,
``litert-quantizer``), a rewriter that changes the file without changing its function. Like a
``Conversion`` it declares what the parent decides from before it runs: what it ``takes`` (the
model it accepts: e.g. float activations only, for a quantizer), what it ``produces``, whether it
``needs_calibration``, its ``engine`` and the ``install`` that engine needs (an extra of its own).

``apply`` runs in a worker process, which starts outside the repository. It gets its engine
injected, as a ``Conversion.configure`` gets a converter: the worker side (``recipes/``, which
this package sits below) makes one engine object per build for each engine name
(``recipes/transform_engines.py``), with the build's calibration data, and hands it over. So a new
transform on an engine EdgeGate already runs is one module here and one line in ``TRANSFORMS``
(``__init__.py``); a new engine is one more line there.

A transform may share a conversion's name (the LiteRT Quantizer's ``int8`` beside the converter's):
a recipe's ``engine`` says which runs, and such a pair declares the same ``produces`` (a test
checks), so a target reading what made a candidate gets one answer.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from edgegate.conversions.interface import Install, Produces


@dataclass(frozen=True)
class Applied:
    """What a transform says about its output besides the file: notes for the report, and the
    per-layer evidence (each with ``tensor`` and ``snr_db``: what node data is written from)."""

    notes: tuple[str, ...] = ()
    layers: tuple[Any, ...] = ()
    # The op output tensor names whose quantization lost the most, worst first, those that stand
    # out (what a keep-float search keeps float); () when none does or no evidence was computed.
    ranking: tuple[str, ...] = ()


class TfliteTransform(abc.ABC):
    """One ``.tflite → .tflite`` stage; its attributes are its declarations."""

    name: str  # its stage name in a recipe
    engine: str  # "litert-quantizer": the recipe's ``engine`` value that selects it
    install: Install  # Install("quantizer"): the distribution's quantizer extra
    needs_calibration: bool = False
    produces: Produces  # what its output holds (asked by targets, like a conversion's)
    duration_rank: int = 0  # next to the conversions' ranks (the schedule starts the longest first)
    takes_block_size: ClassVar[bool] = False  # its weights may be quantized in blocks (``block_size``)
    keeps_float: str | None = None  # as a Conversion declares it: how it keeps layers float (None: cannot)

    @abc.abstractmethod
    def takes(self, model: Produces | None) -> str | None:
        """Why it cannot transform a model holding ``model`` (None: not declared, a ``.tflite``
        source); None when it can. A quantizer refuses a model already quantized."""

    @abc.abstractmethod
    def apply(self, engine: Any, model: Path, out: Path, recipe: Any) -> Applied:
        """Write the transformed ``model`` to ``out`` (in a worker) with ``engine`` (the worker's
        object for this transform's ``engine``); ``InputError`` naming the model for input it
        cannot take. ``recipe``: the policy's ``Recipe`` (this stage's options)."""
