"""Role assignments on the simulator: Set-ManagementRoleAssignment, Get-ManagementRoleAssignment's parameters and
object, New-RoleGroup, through the admin API (InvokeCommand) and the Exchange Management Shell (`sim ems`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.simulator import ShellError, Simulator, init_tenant, make_token, run_shell_lines
from reconciler.simulator import exchange_model as xm
from reconciler.simulator import exchange_views as xv
from reconciler.simulator.store import TenantStore
from tests.simulator.test_exchange_admin import ADMIN_APP, AMBIGUOUS, BINDING, CRONOFY, NOT_FOUND, Exo

TASK = "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException"
SP_OBJECT = "6a4ce63b-1c4f-5c7f-a9a5-2057e9e5a77a"


@pytest.fixture
def exo(sim: Simulator) -> Iterator[Exo]:
    token = make_token(sim.tenant_id, ADMIN_APP, ["Exchange.ManageAsAppV2"])
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        yield Exo(client, sim.tenant_id)


def _app_with_scopes(exo: Exo) -> dict[str, Any]:
    dn = exo.call("Get-DistributionGroup", Identity="Cronofy Rooms and Users")[0]["DistinguishedName"]
    exo.call("New-ManagementScope", Name="Cronofy", RecipientRestrictionFilter=f"MemberOfGroup -eq '{dn}'")
    exo.call("New-ManagementScope", Name="Rooms", RecipientRestrictionFilter="RecipientTypeDetails -eq 'RoomMailbox'")
    exo.call("New-ServicePrincipal", AppId=CRONOFY, ObjectId=SP_OBJECT, DisplayName="Cronofy Enterprise Connect")
    [assignment] = exo.call(
        "New-ManagementRoleAssignment",
        Name="Cronofy calendars",
        Role="Application Calendars.ReadWrite",
        App=SP_OBJECT,
        CustomResourceScope="Cronofy",
    )
    return assignment


def test_set_role_assignment_scope_of_an_app(exo: Exo) -> None:
    _app_with_scopes(exo)
    assert exo.call("Set-ManagementRoleAssignment", Identity="Cronofy calendars", CustomResourceScope="Rooms") == []
    [row] = exo.call("Get-ManagementRoleAssignment", Identity="Cronofy calendars")
    assert (row["CustomResourceScope"], row["RecipientWriteScope"]) == ("Rooms", "CustomRecipientScope")
    [inside] = exo.call("Test-ServicePrincipalAuthorization", Identity=CRONOFY, Resource="boardroom@contoso.com")
    [outside] = exo.call("Test-ServicePrincipalAuthorization", Identity=CRONOFY, Resource="alice@contoso.com")
    assert inside["InScope"] is True and outside["InScope"] is False
    # $null removes the scope: the role then covers the organization
    assert exo.call("Set-ManagementRoleAssignment", Identity="Cronofy calendars", CustomResourceScope=None) == []
    [row] = exo.call("Get-ManagementRoleAssignment", Identity="Cronofy calendars")
    assert (row["CustomResourceScope"], row["RecipientWriteScope"]) == (None, "Organization")
    # an app assignment takes no recipient write scope (the App parameter set has CustomResourceScope only)
    text = exo.fail(
        400, TASK, "Set-ManagementRoleAssignment", Identity="Cronofy calendars", CustomRecipientWriteScope="Rooms"
    )
    assert "service principal" in text
    # two parameter sets at once
    text = exo.fail(
        400,
        AMBIGUOUS,
        "Set-ManagementRoleAssignment",
        Identity="Cronofy calendars",
        CustomResourceScope="Rooms",
        CustomRecipientWriteScope="Rooms",
    )
    assert text == "Parameter set cannot be resolved using the specified named parameters."
    exo.fail(404, NOT_FOUND, "Set-ManagementRoleAssignment", Identity="Cronofy calendars", CustomResourceScope="Nope")
    exo.fail(404, NOT_FOUND, "Set-ManagementRoleAssignment", Identity="Nothing", Enabled=False)
    missing = exo.fail(400, BINDING, "Set-ManagementRoleAssignment", Enabled=False)
    assert missing == "Cannot process command because of one or more missing mandatory parameters: Identity."
    # Exchange Online has no configuration scopes or domain controllers to name
    unknown = exo.fail(400, AMBIGUOUS, "Set-ManagementRoleAssignment", Identity="x", CustomConfigWriteScope="y")
    assert unknown.endswith("Invalid cmdlet parameters specified. CustomConfigWriteScope")


def test_enabled_and_the_apps_assignments(exo: Exo) -> None:
    _app_with_scopes(exo)
    exo.call("New-ManagementRoleAssignment", Name="Unscoped read", Role="Application Mail.Read", App=SP_OBJECT)
    assert exo.call("Set-ManagementRoleAssignment", Identity="Unscoped read", Enabled=False, Confirm=False) == []
    # every assignment of the app, scoped or not, by any of its names, each with Enabled
    for assignee in (SP_OBJECT, CRONOFY, "Cronofy Enterprise Connect"):
        rows = exo.call("Get-ManagementRoleAssignment", RoleAssignee=assignee)
        assert {(r["Name"], r["Enabled"], r["CustomResourceScope"]) for r in rows} == {
            ("Cronofy calendars", True, "Cronofy"),
            ("Unscoped read", False, None),
        }
        assert {r["RoleAssigneeType"] for r in rows} == {"ServicePrincipal"} and rows[0]["App"] == SP_OBJECT
    assert [r["Name"] for r in exo.call("Get-ManagementRoleAssignment", RoleAssignee=SP_OBJECT, Enabled=False)] == [
        "Unscoped read"
    ]
    # a disabled assignment grants nothing
    [granted] = exo.call("Test-ServicePrincipalAuthorization", Identity=CRONOFY)
    assert granted["RoleName"] == "Application Calendars.ReadWrite"
    assert exo.call("Set-ManagementRoleAssignment", Identity="Unscoped read", Enabled=True) == []
    assert len(exo.call("Test-ServicePrincipalAuthorization", Identity=CRONOFY)) == 2
    exo.fail(404, NOT_FOUND, "Get-ManagementRoleAssignment", RoleAssignee="nobody-at-all")


def test_get_role_assignment_object_and_filters(exo: Exo) -> None:
    _app_with_scopes(exo)
    [row] = exo.call("Get-ManagementRoleAssignment", Identity="Cronofy calendars")
    assert tuple(row) == xv.ROLE_ASSIGNMENT  # every property a live tenant shows, in its order
    assert row["AssignmentMethod"] == "Direct" and row["RoleAssignmentDelegationType"] == "Regular"
    assert row["Identity"] == row["Id"] == row["Name"] == "Cronofy calendars" and row["IsValid"] is True
    assert row["WhenCreated"] and row["Guid"] == row["ExchangeObjectId"]
    by_role = exo.call("Get-ManagementRoleAssignment", Role="Application Calendars.ReadWrite")
    assert [r["Name"] for r in by_role] == ["Cronofy calendars"]
    assert exo.call("Get-ManagementRoleAssignment", Role="Application Mail.Read") == []
    exo.fail(404, NOT_FOUND, "Get-ManagementRoleAssignment", Role="ApplicationImpersonation")  # gone online
    assert exo.call("Get-ManagementRoleAssignment", RecipientWriteScope="CustomRecipientScope")[0]["Name"] == (
        "Cronofy calendars"
    )
    assert exo.call("Get-ManagementRoleAssignment", RecipientWriteScope="MyGAL") == []
    assert exo.call("Get-ManagementRoleAssignment", RoleAssigneeType="User") == []
    assert len(exo.call("Get-ManagementRoleAssignment", RoleAssigneeType="ServicePrincipal")) == 1
    assert exo.call("Get-ManagementRoleAssignment", Exclusive=True) == []
    assert exo.call("Get-ManagementRoleAssignment", Delegating=True) == []
    assert len(exo.call("Get-ManagementRoleAssignment", GetEffectiveUsers=True)) == 1
    # Identity and Role belong to different parameter sets
    text = exo.fail(400, AMBIGUOUS, "Get-ManagementRoleAssignment", Identity="Cronofy calendars", Role="x")
    assert text == "Parameter set cannot be resolved using the specified named parameters."
    bad = exo.fail(400, BINDING, "Get-ManagementRoleAssignment", RecipientWriteScope="Everything")
    assert "Specify one of the following enumerator names" in bad
    # -Identity $null is "as if you ran the Get- command without the Identity parameter"
    assert len(exo.call("Get-ManagementRoleAssignment", Identity=None)) == 1
    # documented, but not emulated: refused, naming the page
    response = exo.post("Get-ManagementRoleAssignment", RecipientAdministrativeUnitScope="au")
    assert response.status_code == 501
    detail = response.json()["error"]["details"][0]["message"]
    assert "doesn't emulate the parameter 'RecipientAdministrativeUnitScope'" in detail
    assert "https://learn.microsoft.com/powershell/module/exchangepowershell/get-managementroleassignment" in detail


def test_app_assignments_take_management_roles_and_writable_recipient(exo: Exo) -> None:
    _app_with_scopes(exo)
    # "If you use the App parameter, you can't specify user roles; you can only specify application or management roles"
    [viewer] = exo.call("New-ManagementRoleAssignment", App=SP_OBJECT, Role="View-Only Recipients")
    assert viewer["Name"] == "View-Only Recipients-Cronofy Enterprise Connect"
    writers = exo.call("Get-ManagementRoleAssignment", WritableRecipient="boardroom@contoso.com")
    assert {r["Name"] for r in writers} == {"Cronofy calendars", viewer["Name"]}
    writers = exo.call("Get-ManagementRoleAssignment", WritableRecipient="dave@contoso.com")
    assert {r["Name"] for r in writers} == {viewer["Name"]}
    text = exo.fail(
        400, TASK, "New-ManagementRoleAssignment", Role="Application Calendars.Read", User="alice@contoso.com"
    )
    assert "service principal" in text


def test_role_groups_and_indirect_assignments(exo: Exo) -> None:
    [group] = exo.call(
        "New-RoleGroup",
        Name="reconciler manual commands",
        Roles=["View-Only Recipients", "Distribution Groups", "Role Management"],
        Members="alice@contoso.com",
    )
    assert tuple(group) == xv.ROLE_GROUP
    assert group["Roles"] == ["View-Only Recipients", "Distribution Groups", "Role Management"]
    assert group["Members"] == ["alice"]
    rows = exo.call("Get-ManagementRoleAssignment", RoleAssignee="reconciler manual commands")
    assert [r["Name"] for r in rows] == [
        "View-Only Recipients-reconciler manual commands",
        "Distribution Groups-reconciler manual commands",
        "Role Management-reconciler manual commands",
    ]
    assert {r["RoleAssigneeType"] for r in rows} == {"RoleGroup"}
    # alice gets them through the role group; AssignmentMethod filters
    through = exo.call("Get-ManagementRoleAssignment", RoleAssignee="alice@contoso.com")
    assert {r["AssignmentMethod"] for r in through} == {"RoleGroup"} and len(through) == 3
    assert exo.call("Get-ManagementRoleAssignment", RoleAssignee="alice", AssignmentMethod="Direct") == []
    missing = exo.fail(400, BINDING, "Get-ManagementRoleAssignment", AssignmentMethod="Direct")
    assert "RoleAssignee" in missing
    effective = exo.call("Get-ManagementRoleAssignment", Role="Role Management", GetEffectiveUsers=True)
    assert [(r["EffectiveUserName"], r["AssignmentChain"]) for r in effective] == [
        ("alice", ["reconciler manual commands"])
    ]
    exo.fail(
        400,
        "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
        "New-RoleGroup",
        Name="reconciler manual commands",
    )
    exo.fail(404, NOT_FOUND, "New-RoleGroup", Name="Other", Roles="No Such Role")


def test_user_assignment_scopes_on_exchange_server(tmp_path: Path) -> None:
    tenant = tmp_path / "server.json"
    init_tenant(tenant, flavor="exchange_server")
    run_shell_lines(
        tenant,
        [
            "$DistGroupDN = (Get-DistributionGroup -Identity 'cronofy-scope@contoso.com').DistinguishedName",
            "New-ManagementScope -Name 'Cronofy' -RecipientRestrictionFilter \"MemberOfGroup -eq '$DistGroupDN'\"",
            "New-ManagementScope Exclusive -RecipientRestrictionFilter \"Alias -eq 'dave'\" -Exclusive",
            "New-ManagementRoleAssignment -Name Imp -Role ApplicationImpersonation -User cronofy-svc@contoso.com",
        ],
    )

    def can(mailbox: str) -> bool:
        return xm.user_can_impersonate(TenantStore(tenant).data, "cronofy-svc", mailbox)

    assert can("dave@contoso.com") and can("alice@contoso.com")  # organization-wide
    run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -CustomRecipientWriteScope Cronofy"])
    assert can("alice@contoso.com") and not can("dave@contoso.com")
    [row] = run_shell_lines(tenant, ["Get-ManagementRoleAssignment Imp"])
    assert (row["CustomRecipientWriteScope"], row["RecipientWriteScope"], row["User"]) == (
        "Cronofy",
        "CustomRecipientScope",
        "cronofy-svc",
    )
    # an exclusive scope goes in ExclusiveRecipientWriteScope, and only there
    with pytest.raises(ShellError, match="exclusive scope"):
        run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -CustomRecipientWriteScope Exclusive"])
    run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -ExclusiveRecipientWriteScope Exclusive"])
    assert can("dave@contoso.com") and not can("alice@contoso.com")
    [row] = run_shell_lines(tenant, ["Get-ManagementRoleAssignment -Exclusive $true"])
    assert row["RecipientWriteScope"] == "ExclusiveRecipientScope"
    # a predefined relative scope overwrites the custom one; $null removes a scope
    run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -RecipientRelativeWriteScope Self"])
    assert can("cronofy-svc@contoso.com") and not can("dave@contoso.com")
    with pytest.raises(ShellError, match="used internally"):
        run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -RecipientRelativeWriteScope OU"])
    run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -RecipientRelativeWriteScope Organization"])
    run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -CustomRecipientWriteScope Cronofy"])
    run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -CustomRecipientWriteScope $null"])
    assert can("dave@contoso.com")
    # mutually exclusive parameters, and the cloud-only ones, as PowerShell refuses them
    with pytest.raises(ShellError, match="Parameter set cannot be resolved using the specified named parameters"):
        run_shell_lines(
            tenant,
            ["Set-ManagementRoleAssignment Imp -CustomRecipientWriteScope Cronofy -RecipientRelativeWriteScope Self"],
        )
    with pytest.raises(
        ShellError, match="A parameter cannot be found that matches parameter name 'CustomResourceScope'"
    ):
        run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -CustomResourceScope Cronofy"])
    # -Enabled $false: the account can impersonate no one
    run_shell_lines(tenant, ["Set-ManagementRoleAssignment 'Imp' -Enabled:$false -Confirm:$false"])
    assert not can("dave@contoso.com")
    [row] = run_shell_lines(tenant, ["Get-ManagementRoleAssignment -RoleAssignee cronofy-svc -Enabled $false"])
    assert row["Enabled"] is False
    # -WhatIf changes nothing
    run_shell_lines(tenant, ["Set-ManagementRoleAssignment Imp -Enabled $true -WhatIf"])
    assert not can("dave@contoso.com")
