"""specs/schema.json is what `reconciler schema` prints, every example spec names it, and validates against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from reconciler.spec.schema import MODELINE, schema_text
from tests.conftest import REPO

SPECS = sorted((REPO / "specs").glob("*.yaml"))


def test_committed_schema_is_current() -> None:
    committed = (REPO / "specs" / "schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "run `reconciler schema --out specs/schema.json` and commit it"


@pytest.mark.parametrize("spec", SPECS, ids=[p.name for p in SPECS])
def test_example_spec_names_and_satisfies_the_schema(spec: Path) -> None:
    assert spec.read_text(encoding="utf-8").splitlines()[0] == MODELINE
    document = YAML(typ="safe").load(spec.read_text(encoding="utf-8"))
    schema = json.loads((REPO / "specs" / "schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)


def test_schema_rejects_an_unknown_key() -> None:
    schema = json.loads(schema_text())
    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        jsonschema.validate({"version": 1, "tenant": {"id": "x"}, "acess": {}}, schema)


def test_every_property_of_the_schema_says_what_it_is_for() -> None:
    schema = json.loads((REPO / "specs" / "schema.json").read_text(encoding="utf-8"))
    models = {"Spec": schema, **schema.get("$defs", {})}
    undescribed = [
        f"{model}.{name}"
        for model, definition in models.items()
        for name, prop in (definition.get("properties") or {}).items()
        if not prop.get("description")
    ]
    assert sum(len(d.get("properties") or {}) for d in models.values()) > 70
    assert undescribed == []
