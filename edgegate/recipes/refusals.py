"""What the model scans found, and the one message a refused model gets (worker-side, no imports).

``savedmodel_scan`` and ``keras_config_scan`` both report ``Finding``s; ``refusal`` turns them
into the ``InputError`` that becomes the model's error in the report, naming the file, each
thing found (up to three) and the way out for a model its owner trusts.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgegate.errors import InputError

MAX_FINDINGS_SHOWN = 3  # a PR comment line, not a dump; the count of the rest is given


@dataclass(frozen=True)
class Finding:
    where: str  # "function __inference__initializer_28 (r._initialize)", "layer 'vocab' (StringLookup)"
    what: str  # "runs WriteFile (file I/O at load time)"

    def sentence(self) -> str:
        return f"{self.where} {self.what}"


def refusal(display: str, kind: str, findings: list[Finding]) -> InputError:
    """``models/evil (SavedModel): refused: function … runs WriteFile (file I/O at load time); …``"""
    shown = "; ".join(f.sentence() for f in findings[:MAX_FINDINGS_SHOWN])
    more = len(findings) - MAX_FINDINGS_SHOWN
    if more > 0:
        shown += f"; and {more} more"
    return InputError(
        f"{display} ({kind}): refused: {shown}; EdgeGate never runs a pull request's model code "
        "or file I/O. If this model is yours and trusted, set trust_code: true in the base "
        "branch's policy."
    )
