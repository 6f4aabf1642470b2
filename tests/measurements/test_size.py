"""Size figures: bytes on disk and the size of `gzip -9 -n` of the file, streamed."""

from __future__ import annotations

import gzip

import numpy as np

from edgegate.measurements.size import measure_size


def test_size_and_gzip_size(models):
    blob = models.int8.read_bytes()
    figures = measure_size(models.int8)
    assert figures.bytes == len(blob)
    assert figures.gzip_bytes == len(gzip.compress(blob, compresslevel=9, mtime=0))
    assert figures.gzip_bytes < figures.bytes


def test_large_file_is_streamed_in_chunks(tmp_path):
    blob = bytes(range(256)) * 9000 + np.random.default_rng(0).bytes(1000)  # over two 1 MiB chunks
    path = tmp_path / "big.tflite"
    path.write_bytes(blob)
    figures = measure_size(path)
    assert figures.bytes == 256 * 9000 + 1000
    assert figures.gzip_bytes == len(gzip.compress(blob, compresslevel=9, mtime=0))
