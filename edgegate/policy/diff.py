"""What a pull request changed in its policy, in words a reviewer reads at a glance.

"digits: size budget 80 KB → 200 KB, level error → warn" opens the report, so a loosened gate
is seen where the verdict is. Compared per model name, on the resolved policies (defaults applied),
so a change to ``defaults:`` shows on every model it reaches.

The comparison walks every field of the frozen sections (``sections.py``) and every key a
``targets:`` entry wrote, so a key added to the policy is in the diff by construction: only where
a value was written (key, line) and values derived from another field are left out, by name. Each
change is checked against ``_LOOSENING``, a table of key patterns and the rule saying whether that
change loosens the gate (a higher limit, a lower level, fewer runs, a smaller eval set, a removed
check, ...); such lines come first, marked ``WEAKENS``. A key the table does not know is reported
as changed, never dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, dataclass, fields, is_dataclass
from enum import Enum
from fnmatch import fnmatchcase
from typing import Any, Callable, Iterator

from edgegate import units as q
from edgegate.policy.globs import GlobError, compile_glob, is_glob
from edgegate.policy.sections import Budget, ModelPolicy, Policy, Recipe

WEAKENS = "⚠ weakens the gate"

# Where a value was written, not what it is; and fields shown through another one.
_WHERE = frozenset({"key", "line", "index", "path_line", "refused", "signature_line", "key_lines"})
_DERIVED = frozenset(
    {
        "min_mapped_written",  # min_mapped is shown as written
        "y_key_written",  # follows from y_key being written; y_key itself is compared
    }
)
_SHOWN_AS = {"min_mapped": "min_mapped_written"}
# ModelPolicy fields with a renderer of their own (grouped the way a reviewer reads them); the
# name is what models are matched by.
_OWN_RENDERER = frozenset({"name", "recipes", "auto", "budgets", "targets"})
# Budget fields that say which budget it is, or repeat ``written`` parsed.
_BUDGET_IDENTITY = frozenset({"metric", "against", "bound", "value", "change"})


@dataclass(frozen=True)
class PolicyChange:
    """One change to one model's resolved policy."""

    model: str
    keys: tuple[str, ...]  # the policy keys it is about, relative to the model: "targets.mcu.arena"
    text: str  # "targets.mcu.arena 1 KiB → 10 MiB"
    weakens: bool


def policy_changes(base: Policy, head: Policy) -> tuple[str, ...]:
    """The report's lines: per model, what weakens the gate (marked, all models first), then the rest."""
    changes = changes_between(base, head)
    names = list(dict.fromkeys(c.model for c in changes))
    lines = []
    for weakening in (True, False):
        for name in names:
            texts = [c.text for c in changes if c.model == name and c.weakens is weakening]
            if texts:
                lines.append(f"{WEAKENS + ' — ' if weakening else ''}{name}: {'; '.join(texts)}")
    return tuple(lines)


def changes_between(base: Policy, head: Policy) -> tuple[PolicyChange, ...]:
    old = {m.name: m for m in base.models}
    new = {m.name: m for m in head.models}
    found = [PolicyChange(name, (), "removed from the policy", True) for name in old if name not in new]
    for name, model in new.items():
        if name not in old:
            found.append(PolicyChange(name, (), "new in the policy", False))
            continue
        found += [PolicyChange(name, d.keys, d.text, d.weakens) for d in _model_changes(old[name], model)]
    return tuple(found)


@dataclass(frozen=True)
class _Delta:
    keys: tuple[str, ...]
    text: str
    weakens: bool


def _model_changes(old: ModelPolicy, new: ModelPolicy) -> list[_Delta]:
    deltas = list(_recipes(old, new)) + list(_budgets(old.budgets, new.budgets))
    for f in fields(ModelPolicy):
        if f.name not in _WHERE | _DERIVED | _OWN_RENDERER:
            deltas += _walk(f.name, _shown(old, f.name), _shown(new, f.name))
    deltas += _walk("targets", _targets(old), _targets(new))
    return deltas


# --- the generic walk --------------------------------------------------------------------------


def _shown(section: object, name: str) -> object:
    return getattr(section, _SHOWN_AS.get(name, name))


