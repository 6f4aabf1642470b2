"""Reading and hashing a file safely: a regular file only, within a size limit, in blocks.

Every file EdgeGate hashes (cache keys, the worker's loaded-model memo) or reads back from the
results cache goes through ``open_regular``. A pull request controls the checkout and a restored
cache folder is data from elsewhere: a symlink to ``/dev/zero`` never ends, a FIFO blocks
``open()`` forever, a device or a folder is not content. So the file is opened without following
a final symlink (``O_NOFOLLOW``) and without blocking (``O_NONBLOCK``: a FIFO opens at once), then
judged by ``fstat`` on the opened descriptor (no swap between a check and the read): a regular
file of at most ``limit`` bytes, else ``RefusedFile`` (an ``OSError``: callers treat it as any
unreadable file). Reads stop at the limit even when the file grows meanwhile.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

BLOCK = 1 << 20

_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)


class RefusedFile(OSError):
    """Not a regular file, or larger than the limit: never read."""


def open_regular(path: Path | str, limit: int | None = None) -> BinaryIO:
    """``path`` opened for reading when it is a regular file, not a symlink, of at most ``limit``
    bytes; ``RefusedFile`` (or the ``OSError`` of ``open``: ``ELOOP`` for a symlink) otherwise."""
    fd = os.open(path, _FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RefusedFile(errno.EINVAL, "not a regular file", str(path))
        if limit is not None and st.st_size > limit:
            raise RefusedFile(errno.EFBIG, f"{st.st_size} bytes, over the {limit} read here", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_blocks(f: BinaryIO, limit: int | None, shown: str) -> Iterator[bytes]:
    """The blocks of an opened file; ``RefusedFile`` once more than ``limit`` bytes came (the file
    grew after it was opened)."""
    size = 0
    while block := f.read(BLOCK):
        size += len(block)
        if limit is not None and size > limit:
            raise RefusedFile(errno.EFBIG, f"grew past the {limit} bytes read here", shown)
        yield block


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file (not through a final symlink) of at most ``limit`` bytes."""
    with open_regular(path, limit) as f:
        return b"".join(read_blocks(f, limit, str(path)))


def file_sha256(path: Path | str, limit: int | None = None) -> str:
    """The sha256 of the regular file ``path`` leads to (symlinks followed: the caller has judged
    where they lead, as the reader of the file would); ``RefusedFile`` for anything else."""
    h = hashlib.sha256()
    real = os.path.realpath(path)
    with open_regular(real, limit) as f:
        for block in read_blocks(f, limit, real):
            h.update(block)
    return h.hexdigest()
