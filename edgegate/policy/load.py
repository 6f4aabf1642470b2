"""Loading ``edgegate.yml``: YAML with line numbers → schema validation → frozen sections.

Every problem is collected and reported together as ``file:line: key: message`` before any
work starts, so a user fixes the file in one pass: only a file that cannot be read as YAML
stops early. The top level, ``defaults:`` and each model are validated on their own, and
every model whose entry (or what is left of it without the keys the schema refused) validates
is resolved, so a bad unit in one model hides neither another model's bad ``deploy:`` nor its
own. Each ``targets:`` section is checked against its target's written form and parsed by the
target (found through ``edgegate/target_registry.py``), its problems among the others.
``load_policy_checked`` returns what resolved together with the problems.
The line table stays here: each section of the returned ``Policy`` carries its own key and line.

``parse_recipe``, ``parse_dataset``, ... turn one section's YAML-like value into its frozen
value through the same schema, for code that makes a section outside a policy file.
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast, get_args

from pydantic import BaseModel, TypeAdapter, ValidationError

from edgegate import units as q
from edgegate.errors import PolicyError
from edgegate.formats import FORMATS
from edgegate.repo_paths import is_lexically_inside, real_path, resolves_inside
from edgegate.policy import convert
from edgegate.policy.globs import GlobError, compile_glob, is_glob
from edgegate.policy.names import name_problem
from edgegate.policy.schema import (
    CalibrationSpec,
    DatasetSpec,
    EdgeTpuSpec,
    KeepFloatSearchSpec,
    LatencySpec,
    MetricSpec,
    ModelEntry,
    ModelSettings,
    PolicyTopLevel,
    RecipeSpec,
    TrainingSpec,
)
from edgegate.policy.sections import (
    DEFAULT_RECIPES,
    DEPLOY_SELECTORS,
    Budget,
    BudgetMetric,
    Calibration,
    Contract,
    Dataset,
    EdgeTpuSettings,
    Judge,
    Metric,
    ModelPolicy,
    Objective,
    Policy,
    Recipe,
    TargetSection,
    Training,
)
from edgegate.policy.problems import PolicyProblem, policy_error
from edgegate.policy.yaml_reader import Loc, YamlDocument, YamlProblems, format_key, read_yaml
from edgegate.status import Level
from edgegate.target_registry import TargetKind, section_kinds

Lines = Mapping[Loc, int]
S = TypeVar("S", bound=BaseModel)

MAX_POLICY_BYTES = (
    256 * 1024
)  # a large monorepo's policy is tens of KB; pure-Python YAML takes seconds per MB
PATH_MAX_BYTES = 4096  # Linux's PATH_MAX: no longer path names a file
NAME_MAX_BYTES = 255  # the longest file or folder name ext4, APFS, NTFS and tmpfs accept


def _line_for(loc: Loc, lines: Lines) -> tuple[Loc, int]:
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


# pydantic's "unknown key": of a model, and of a plain dataclass (a target's written form).
_UNKNOWN_KEY = ("extra_forbidden", "unexpected_keyword_argument")


def _message(err: Any) -> str:
    """What one pydantic error says to the user (its location is reported separately)."""
    if err["type"] in _UNKNOWN_KEY:
        return "unknown key (see docs/policy.md for the keys this section takes)"
    if err["type"] == "missing":
        return f"missing required key {err['loc'][-1]!r}"
    return _clean(err["msg"])


@dataclass(frozen=True)
class CheckedPolicy:
    """A policy file read as far as it could be, and every problem found in it.

    ``policy`` holds every model that could be resolved, those with problems too: a key the
    schema refused counts as not written there, and is not inherited from ``defaults:`` either.
    That is enough for later checks (the targets' settings) to find their own problems in the
    same run; only a policy without problems is fit to gate with (``usable``)."""

    policy: Policy
    problems: tuple[PolicyProblem, ...]  # in the order found; ``policy_error`` puts them in file order

    def usable(self) -> Policy:
        """The policy; ``PolicyError`` listing every problem if it has any."""
        if self.problems:
            raise policy_error(self.problems)
        return self.policy


def load_policy(path: Path, root: Path | None = None) -> Policy:
    """Read, validate and resolve a policy file; raise ``PolicyError`` with every problem."""
    return load_policy_checked(path, root).usable()


def load_policy_checked(path: Path, root: Path | None = None) -> CheckedPolicy:
    """Read, validate and resolve a policy file as far as it goes, with every problem found;
    ``PolicyError`` only for a file that cannot be read as YAML (nothing to validate then)."""
    path = Path(path)
    shown = path.name if root is None else _display(path, root)
    if root is not None and _exists(path) and not resolves_inside(root, path):
        # A symlink committed as edgegate.yml would make EdgeGate read (and quote in its
        # errors) a file from outside the checkout.
        raise PolicyError(
            [
                f"{shown}:1: (file): resolves to {real_path(root, path)}, outside the repository "
                f"{Path(root)}; the policy must be a file inside it (not a symlink leading out)"
            ]
        )
    if not _is_file(path):
        raise PolicyError(
            [
                f"{shown}: no policy file here; run `edgegate init` to write a starter "
                "policy, or pass --policy PATH"
            ]
        )
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_POLICY_BYTES + 1)  # never more, whatever the file turns out to be
    except OSError as e:
        raise PolicyError([f"{shown}:1: (file): cannot read it ({e.strerror or e})"]) from None
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(
            [
                f"{shown}:1: (file): larger than {MAX_POLICY_BYTES // 1024} KiB, the most a policy file may hold"
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise PolicyError([f"{shown}:{line}: (file): not UTF-8 text (byte {e.start})"]) from None
    yaml_problems: list[PolicyProblem] = []
    try:
        document = read_yaml(text)
    except YamlProblems as e:
        yaml_problems = [PolicyProblem(shown, p.line, f"{p.key}: {p.message}") for p in e.problems]
        if e.partial is None:  # a syntax error or a limit: nothing was read to validate
            raise policy_error(yaml_problems) from None
        document = e.partial
    problems = _Problems(shown, document, yaml_problems)
    root = Path(root) if root is not None else path.resolve().parent
    models = _check(document, problems)
    return CheckedPolicy(Policy(path=path, root=root, models=models), tuple(problems.found))


class _Problems:
    """The problems found so far. A problem where the YAML reader already said the data is not
    what the file holds (a value it could not build, a mapping that lost a key) is left out:
    it would only repeat that one, or follow from it."""

    def __init__(self, shown: str, document: YamlDocument, found: list[PolicyProblem]):
        self.shown = shown
        self.document = document
        self.found = list(found)

    def add(self, loc: Loc, line: int, message: str, *, about_the_key: bool = False) -> None:
        """A problem at ``loc``; ``about_the_key``: true of the key whatever its value (unknown key)."""
        if not self._follows_from_yaml(loc, about_the_key):
            self.found.append(PolicyProblem(self.shown, line, f"{format_key(loc)}: {message}"))

    def _follows_from_yaml(self, loc: Loc, about_the_key: bool) -> bool:
        if loc in self.document.mappings_missing_a_key:  # a "missing key" may be the one left out
            return True
        return not about_the_key and any(loc[: len(u)] == u for u in self.document.unbuilt_values)


@dataclass(frozen=True)
class _SchemaProblem:
    loc: Loc  # where in the user's data
    kind: str  # pydantic's error type
    line: int
    message: str


def _add_schema_problems(error: ValidationError, at: Loc, lines: Lines, problems: _Problems) -> None:
    """Each problem pydantic found in the value written at ``at``, at its key and line."""
    found: list[_SchemaProblem] = []
    for err in error.errors():
        loc = at + tuple(err["loc"])
        data_loc, line = _line_for(loc, lines)
        # Report the key the user wrote: union branches add type names to pydantic's loc.
        if err["type"] in _UNKNOWN_KEY:
            data_loc, line = loc, lines.get(loc, line)
        found.append(_SchemaProblem(data_loc, err["type"], line, _message(err)))
    kept: list[_SchemaProblem] = []
    for p in found:
        # A union (e.g. recipes: list | 'auto') reports every branch; keep the branch
        # that got deeper into the user's data.
        shadowed = p.kind in ("literal_error", "model_type", "list_type", "dict_type") and any(
            len(other.loc) > len(p.loc) and other.loc[: len(p.loc)] == p.loc for other in found
        )
        if not shadowed and p not in kept:
            kept.append(p)
    for p in kept:
        problems.add(p.loc, p.line, p.message, about_the_key=p.kind in _UNKNOWN_KEY)


@dataclass(frozen=True)
class _Section(Generic[S]):
    """One part of the file checked against its schema."""

    value: S | None  # None when not even its keys without problems validate
    refused: frozenset[str]  # keys left out of ``value`` for their problems (all: not a mapping)


def _section(schema: type[S], raw: object, at: Loc, lines: Lines, problems: _Problems) -> _Section[S]:
    """``raw``, written at ``at``, validated by ``schema``; on problems (each added to ``problems``)
    validated again without the keys that have them, so what is fine can still be resolved."""
    try:
        return _Section(schema.model_validate(raw), frozenset())
    except ValidationError as e:
        _add_schema_problems(e, at, lines, problems)
        errors = e.errors()
    if not isinstance(raw, dict) or any(not err["loc"] for err in errors):
        return _Section(None, frozenset(schema.model_fields))
    refused = frozenset(str(err["loc"][0]) for err in errors)
    try:
        rest = schema.model_validate({k: v for k, v in raw.items() if k not in refused})
    except ValidationError:  # a required key has a problem: its own problems say enough
        return _Section(None, refused)
    return _Section(rest, refused)


def _check(document: YamlDocument, problems: _Problems) -> tuple[ModelPolicy, ...]:
    """Every model of the document that can be resolved; every problem added to ``problems``."""
    data, lines = document.data, document.lines
    if not isinstance(data, dict):
        problems.add((), 1, "expected a mapping with version and models")
        return ()
    top = _section(PolicyTopLevel, data, (), lines, problems)
    if "defaults" in data and "defaults" not in top.refused:
        defaults = _section(ModelSettings, data["defaults"], ("defaults",), lines, problems)
    else:
        defaults = _Section(ModelSettings(), frozenset())
    raw_models = data.get("models") if "models" not in top.refused else None
    raw_models = raw_models if isinstance(raw_models, list) else []
    entries = [_section(ModelEntry, m, ("models", i), lines, problems) for i, m in enumerate(raw_models)]

    _name_problems(defaults.value, [e.value for e in entries], lines, problems)
    _repeated_names(raw_models, lines, problems)
    settings = defaults.value or ModelSettings()
    return tuple(
        _resolve(e.value, i, settings, e.refused, defaults.refused, lines, problems)
        for i, e in enumerate(entries)
        if e.value is not None
    )


def _repeated_names(raw_models: list[Any], lines: Lines, problems: _Problems) -> None:
    """Each model named as an earlier one was, at its ``name:``."""
    first: dict[str, int] = {}
    for i, raw in enumerate(raw_models):
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            continue
        j = first.setdefault(name, i)
        if j != i:
            at: Loc = ("models", i, "name")
            earlier = lines.get(("models", j, "name"), lines.get(("models", j), 1))
            problems.add(
                at,
                lines.get(at, lines.get(("models", i), 1)),
                f"model names must be unique: {name} is also the name of models[{j}] (line {earlier})",
            )


def _exists(path: Path) -> bool:
    """``path`` exists (a dangling symlink counts); False for a name no file system takes."""
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


def _is_file(path: Path) -> bool:
    """``path`` is a regular file (through symlinks); False, never an error, for a name too long
    or holding a NUL byte: such a file cannot exist."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _name_problems(
    defaults: ModelSettings | None, entries: list[ModelEntry | None], lines: Lines, problems: _Problems
) -> None:
    """Every model name and recipe label that cannot be shown faithfully (docs/policy.md, Names)."""

    def check(name: str | None, loc: Loc) -> None:
        why = name_problem(name) if name is not None else None
        if why is not None:
            problems.add(loc, lines.get(loc, lines.get(loc[:-1], 1)), why)

    for i, entry in enumerate(entries):
        if entry is not None:
            check(entry.name, ("models", i, "name"))
    settings: list[tuple[Loc, ModelSettings | None]] = [(("defaults",), defaults)]
    settings += [(("models", i), m) for i, m in enumerate(entries)]
    for where, section in settings:
        if section is not None and isinstance(section.recipes, list):
            for j, r in enumerate(section.recipes):
                check(r.name, where + ("recipes", j, "name"))


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def path_problem(written: str, *, glob: bool) -> str | None:
    """Why ``written`` (a policy path; a glob too when ``glob``) can name nothing in the repository:
    outside it, a NUL byte, longer than file systems allow, a malformed glob. None when usable."""
    if "\0" in written:
        return f"{written!r} holds a NUL byte, which no file name can"
    if not is_lexically_inside(written):
        return f"{written!r} points outside the repository; paths are relative to the repository root"
    if _utf8_bytes(written) > PATH_MAX_BYTES:
        return (
            f"a path of {_utf8_bytes(written)} bytes is longer than the {PATH_MAX_BYTES} file systems allow"
        )
    longest = max(written.replace("\\", "/").split("/"), key=_utf8_bytes)
    if _utf8_bytes(longest) > NAME_MAX_BYTES:
        return (
            f"{longest[:24]!r}… is a file or folder name of {_utf8_bytes(longest)} bytes; file systems "
            f"allow at most {NAME_MAX_BYTES}"
        )
    pattern = posixpath.normpath(written.replace("\\", "/"))  # as changes/ matches it
    if glob and is_glob(pattern):
        try:
            compile_glob(pattern)
        except GlobError as e:
            return f"{written!r} is not a valid glob: {e}"
    return None


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        pass
    try:  # a symlink leading out of the repository: named as it is written inside it
        return path.absolute().relative_to(Path(root).absolute()).as_posix()
    except ValueError:
        return str(path)


