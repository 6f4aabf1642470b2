"""One problem of a policy file, and the one ``PolicyError`` that lists every problem found.

The loader (``load.py``) and later checks of the loaded policy (the targets' settings, in
``edgegate.targets``) each find problems; the run puts them all in one error, so a user fixes
the file in one pass. Imports nothing but ``edgegate.errors``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edgegate.errors import PolicyError


@dataclass(frozen=True)
class PolicyProblem:
    """``file:line: key: message``, with the line kept as a number to order problems by."""

    file: str  # the policy file as shown: edgegate.yml
    line: int  # 1-based
    detail: str  # the key and what is wrong there: "models[0].deploy: 'x' is neither ..."

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.detail}"


def policy_error(problems: Iterable[PolicyProblem]) -> PolicyError:
    """One ``PolicyError`` listing each problem once, in file order (by line; problems on one
    line in the order they were found)."""
    in_order = (str(p) for p in sorted(problems, key=lambda p: p.line))
    return PolicyError(list(dict.fromkeys(in_order)))
