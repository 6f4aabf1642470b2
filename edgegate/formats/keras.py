"""A ``.keras`` archive, written by Keras 3 or by tf-keras (the worker reads which from its
metadata and loads it with that Keras: a Keras 3 model never goes through a tf-keras path)."""

from __future__ import annotations

from edgegate.conversions.interface import TENSORFLOW
from edgegate.formats.interface import ModelFormat, Reference, Scan


class Keras(ModelFormat):
    name = "keras"
    title = ".keras"
    suffixes = (".keras",)
    scan = Scan.KERAS_ARCHIVE
    install = TENSORFLOW
    reference = Reference.CONVERTED
    converted_by = "tensorflow-converter"
    may_run_code = True  # Lambda layers and custom objects, once trusted