def _resolve(
    entry: ModelEntry,
    i: int,
    defaults: ModelSettings,
    refused: frozenset[str],
    refused_in_defaults: frozenset[str],
    lines: Lines,
    problems: _Problems,
) -> ModelPolicy:
    """The model at ``models[i]``, defaults applied; its problems added to ``problems``.

    ``refused``: keys of the model the schema refused (left out of ``entry``); they are not
    inherited from ``defaults:`` either, and no check that depends on them (or on keys refused
    in ``defaults:`` that the model inherits) runs: it would judge a value nobody wrote."""
    d = defaults.model_copy(update={f: None for f in refused if f in ModelSettings.model_fields})
    at = _Entry(entry, d, ("models", i), lines, problems)
    unknown = refused | {f for f in refused_in_defaults if getattr(entry, f, None) is None}
    _path_problems(at)
    recipes, auto, deploy, objective = _recipes(at, unknown)
    eval_spec, calibration_spec, training_spec = at.pick("eval"), at.pick("calibration"), at.pick("training")
    evaluation = convert.evaluation(eval_spec, **at.written("eval", data=True)) if eval_spec else None
    calibration = (
        convert.calibration(calibration_spec, **at.written("calibration", data=True))
        if calibration_spec
        else None
    )
    training = convert.training(training_spec, **at.written("training", data=True)) if training_spec else None
    return ModelPolicy(
        name=entry.name,
        path=entry.path,
        index=i,
        watch=tuple(entry.watch),
        recipes=recipes,
        recipes_written=bool(at.pick("recipes")) and not auto,
        recipes_inherited=at.entry.recipes is None,
        auto=auto,
        deploy=deploy,
        objective=objective,
        eval=evaluation,
        calibration=calibration,
        training=training,
        budgets=_budgets(entry.budgets, d.budgets, at.loc, lines),
        edgetpu=convert.edgetpu(
            at.pick("edgetpu") or EdgeTpuSpec.model_validate({}),
            **at.written("edgetpu"),
            key_lines=key_lines(at.origin("edgetpu") + ("edgetpu",), lines),
        ),
        latency=convert.latency(
            at.pick("latency") or LatencySpec.model_validate({}), **at.written("latency")
        ),
        keep_float_search=convert.keep_float_search(
            at.pick("keep_float_search") or KeepFloatSearchSpec.model_validate({}),
            **at.written("keep_float_search"),
        ),
        trust_code=bool(at.pick("trust_code")),
        targets=_targets(entry.targets, d.targets, at.loc, lines, problems),
        contract=_contract(at),
        line=lines.get(at.loc),
        path_line=lines.get(at.loc + ("path",)),
    )


