"""What a pull request changed in its policy, in words a reviewer reads at a glance.

"digits: size budget 80 KB → 200 KB, level error → warn" opens the report, so a loosened gate
is seen where the verdict is. Compared per model name, on the resolved policies (defaults applied),
so a change to ``defaults:`` shows on every model it reaches.
"""

from __future__ import annotations

from edgegate.policy.sections import Budget, ModelPolicy, Policy


def policy_changes(base: Policy, head: Policy) -> tuple[str, ...]:
    old = {m.name: m for m in base.models}
    new = {m.name: m for m in head.models}
    lines = [f"{name}: removed from the policy" for name in old if name not in new]
    for name, model in new.items():
        if name not in old:
            lines.append(f"{name}: new in the policy")
            continue
        changes = _model_changes(old[name], model)
        if changes:
            lines.append(f"{name}: {'; '.join(changes)}")
    return tuple(lines)


def _budget_name(b: Budget) -> str:
    what = b.metric.replace("_", " ")
    if b.against == "base":
        return f"vs_base {what} budget"
    if b.against == "float":
        return "accuracy drop budget"
    return f"{what} {'minimum' if b.bound == 'min' else 'budget'}"


def _budgets(model: ModelPolicy) -> dict[str, list[Budget]]:
    found: dict[str, list[Budget]] = {}
    for b in model.budgets:
        found.setdefault(_budget_name(b), []).append(b)
    return found


def _model_changes(old: ModelPolicy, new: ModelPolicy) -> list[str]:
    changes: list[str] = []
    before, after = _budgets(old), _budgets(new)
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name, []), after.get(name, [])
        if not b:
            changes.append(f"{name} removed (was {', '.join(x.written for x in a)})")
        elif not a:
            changes.append(f"{name} added ({', '.join(x.written for x in b)})")
        else:
            written = [x.written for x in a], [x.written for x in b]
            levels = [x.level.value for x in a], [x.level.value for x in b]
            parts = []
            if written[0] != written[1]:
                parts.append(f"{name} {', '.join(written[0])} → {', '.join(written[1])}")
            if levels[0] != levels[1]:
                parts.append(
                    f"{'' if parts else name + ' '}level {', '.join(levels[0])} → {', '.join(levels[1])}"
                )
            if parts:
                changes.append(", ".join(parts))
    simple = (
        ("recipes", lambda m: ", ".join(r.label for r in m.recipes) if not m.auto else "auto"),
        ("deploy", lambda m: m.deploy),
        ("path", lambda m: m.path),
        ("edgetpu level", lambda m: m.edgetpu.level),
        ("edgetpu min_mapped", lambda m: m.edgetpu.min_mapped_written or "none"),
        ("edgetpu all_mapped", lambda m: str(m.edgetpu.all_mapped).lower()),
        ("trust_code", lambda m: str(m.trust_code).lower()),
    )
    for label, value in simple:
        was, now = value(old), value(new)
        if was != now:
            changes.append(f"{label} {was} → {now}")
    return changes
