"""The policy's JSON Schema, for editor completion (``edgegate/schema/policy.schema.json``).

Regenerate after changing ``schema.py``: ``python -m edgegate.policy.jsonschema``; a test
fails when the shipped file is stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgegate.policy.schema import PolicyFile

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema" / "policy.schema.json"


def policy_json_schema() -> str:
    schema = PolicyFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "EdgeGate policy (edgegate.yml)"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(policy_json_schema(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
