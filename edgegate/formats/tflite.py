"""A ``.tflite`` file: measured as it is with the light core (LiteRT, TFLite Micro, Vela)."""

from __future__ import annotations

from edgegate.conversions.interface import CORE
from edgegate.formats.interface import ModelFormat, Reference, Scan


class Tflite(ModelFormat):
    name = "tflite"
    title = ".tflite"
    suffixes = (".tflite",)
    scan = Scan.NONE
    install = CORE
    reference = Reference.NONE
    converted_by = None
