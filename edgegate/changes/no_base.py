"""A folder gated without a base: ``check --all`` outside git, or where no base branch exists.

Every model of the policy is gated as it is on disk, with nothing to compare it with: no base
version, no growth budgets (``vs_base``) judged, and a note saying so in the report. Only for
``--all`` (and never for ``ci``): a run that gates what a change touched needs the change.
"""

from __future__ import annotations

from pathlib import Path

from edgegate.changes.interface import ChangedModel, ChangeSet, ChangeSource, PathChange
from edgegate.errors import UsageError
from edgegate.policy.sections import Policy


class NoBase(ChangeSource):
    """A working tree without history to compare with: nothing exists "at the base"."""

    def __init__(self, root: Path, why: str):
        self.root = Path(root).resolve()
        self.why = why  # what is missing: no git repository, no base branch

    def _missing(self) -> UsageError:
        return UsageError(f"{self.why}: nothing to compare with")

    def resolve(self, ref: str) -> str:
        raise self._missing()

    def default_base(self) -> str:
        raise self._missing()

    def merge_base(self, a: str, b: str) -> str:
        raise self._missing()

    def head_sha(self) -> str | None:
        return None

    def changed_paths(self, base_sha: str) -> list[PathChange]:
        return []

    def exists_at(self, sha: str, path: str) -> bool:
        return False

    def paths_at(self, sha: str) -> tuple[str, ...]:
        return ()

    def resolve_at(self, sha: str, path: str) -> str | None:
        return None

    def links_at(self, sha: str) -> dict[str, str]:
        return {}

    def export(self, sha: str, path: str, dest: Path) -> Path:
        raise self._missing()


def every_model_without_base(policy: Policy, source: NoBase) -> ChangeSet:
    """Every model of the policy, each gated on request with no base version."""
    from edgegate.changes.select import expand_targets

    models = tuple(
        ChangedModel(t, "requested", None, ("gated on request (--all); no base to compare with",))
        for t in expand_targets(policy)
    )
    note = (
        f"{source.why}: every model gated as it is, without comparing with a base "
        "(no base figures, vs_base budgets not judged)"
    )
    return ChangeSet(None, None, None, models, (note,))
