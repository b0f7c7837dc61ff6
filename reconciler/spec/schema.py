"""The spec's JSON Schema, for editors (yaml-language-server) and CI linters; committed as specs/schema.json.

Generated from the pydantic models, so it cannot drift from what `reconciler validate` accepts
(a test compares the committed file with this output).
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.spec.models import Spec

SCHEMA_ID = "https://github.com/reconciler/reconciler/specs/schema.json"
MODELINE = "# yaml-language-server: $schema=./schema.json"


def spec_schema() -> dict[str, Any]:
    schema = Spec.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "reconciler spec (version 1)",
        "description": "Desired Microsoft 365 / Exchange configuration of a calendar integration",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"
