"""Latency: every model measured in the same rounds, with deterministic inputs."""

from __future__ import annotations

import numpy as np
import pytest

from edgegate.errors import InputError
from edgegate.measurements.latency import measure_latency, random_input


def test_models_measured_side_by_side(models):
    paths = {
        "float": models.float32,
        "int8": models.int8,
        "int16x8": models.int16x8,
        "pair": models.two_inputs,
    }
    figures = measure_latency(paths, runs=7, warmup=2, threads=1)
    assert list(figures) == list(paths)
    for f in figures.values():
        assert f.runs == 7 and 0 < f.median_ms <= f.p90_ms
        # Each round's time, in round order, for the paired intervals: the median is theirs.
        assert len(f.rounds_ms) == 7 and min(f.rounds_ms) > 0
        assert f.median_ms == pytest.approx(float(np.median(f.rounds_ms)))


def test_no_models():
    assert measure_latency({}, runs=3, warmup=1, threads=1) == {}


def test_unreadable_model_is_named(tmp_path, models):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(models.float32.read_bytes()[:100])
    with pytest.raises(InputError, match="model int8-base: broken.tflite cannot be loaded"):
        measure_latency({"float": models.float32, "int8-base": broken}, runs=3, warmup=1, threads=1)


def test_random_inputs_are_deterministic_and_in_range():
    a = random_input([1000], np.dtype(np.int8), np.random.default_rng(0))
    assert np.array_equal(a, random_input([1000], np.dtype(np.int8), np.random.default_rng(0)))
    assert a.min() == -128 and a.max() == 127
    f = random_input([2, 3], np.dtype(np.float32), np.random.default_rng(0))
    assert f.dtype == np.float32 and f.shape == (2, 3) and np.abs(f).max() <= 1
    assert not random_input([5], np.dtype(np.int32), np.random.default_rng(0)).any()  # indices: zeros