@dataclass(frozen=True)
class _Entry:
    """One model entry with the defaults it inherits: each setting's value and where it was written."""

    entry: ModelEntry
    defaults: ModelSettings  # without the keys the schema refused in the entry
    loc: Loc
    lines: Lines
    problems: _Problems

    def pick(self, field: str) -> Any:
        own = getattr(self.entry, field)
        return own if own is not None else getattr(self.defaults, field)

    def origin(self, field: str) -> Loc:
        """Where the value ``pick`` chose was written: the model, else ``defaults:``."""
        return self.loc if getattr(self.entry, field) is not None else ("defaults",)

    def where(self, field_loc: Loc) -> tuple[Loc, int]:
        """The model's own key if written there, else the defaults' key."""
        for start in (self.loc, ("defaults",)):
            for n in range(len(field_loc), 0, -1):  # a shorthand value has no deeper keys
                candidate = start + field_loc[:n]
                if candidate in self.lines:
                    return candidate, self.lines[candidate]
        return self.loc, self.lines.get(self.loc, 1)

    def problem(self, field_loc: Loc, msg: str) -> None:
        k, line = self.where(field_loc)
        self.problems.add(k, line, msg)

    def written(self, field: str, data: bool = False) -> dict[str, Any]:
        """Key and line of the section ``pick`` chose (and of its ``data:``)."""
        at = self.origin(field) + (field,)
        found = {"key": format_key(at), "line": self.lines.get(at)}
        return {**found, "data_line": self.lines.get(at + ("data",))} if data else found


