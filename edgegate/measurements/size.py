"""File size and gzip size of a model, streamed so a large model is never read whole."""

from __future__ import annotations

import zlib
from pathlib import Path

from edgegate.measurements.interface import SizeFigures

_CHUNK = 1 << 20
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer, as `gzip -9 -n` writes


def measure_size(path: Path) -> SizeFigures:
    compressor = zlib.compressobj(9, zlib.DEFLATED, _GZIP_WBITS)
    total = compressed = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            total += len(chunk)
            compressed += len(compressor.compress(chunk))
    compressed += len(compressor.flush())
    return SizeFigures(bytes=total, gzip_bytes=compressed)