def _children(value: object) -> dict[str, object] | None:
    """A section's fields (or a written mapping's keys) as shown; None for a leaf."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _shown(value, f.name) for f in fields(value) if f.name not in _WHERE | _DERIVED}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return None


def _walk(key: str, old: object, new: object) -> Iterator[_Delta]:
    if old == new:
        return
    a, b = _children(old), _children(new)
    if a is not None and b is not None and type(old) is type(new):
        for name in list(a) + [n for n in b if n not in a]:
            yield from _walk(f"{key}.{name}", a.get(name), b.get(name))
    elif old is None and b is not None:
        yield _Delta((key,), f"{key} added ({_summary(new)})", _loosens(key, old, new))
    elif new is None and a is not None:
        weakens = _loosens(key, old, new) or any(_loosens(k, v, None) for k, v in _leaves(key, old))
        yield _Delta((key,), f"{key} removed (was {_summary(old)})", weakens)
    else:
        yield _Delta((key,), f"{key} {_format(old)} → {_format(new)}", _loosens(key, old, new))


def _leaves(key: str, value: object) -> Iterator[tuple[str, object]]:
    """Every leaf under ``value`` that differs from its field's default, with its key."""
    children = _children(value)
    if children is None:
        yield key, value
        return
    defaults = {f.name: f.default for f in fields(value)} if is_dataclass(value) else {}
    for name, child in children.items():
        if child is not None and defaults.get(name, MISSING) != child:
            yield from _leaves(f"{key}.{name}", child)


def _summary(value: object) -> str:
    parts = [f"{k[1:]} {_format(v)}" for k, v in _leaves("", value)]  # keys relative to the section
    return ", ".join(parts) or "defaults"


def _format(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    if _children(value) is not None:
        return _summary(value)
    return str(value)


def _targets(model: ModelPolicy) -> dict[str, Any]:
    """Each target's settings as the policy wrote them (the targets parse them, not the policy)."""
    return {t.name: json.loads(t.settings_json) for t in model.targets}


# --- recipes and budgets: grouped as a reviewer reads them ---------------------------------------


def _recipes(old: ModelPolicy, new: ModelPolicy) -> Iterator[_Delta]:
    def shown(m: ModelPolicy) -> str:
        return "auto" if m.auto else ", ".join(r.label for r in m.recipes)

    if shown(old) != shown(new):
        removed = not old.auto and not new.auto and bool(_labels(old) - _labels(new))
        yield _Delta(("recipes",), f"recipes {shown(old)} → {shown(new)}", removed)
    if old.auto or new.auto:
        return
    before: dict[str, Recipe] = {r.label: r for r in old.recipes}
    for r in new.recipes:
        if r.label in before:
            yield from _walk(f"recipes[{r.label}]", before[r.label], r)


def _labels(m: ModelPolicy) -> set[str]:
    return {r.label for r in m.recipes}


def _budget_name(b: Budget) -> str:
    what = b.metric.replace("_", " ")
    if b.against == "base":
        return f"vs_base {what} budget"
    if b.against == "float":
        return "accuracy drop budget"
    return f"{what} {'minimum' if b.bound == 'min' else 'budget'}"


def _budget_key(b: Budget, field_name: str) -> str:
    """The policy key of one of a budget's fields: ``budgets.vs_base.size.max_increase``."""
    section = b.key.split(".", 1)[1]  # without "models[0]." / "defaults."
    if field_name == "written":
        limit = (
            b.bound if b.against == "absolute" else "max_drop" if b.metric == "accuracy" else "max_increase"
        )
        return f"{section}.{limit}"
    if field_name == "on_missing_base":
        return section.rsplit(".", 1)[0] + ".on_missing_base"
    return f"{section}.{field_name}"


def _budgets(old: tuple[Budget, ...], new: tuple[Budget, ...]) -> Iterator[_Delta]:
    before, after = _grouped(old), _grouped(new)
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name, []), after.get(name, [])
        if not b:
            yield _Delta(
                (_budget_key(a[0], "written"),),
                f"{name} removed (was {', '.join(x.written for x in a)})",
                True,
            )
        elif not a:
            yield _Delta(
                (_budget_key(b[0], "written"),), f"{name} added ({', '.join(x.written for x in b)})", False
            )
        else:
            yield from _budget_change(name, a, b)
    yield from _missing_base(old, new)


