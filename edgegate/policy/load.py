"""Loading ``edgegate.yml``: YAML with line numbers → schema validation → resolution.

Every problem is collected and reported together as ``file:line: key: message`` before any
work starts, so a user fixes the file in one pass.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

import yaml
from pydantic import ValidationError

from edgegate.errors import PolicyError
from edgegate import units as q
from edgegate.policy.resolved import Budget, Policy, ResolvedModel
from edgegate.policy.schema import (
    DEPLOY_SELECTORS,
    EdgeTpuSpec,
    LatencySpec,
    ModelSettings,
    PolicyFile,
    RecipeSpec,
)
from edgegate.status import Level

Loc = tuple


def _compose_with_lines(text: str) -> tuple[object, dict[Loc, int]]:
    """Parse YAML into plain Python values plus a map from key path to 1-based line."""
    lines: dict[Loc, int] = {}
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    loader = yaml.SafeLoader("")

    def build(n, loc: Loc):
        lines.setdefault(loc, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            out = {}
            for k, v in n.value:
                key = loader.construct_object(k, deep=True)
                lines[loc + (key,)] = k.start_mark.line + 1
                out[key] = build(v, loc + (key,))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(v, loc + (i,)) for i, v in enumerate(n.value)]
        return loader.construct_object(n, deep=True)

    return (build(node, ()) if node is not None else None), lines


def format_key(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _line_for(loc: Loc, lines: dict[Loc, int]) -> tuple[Loc, int]:
    """The longest prefix of a pydantic error location that exists in the file, and its line."""
    data_loc: Loc = ()
    for part in loc:
        if data_loc + (part,) in lines:
            data_loc = data_loc + (part,)
    return data_loc, lines.get(data_loc, 1)


def _clean(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def load_policy(path: Path, root: Path | None = None) -> Policy:
    """Read, validate and resolve a policy file; raise ``PolicyError`` with every problem."""
    path = Path(path)
    shown = path.name if root is None else _display(path, root)
    if not path.is_file():
        raise PolicyError(
            [
                f"{shown}: no policy file here; run `edgegate init` to write a starter "
                "policy, or pass --policy PATH"
            ]
        )
    try:
        text = path.read_text(encoding="utf-8")
        data, lines = _compose_with_lines(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise PolicyError([f"{shown}:{line}: yaml: {getattr(e, 'problem', None) or e}"]) from None
    except UnicodeDecodeError:
        raise PolicyError([f"{shown}:1: not UTF-8 text"]) from None
    if not isinstance(data, dict):
        raise PolicyError([f"{shown}:1: (top level): expected a mapping with version and models"])

    try:
        parsed = PolicyFile.model_validate(data)
    except ValidationError as e:
        found: list[tuple[Loc, str, str]] = []
        for err in e.errors():
            data_loc, line = _line_for(tuple(err["loc"]), lines)
            # Report the key the user wrote: union branches add type names to pydantic's loc.
            msg = _clean(err["msg"])
            if err["type"] == "extra_forbidden":
                data_loc, line = tuple(err["loc"]), lines.get(tuple(err["loc"]), line)
                msg = "unknown key (see docs/policy.md for the keys this section takes)"
            if err["type"] == "missing":
                msg = f"missing required key {err['loc'][-1]!r}"
            found.append((data_loc, err["type"], f"{shown}:{line}: {format_key(data_loc)}: {msg}"))
        problems: list[str] = []
        for data_loc, kind, entry in found:
            # A union (e.g. recipes: list | 'auto') reports every branch; keep the branch
            # that got deeper into the user's data.
            shadowed = kind in ("literal_error", "model_type", "list_type", "dict_type") and any(
                len(other) > len(data_loc) and other[: len(data_loc)] == data_loc for other, _, _ in found
            )
            if not shadowed and entry not in problems:
                problems.append(entry)
        raise PolicyError(problems) from None

    root = Path(root) if root is not None else path.resolve().parent
    problems: list[str] = []
    models = tuple(_resolve(parsed, i, lines, shown, problems) for i in range(len(parsed.models)))
    if problems:
        raise PolicyError(problems)
    return Policy(path=path, root=root, models=models, lines=lines)


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def _inside_repo(p: str) -> bool:
    if p.startswith("/") or (len(p) > 1 and p[1] == ":"):
        return False
    norm = posixpath.normpath(p.replace("\\", "/"))
    return norm != ".." and not norm.startswith("../")


def _resolve(parsed: PolicyFile, i: int, lines: dict, shown: str, problems: list[str]) -> ResolvedModel:
    entry = parsed.models[i]
    d: ModelSettings = parsed.defaults
    loc: Loc = ("models", i)

    def pick(field: str):
        own = getattr(entry, field)
        return own if own is not None else getattr(d, field)

    def where(field_loc: Loc) -> tuple[Loc, int]:
        """The model's own key if written there, else the defaults' key."""
        for origin in (loc, ("defaults",)):
            for n in range(len(field_loc), 0, -1):  # a shorthand value has no deeper keys
                candidate = origin + field_loc[:n]
                if candidate in lines:
                    return candidate, lines[candidate]
        return loc, lines.get(loc, 1)

    def problem(field_loc: Loc, msg: str):
        k, line = where(field_loc)
        problems.append(f"{shown}:{line}: {format_key(k)}: {msg}")

    for key, p in [(("path",), entry.path)] + [(("watch", j), w) for j, w in enumerate(entry.watch)]:
        if not _inside_repo(p):
            problem(key, f"{p!r} points outside the repository; paths are relative to the repository root")
    for section in ("eval", "calibration", "training"):
        spec = pick(section)
        data = getattr(spec, "data", None) if spec is not None else None
        if data is not None:
            for attr in ("path", "x", "y", "images"):
                v = getattr(data, attr)
                if v and not _inside_repo(v):
                    problem((section, "data", attr), f"{v!r} points outside the repository")

    recipes_value = pick("recipes")
    auto = recipes_value == "auto"
    if auto:
        from edgegate.policy.resolved import DEFAULT_RECIPES

        recipes = DEFAULT_RECIPES
    else:
        recipes = (
            tuple(recipes_value) if recipes_value else ResolvedModel.__dataclass_fields__["recipes"].default
        )
    labels = [r.label for r in recipes]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        problem(("recipes",), f"two recipes are labelled {dup[0]!r}; give one a distinct name:")

    deploy = pick("deploy") or ("best" if auto else (labels[0] if len(labels) == 1 else "smallest"))
    if deploy not in DEPLOY_SELECTORS and deploy not in labels:
        problem(
            ("deploy",),
            f"{deploy!r} is neither a recipe of this model ({', '.join(labels)}) nor one of "
            f"{', '.join(DEPLOY_SELECTORS)}",
        )
    objective = pick("objective") or (
        deploy if deploy in ("smallest", "fastest", "most_accurate") else "smallest"
    )

    budgets: list[Budget] = []
    own_b, def_b = entry.budgets, d.budgets

    def add(metric, against, field_name, items_own, items_def, base: bool):
        items, origin = (items_own, loc) if items_own is not None else (items_def, ("defaults",))
        if items is None:
            return
        for j, item in enumerate(items):
            section = ("budgets", "vs_base", metric) if base else ("budgets", metric)
            key_loc = origin + section
            list_loc = key_loc + (j,)
            line = lines.get(list_loc + (field_name,), lines.get(list_loc, lines.get(key_loc)))
            key = format_key(key_loc)
            level = Level(item.level)
            raw = getattr(item, field_name)
            if raw is None:
                continue
            written = str(raw)
            if against == "absolute":
                if metric in ("size", "gzip_size"):
                    value = float(q.parse_size(raw))
                elif metric == "latency":
                    value = q.parse_duration_ms(raw)
                else:
                    value = q.parse_accuracy(raw)
                budgets.append(
                    Budget(
                        metric,
                        "absolute",
                        level,
                        written,
                        key,
                        line,
                        bound="min" if field_name == "min" else "max",
                        value=value,
                    )
                )
            else:
                quantity = "size" if metric in ("size", "gzip_size") else metric
                budgets.append(
                    Budget(metric, against, level, written, key, line, change=q.parse_change(raw, quantity))
                )

    for metric in ("size", "gzip_size", "latency"):
        add(metric, "absolute", "max", getattr(own_b, metric, None), getattr(def_b, metric, None), False)
    acc_own, acc_def = getattr(own_b, "accuracy", None), getattr(def_b, "accuracy", None)
    for field_name, against in (("min", "absolute"), ("max", "absolute"), ("max_drop", "float")):
        add("accuracy", against, field_name, acc_own, acc_def, False)
    base_own, base_def = getattr(own_b, "vs_base", None), getattr(def_b, "vs_base", None)
    for metric in ("size", "gzip_size", "latency", "accuracy"):
        field_name = "max_drop" if metric == "accuracy" else "max_increase"
        add(
            metric, "base", field_name, getattr(base_own, metric, None), getattr(base_def, metric, None), True
        )

    return ResolvedModel(
        name=entry.name,
        path=entry.path,
        index=i,
        watch=tuple(entry.watch),
        recipes=recipes,
        auto=auto,
        deploy=deploy,
        objective=objective,
        eval=pick("eval"),
        calibration=pick("calibration"),
        training=pick("training"),
        budgets=tuple(budgets),
        edgetpu=pick("edgetpu") or EdgeTpuSpec(),
        latency=pick("latency") or LatencySpec(),
        trust_code=bool(pick("trust_code")),
        line=lines.get(loc),
    )


__all__ = ["load_policy", "format_key", "RecipeSpec"]
