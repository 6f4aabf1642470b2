"""What a run gates: its policy, the change set and the models of this run (or shard), read through
an injected ``ChangeSource`` (git in a real run). ``edgegate needs`` asks this too, before anything
is installed.

The base branch's policy is what a pull-request run trusts: ``base_policy`` reads it, and
``trusted_only`` takes every code-running setting from it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from edgegate.changes.interface import ChangedModel, ChangeSet, ChangeSource
from edgegate.policy.sections import Policy
from edgegate.run.options import CheckOptions
from edgegate.shards import ShardPlan


@dataclass(frozen=True)
class Selection:
    """The policy read from the working tree, what changed, and the models this run gates."""

    policy: Policy
    changes: ChangeSet
    models: tuple[ChangedModel, ...]  # of ``changes.models``, this shard's share
    at_merge_base: BasePolicy  # the base's policy at the merge base (read once: selection needs it too)
    shard_plan: ShardPlan | None = None  # the split ``models`` is this shard's share of
    shard_notes: tuple[str, ...] = ()  # how the split was made (and costs ignored)


def select(options: CheckOptions, source: ChangeSource) -> Selection:
    """The policy, the change set and the models this run (or shard) gates. ``PolicyError`` with
    every problem of the policy; ``UsageError`` for a ``--recipes`` label the policy lacks."""
    from edgegate.changes.no_base import NoBase, every_model_without_base
    from edgegate.changes.select import find_changes
    from edgegate.shards import plan_shards, read_costs, shard_notes

    policy = _checked_policy(options, source.root)
    loaded: dict[str, BasePolicy] = {}

    def at(sha: str | None) -> BasePolicy:
        if sha is None:
            return None, None
        if sha not in loaded:
            loaded[sha] = base_policy(source, policy, sha)
        return loaded[sha]

    changes = (
        every_model_without_base(policy, source)
        if isinstance(source, NoBase)  # check --all without git or a base branch: nothing to compare
        else find_changes(
            policy,
            source,
            base=options.base,
            all_models=options.all_models,
            paths=options.paths,
            # A model is the one its name names: its base version is where the base branch's
            # policy had it, wherever the pull request's policy moved it.
            base_policy=lambda sha: at(sha)[0],
        )
    )
    models = changes.models
    if not options.shard:
        return Selection(policy, changes, models, at(changes.base_sha))
    index, count = options.shard
    costs = read_costs(options.costs) if options.costs else None
    plan = plan_shards([c.target.name for c in models], count, costs)
    mine = set(plan.shard_of(index))
    models = tuple(c for c in models if c.target.name in mine)
    said = shard_notes(plan, costs)
    return Selection(policy, changes, models, at(changes.base_sha), plan, said)


def _checked_policy(options: CheckOptions, root: Path) -> Policy:
    """The policy, its targets' settings checked; one ``PolicyError`` lists every problem."""
    from edgegate.errors import UsageError
    from edgegate.policy.load import load_policy_checked
    from edgegate.policy.problems import policy_error

    checked = load_policy_checked(options.policy or root / "edgegate.yml", root=root)
    problems = list(checked.problems)  # the targets' settings among them: one error lists them all
    if problems:
        from edgegate.changes.select import expand_targets_checked

        # and what only the file system can tell (a path leading out, two models of one name):
        # without other problems, finding the changes raises these by themselves
        problems += expand_targets_checked(checked.policy)[1]
        raise policy_error(problems)
    policy = checked.policy
    if options.recipes:
        known = {r.label for m in policy.models for r in m.recipes}
        unknown = sorted(set(options.recipes) - known)
        if unknown:
            raise UsageError(
                f"--recipes: no recipe labelled {', '.join(unknown)} in {policy.display_path}; "
                f"the policy has {', '.join(sorted(known))}"
            )
    return policy


BasePolicy = tuple[Policy | None, str | None]  # the policy (None: none usable), and why not


def base_policy(source: ChangeSource, policy: Policy, base_sha: str | None) -> BasePolicy:
    """The base branch's version of the policy file (what a pull-request run trusts), if it has one."""
    from edgegate.errors import EdgeGateError
    from edgegate.policy.load import load_policy

    if base_sha is None:
        return None, None
    rel = policy.display_path
    with tempfile.TemporaryDirectory(prefix="edgegate-base-policy-") as tmp:
        try:
            if not source.exists_at(base_sha, rel):
                return None, f"the base commit has no {rel}"
            exported = source.export(base_sha, rel, Path(tmp))
            return load_policy(exported, root=Path(tmp)), None
        except EdgeGateError as e:
            first = str(e).splitlines()[-1].strip()
            return None, f"the base branch's {rel} cannot be read ({first})"


def trusted_only(
    source: ChangeSource, selection: Selection, at_merge_base: BasePolicy, notes: list[str]
) -> tuple[ChangedModel, ...]:
    """The selected models with their code-running settings taken from the base branch's head
    (its policy, not the merge base's: the PR's author picks that by branching early) and kept
    only where the PR leaves the code they run as the base has it (``run/trusted_code.py``)."""
    from edgegate.policy.trust import restrict_to_trusted
    from edgegate.run.trusted_code import pin_to_base, runs_code

    changes = selection.changes
    trusted_sha = changes.trusted_sha or changes.base_sha
    trusted_policy, base_note = (
        at_merge_base
        if trusted_sha == changes.base_sha
        else base_policy(source, selection.policy, trusted_sha)
    )
    if base_note:
        notes.append(f"{base_note}: every setting that runs code is off")
    trusted, said = restrict_to_trusted(selection.policy, trusted_policy)
    notes += said
    by_index = {m.index: m for m in trusted.models}
    changed = [
        replace(c, target=replace(c.target, model=by_index[c.target.model.index])) for c in selection.models
    ]
    if trusted_sha is None or not any(runs_code(c.target.model) for c in changed):
        return tuple(changed)
    changed, pinned = pin_to_base(changed, trusted_policy, source.changed_paths(trusted_sha))
    notes += pinned
    return tuple(changed)
