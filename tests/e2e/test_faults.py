"""Converge through faults: with 20% of requests failing transiently (429/503 with Retry-After) apply reaches
exactly the state a fault-free apply reaches; dropped connections and slow answers are survived; EWS (Exchange
Server) backs off through exchangelib's retry policy; `sim serve` injects faults from a file or flags."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.simulator import Simulator
from tests.conftest import Tenant, make_tenant


def _recorded(tenant: Tenant) -> list[tuple[str, object]]:
    state = json.loads((tenant.root / "state" / "specs" / "example.json").read_text(encoding="utf-8"))
    return [(r["address"], r["attributes"]) for r in state["resources"]]


def test_apply_through_20_percent_transient_faults(tmp_path: Path) -> None:
    calm, stormy = make_tenant(tmp_path / "calm"), make_tenant(tmp_path / "stormy")
    faults = [
        {"method": "*", "path": ".*", "status": 503, "rate": 0.1, "seed": 7, "retry_after": 1},
        # 0.1 + 0.9 * 0.112 = 0.2 of all requests (the first rule takes its share first)
        {"method": "*", "path": ".*", "status": 429, "rate": 0.112, "seed": 11, "retry_after": 1},
    ]
    stormy.set_tenant(lambda t: t.update(faults=faults))

    assert calm.cli("apply", calm.spec_file("example"), "--auto-approve").exit_code == 0
    result = stormy.cli("apply", stormy.spec_file("example"), "--auto-approve")
    assert result.exit_code == 0, result.output

    assert _recorded(stormy) == _recorded(calm)
    stormy.set_tenant(lambda t: t.update(faults=[]))
    assert "No changes." in stormy.cli("plan", stormy.spec_file("example")).stdout


def test_dropped_connections_and_slow_answers_converge_without_duplicates(tmp_path: Path) -> None:
    """Reads and idempotent writes are resent after a dropped connection; a create whose connection dropped fails
    only that action (it may have happened), and the next apply adopts it by its natural key instead of
    creating it twice."""
    calm, stormy = make_tenant(tmp_path / "calm"), make_tenant(tmp_path / "stormy")
    faults = [
        {"drop": True, "rate": 0.15, "seed": 3},
        {"drop": True, "after": True, "method": "POST", "rate": 0.1, "seed": 5},
        {"delay_ms": 300, "rate": 0.1, "seed": 9},
    ]
    stormy.set_tenant(lambda t: t.update(faults=faults))
    assert calm.cli("apply", calm.spec_file("example"), "--auto-approve").exit_code == 0

    runs = [stormy.cli("apply", stormy.spec_file("example"), "--auto-approve") for _ in range(4)]
    codes = [r.exit_code for r in runs]
    assert 0 in codes, [r.output for r in runs]
    assert all(code in (0, 1) for code in codes)
    for failed in (r for r in runs if r.exit_code == 1):  # a lost answer is named, never a traceback
        assert "Traceback" not in failed.output and "failed" in failed.output

    stormy.set_tenant(lambda t: t.update(faults=[]))
    assert "No changes." in stormy.cli("plan", stormy.spec_file("example")).stdout
    assert _recorded(stormy) == _recorded(calm)
    data = stormy.tenant_data()
    upns = [u["userPrincipalName"].lower() for u in data["users"]]
    assert upns.count("cronofy-svc@contoso.onmicrosoft.com") == 1
    names = [r["Name"] for r in data["exchange"]["recipients"]]
    assert len(names) == len(set(names))
    scopes = [s["Name"] for s in data["exchange"]["managementScopes"]]
    assert len(scopes) == len(set(scopes))


def test_a_read_that_keeps_failing_stops_after_bounded_retries_naming_the_operation(tmp_path: Path) -> None:
    tenant = make_tenant(tmp_path)
    tenant.set_tenant(lambda t: t.update(faults=[{"method": "GET", "path": "^/subscribedSkus", "status": 503}]))
    result = tenant.cli("plan", tenant.spec_file("example"))
    assert result.exit_code == 1, result.output
    assert "GET /subscribedSkus" in result.output and "serviceNotAvailable" in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tenant.root / "state" / "specs" / "example.json").exists()


def test_sim_serve_rejects_a_bad_fault_file(tmp_path: Path) -> None:
    tenant = make_tenant(tmp_path)
    bad = tmp_path / "faults.json"
    bad.write_text(json.dumps([{"status": 503, "drop": True}]), encoding="utf-8")
    result = tenant.cli("sim", "serve", str(tenant.tenant), "--faults", str(bad))
    assert result.exit_code == 1
    assert "rule 1" in result.output and "exactly one effect" in result.output
    bad.write_text(json.dumps([{"delay_ms": 5}, {"operation": "ews UpdateFolder", "status": 503}]), encoding="utf-8")
    result = tenant.cli("sim", "serve", str(tenant.tenant), "--faults", str(bad))
    assert result.exit_code == 1 and "rule 2: operation selects delay_ms and drop rules only" in result.output


def test_runtime_fault_rules_are_served_and_never_saved(tmp_path: Path) -> None:
    """What `sim serve --faults FILE --deny PATH` builds: a permanent 403 on one path and 429s elsewhere."""
    from reconciler.simulator.faults import load_rules, rules_from_flags

    tenant = make_tenant(tmp_path)
    file = tmp_path / "faults.json"
    file.write_text(json.dumps({"faults": [{"path": "^/v1.0/subscribedSkus", "status": 429, "times": 1}]}))
    rules = load_rules(file) + rules_from_flags(deny=["/calendarPermissions"], slow=0.5, slow_ms=50, seed=4)
    example = Path(tenant.spec_file("example")).read_text(encoding="utf-8")
    with Simulator(tenant.tenant, faults=rules) as sim:
        served = example.replace("simulator: ../state/simulated-tenant.json", f"simulator: {sim.base_url}")
        Path(tenant.spec_file("served")).write_text(served, encoding="utf-8")
        result = tenant.cli("plan", tenant.spec_file("served"))
    assert result.exit_code == 1, result.output
    assert "calendarPermissions" in result.output and "Calendars.Read" in result.output
    assert "faults" not in json.loads(tenant.tenant.read_text(encoding="utf-8")) or not tenant.tenant_data()["faults"]


@pytest.fixture(autouse=True)
def _no_secret_left(tmp_path: Path) -> Iterator[None]:
    """Every file these tests leave (states, backups, plans, tenants) is free of secrets, as for `tenant`."""
    yield
    Tenant(tmp_path, tmp_path, "").assert_no_secret_on_disk()
