"""Exchange Online end to end: the specs under specs/ on a fresh simulated tenant, verify, drift per kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import APP_SECRET, Tenant

APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
SVC = "cronofy-svc@contoso.onmicrosoft.com"


def test_example_sets_up_the_guide_end_to_end(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    before = tenant.cli("verify", spec)
    assert before.exit_code == 1
    assert "FAIL Test-ServicePrincipalAuthorization boardroom@contoso.com (expected: allowed)" in before.stdout
    assert "is not registered in Exchange Online" in before.stdout

    plan = tenant.cli("plan", spec)
    assert plan.exit_code == 0, plan.output
    for address in (
        'user "service_account"',
        'management_scope "CronofyImpersonationScope"',
        'role_assignment "CronofyImpersonationAssignment"',
        'room_list "Meeting Rooms"',
        'calendar_permission "boardroom@contoso.com/cronofy-svc@contoso.onmicrosoft.com"',
        'calendar_permission "alice@contoso.com/cronofy-svc@contoso.onmicrosoft.com"',
    ):
        assert f"+ {address}" in plan.stdout, address
    assert "MemberOfGroup -eq" in plan.stdout

    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "No changes." in tenant.cli("plan", spec).stdout

    rows = tenant.exchange("Get-MailboxFolderPermission", {"Identity": "alice@contoso.com:\\Calendar"})
    mine = [r for r in rows if r["User"] not in ("Default", "Anonymous")]
    assert len(mine) == 1 and mine[0]["AccessRights"] == ["Editor"]
    assert "Delegate" in str(mine[0]["SharingPermissionFlags"]) and "CanViewPrivateItems" in str(
        mine[0]["SharingPermissionFlags"]
    )
    lists = tenant.graph_json("/places/microsoft.graph.roomlist")["value"]
    assert [room_list["displayName"] for room_list in lists] == ["Meeting Rooms"]

    after = tenant.cli("verify", spec)
    assert after.exit_code == 0, after.output
    assert "All checks passed." in after.stdout and "(expected: refused)" in after.stdout


@pytest.mark.parametrize("level", ["full", "restricted", "free_busy"])
def test_each_access_level_applies_and_verifies(tenant: Tenant, level: str) -> None:
    spec = tenant.spec_file(level)
    before = tenant.cli("verify", spec)
    assert before.exit_code == 1 and "Verification failed." in before.stdout
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "No changes." in tenant.cli("plan", spec).stdout
    after = tenant.cli("verify", spec)
    assert after.exit_code == 0, after.output


def test_free_busy_grants_availability_only(tenant: Tenant) -> None:
    spec = tenant.spec_file("free_busy")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    permissions = tenant.graph_json("/users/bob@contoso.com/calendar/calendarPermissions")["value"]
    roles = {p.get("emailAddress", {}).get("address", "").lower(): p["role"] for p in permissions}
    assert roles["cronofy-freebusy@contoso.onmicrosoft.com"] == "freeBusyRead"
    assignment = tenant.exchange("Get-ManagementRoleAssignment", {"Identity": "CronofyFreeBusyAssignment"})
    assert assignment[0]["Role"] == "Application Calendars.Read"


def test_drift_folder_permission_downgraded_then_restored_in_place(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    other = {"Identity": "alice@contoso.com:\\Calendar", "User": "bob@contoso.com", "AccessRights": ["Reviewer"]}
    tenant.exchange("Add-MailboxFolderPermission", other)
    tenant.exchange(
        "Set-MailboxFolderPermission",
        {"Identity": "alice@contoso.com:\\Calendar", "User": SVC, "AccessRights": ["AvailabilityOnly"]},
    )
    drift = tenant.cli("drift", spec)
    assert drift.exit_code == 2, drift.output
    assert f"calendar_permission.alice@contoso.com/{SVC}: changed outside reconciler" in drift.stdout
    assert 'access_rights: spec says "Editor", tenant has "AvailabilityOnly"' in drift.stdout

    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    change = next(c for c in plan["changes"] if c["address"] == f"calendar_permission.alice@contoso.com/{SVC}")
    assert change["action"] == "update"  # in place, never removed and re-added
    assert change["widens"] == f"raises {SVC} on alice@contoso.com's calendar from AvailabilityOnly to Editor"
    assert "(!) widens access" in tenant.cli("plan", spec).stdout
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert tenant.cli("drift", spec).exit_code == 0
    rows = tenant.exchange("Get-MailboxFolderPermission", {"Identity": "alice@contoso.com:\\Calendar"})
    assert any(r["User"].lower().startswith("bob") and r["AccessRights"] == ["Reviewer"] for r in rows), rows


def test_drift_room_removed_from_list_then_restored(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    tenant.exchange(
        "Remove-DistributionGroupMember", {"Identity": "Meeting Rooms", "Member": "Board room", "Confirm": False}
    )
    drift = tenant.cli("drift", spec)
    assert drift.exit_code == 2
    assert "room_list.Meeting Rooms: changed outside reconciler" in drift.stdout
    assert "tenant has []" in drift.stdout
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert tenant.cli("drift", spec).exit_code == 0


def test_drift_role_assignment_deleted_then_restored(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    tenant.exchange("Remove-ManagementRoleAssignment", {"Identity": "CronofyImpersonationAssignment", "Confirm": False})
    drift = tenant.cli("drift", spec)
    assert drift.exit_code == 2
    assert (
        "role_assignment.CronofyImpersonationAssignment: was created by reconciler and has been deleted" in drift.stdout
    )
    assert tenant.cli("verify", spec).exit_code == 1
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert tenant.cli("drift", spec).exit_code == 0
    assert tenant.cli("verify", spec).exit_code == 0


def test_equal_role_assignment_under_another_name_is_the_same_object(tenant: Tenant) -> None:
    spec = tenant.spec_file("full")
    sp = tenant.graph_json(f"/servicePrincipals(appId='{APP}')")
    tenant.exchange("New-ServicePrincipal", {"AppId": APP, "ObjectId": sp["id"], "DisplayName": "Cronofy"})
    tenant.exchange(
        "New-ManagementRoleAssignment",
        {"Name": "MadeByHandLongAgo", "Role": "Application Calendars.ReadWrite", "App": sp["id"]},
    )
    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    role = next(c for c in plan["changes"] if c["kind"] == "role_assignment")
    assert role["action"] == "no-op" and role["id"] == "MadeByHandLongAgo"


def test_ews_allow_list_is_managed_with_a_warning(tenant: Tenant) -> None:
    path = Path(tenant.spec_file("full"))
    path.write_text(
        path.read_text().replace("display_name: Cronofy Enterprise Connect", "display_name: Cronofy\n  uses_ews: true")
    )
    plan = tenant.cli("plan", str(path))
    assert '~ ews_access "organization"' in plan.stdout and "~ ews_enabled" in plan.stdout
    assert "permanently disabled on 1 April 2027" in plan.stdout
    assert tenant.cli("apply", str(path), "--auto-approve").exit_code == 0
    config = tenant.exchange("Get-OrganizationConfig", {"RetrieveEwsOperationAccessPolicy": True})[0]
    assert config["EwsEnabled"] is True and APP in str(config["EwsAllowedAppIDs"]).lower()
    assert "No changes." in tenant.cli("plan", str(path)).stdout


def test_verify_reads_a_calendar_as_the_integration_when_its_secret_is_given(tenant: Tenant) -> None:
    path = Path(tenant.spec_file("example"))
    path.write_text(
        path.read_text().replace(
            "  restriction: rbac_for_applications",
            "  restriction: rbac_for_applications\n  client_secret: ${env:CRONOFY_APP_SECRET}",
        )
    )
    env = {"CRONOFY_APP_SECRET": APP_SECRET}
    assert tenant.cli("apply", str(path), "--auto-approve").exit_code == 0
    result = tenant.cli("verify", str(path), "--outside", "dave@contoso.com", env=env)
    assert result.exit_code == 0, result.output
    assert "PASS Graph calendar read as the integration boardroom@contoso.com (expected: allowed)" in result.stdout
    assert "PASS Graph calendar read as the integration dave@contoso.com (expected: refused)" in result.stdout
    assert APP_SECRET not in result.output


def test_one_failing_change_does_not_stop_the_others(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    fault = {"method": "POST", "path": "^/users/alice@contoso.com/calendar/calendarPermissions$", "status": 500}
    tenant.set_tenant(lambda t: t.update(faults=[fault]))
    result = tenant.cli("apply", spec, "--auto-approve")
    assert result.exit_code == 1
    assert "1 of 9 changes failed; the others were applied and recorded" in result.stderr
    assert f"calendar_permission.alice@contoso.com/{SVC}: POST /users/alice@contoso.com" in result.stderr
    recorded = {r["address"] for r in tenant.state_data_of("example")["resources"]}
    assert len(recorded) == 8 and f"calendar_permission.boardroom@contoso.com/{SVC}" in recorded

    tenant.set_tenant(lambda t: t.update(faults=[]))
    plan = tenant.cli("plan", spec)
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in plan.stdout
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert "No changes." in tenant.cli("plan", spec).stdout


def test_target_limits_plan_and_apply_to_a_resource_and_its_dependencies(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    plan = json.loads(tenant.cli("plan", spec, "--json", "--target", "calendar_permission.alice*").stdout)
    assert plan["targets"] == ["calendar_permission.alice*"]
    assert [c["address"] for c in plan["changes"]] == [
        "user.service_account",
        f"calendar_permission.alice@contoso.com/{SVC}",
    ]

    assert tenant.cli("apply", spec, "--auto-approve", "--target", "room_list.*").exit_code == 0
    assert [r["address"] for r in tenant.state_data_of("example")["resources"]] == ["room_list.Meeting Rooms"]
    assert "Plan: 8 to add" in tenant.cli("plan", spec).stdout

    unknown = tenant.cli("plan", spec, "--target", "room_list.Nowhere")
    assert unknown.exit_code == 1 and "--target room_list.Nowhere matches no resource" in unknown.stderr


def test_changing_the_access_level_replaces_the_role_assignment(tenant: Tenant) -> None:
    """restricted -> free_busy under the same assignment name: the ReadWrite assignment is replaced by a Read one,
    not joined by a second that Exchange would refuse (ADObjectAlreadyExistsException)."""
    spec = tenant.spec_file("example")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    text = Path(spec).read_text(encoding="utf-8")
    Path(spec).write_text(text.replace("level: restricted", "level: free_busy"), encoding="utf-8")

    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    change = next(c for c in plan["changes"] if c["kind"] == "role_assignment")
    assert change["action"] == "replace" and change["changed"] == ["role"], change
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    rows = tenant.exchange("Get-ManagementRoleAssignment", {"Identity": "CronofyImpersonationAssignment"})
    assert [r["Role"] for r in rows] == ["Application Calendars.Read"]
    assert "No changes." in tenant.cli("plan", spec).stdout
