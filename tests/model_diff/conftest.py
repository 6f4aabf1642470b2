"""Converted once per session: the base network, and the pull request's version of it (a 12×12
input instead of 8×8, the ``conv`` widened from 4 to 8 filters, a ``hidden`` Dense and a tanh
added)."""

from __future__ import annotations

import pytest

from tests.model_diff.models import net, tflite


@pytest.fixture(scope="session")
def base_tflite() -> bytes:
    return tflite(net())


@pytest.fixture(scope="session")
def head_tflite() -> bytes:
    return tflite(net(size=12, filters=8, hidden=True))
