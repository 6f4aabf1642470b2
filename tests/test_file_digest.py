"""``file_digest``: only regular files are read or hashed, within their limit, never blocking."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from edgegate.file_digest import RefusedFile, file_sha256, open_regular, read_regular


def test_a_regular_file_is_read_and_hashed_and_a_symlink_inside_hashes_its_target(tmp_path):
    data = os.urandom(3 * (1 << 20) + 7)  # several blocks
    (tmp_path / "a").write_bytes(data)
    (tmp_path / "link").symlink_to("a")
    assert file_sha256(tmp_path / "a") == file_sha256(tmp_path / "link") == hashlib.sha256(data).hexdigest()
    assert read_regular(tmp_path / "a", len(data)) == data


def test_a_fifo_a_device_and_a_folder_are_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo")  # opening it without O_NONBLOCK would wait for a writer forever
    (tmp_path / "zero").symlink_to("/dev/zero")
    for path in (tmp_path / "fifo", Path("/dev/zero"), tmp_path / "zero", tmp_path):
        with pytest.raises(RefusedFile, match="not a regular file"):
            file_sha256(path)
    with pytest.raises(RefusedFile, match="not a regular file"):
        read_regular(tmp_path / "fifo", 100)


def test_a_read_never_follows_a_final_symlink(tmp_path):
    (tmp_path / "a").write_bytes(b"x")
    (tmp_path / "link").symlink_to("a")
    with pytest.raises(OSError):
        read_regular(tmp_path / "link", 10)
    with pytest.raises(OSError):
        open_regular(tmp_path / "link")


def test_a_file_over_its_limit_is_refused_before_it_is_read(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 100)
    with pytest.raises(RefusedFile, match="100 bytes, over the 99"):
        read_regular(tmp_path / "a", 99)
    with pytest.raises(RefusedFile):
        file_sha256(tmp_path / "a", limit=10)
    assert read_regular(tmp_path / "a", 100) == b"x" * 100
