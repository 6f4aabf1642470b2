"""The conversions a recipe can end with: one module each, one line each in ``CONVERSIONS``.

Everything that needs to know about a conversion reads it here, by what it declares
(``interface.py``): the policy's recipe grammar takes the names, targets ask what a conversion
``produces``, the loop its ``duration_rank``, ``recipes: auto`` its ``auto`` step, ``edgegate
needs`` its ``install``. Consumers read this dict when they decide (never a copy taken at import),
so a conversion registered here is known everywhere.
"""

from __future__ import annotations

from edgegate.conversions.dynamic import Dynamic
from edgegate.conversions.float16 import Float16
from edgegate.conversions.float32 import Float32
from edgegate.conversions.int8 import Int8
from edgegate.conversions.int16x8 import Int16x8
from edgegate.conversions.interface import AutoStep, Conversion, Produces

CONVERSIONS: dict[str, Conversion] = {
    c.name: c
    for c in (
        Float32(),
        Float16(),
        Dynamic(),
        Int8(),
        Int16x8(),
    )
}


def conversion_names() -> tuple[str, ...]:
    """The registered conversions' names, in registry order (the order messages list them in)."""
    return tuple(CONVERSIONS)


def reference_name() -> str:
    """The conversion that makes a model's float reference (it declares ``reference``)."""
    return next(name for name, c in CONVERSIONS.items() if c.reference)


def produced_by(name: str) -> Produces:
    """What the conversion called ``name`` produces; ``KeyError`` for a name not registered."""
    return CONVERSIONS[name].produces


def tried_by_auto(step: AutoStep) -> tuple[str, ...]:
    """The conversions ``recipes: auto`` tries at ``step``, in registry order."""
    return tuple(name for name, c in CONVERSIONS.items() if c.auto is step)
