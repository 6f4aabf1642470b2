"""The policy diff names every key a pull request changed, and marks what loosens the gate.

The schema walk goes over every leaf key the policy's JSON Schema defines (in a model and in
``defaults:``) and every setting each target parses, changes that one key in an otherwise equal
policy, and asserts the diff names it: a key added to the schema or to a target without a way to
change it here, or without the diff seeing it, fails.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import fields
from typing import Any

import pytest

from edgegate.policy.diff import WEAKENS, PolicyChange, changes_between, policy_changes
from edgegate.policy.load import load_policy
from edgegate.policy.schema import ModelEntry, ModelSettings
from edgegate.target_registry import kind, section_kinds
from edgegate.targets.ethos_u.target import EthosUSettings, VsBase

# Every section written, most keys away from their defaults, so that changing one shows.
SETTINGS: dict[str, Any] = {
    "recipes": [
        {
            "recipe": "prune+dynamic_int4",
            "name": "pruned",
            "engine": "litert-quantizer",
            "keep_float": ["dense_1", "CONV_2D"],
            "block_size": 32,
        },
        "float16",
    ],
    "deploy": "smallest",
    "objective": "smallest",
    "eval": {
        "data": {
            "path": "data/eval.npz",
            "x_key": "inputs",
            "y_key": "labels",
            "image_size": [28, 28],
            "color": "grayscale",
            "scale": "-1..1",
            "limit": 500,
        },
        "metric": {"name": "topk", "k": 3},
        "batch_size": 16,
    },
    "calibration": {"data": {"x": "data/cal_x.npy", "y": "data/cal_y.npy"}, "samples": 100},
    "training": {
        "data": {"images": "data/train"},
        "loss": "mse",
        "optimizer": "sgd",
        "learning_rate": 0.01,
        "epochs": 3,
        "batch_size": 8,
        "seed": 1,
        "hook": "train:fit",
    },
    "budgets": {
        "size": {"max": "80 KB", "level": "error"},
        "gzip_size": {"max": "70 KB", "level": "error"},
        "latency": {"max": "5 ms", "level": "error"},
        "memory": {"max": "64 MB", "level": "error"},
        "accuracy": {"max_drop": "1pt", "judge": "point", "level": "error"},
        "vs_base": {
            "size": {"max_increase": "5%", "level": "error"},
            "gzip_size": {"max_increase": "5%", "level": "error"},
            "latency": {"max_increase": "10%", "level": "error"},
            "memory": {"max_increase": "10%", "level": "error"},
            "accuracy": {"max_drop": "1pt", "judge": "point", "level": "error"},
            "on_missing_base": "error",
        },
    },
    "edgetpu": {
        "level": "error",
        "compiler_version": 15,
        "runtime": 13,
        "compiler": "static",
        "timeout_s": 100,
        "all_mapped": True,
        "min_mapped": "90%",
        "max_partitions": 2,
    },
    "latency": {"runs": 50, "warmup": 5, "threads": 2},
    "targets": {
        "compute": {"macs": {"max": "300M"}, "vs_base": {"macs": "5%"}, "level": "error"},
        "mcu": {
            "arena": "1 KiB",
            "flash": "1 MiB",
            "level": "error",
            "vs_base": {"arena": "10%", "flash": "5%"},
        },
        "gpu": {
            "level": "error",
            "all_delegated": True,
            "min_delegated": "90%",
            "fp16_overflow": "error",
            "max_samples": 32,
            "vs_base": True,
        },
        "ethos-u": {
            "level": "error",
            "accelerator": "ethos-u55-128",
            "system_config": "Ethos_U55_High_End_Embedded",
            "memory_mode": "Shared_Sram",
            "optimise": "Performance",
            "timeout_s": 200,
            "sram": "512 KiB",
            "flash": "2 MiB",
            "latency": "20 ms",
            "all_on_npu": True,
            "min_on_npu": "95%",
            "vs_base": {"sram": "5%", "flash": "5%", "latency": "10%"},
        },
    },
    "contract": {
        "signature": "error",
        "ops": {"allowed": ["CONV_2D", "FULLY_CONNECTED"], "no_new_kinds": True, "level": "error"},
    },
    "trust_code": False,
}
MODEL = {"name": "digits", "path": "models/*.keras", "watch": ["data/**", "src/model.py"], **SETTINGS}

# A value for a key whose current value cannot be changed by rule (see ``_changed``).
VALUES: dict[str, Any] = {
    "deploy": "fastest",
    "objective": "fastest",
    "recipes": "auto",
    "keep_float_search.ship": True,
    "recipes.recipe": "cluster+weight_int4",
    "recipes.engine": None,  # the default: a name only the quantizer makes runs on it
    "recipes.prune.structured": "2:4",
    "eval.data.hook": "evalhook:load",
    "calibration.data.hook": "calhook:load",
    "training.data.hook": "trainhook:load",
    "budgets.accuracy.min": "0.9",
    "budgets.accuracy.max": "0.5",
}
# Datasets take exactly one source: writing one replaces the others.
SOURCES = ("path", "x", "y", "images", "hook")

# Each target setting (a field of its settings class) → the policy key that writes it, and a new value.
TARGET_KEYS: dict[tuple[str, str], tuple[str, Any]] = {
    ("compute", "level"): ("level", "warn"),
    ("compute", "max_macs"): ("macs.max", "1G"),
    ("compute", "max_increase"): ("vs_base.macs", "50%"),
    ("mcu", "level"): ("level", "warn"),
    ("mcu", "max_arena"): ("arena", "10 MiB"),
    ("mcu", "max_flash"): ("flash", "4 MiB"),
    ("mcu", "max_arena_increase"): ("vs_base.arena", "50%"),
    ("mcu", "max_flash_increase"): ("vs_base.flash", "50%"),
    ("gpu", "level"): ("level", "warn"),
    ("gpu", "all_delegated"): ("all_delegated", False),
    ("gpu", "min_delegated"): ("min_delegated", "50%"),
    ("gpu", "min_delegated_written"): ("min_delegated", "50%"),
    ("gpu", "fp16_overflow"): ("fp16_overflow", "off"),
    ("gpu", "max_samples"): ("max_samples", 4),
    ("gpu", "timeout_s"): ("timeout_s", 60),
    ("gpu", "vs_base"): ("vs_base", False),
    ("ethos-u", "level"): ("level", "warn"),
    ("ethos-u", "accelerator"): ("accelerator", "ethos-u55-64"),
    ("ethos-u", "system_config"): ("system_config", "Ethos_U55_Deep_Embedded"),
    ("ethos-u", "memory_mode"): ("memory_mode", "Sram_Only"),
    ("ethos-u", "optimise"): ("optimise", "Size"),
    ("ethos-u", "timeout_s"): ("timeout_s", 20),
    ("ethos-u", "sram_max"): ("sram", "4 MiB"),
    ("ethos-u", "flash_max"): ("flash", "8 MiB"),
    ("ethos-u", "latency_max_ms"): ("latency", "200 ms"),
    ("ethos-u", "all_on_npu"): ("all_on_npu", False),
    ("ethos-u", "min_on_npu"): ("min_on_npu", "50%"),
    ("ethos-u", "min_on_npu_written"): ("min_on_npu", "50%"),
    ("ethos-u", "vs_base.sram"): ("vs_base.sram", "50%"),
    ("ethos-u", "vs_base.flash"): ("vs_base.flash", "50%"),
    ("ethos-u", "vs_base.latency"): ("vs_base.latency", "50%"),
}


def parse_target(name: str, raw: dict[str, Any]) -> Any:
    found = kind(name)
    assert found is not None and found.parse is not None
    return found.parse(raw, f"targets.{name}")


# Every registered target with a targets: section, by its settings class: a new one is walked too.
SETTINGS_CLASSES = {k.name: type(parse_target(k.name, {})) for k in section_kinds()}


# --- walking the schema ---------------------------------------------------------------------------


def schema_leaves(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every leaf key the JSON Schema defines, dotted (list items share their list's key), with its
    schema (``default``, ``enum``, the types of its ``anyOf``)."""
    defs = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def walk(node: dict[str, Any], path: str, found: dict[str, dict[str, Any]]) -> None:
        node = resolve(node)
        branches = [resolve(b) for b in node.get("anyOf", [node]) if resolve(b).get("type") != "null"]
        for branch in branches:
            items = resolve(branch.get("items", {}))
            if "properties" in branch:
                for key, child in branch["properties"].items():
                    walk(child, f"{path}.{key}" if path else key, found)
            elif "properties" in items:
                walk(items, path, found)
            else:
                found.setdefault(path, node)

    leaves: dict[str, dict[str, Any]] = {}
    walk(schema, "", leaves)
    return leaves


