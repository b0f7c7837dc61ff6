"""Objects a kind depends on, changed by hand (issue 15): each is read by refresh, named in drift as itself, and
put back in one apply, after which plan shows no changes. Hand changes go through `sim ems` (the admin's shell)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.conftest import Tenant, write_access_spec

APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
SP = f"service_principal.{APP}"
ASSIGNMENT = "role_assignment.CronofyImpersonationAssignment"
SVC = "cronofy-svc@contoso.onmicrosoft.com"
SCOPE_GROUP = "cronofy-scope@contoso.com"
GROUP_DN = (
    "CN=Cronofy Rooms and Users,OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,"
    "DC=NAMPR01A001,DC=PROD,DC=OUTLOOK,DC=COM"
)


def _ems(tenant: Tenant, *lines: str) -> None:
    result = tenant.cli("sim", "ems", str(tenant.tenant), *lines)
    assert result.exit_code == 0, result.output


def _drift(tenant: Tenant, spec: str) -> dict[str, Any]:
    result = tenant.cli("drift", spec, "--json")
    assert result.exit_code == 2, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _members(tenant: Tenant, group: str) -> set[str]:
    rows = tenant.exchange("Get-DistributionGroupMember", {"Identity": group})
    return {str(m["PrimarySmtpAddress"]).split("@")[0].lower() for m in rows}


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


def _replace_room(tenant: Tenant, address: str) -> None:
    """The room made again under the same address after Remove-Mailbox: another object (a new Guid) with none of the
    old one's links. New-Mailbox is not emulated (its page documents over a hundred parameters), so the test writes
    the new recipient into the tenant file, as the shell's New-Mailbox -Room would leave it."""
    before = next(r for r in tenant.tenant_data()["exchange"]["recipients"] if r["PrimarySmtpAddress"] == address)
    _ems(tenant, f"Remove-Mailbox -Identity {address} -Confirm:$false")

    def recreate(data: dict[str, Any]) -> None:
        data["exchange"]["recipients"].append({**before, "Guid": str(uuid.uuid4())})

    tenant.set_tenant(recreate)


ROOMS_TAIL = """\
  mailboxes:
    addresses: [alice@contoso.com]
room_lists:
  - name: Meeting Rooms
    rooms: [Conference room B]
"""


def test_room_replaced_by_hand_loses_its_room_list_membership_and_gets_it_back(tenant: Tenant) -> None:
    spec = write_access_spec(tenant, "rooms", ROOMS_TAIL)
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "confroomb" in _members(tenant, "Meeting Rooms")
    _replace_room(tenant, "confroomb@contoso.com")
    assert "confroomb" not in _members(tenant, "Meeting Rooms")

    entries = {e["address"]: e for e in _drift(tenant, spec)["entries"]}
    rooms = entries.pop("room_list.Meeting Rooms")
    assert rooms["status"] == "changed" and rooms["message"] == "changed outside reconciler"
    assert [(a["name"], a["actual"]) for a in rooms["attributes"]] == [("rooms", [])]
    assert entries == {}

    _converges(tenant, spec)
    assert "confroomb" in _members(tenant, "Meeting Rooms")


def test_room_gone_and_named_in_the_spec_is_an_error_at_resolve_not_drift(tenant: Tenant) -> None:
    spec = _applied(tenant)
    _ems(tenant, "Remove-Mailbox -Identity boardroom@contoso.com -Confirm:$false")
    for command in ("plan", "drift", "apply"):
        result = tenant.cli(command, spec, *(("--auto-approve",) if command == "apply" else ()))
        assert result.exit_code == 1, (command, result.output)
        assert "Board room" in result.stderr and "does not exist in the tenant" in result.stderr, result.stderr
        assert "Traceback" not in result.output


def test_scope_group_replaced_by_hand_is_detected_and_the_scope_written_again(tenant: Tenant) -> None:
    spec = _applied(tenant)
    scope = "management_scope.CronofyImpersonationScope"
    members = sorted(_members(tenant, SCOPE_GROUP))
    recorded = next(r for r in tenant.state_data_of("example")["resources"] if r["address"] == scope)
    old_id = recorded["attributes"]["group_id"]
    assert old_id  # the scope records the group it was written for
    _ems(
        tenant,
        f"Remove-DistributionGroup -Identity {SCOPE_GROUP} -Confirm:$false",
        "New-DistributionGroup -Name 'Cronofy Rooms and Users' -Alias cronofy-scope "
        f"-PrimarySmtpAddress {SCOPE_GROUP} -Members {','.join(members)}",
    )

    entries = {e["address"]: e for e in _drift(tenant, spec)["entries"]}
    entry = entries.pop(scope)
    assert entry["status"] == "changed"
    assert entry["message"].startswith(f"its scope group ({GROUP_DN}) was deleted and made again"), entry["message"]
    [attribute] = entry["attributes"]
    assert attribute["name"] == "group_id" and attribute["actual"] == old_id != attribute["expected"]
    assert entries == {}  # the scope's role assignment and the folder permissions are as they were

    plan = tenant.cli("plan", spec)
    assert "was deleted and made again" in plan.stdout
    _converges(tenant, spec)
    recorded = next(r for r in tenant.state_data_of("example")["resources"] if r["address"] == scope)
    assert recorded["attributes"]["group_id"] == attribute["expected"]


def test_service_principal_is_never_removed_when_the_spec_drops_its_role_assignments(tenant: Tenant) -> None:
    spec = write_access_spec(tenant, "drop", ROOMS_TAIL)
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    path = tenant.root / "specs" / "drop.yaml"
    path.write_text(path.read_text(encoding="utf-8").split("access:\n", 1)[0], encoding="utf-8")

    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    actions = {c["address"]: c["action"] for c in plan["changes"]}
    assert actions[ASSIGNMENT] == "delete" and actions[SP] == "forget"
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert [sp["AppId"] for sp in tenant.exchange("Get-ServicePrincipal", {})] == [APP]  # left in Exchange
    assert SP not in {r["address"] for r in tenant.state_data_of("drop")["resources"]}
