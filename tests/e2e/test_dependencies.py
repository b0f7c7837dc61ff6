"""Objects a kind depends on, changed by hand (issue 15): each is read by refresh, named in drift as itself, and
put back in one apply, after which plan shows no changes. Hand changes go through `sim ems` (the admin's shell)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Tenant

APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
SP = f"service_principal.{APP}"
ASSIGNMENT = "role_assignment.CronofyImpersonationAssignment"


def _ems(tenant: Tenant, *lines: str) -> None:
    result = tenant.cli("sim", "ems", str(tenant.tenant), *lines)
    assert result.exit_code == 0, result.output


def _drift(tenant: Tenant, spec: str) -> dict[str, Any]:
    result = tenant.cli("drift", spec, "--json")
    assert result.exit_code == 2, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _converges(tenant: Tenant, spec: str) -> None:
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    again = tenant.cli("plan", spec, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.stdout
    assert tenant.cli("drift", spec).exit_code == 0


def _applied(tenant: Tenant) -> str:
    spec = tenant.spec_file("example")
    result = tenant.cli("apply", spec, "--auto-approve")
    assert result.exit_code == 0, result.output
    return spec


def test_service_principal_removed_by_hand_is_named_and_registered_again_in_one_apply(tenant: Tenant) -> None:
    spec = _applied(tenant)
    state = tenant.state_data_of("example")
    assert SP in {r["address"] for r in state["resources"]}  # the pointer is an object of its own
    _ems(tenant, f"Remove-ServicePrincipal -Identity {APP} -Confirm:$false")

    report = _drift(tenant, spec)
    entries = {e["address"]: e for e in report["entries"]}
    assert entries[SP]["status"] == "missing"
    assert entries[SP]["message"] == "was created by reconciler and has been deleted outside it"
    # the assignment still exists in Exchange (it points at the removed service principal): not "deleted"
    assert ASSIGNMENT not in entries, entries

    plan = tenant.cli("plan", spec, "--json")
    changes = {c["address"]: c for c in json.loads(plan.stdout)["changes"]}
    assert changes[SP]["action"] == "create"
    assert changes[ASSIGNMENT]["action"] == "no-op"

    _converges(tenant, spec)
    rows = tenant.exchange("Get-ManagementRoleAssignment", {"RoleAssignee": APP})
    assert [r["Name"] for r in rows] == ["CronofyImpersonationAssignment"]  # linked again, not made twice


def test_service_principal_and_its_assignment_both_removed_are_both_made_again_in_order(tenant: Tenant) -> None:
    spec = _applied(tenant)
    _ems(
        tenant,
        "Remove-ManagementRoleAssignment -Identity CronofyImpersonationAssignment -Confirm:$false",
        f"Remove-ServicePrincipal -Identity {APP} -Confirm:$false",
    )
    entries = {e["address"]: e for e in _drift(tenant, spec)["entries"]}
    assert entries[SP]["status"] == entries[ASSIGNMENT]["status"] == "missing"

    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    order = [c["address"] for c in plan["changes"] if c["action"] == "create"]
    assert order.index(SP) < order.index(ASSIGNMENT)
    _converges(tenant, spec)


def test_disabled_role_assignment_is_drift_and_enabled_again(tenant: Tenant) -> None:
    spec = _applied(tenant)
    _ems(tenant, "Set-ManagementRoleAssignment -Identity CronofyImpersonationAssignment -Enabled $false")

    entries = {e["address"]: e for e in _drift(tenant, spec)["entries"]}
    assert entries[ASSIGNMENT]["status"] == "changed"
    assert entries[ASSIGNMENT]["message"] == "changed outside reconciler"
    assert [(a["name"], a["expected"], a["actual"]) for a in entries[ASSIGNMENT]["attributes"]] == [
        ("enabled", True, False)
    ]
    script = tenant.cli("plan", spec, "--format", "powershell").stdout
    assert "Set-ManagementRoleAssignment -Identity 'CronofyImpersonationAssignment' -Enabled $true" in script

    _converges(tenant, spec)
    rows = tenant.exchange("Get-ManagementRoleAssignment", {"Identity": "CronofyImpersonationAssignment"})
    assert rows[0]["Enabled"] is True
    assert rows[0]["CustomResourceScope"] == "CronofyImpersonationScope"  # the scope left as it was


def test_a_state_from_before_the_service_principal_kind_adopts_it(tenant: Tenant) -> None:
    spec = _applied(tenant)
    path = tenant.root / "state" / "specs" / "example.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    state["resources"] = [r for r in state["resources"] if r["address"] != SP]
    path.write_text(json.dumps(state), encoding="utf-8")

    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    change = next(c for c in plan["changes"] if c["address"] == SP)
    assert change["action"] == "no-op" and change["import_id"]  # adopted, not made again
    _converges(tenant, spec)
    record = next(r for r in tenant.state_data_of("example")["resources"] if r["address"] == SP)
    assert record["created_by_reconciler"] is False  # adopted: removing it from the spec later only forgets it
