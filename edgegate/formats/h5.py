"""A Keras ``.h5`` / ``.hdf5`` file (tf-keras's legacy format, or Keras 3's, as its ``keras_version`` says)."""

from __future__ import annotations

from edgegate.conversions.interface import TENSORFLOW
from edgegate.formats.interface import ModelFormat, Reference, Scan


class H5(ModelFormat):
    name = "h5"
    title = ".h5"
    suffixes = (".h5", ".hdf5")
    scan = Scan.HDF5
    install = TENSORFLOW
    reference = Reference.CONVERTED
    converted_by = "tensorflow-converter"
    may_run_code = True  # Lambda layers and custom objects, once trusted