def _grouped(budgets: tuple[Budget, ...]) -> dict[str, list[Budget]]:
    found: dict[str, list[Budget]] = {}
    for b in budgets:
        found.setdefault(_budget_name(b), []).append(b)
    return found


def _budget_change(name: str, a: list[Budget], b: list[Budget]) -> Iterator[_Delta]:
    parts: list[str] = []
    keys: list[str] = []
    weakens = len(b) < len(a)  # fewer limits of a kind: one was removed
    for field_name in _budget_fields():
        was, now = [getattr(x, field_name) for x in a], [getattr(x, field_name) for x in b]
        if was == now:
            continue
        label = "" if field_name == "written" else f"{field_name} "
        text = f"{label}{', '.join(map(_format, was))} → {', '.join(map(_format, now))}"
        parts.append(text if parts else f"{name} {text}")
        keys.append(_budget_key(b[0], field_name))
        if field_name == "written":
            weakens = weakens or any(_looser_budget(x, y) for x, y in zip(a, b))
        else:
            weakens = weakens or any(_loosens(keys[-1], x, y) for x, y in zip(was, now))
    if parts:
        yield _Delta(tuple(keys), ", ".join(parts), weakens)


def _budget_fields() -> list[str]:
    """What a budget says besides which one it is, its limit (``written``) first."""
    names = [f.name for f in fields(Budget) if f.name not in _WHERE | _BUDGET_IDENTITY | {"on_missing_base"}]
    return sorted(names, key=lambda n: n != "written")


def _missing_base(old: tuple[Budget, ...], new: tuple[Budget, ...]) -> Iterator[_Delta]:
    """``vs_base.on_missing_base``: one setting of the section, carried by each of its budgets."""
    a = [b for b in old if b.against == "base"]
    b = [b for b in new if b.against == "base"]
    if a and b and a[0].on_missing_base != b[0].on_missing_base:
        key = _budget_key(b[0], "on_missing_base")
        was, now = a[0].on_missing_base, b[0].on_missing_base
        yield _Delta(
            (key,), f"vs_base on_missing_base {_format(was)} → {_format(now)}", _loosens(key, was, now)
        )


def _looser_budget(old: Budget, new: Budget) -> bool:
    if old.value is not None and new.value is not None:
        return new.value < old.value if old.bound == "min" else new.value > old.value
    if old.change is not None and new.change is not None and old.change.relative == new.change.relative:
        return new.change.amount > old.change.amount
    return False


# --- which changes loosen the gate --------------------------------------------------------------

Rule = Callable[[Any, Any], bool]
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-zµ%]*)\s*$")
_COUNT = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}  # MAC counts: 300M


