"""The model-format family: what a model source is and what gating it takes, declared.

A ``ModelFormat`` says how its models are recognised (``detect``, by name and layout), which
safety scan reads one before anything of it is deserialized (``scan``), what has to be
installed to gate it (``install``: the light core, or the ``tensorflow`` extra), how its float
reference is made (``reference``) and what converts it (``converted_by``: an engine, or None
for a ``.tflite``, which is measured as it is and which only ``.tflite → .tflite`` transforms
take). The plan, the loop, ``edgegate needs``, ``edgegate init`` and the cache ask these
declarations, never a format's name. No TensorFlow here: the parent reads them.
"""

from __future__ import annotations

import abc
import enum
from pathlib import Path, PurePosixPath
from typing import ClassVar

from edgegate.conversions.interface import Install


class Scan(enum.Enum):
    """The safety scan a worker runs on a model before loading it (docs/security.md)."""

    KERAS_ARCHIVE = "the archive's members, its HDF5 weights' links and the config's layers"
    HDF5 = "the file's links and external storage, and the config's layers"
    SAVEDMODEL_GRAPH = "the graph's ops, against unsafe_ops.json"
    NONE = "none needed: a flatbuffer of ops and tensors, nothing in it runs code"


class Reference(enum.Enum):
    """How a format's float reference (what accuracy drops are measured against) is made."""

    CONVERTED = "the reference conversion (float32) of the source, checked against the source's outputs"
    NONE = "none: the file is measured as it is, so it has no accuracy drop"


class ModelFormat(abc.ABC):
    """One kind of model source; its class attributes are its declarations."""

    name: ClassVar[str]  # "keras": what ``SourceModel.kind`` holds (and the cache keys)
    title: ClassVar[str]  # ".keras", "SavedModel": how messages name the format
    suffixes: ClassVar[tuple[str, ...]] = ()  # a file format's names (lower case); () for a folder
    scan: ClassVar[Scan]
    install: ClassVar[Install]
    reference: ClassVar[Reference]
    converted_by: ClassVar[str | None]  # the engine that converts it; None: measured as it is
    # Loading it with ``trust_code: true`` may run repository code (its results are never cached).
    may_run_code: ClassVar[bool] = False

    def detect(self, path: Path) -> bool:
        """``path`` holds a model of this format (by name, or by layout for a folder format)."""
        # The name first: a zoo's thousands of paths are each asked of every format, and only a
        # matching name is worth a file-system call.
        return self.named(path.name) and not path.is_dir()

    def named(self, name: str) -> bool:
        """A file of this name would be of this format (for paths not on disk, e.g. a base version)."""
        return PurePosixPath(name).suffix.lower() in self.suffixes

    @property
    def measured_as_is(self) -> bool:
        """Nothing converts it: it is its own only candidate."""
        return self.converted_by is None
