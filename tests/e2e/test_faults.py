"""Converge through transient faults: with 20% of requests failing (429/503 with Retry-After), apply reaches
exactly the state a fault-free apply reaches, and the tenant matches it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reconciler.simulator import init_tenant
from tests.conftest import REPO, Tenant


def _tenant(root: Path) -> Tenant:
    shutil.copytree(REPO / "specs", root / "specs")
    path = root / "state" / "simulated-tenant.json"
    path.parent.mkdir(parents=True)
    data = init_tenant(path)
    return Tenant(root, path, data["tenant"]["id"])


def _recorded(tenant: Tenant) -> list[tuple[str, object]]:
    state = json.loads((tenant.root / "state" / "example.json").read_text(encoding="utf-8"))
    return [(r["address"], r["attributes"]) for r in state["resources"]]


def test_apply_through_20_percent_transient_faults(tmp_path: Path) -> None:
    calm, stormy = _tenant(tmp_path / "calm"), _tenant(tmp_path / "stormy")
    faults = [
        {"method": "*", "path": ".*", "status": 503, "rate": 0.1, "seed": 7, "retry_after": 1},
        {"method": "*", "path": ".*", "status": 429, "rate": 0.1, "seed": 11, "retry_after": 1},
    ]
    stormy.set_tenant(lambda t: t.update(faults=faults))

    assert calm.cli("apply", calm.spec_file("example"), "--auto-approve").exit_code == 0
    result = stormy.cli("apply", stormy.spec_file("example"), "--auto-approve")
    assert result.exit_code == 0, result.output

    assert _recorded(stormy) == _recorded(calm)
    stormy.set_tenant(lambda t: t.update(faults=[]))
    assert "No changes." in stormy.cli("plan", stormy.spec_file("example")).stdout