def _contract(at: _Entry) -> Contract | None:
    spec = at.pick("contract")
    if spec is None:
        return None
    where = at.origin("contract") + ("contract",)
    return convert.contract(
        spec,
        key=format_key(where),
        line=at.lines.get(where),
        signature_line=at.lines.get(where + ("signature",)) or at.lines.get(where),
        ops_line=at.lines.get(where + ("ops",)),
    )


def _path_problems(at: _Entry) -> None:
    """A model's path, its ``watch:`` paths and its data paths that lead nowhere allowed."""
    entry = at.entry
    for key, p in [(("path",), entry.path)] + [(("watch", j), w) for j, w in enumerate(entry.watch)]:
        why = path_problem(p, glob=True)
        if why is not None:
            at.problem(key, why)
    for section in ("eval", "calibration", "training"):
        spec = at.pick(section)
        data = getattr(spec, "data", None) if spec is not None else None
        if data is not None:
            for attr in ("path", "x", "y", "images"):
                v = getattr(data, attr)
                why = path_problem(v, glob=False) if v else None
                if why is not None:
                    at.problem((section, "data", attr), why)


def _recipes(at: _Entry, unknown: frozenset[str]) -> tuple[tuple[Recipe, ...], bool, str, Objective]:
    """The model's recipes, whether they are ``auto``, what it deploys and its objective."""
    recipes_value = at.pick("recipes")
    auto = recipes_value == "auto"
    recipes = (
        tuple(_recipe(at, j, r) for j, r in enumerate(recipes_value))
        if recipes_value and not auto
        else DEFAULT_RECIPES
    )
    if recipes_value and not auto:
        # Recipes inherited from defaults: that a .tflite cannot take are left out (the plan notes it).
        tflite = _names_a_tflite(at.entry.path) and at.entry.recipes is not None
        for j, r in enumerate(recipes):
            try:
                why = None if tflite else r.quantizer_options_unused
                r.on_tflite() if tflite else None
            except ValueError as e:
                why = str(e)
            if why:  # keep_float the converter cannot honour: said at its own key
                kept = not tflite and r.keep_float and not r.block_size
                at.problem(("recipes", j, "keep_float") if kept else ("recipes", j), why)
    labels = [r.label for r in recipes]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        at.problem(("recipes",), f"two recipes are labelled {dup[0]!r}; give one a distinct name:")

    deploy = at.pick("deploy") or ("best" if auto else (labels[0] if len(labels) == 1 else "smallest"))
    if deploy not in DEPLOY_SELECTORS and deploy not in labels and not {"recipes", "deploy"} & unknown:
        at.problem(
            ("deploy",),
            f"{deploy!r} is neither a recipe of this model ({', '.join(labels)}) nor one of "
            f"{', '.join(DEPLOY_SELECTORS)}",
        )
    objective: Objective = at.pick("objective") or (
        cast(Objective, deploy) if deploy in get_args(Objective) else "smallest"
    )
    return recipes, auto, deploy, objective