MODEL_LEAVES = schema_leaves(ModelEntry.model_json_schema())


def model_leaves() -> list[str]:
    return [leaf for leaf in MODEL_LEAVES if leaf != "targets"]


def defaults_leaves() -> list[str]:
    return [leaf for leaf in schema_leaves(ModelSettings.model_json_schema()) if leaf != "targets"]


def target_settings(cls: type, prefix: str = "") -> list[str]:
    """A target's settings class walked field by field (its nested sections too)."""
    found = []
    for f in fields(cls):
        if f.name == "vs_base" and cls is EthosUSettings:
            found += target_settings(VsBase, "vs_base.")
        else:
            found.append(prefix + f.name)
    return found


def target_leaves() -> list[tuple[str, str]]:
    return [(name, setting) for name, cls in SETTINGS_CLASSES.items() for setting in target_settings(cls)]


def test_the_walks_find_the_keys_they_must():
    """The walks themselves: they reach into lists, unions and nested sections."""
    leaves = model_leaves()
    for key in ("budgets.vs_base.on_missing_base", "budgets.accuracy.judge", "recipes.prune.sparsity"):
        assert key in leaves
    for key in ("eval.data.limit", "watch", "latency.runs", "edgetpu.min_mapped", "recipes"):
        assert key in leaves
    assert "watch" not in defaults_leaves() and "eval.data.limit" in defaults_leaves()
    assert ("ethos-u", "vs_base.latency") in target_leaves() and ("mcu", "max_arena") in target_leaves()