def _magnitude(value: object) -> tuple[str, float] | None:
    """A written quantity as (kind, number) so two of the same kind compare; None: not a quantity."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return "", float(value)
    found = _NUMBER.match(str(value))
    if not found:
        return None
    number, unit = float(found.group(1)), found.group(2).lower().removesuffix("macs")
    if unit in ("", "%", "pt", "pts", "pp"):
        return unit.rstrip("s"), number
    if unit in _COUNT:
        return "", number * _COUNT[unit]
    for kind, parse in (("bytes", q.parse_size), ("ms", q.parse_duration_ms)):
        try:
            return kind, float(parse(str(value)))
        except ValueError:
            pass
    return None


def _higher(old: Any, new: Any) -> bool:
    """A limit: a higher one, or none, is looser."""
    if old is None:
        return False
    if new is None:
        return True
    a, b = _magnitude(old), _magnitude(new)
    return a is not None and b is not None and a[0] == b[0] and b[1] > a[1]


def _lower(old: Any, new: Any) -> bool:
    """A minimum: a lower one, or none, is looser."""
    return _higher(new, old) if old is not None and new is not None else old is not None and new is None


def _fewer(default: float) -> Rule:
    """A count of samples or runs (None: ``default``): fewer is looser."""

    def rule(old: Any, new: Any) -> bool:
        a = old if old is not None else default
        b = new if new is not None else default
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and b < a

    return rule


def _ranked(order: tuple[str, ...], default: str) -> Rule:
    """A setting with an order from loosest to strictest: a step down is looser."""

    def rule(old: Any, new: Any) -> bool:
        a, b = _format(old if old is not None else default), _format(new if new is not None else default)
        return a in order and b in order and order.index(b) < order.index(a)

    return rule


def _switched_off(old: Any, new: Any) -> bool:
    return bool(old) and not new


def _switched_on(old: Any, new: Any) -> bool:
    return not old and bool(new)


def _any_change(old: Any, new: Any) -> bool:
    return old != new


def _items_removed(old: Any, new: Any) -> bool:
    return bool(set(old or ()) - set(new or ()))


def _items_added(old: Any, new: Any) -> bool:
    """An allow-list: more items, or none at all (nothing restricted), is looser."""
    if old is None:
        return False
    return new is None or bool(set(new) - set(old))


def _narrowed(old: Any, new: Any) -> bool:
    """A glob that now matches only part of what it did (``models/*`` → ``models/a*``)."""
    if not (isinstance(old, str) and isinstance(new, str) and is_glob(old)) or old == new:
        return False
    try:
        return compile_glob(old).fullmatch(new)
    except GlobError:
        return False


_LEVELS = ("off", "warn", "error")

# Key pattern (``*`` is one key; ``recipes[label]`` is written ``recipes``) → does the change loosen.
_LOOSENING: tuple[tuple[str, Rule], ...] = (
    ("path", _narrowed),
    ("watch", _items_removed),
    ("trust_code", _switched_on),
    ("eval", _switched_off),
    ("eval.data.path", _any_change),  # accuracy judged on other data, which the PR chose
    ("eval.data.x", _any_change),
    ("eval.data.y", _any_change),
    ("eval.data.images", _any_change),
    ("eval.data.hook", _any_change),
    ("eval.data.x_key", _any_change),
    ("eval.data.y_key", _any_change),
    ("eval.data.limit", _fewer(float("inf"))),
    ("eval.metric.k", _higher),  # top-5 passes more easily than top-1
    ("latency.runs", _fewer(0)),
    ("latency.warmup", _fewer(0)),
    ("edgetpu.level", _ranked(_LEVELS, "off")),
    ("edgetpu.all_mapped", _switched_off),
    ("edgetpu.min_mapped", _lower),
    ("edgetpu.max_partitions", _higher),
    ("budgets.*.level", _ranked(_LEVELS, "error")),
    ("budgets.vs_base.*.level", _ranked(_LEVELS, "error")),
    ("budgets.vs_base.on_missing_base", _ranked(_LEVELS, "warn")),
    ("budgets.*.judge", _ranked(("significant", "point"), "point")),
    ("budgets.vs_base.*.judge", _ranked(("significant", "point"), "point")),
    ("contract", _switched_off),
    ("contract.signature", _ranked(_LEVELS, "error")),
    ("contract.ops", _switched_off),
    ("contract.ops.allowed", _items_added),
    ("contract.ops.no_new_kinds", _switched_off),
    ("contract.ops.level", _ranked(_LEVELS, "error")),
    ("targets.*", _switched_off),  # a target removed: none of its checks run
    ("targets.*.level", _ranked(_LEVELS, "error")),
    ("targets.gpu.fp16_overflow", _ranked(_LEVELS, "warn")),
    ("targets.gpu.max_samples", _fewer(64)),
    ("targets.gpu.vs_base", _switched_off),
    ("targets.*.all_*", _switched_off),
    ("targets.*.min_*", _lower),
    ("targets.ethos-u.vs_base", _switched_off),
    ("targets.*.vs_base.*", _higher),
    ("targets.*.macs.max", _higher),
    ("targets.mcu.arena", _higher),
    ("targets.mcu.flash", _higher),
    ("targets.ethos-u.sram", _higher),
    ("targets.ethos-u.flash", _higher),
    ("targets.ethos-u.latency", _higher),
)


def _loosens(key: str, old: object, new: object) -> bool:
    parts = re.sub(r"\[[^\]]*\]", "", key).split(".")
    for pattern, rule in _LOOSENING:
        wanted = pattern.split(".")
        if len(wanted) == len(parts) and all(fnmatchcase(p, w) for p, w in zip(parts, wanted)):
            if rule(old, new):
                return True
    return False
