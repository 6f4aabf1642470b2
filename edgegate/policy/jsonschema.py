"""The policy's JSON Schema, for editor completion (``edgegate/schema/policy.schema.json``).

Regenerate after changing ``schema.py``: ``python -m edgegate.policy.jsonschema``; a test
fails when the shipped file is stale.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from edgegate.policy.schema import PolicyFile
from edgegate.target_registry import section_kinds

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema" / "policy.schema.json"


def policy_json_schema() -> str:
    schema = PolicyFile.model_json_schema()
    _add_targets(schema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "EdgeGate policy (edgegate.yml)"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _add_targets(schema: dict[str, Any]) -> None:
    """``targets:`` as each registered target's written form: its keys, types and descriptions."""
    defs = schema.setdefault("$defs", {})
    properties: dict[str, Any] = {}
    for kind in section_kinds():
        assert kind.written is not None
        own = TypeAdapter(kind.written).json_schema(ref_template="#/$defs/{model}")
        for name, sub in {kind.written.__name__: own, **own.pop("$defs", {})}.items():
            defs[name] = sub
        _describe(kind.written, defs)
        properties[kind.name] = {"$ref": f"#/$defs/{kind.written.__name__}"}
    targets = schema["$defs"]["ModelSettings"]["properties"]["targets"]
    described = {"description": targets.get("description")} if targets.get("description") else {}
    schema["$defs"]["ModelSettings"]["properties"]["targets"] = {
        **described,
        "anyOf": [
            {"type": "object", "additionalProperties": False, "properties": properties},
            {"type": "null"},
        ],
        "default": None,
    }


def _describe(written: type, defs: dict[str, Any]) -> None:
    """The descriptions a written form gives its fields (``doc()``), its nested forms' too."""
    hints = typing.get_type_hints(written)
    for f in dataclasses.fields(written):
        if "description" in f.metadata:
            defs[written.__name__]["properties"][f.name]["description"] = f.metadata["description"]
        for arg in (hints[f.name], *typing.get_args(hints[f.name])):
            if isinstance(arg, type) and dataclasses.is_dataclass(arg):
                _describe(arg, defs)


if __name__ == "__main__":
    SCHEMA_FILE.write_text(policy_json_schema(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