# --- changing one key -----------------------------------------------------------------------------


def get_at(section: dict[str, Any], parts: list[str]) -> tuple[dict[str, Any], Any]:
    """The mapping holding the last key (the first item of a list on the way), and its value."""
    node: Any = section
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if isinstance(node, list):  # recipes: the first, written as a mapping
            node[0] = {"recipe": node[0]} if isinstance(node[0], str) else node[0]
            node = node[0]
    return node, node.get(parts[-1])


def changed(leaf: str, value: Any) -> Any:
    """Another valid value for ``leaf``, by rule from the one written (or the schema's default)."""
    if leaf in VALUES:
        return VALUES[leaf]
    schema = MODEL_LEAVES[leaf]
    branches = schema.get("anyOf", [schema])
    value = schema.get("default") if value is None else value
    choices = [c for b in branches for c in b.get("enum", [b["const"]] if "const" in b else [])]
    if choices:
        return next(c for c in choices if c != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value - 1 if value > 2 else value + 1
    if isinstance(value, float):
        return value / 2 if value else 0.25
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return [v + 1 for v in value]
    if isinstance(value, list):
        return value[1:] if len(value) > 1 else value + ["other/**"]
    if isinstance(value, str):
        number = re.match(r"^(\d+(?:\.\d+)?)(.*)$", value)
        return f"{float(number.group(1)) / 2:g}{number.group(2)}" if number else value + "2"
    types = {b.get("type") for b in branches}
    if "integer" in types:
        return 4
    if "array" in types:
        return [10, 12]
    return f"data/{leaf.rsplit('.', 1)[1]}"  # a path, or a name


def set_leaf(section: dict[str, Any], leaf: str) -> Any:
    parts = leaf.split(".")
    holder, value = get_at(section, parts)
    new = changed(leaf, value)
    if parts[-1] in SOURCES and "data" in parts:
        for other in SOURCES:
            holder.pop(other, None)
        if parts[-1] == "y":
            holder["x"] = "data/x.npy"
    if leaf == "calibration.synthetic":
        holder.pop("data")
    holder[parts[-1]] = new
    return new


def write(tmp_path, name: str, text: dict[str, Any]):
    (tmp_path / name).write_text(json.dumps(text, indent=1))  # JSON is YAML
    return load_policy(tmp_path / name, root=tmp_path)


def policies(tmp_path, where: str, change) -> tuple[Any, Any]:
    """The base policy and one that differs by ``change(section)`` in the model or in ``defaults:``."""
    if where == "model":
        base = {"version": 1, "models": [copy.deepcopy(MODEL)]}
        head = copy.deepcopy(base)
        change(head["models"][0])
    else:
        model = {k: MODEL[k] for k in ("name", "path", "watch")}
        base = {"version": 1, "defaults": copy.deepcopy(SETTINGS), "models": [model]}
        head = copy.deepcopy(base)
        change(head["defaults"])
    return write(tmp_path, "base.yml", base), write(tmp_path, "head.yml", head)


def named(changes: tuple[PolicyChange, ...], key: str) -> list[PolicyChange]:
    return [c for c in changes if any(re.sub(r"\[[^\]]*\]", "", k) == key for k in c.keys)]


LABELLED_BY = {"recipes.name": "recipes"}  # a recipe's name is its label: the recipe list changes


@pytest.mark.parametrize(
    "where, leaf",
    [("model", leaf) for leaf in model_leaves()] + [("defaults", leaf) for leaf in defaults_leaves()],
)
def test_every_key_of_the_schema_is_in_the_diff(tmp_path, where, leaf):
    if leaf == "name":  # the model's identity: another name is another model
        base, head = policies(tmp_path, where, lambda m: m.update(name="other"))
        assert policy_changes(base, head) == (
            f"{WEAKENS} — digits: removed from the policy",
            "other: new in the policy",
        )
        return
    base, head = policies(tmp_path, where, lambda section: set_leaf(section, leaf))
    changes = changes_between(base, head)
    found = named(changes, LABELLED_BY.get(leaf, leaf))
    assert found, f"{leaf} changed in {where} but the diff says only {[c.text for c in changes]}"
    assert all(c.model == "digits" for c in found) and policy_changes(base, head)


@pytest.mark.parametrize("target, setting", target_leaves())
def test_every_target_setting_is_in_the_diff(tmp_path, target, setting):
    assert (target, setting) in TARGET_KEYS, (
        f"targets.{target}: the setting {setting!r} is new; add its policy key and a value to TARGET_KEYS "
        "and check the policy diff shows it"
    )
    key, value = TARGET_KEYS[(target, setting)]

    def change(section: dict[str, Any]) -> None:
        holder, _ = get_at(section["targets"][target], key.split("."))
        holder[key.split(".")[-1]] = value

    base, head = policies(tmp_path, "model", change)
    # The key and value written do change that setting (the table is right about the target) ...
    raw = {
        p.path.name: json.loads(t.settings_json)
        for p in (base, head)
        for t in p.models[0].targets
        if t.name == target
    }
    before = parse_target(target, raw["base.yml"])
    after = parse_target(target, raw["head.yml"])
    path = setting.split(".")
    assert _attr(before, path) != _attr(after, path)
    # ... and the diff names it.
    assert named(changes_between(base, head), f"targets.{target}.{key}")


def _attr(value: Any, path: list[str]) -> Any:
    for part in path:
        value = getattr(value, part)
    return value


# --- the cases of the issues, and what weakens -------------------------------------------------


def pair(tmp_path, base: dict[str, Any], head: dict[str, Any]) -> tuple[Any, Any]:
    model = {"name": "digits", "path": "models/digits.tflite"}
    return (
        write(tmp_path, "base.yml", {"version": 1, "models": [{**model, **base}]}),
        write(tmp_path, "head.yml", {"version": 1, "models": [{**model, **head}]}),
    )


def test_a_pr_that_loosens_its_targets_is_shown_as_weakening_the_gate(tmp_path):
    """Issue 21.9: targets.compute removed, mcu.arena 1 KiB → 10 MiB and error → warn, on_missing_base
    error → warn: the policy diff said nothing."""
    base, head = pair(
        tmp_path,
        {
            "budgets": {"vs_base": {"size": "5%", "on_missing_base": "error"}},
            "targets": {"compute": {"macs": {"max": "300M"}}, "mcu": {"arena": "1 KiB", "level": "error"}},
        },
        {
            "budgets": {"vs_base": {"size": "5%", "on_missing_base": "warn"}},
            "targets": {"mcu": {"arena": "10 MiB", "level": "warn"}},
        },
    )
    assert policy_changes(base, head) == (
        f"{WEAKENS} — digits: vs_base on_missing_base error → warn; targets.compute removed (was macs.max "
        "300M); targets.mcu.arena 1 KiB → 10 MiB; targets.mcu.level error → warn",
    )


def test_a_pr_that_loosens_its_contract_is_shown_as_weakening_the_gate(tmp_path):
    """Issue 18.2: a signature check switched to warn, an op kind allowed, no_new_kinds dropped."""
    contract = {"signature": "error", "ops": {"allowed": ["CONV_2D"], "no_new_kinds": True}}
    looser = {"signature": "warn", "ops": {"allowed": ["CONV_2D", "RESHAPE"], "no_new_kinds": False}}
    base, head = pair(tmp_path, {"contract": contract}, {"contract": looser})
    (line,) = policy_changes(base, head)
    assert line.startswith(f"{WEAKENS} — digits: ")
    for part in ("contract.signature error → warn", "contract.ops.allowed [CONV_2D] → [CONV_2D, RESHAPE]"):
        assert part in line
    assert "contract.ops.no_new_kinds true → false" in line
    base, head = pair(tmp_path, {"contract": looser}, {"contract": contract})
    assert not any(WEAKENS in text for text in policy_changes(base, head))  # tightened: not marked
    base, head = pair(tmp_path, {"contract": contract}, {})
    assert policy_changes(base, head)[0].startswith(f"{WEAKENS} — digits: contract removed")


def test_a_pr_that_swaps_its_eval_data_and_drops_watch_is_shown_as_weakening_the_gate(tmp_path):
    """Issue 22.3: another eval file with limit 4, watch: dropped, judge point → significant,
    latency runs 50 → 1: the policy diff said nothing."""
    base, head = pair(
        tmp_path,
        {
            "watch": ["src/**"],
            "eval": {"data": "data/eval.npz"},
            "budgets": {"accuracy": {"max_drop": "1pt", "judge": "point"}},
            "latency": {"runs": 50},
        },
        {
            "eval": {"data": {"path": "data/easy.npz", "limit": 4}},
            "budgets": {"accuracy": {"max_drop": "1pt", "judge": "significant"}},
            "latency": {"runs": 1},
        },
    )
    assert policy_changes(base, head) == (
        f"{WEAKENS} — digits: accuracy drop budget judge point → significant; watch [src/**] → []; "
        "eval.data.path data/eval.npz → data/easy.npz; eval.data.limit none → 4; latency.runs 50 → 1",
    )


# (base, head, what the diff says, whether it weakens the gate), one key each.
CASES: list[tuple[dict[str, Any], dict[str, Any], str, bool]] = [
    (
        {"eval": {"data": {"path": "e.npz", "limit": 100}}},
        {"eval": {"data": {"path": "e.npz", "limit": 10}}},
        "eval.data.limit 100 → 10",
        True,
    ),
    (
        {"eval": {"data": {"path": "e.npz", "limit": 10}}},
        {"eval": {"data": "e.npz"}},
        "eval.data.limit 10 → none",
        False,
    ),
    ({"eval": {"data": "e.npz"}}, {}, "eval removed (was data.path e.npz)", True),
    ({"latency": {"runs": 5}}, {"latency": {"runs": 50}}, "latency.runs 5 → 50", False),
    (
        {"budgets": {"accuracy": {"max_drop": "1pt", "judge": "significant"}}},
        {"budgets": {"accuracy": {"max_drop": "1pt"}}},
        "accuracy drop budget judge significant → point",
        False,
    ),
    ({"budgets": {"size": "80 KB"}}, {}, "size budget removed (was 80 KB)", True),
    ({"budgets": {"size": "80 KB"}}, {"budgets": {"size": "200 KB"}}, "size budget 80 KB → 200 KB", True),
    ({"budgets": {"size": "200 KB"}}, {"budgets": {"size": "80 KB"}}, "size budget 200 KB → 80 KB", False),
    ({"budgets": {"memory": "32 MB"}}, {"budgets": {"memory": "64 MB"}}, "memory budget 32 MB → 64 MB", True),
    (
        {"budgets": {"vs_base": {"memory": "5%"}}},
        {"budgets": {"vs_base": {"memory": "20%"}}},
        "vs_base memory budget 5% → 20%",
        True,
    ),
    (
        {"budgets": {"accuracy": {"min": 0.9}}},
        {"budgets": {"accuracy": {"min": 0.8}}},
        "accuracy minimum 0.9 → 0.8",
        True,
    ),
    (
        {"budgets": {"size": {"max": "80 KB", "level": "error"}}},
        {"budgets": {"size": {"max": "80 KB", "level": "warn"}}},
        "size budget level error → warn",
        True,
    ),
    ({"edgetpu": {"level": "warn"}}, {"edgetpu": {"level": "off"}}, "edgetpu.level warn → off", True),
    ({"edgetpu": {"level": "warn"}}, {"edgetpu": {"level": "error"}}, "edgetpu.level warn → error", False),
    (
        {"budgets": {"vs_base": {"size": "5%", "on_missing_base": "error"}}},
        {"budgets": {"vs_base": {"size": "5%"}}},
        "vs_base on_missing_base error → warn",
        True,
    ),
    (
        {"recipes": ["int8", "float16"]},
        {"recipes": ["int8"], "deploy": "smallest"},
        "recipes int8, float16 → int8",
        True,
    ),
    (
        {"recipes": ["int8"], "deploy": "smallest"},
        {"recipes": ["int8", "float16"]},
        "recipes int8 → int8, float16",
        False,
    ),
    (
        {"targets": {"mcu": {"arena": "10 MiB"}}},
        {"targets": {"mcu": {"arena": "1 KiB"}}},
        "targets.mcu.arena 10 MiB → 1 KiB",
        False,
    ),
    (
        {"targets": {"gpu": {"min_delegated": "90%"}}},
        {"targets": {"gpu": {"min_delegated": "50%"}}},
        "targets.gpu.min_delegated 90% → 50%",
        True,
    ),
    (
        {"targets": {"gpu": {"fp16_overflow": "error"}}},
        {"targets": {"gpu": {}}},
        "targets.gpu.fp16_overflow error → none",
        True,
    ),
    (
        {"targets": {"compute": {"level": "warn"}}},
        {"targets": {"compute": {}}},
        "targets.compute.level warn → none",
        False,
    ),
    ({}, {"targets": {"compute": {"macs": {"max": "1G"}}}}, "targets.compute added (macs.max 1G)", False),
    (
        {"targets": {"ethos-u": {"vs_base": {"sram": "5%"}}}},
        {"targets": {"ethos-u": {"vs_base": {"sram": "50%"}}}},
        "targets.ethos-u.vs_base.sram 5% → 50%",
        True,
    ),
    (
        {"path": "models/*.tflite"},
        {"path": "models/digits*.tflite"},
        "path models/*.tflite → models/digits*.tflite",
        True,
    ),
    (
        {"path": "models/digits*.tflite"},
        {"path": "models/*.tflite"},
        "path models/digits*.tflite → models/*.tflite",
        False,
    ),
    ({"watch": ["src/**"]}, {"watch": ["src/**", "data/**"]}, "watch [src/**] → [src/**, data/**]", False),
    ({}, {"trust_code": True}, "trust_code false → true", True),
    ({}, {"training": {"epochs": 3}}, "training added (epochs 3)", False),
    (
        {"calibration": {"synthetic": True, "samples": 50}},
        {"calibration": {"synthetic": True, "samples": 10}},
        "calibration.samples 50 → 10",
        False,
    ),
]


@pytest.mark.parametrize("base, head, said, weakens", CASES, ids=[c[2] for c in CASES])
def test_what_loosens_the_gate_is_marked(tmp_path, base, head, said, weakens):
    base_policy, head_policy = pair(tmp_path, base, head)
    changes = changes_between(base_policy, head_policy)
    assert [(c.text, c.weakens) for c in changes] == [(said, weakens)]
    (line,) = policy_changes(base_policy, head_policy)
    assert line == (f"{WEAKENS} — digits: " if weakens else "digits: ") + said


def test_a_model_removed_weakens_the_gate_and_a_new_one_does_not(tmp_path):
    model = {"path": "m.tflite", "budgets": {"size": "1 MB"}}
    base = write(
        tmp_path, "base.yml", {"version": 1, "models": [{"name": "a", **model}, {"name": "b", **model}]}
    )
    head = write(
        tmp_path, "head.yml", {"version": 1, "models": [{"name": "b", **model}, {"name": "c", **model}]}
    )
    assert policy_changes(base, head) == (f"{WEAKENS} — a: removed from the policy", "c: new in the policy")


def test_weakening_lines_come_first_for_every_model(tmp_path):
    models = [
        {"name": "a", "path": "a.tflite", "latency": {"runs": 10}},
        {"name": "b", "path": "b.tflite", "budgets": {"size": "1 MB"}},
    ]
    base = write(tmp_path, "base.yml", {"version": 1, "models": models})
    head_models = copy.deepcopy(models)
    head_models[0]["latency"]["runs"] = 20  # stricter
    head_models[1]["budgets"]["size"] = "2 MB"  # looser
    head_models[1]["latency"] = {"threads": 2}
    head = write(tmp_path, "head.yml", {"version": 1, "models": head_models})
    assert policy_changes(base, head) == (
        f"{WEAKENS} — b: size budget 1 MB → 2 MB",
        "a: latency.runs 10 → 20",
        "b: latency.threads 1 → 2",
    )


def test_values_the_pr_wrote_are_rendered_as_text(tmp_path):
    """The block's values are the PR's text: the report shows them literally, never as markup."""
    from edgegate.report.markdown import render_markdown
    from edgegate.results import GitRef, RunResult
    from edgegate.status import Status

    hostile = "data/x</details><img src=//e.example/p.png>@octocat **ok** [a](http://e.example).npz"
    base, head = pair(tmp_path, {"eval": {"data": "data/eval.npz"}}, {"eval": {"data": hostile}})
    lines = policy_changes(base, head)
    assert hostile in lines[0]
    report = render_markdown(
        RunResult(Status.PASS, GitRef("main", "b" * 40), GitRef("pr", "c" * 40), policy_changes=lines)
    )
    assert "This change edits the policy" in report and WEAKENS in report
    for raw in ("</details>", "<img", "@octocat", "**ok**", "[a](http"):
        assert raw not in report
