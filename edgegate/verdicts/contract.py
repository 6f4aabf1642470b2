"""The app's contract (``contract:``) as kernel checks on one candidate.

The app that loads a model breaks when an input or output changes name, shape, dtype or
quantization, or when an op appears that its op resolver (Android selective builds, TFLite
Micro's ``MicroMutableOpResolver``) does not register. Both are judged from the model diff of the
candidate vs the same candidate of the base version (``model_diff/``), each at its own policy
line. Nothing to compare with is SKIP with the reason; a model the diff could not read is broken,
never a pass (a file nobody could read cannot be shown to keep the contract).
"""

from __future__ import annotations

from edgegate.checks import Check, Place, no_base
from edgegate.model_diff.describe import quoted, signature_change_text
from edgegate.model_diff.interface import HeadOps, ModelDiff
from edgegate.policy.sections import Contract, OpsContract
from edgegate.status import Level

MAX_NAMED = 8  # op kinds or signature changes named in one message


def contract_checks(
    contract: Contract, diff: ModelDiff | None, head: HeadOps, missing_base: str | None
) -> tuple[Check, ...]:
    """``diff``: vs the base version's candidate (None when there is none: ``missing_base`` says why)."""
    checks = []
    if contract.signature != "off":
        broken = Level(contract.signature).status_when_broken()
        place = Place(
            "contract_signature",
            f"{contract.key}.signature",
            contract.signature_line or contract.line,
            broken,
        )
        checks.append(_signature(place, diff, missing_base or "no base version"))
    if contract.ops is not None:
        checks.append(_ops(contract.ops, contract.line, diff, head, missing_base or "no base version"))
    return tuple(checks)


def _signature(p: Place, diff: ModelDiff | None, missing_base: str) -> Check:
    if diff is None:
        return no_base(p, "the I/O signature", missing_base, "unchanged vs base")
    if diff.error:
        return p.broke(
            f"the I/O signature could not be compared with base: {diff.error}.", "unchanged vs base"
        )
    shown = f"{len(diff.inputs)} input{'s' * (len(diff.inputs) != 1)}, {len(diff.outputs)} output{'s' * (len(diff.outputs) != 1)}"
    if not diff.signature:
        return p.verdict(
            True, f"the I/O signature is unchanged vs base ({shown}).", "unchanged vs base", shown
        )
    texts = [signature_change_text(c) for c in diff.signature[:MAX_NAMED]]
    more = f"; and {len(diff.signature) - MAX_NAMED} more" if len(diff.signature) > MAX_NAMED else ""
    changed = f"{len(diff.signature)} change{'s' * (len(diff.signature) != 1)}"
    return p.broke(
        f"the I/O signature changed vs base: {'; '.join(texts)}{more}; the app loading the model must change too.",
        "unchanged vs base",
        changed,
    )


def _ops(
    ops: OpsContract, contract_line: int | None, diff: ModelDiff | None, head: HeadOps, missing_base: str
) -> Check:
    p = Place("contract_ops", ops.key, ops.line or contract_line, ops.level.status_when_broken())
    limit = "allowed op kinds" if ops.allowed is not None else "no new op kinds"
    if diff is not None and diff.error:
        return p.broke(f"the op kinds could not be read: {diff.error}.", limit)
    kinds = diff.kinds("head") if diff is not None else head.kinds
    if diff is None and head.error:
        return p.broke(f"the op kinds could not be read: {head.error}.", limit)
    problems, passed = [], []
    if ops.allowed is not None:
        outside = [k for k in kinds if k not in ops.allowed]
        if outside:
            problems.append(f"op kinds outside the allowed list: {_named(outside)}")
        else:
            passed.append(f"all {len(kinds)} op kinds are in the allowed list")
    skipped = None
    if ops.no_new_kinds:
        if diff is None:
            skipped = f"new op kinds vs base not checked: {missing_base}"
        elif diff.new_kinds:
            problems.append(f"op kinds the base version does not have: {_named(list(diff.new_kinds))}")
        else:
            passed.append("no op kind the base version lacks")
    if problems:
        cause = "; the app's op resolver must register them"
        return p.broke("; ".join(problems) + cause + ".", limit, f"{len(kinds)} kinds")
    if not passed and skipped:
        return p.skip(skipped + ".", limit)
    said = "; ".join(passed + ([skipped] if skipped else []))
    return p.verdict(True, f"{said}.", limit, f"{len(kinds)} kinds")


def _named(kinds: list[str]) -> str:
    more = f" and {len(kinds) - MAX_NAMED} more" if len(kinds) > MAX_NAMED else ""
    return ", ".join(quoted(k) for k in kinds[:MAX_NAMED]) + more
