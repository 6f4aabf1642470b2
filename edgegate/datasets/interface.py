"""Datasets: the samples (and labels) a policy's ``data:`` key names, as in-memory arrays.

A ``DatasetSource`` reads one kind of source (.npz, .npy pair, image folder, Python hook);
``edgegate.datasets.load_dataset`` picks the source for a policy ``sections.Dataset`` and checks what it
returned, so every source gets the same validation and the same messages.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgegate.policy import sections


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to a single bool
class Dataset:
    x: np.ndarray  # samples; axis 0 indexes them
    y: np.ndarray | None  # labels (class indices, one-hot rows or targets); None when label-free
    source: str  # the policy key and what it names, for messages: "models[0].eval.data (data/eval.npz)"

    def __len__(self) -> int:
        return len(self.x)

    def take(self, n: int) -> Dataset:
        """The first ``n`` samples (all of them when there are fewer)."""
        return Dataset(self.x[:n], None if self.y is None else self.y[:n], self.source)


class DatasetSource(abc.ABC):
    """One kind of dataset source. Paths in ``spec`` are relative to the repository ``root``."""

    @abc.abstractmethod
    def load(
        self, spec: sections.Dataset, root: Path, *, key: str, input_hw: tuple[int, int] | None = None
    ) -> Dataset:
        """Read the arrays; raise ``InputError`` naming ``key`` and the file when they are unusable.

        The returned ``Dataset.source`` is ``"<key> (<what the spec names>)"``.

        ``input_hw`` is the model's input (height, width), for sources that resize images.
        """
