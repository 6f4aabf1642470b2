"""What the toy target's analysis finds: the model's size, and which process measured it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ToyReport:
    size: int  # the .tflite's bytes
    pid: int  # of the process that analyzed it
