"""``float32``: the plain conversion, the model's own function (the float reference)."""

from __future__ import annotations

from edgegate.conversions.interface import Conversion, Produces


class Float32(Conversion):
    name = "float32"
    produces = Produces(weights=frozenset(("float32",)), activations=frozenset(("float32",)))
    reference = True

    def configure(self, converter, tf, recipe, representative, after_qat):
        pass