def _recipe(at: _Entry, j: int, spec: RecipeSpec) -> Recipe:
    """One written recipe, its ``keep_float`` patterns' key and lines kept for the quantizer's messages."""
    where = at.origin("recipes") + ("recipes", j, "keep_float")
    lines = tuple(at.lines.get(where + (k,)) for k in range(len(spec.keep_float)))
    return convert.recipe(spec, keep_float_key=format_key(where), keep_float_lines=lines)


def _names_a_tflite(path: str) -> bool:
    """The model's path (a glob too) names a format measured as it is (by its name)."""
    return any(f.measured_as_is and f.named(path) for f in FORMATS.values())


def _targets(
    own: dict[str, dict[str, Any]] | None,
    inherited: dict[str, dict[str, Any]] | None,
    loc: Loc,
    lines: Lines,
    problems: _Problems,
) -> tuple[TargetSection, ...]:
    """Each registered target the model's own ``targets:`` names, else the one ``defaults:``
    names: validated against the target's written form, then parsed into its settings by the
    target (quantities). A section with problems is left out, its problems added."""
    found = []
    for kind in section_kinds():
        for start, written in ((loc, own), (("defaults",), inherited)):
            if written and kind.name in written:
                at = start + ("targets", kind.name)
                raw = written[kind.name] or {}
                settings = _target_settings(kind, raw, at, lines, problems)
                if settings is not None:
                    text = json.dumps(raw, sort_keys=True)
                    found.append(
                        TargetSection(
                            kind.name, format_key(at), lines.get(at), text, settings, key_lines(at, lines)
                        )
                    )
                break
    return tuple(found)


