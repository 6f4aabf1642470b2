"""A SavedModel folder: a TensorFlow graph, converted by LiteRT's converter from its serving signature."""

from __future__ import annotations

from pathlib import Path

from edgegate.conversions.interface import TENSORFLOW
from edgegate.formats.interface import ModelFormat, Reference, Scan
from edgegate.model_files import is_saved_model


class SavedModel(ModelFormat):
    name = "savedmodel"
    title = "SavedModel"
    scan = Scan.SAVEDMODEL_GRAPH
    install = TENSORFLOW
    reference = Reference.CONVERTED
    converted_by = "tensorflow-converter"

    def detect(self, path: Path) -> bool:
        return path.is_dir() and is_saved_model(path)

    def named(self, name: str) -> bool:
        return False  # a folder: recognised by what it holds, never by its name