def key_lines(at: Loc, lines: Lines) -> tuple[tuple[str, int], ...]:
    """The line of every key written under ``at``, by its path relative to it ("vs_base.macs")."""
    n = len(at)
    return tuple(
        sorted((format_key(loc[n:]), line) for loc, line in lines.items() if len(loc) > n and loc[:n] == at)
    )


@functools.lru_cache(maxsize=None)
def _written_form(written: type) -> TypeAdapter[Any]:
    return TypeAdapter(written)


def _target_settings(kind: TargetKind, raw: Any, at: Loc, lines: Lines, problems: _Problems) -> Any:
    """One ``targets:`` section's settings; None (its problems added) when it has problems."""
    assert kind.written is not None and kind.parse is not None  # section_kinds() have both
    try:
        _written_form(kind.written).validate_python(raw)
    except ValidationError as e:
        _add_schema_problems(e, at, lines, problems)
        return None
    key, line = format_key(at), lines.get(at) or 1
    try:
        return kind.parse(raw, key)
    except PolicyError as e:  # one problem per line, each naming its key
        problems.found += [PolicyProblem(problems.shown, line, p) for p in e.problems]
    except ValueError as e:
        problems.found.append(PolicyProblem(problems.shown, line, f"{key}: {e}"))
    return None


def _budgets(own_b: Any, def_b: Any, loc: Loc, lines: Lines) -> tuple[Budget, ...]:
    """Every budget of one model, each with its number parsed and the key and line it came from.

    A budget kind the model writes replaces the same kind from ``defaults:`` as a whole.
    """
    budgets: list[Budget] = []
    missing_base = Level.WARN

    def add(
        metric: BudgetMetric,
        against: Literal["absolute", "float", "base"],
        field_name: str,
        items_own: Any,
        items_def: Any,
        base: bool,
    ) -> None:
        items, origin = (items_own, loc) if items_own is not None else (items_def, ("defaults",))
        if items is None:
            return
        for j, item in enumerate(items):
            section = ("budgets", "vs_base", metric) if base else ("budgets", metric)
            key_loc = origin + section
            list_loc = key_loc + (j,)
            line = lines.get(list_loc + (field_name,), lines.get(list_loc, lines.get(key_loc)))
            raw = getattr(item, field_name)
            if raw is not None:
                where = (format_key(key_loc), line)
                budgets.append(_budget(metric, against, field_name, item, raw, where, missing_base))

    plain: tuple[BudgetMetric, ...] = ("size", "gzip_size", "latency", "memory")
    for metric in plain:
        add(metric, "absolute", "max", getattr(own_b, metric, None), getattr(def_b, metric, None), False)
    acc_own, acc_def = getattr(own_b, "accuracy", None), getattr(def_b, "accuracy", None)
    accuracy: tuple[tuple[str, Literal["absolute", "float"]], ...] = (
        ("min", "absolute"),
        ("max", "absolute"),
        ("max_drop", "float"),
    )
    for field_name, against in accuracy:
        add("accuracy", against, field_name, acc_own, acc_def, False)
    base_own, base_def = getattr(own_b, "vs_base", None), getattr(def_b, "vs_base", None)
    vs_base = base_own if base_own is not None else base_def
    missing_base = Level(vs_base.on_missing_base) if vs_base is not None else Level.WARN
    every: tuple[BudgetMetric, ...] = ("size", "gzip_size", "latency", "memory", "accuracy")
    for metric in every:
        field_name = "max_drop" if metric == "accuracy" else "max_increase"
        add(
            metric, "base", field_name, getattr(base_own, metric, None), getattr(base_def, metric, None), True
        )
    return tuple(budgets)


def _budget(
    metric: BudgetMetric,
    against: Literal["absolute", "float", "base"],
    field_name: str,
    item: Any,
    raw: Any,
    where: tuple[str, int | None],
    missing_base: Level,
) -> Budget:
    """One budget: ``raw`` (the value written at ``item.<field_name>``) parsed, at its key and line."""
    key, line = where
    level, written = Level(item.level), str(raw)
    if against == "absolute":
        if metric in ("size", "gzip_size", "memory"):
            value = float(q.parse_size(raw))
        elif metric == "latency":
            value = q.parse_duration_ms(raw)
        else:
            value = q.parse_accuracy(raw)
        bound: Literal["min", "max"] = "min" if field_name == "min" else "max"
        return Budget(metric, "absolute", level, written, key, line, bound=bound, value=value)
    quantity = "size" if metric in ("size", "gzip_size", "memory") else metric
    change = q.parse_change(raw, quantity)
    judge: Judge = getattr(item, "judge", "point")  # accuracy and latency changes have a judge
    return Budget(
        metric, against, level, written, key, line, change=change, judge=judge, on_missing_base=missing_base
    )


# --- one section at a time ------------------------------------------------------------


def _validate(schema: type[S], value: object) -> S:
    """``value`` checked against one schema class; ``PolicyError`` with ``key: message`` per problem,
    the key relative to ``value`` (the caller knows where it came from)."""
    try:
        return schema.model_validate(value)
    except ValidationError as e:
        raise PolicyError(
            [f"{format_key(tuple(err['loc']))}: {_message(err)}" for err in e.errors()]
        ) from None


def parse_recipe(value: object) -> Recipe:
    """A recipe from its policy form: ``"prune+int8"`` or ``{recipe: ..., prune: {...}}``."""
    return convert.recipe(_validate(RecipeSpec, value))


def parse_metric(value: object) -> Metric:
    """An ``eval.metric`` from its policy form: ``"top5"`` or ``{name: topk, k: 5}``."""
    return convert.metric(_validate(MetricSpec, value))


def parse_dataset(value: object, *, key: str, line: int | None = None) -> Dataset:
    """A ``data:`` value (``"eval.npz"``, ``{x: ..., y: ...}``, ...) that messages call ``key``."""
    return convert.dataset(_validate(DatasetSpec, value), key=key, line=line)


def parse_calibration(value: object, *, key: str = "calibration", line: int | None = None) -> Calibration:
    return convert.calibration(_validate(CalibrationSpec, value), key=key, line=line, data_line=None)


def parse_training(value: object = None, *, key: str = "training", line: int | None = None) -> Training:
    """A ``training:`` section; ``None`` gives the defaults."""
    return convert.training(_validate(TrainingSpec, value or {}), key=key, line=line, data_line=None)


def parse_edgetpu(value: object = None, *, key: str = "edgetpu", line: int | None = None) -> EdgeTpuSettings:
    """An ``edgetpu:`` section; ``None`` gives the defaults."""
    return convert.edgetpu(_validate(EdgeTpuSpec, value or {}), key=key, line=line)


__all__ = [
    "format_key",
    "load_policy",
    "parse_calibration",
    "parse_dataset",
    "parse_edgetpu",
    "parse_metric",
    "parse_recipe",
    "parse_training",
]
