"""Exchange Online Admin API (/adminapi) of the tenant simulator, raw httpx, plus the in-process runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.simulator import ShellError, Simulator, init_tenant, make_token, read_tenant, run_shell_lines
from reconciler.simulator import exchange_model as xm
from reconciler.simulator.exchange_admin import run_cmdlet
from reconciler.simulator.exchange_errors import CmdletError
from reconciler.simulator.seed import build_tenant

CRONOFY = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
ADMIN_APP = "11111111-2222-3333-4444-555555555555"
CAL = ":\\Calendar"


def distinguished_name(data: dict[str, Any], identity: str) -> str:
    recipient = xm.find_recipient(data, identity)
    assert recipient is not None, f"no recipient {identity}"
    return str(recipient["DistinguishedName"])


class Exo:
    """A tiny admin API client: ``exo.call("Get-Mailbox", Identity="x")``."""

    def __init__(self, client: httpx.Client, tenant_id: str) -> None:
        self.client = client
        self.tenant_id = tenant_id

    def post(
        self, cmdlet: str, endpoint: str = "InvokeCommand", headers: dict[str, str] | None = None, **params: Any
    ) -> httpx.Response:
        version = "beta" if endpoint == "InvokeCommand" else "v2.0"
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}}
        return self.client.post(f"/adminapi/{version}/{self.tenant_id}/{endpoint}", json=body, headers=headers or {})

    def call(self, cmdlet: str, endpoint: str = "InvokeCommand", **params: Any) -> list[dict[str, Any]]:
        response = self.post(cmdlet, endpoint, **params)
        assert response.status_code == 200, response.text
        return [plain(row) for row in response.json()["value"]]

    def fail(self, status: int, exc_type: str, cmdlet: str, endpoint: str = "InvokeCommand", **params: Any) -> str:
        response = self.post(cmdlet, endpoint, **params)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        detail = str(error["details"][0]["message"])
        error_id, type_name, text = detail.split("|", 2)
        assert type_name == exc_type, detail
        assert error_id or type_name == AMBIGUOUS, detail  # the admin API's own binding error carries no id
        return text


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """An object without its type annotations ("Name@odata.type", "Guid@data.type")."""
    return {k: v for k, v in row.items() if "@" not in k}


@pytest.fixture
def exo(sim: Simulator) -> Iterator[Exo]:
    token = make_token(sim.tenant_id, ADMIN_APP, ["Exchange.ManageAsAppV2"])
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        yield Exo(client, sim.tenant_id)


NOT_FOUND = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
AMBIGUOUS = "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException"
BINDING = "System.Management.Automation.ParameterBindingException"
STORE = "Microsoft.Exchange.Management.StoreTasks."


def test_auth_flavor_and_endpoints(sim: Simulator, exo: Exo, tmp_path: Path) -> None:
    bare = httpx.post(f"{sim.base_url}/adminapi/v2.0/{sim.tenant_id}/Mailbox", json={})
    assert bare.status_code == 401
    other = exo.client.post("/adminapi/v2.0/00000000-0000-0000-0000-000000000000/Mailbox", json={})
    assert other.status_code == 401
    text = exo.fail(400, "System.ArgumentException", "Add-DistributionGroupMember", "DistributionGroupMember")
    assert "isn't supported by the 'DistributionGroupMember' endpoint" in text
    exo.fail(400, "System.ArgumentException", "Set-OrganizationConfig", "OrganizationConfig", EwsEnabled=True)
    exo.fail(400, "System.Management.Automation.CommandNotFoundException", "Get-Nothing")
    assert len(exo.call("Get-Mailbox", "Mailbox", ResultSize="Unlimited")) == 13
    server_file = tmp_path / "server.json"
    init_tenant(server_file, flavor="exchange_server")
    with Simulator(server_file) as server:
        token = make_token(server.tenant_id, ADMIN_APP)
        url = f"{server.base_url}/adminapi/beta/{server.tenant_id}/InvokeCommand"
        assert httpx.post(url, json={}, headers={"Authorization": f"Bearer {token}"}).status_code == 404


def test_get_mailbox_recipient_and_filters(exo: Exo) -> None:
    rooms = exo.call("Get-Mailbox", "Mailbox", RecipientTypeDetails="RoomMailbox")
    assert {r["Name"] for r in rooms} == {"Board room", "Conference room A", "Conference room B"}
    [alice] = exo.call("Get-Mailbox", "Mailbox", Identity="ALICE@contoso.com")
    assert set(alice) >= {
        "Guid",
        "Identity",
        "Name",
        "Alias",
        "DisplayName",
        "PrimarySmtpAddress",
        "DistinguishedName",
        "RecipientTypeDetails",
        "ExternalDirectoryObjectId",
    }
    [group] = exo.call("Get-DistributionGroup", Identity="cronofy-scope@contoso.com")
    members = exo.call("Get-Mailbox", "Mailbox", Filter=f"MemberOfGroup -eq '{group['DistinguishedName']}'")
    assert len(members) == 6 and "dave" not in {m["Name"] for m in members}
    both = exo.call(
        "Get-Mailbox",
        "Mailbox",
        Filter=f"(MemberOfGroup -eq '{group['DistinguishedName']}') -and (RecipientTypeDetails -eq 'UserMailbox')",
    )
    assert {m["Name"] for m in both} == {"alice", "bob", "carol"}
    text = exo.fail(
        400, "System.Management.Automation.ParameterBindingException", "Get-Mailbox", Filter="Colour -eq 'x'"
    )
    assert "Colour" in text
    missing = exo.fail(404, NOT_FOUND, "Get-Mailbox", "Mailbox", Identity="nobody@contoso.com")
    assert missing.startswith(
        "The operation couldn't be performed because object 'nobody@contoso.com' couldn't be found on '"
    )
    assert len(exo.call("Get-Recipient")) == 15
    unknown = exo.fail(400, AMBIGUOUS, "Get-Mailbox", Colour="x")
    assert unknown.endswith("Invalid cmdlet parameters specified. Colour")


def test_paging_with_maxpagesize(exo: Exo) -> None:
    body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"ResultSize": "Unlimited"}}}
    url = f"/adminapi/v2.0/{exo.tenant_id}/Mailbox"
    seen: list[str] = []
    next_url: str | None = url
    pages = 0
    while next_url:
        response = exo.client.post(next_url, json=body, headers={"Prefer": "odata.maxpagesize=4"})
        assert response.status_code == 200
        payload = response.json()
        assert payload["@odata.context"].endswith("$metadata#Mailbox") and len(payload["value"]) <= 4
        seen += [m["Guid"] for m in payload["value"]]
        next_url = payload.get("@odata.nextLink")
        assert next_url is None or next_url.startswith("http://127.0.0.1")
        pages += 1
    assert pages == 4 and len(seen) == len(set(seen)) == 13


def test_folder_permission_rules(exo: Exo) -> None:
    ep = "MailboxFolderPermission"
    rows = exo.call("Get-MailboxFolderPermission", ep, Identity="boardroom@contoso.com" + CAL)
    assert [(r["User"], r["AccessRights"], r["SharingPermissionFlags"]) for r in rows] == [
        ("Default", ["AvailabilityOnly"], None),
        ("Anonymous", ["None"], None),
    ]
    [row] = exo.call(
        "Add-MailboxFolderPermission",
        ep,
        Identity="boardroom" + CAL,
        User="admin@contoso.onmicrosoft.com",
        AccessRights=["Editor"],
        SharingPermissionFlags="Delegate,CanViewPrivateItems",
    )
    assert row == {
        "Identity": "Board room:\\Calendar",
        "FolderName": "Calendar",
        "User": "MOD Administrator",
        "AccessRights": ["Editor"],
        "SharingPermissionFlags": "Delegate, CanViewPrivateItems",
    }
    dup = exo.fail(
        400,
        STORE + "UserAlreadyExistsInPermissionEntryException",
        "Add-MailboxFolderPermission",
        ep,
        Identity="boardroom" + CAL,
        User="admin",
        AccessRights=["Reviewer"],
    )
    assert dup == "An existing permission entry was found for user: MOD Administrator."
    flags = exo.fail(
        400,
        "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException",
        "Add-MailboxFolderPermission",
        ep,
        Identity="alice" + CAL,
        User="bob",
        AccessRights=["Reviewer"],
        SharingPermissionFlags="Delegate",
    )
    assert "Editor" in flags
    private = exo.fail(
        400,
        "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException",
        "Add-MailboxFolderPermission",
        ep,
        Identity="alice" + CAL,
        User="bob",
        AccessRights=["Editor"],
        SharingPermissionFlags=["CanViewPrivateItems"],
    )
    assert "Delegate" in private
    missing = exo.fail(
        400,
        STORE + "UserNotFoundInPermissionEntryException",
        "Set-MailboxFolderPermission",
        ep,
        Identity="alice" + CAL,
        User="bob",
        AccessRights=["Reviewer"],
    )
    assert missing == "There is no existing permission entry found for user: Bob."
    exo.fail(
        400,
        STORE + "UserNotFoundInPermissionEntryException",
        "Remove-MailboxFolderPermission",
        ep,
        Identity="alice" + CAL,
        User="bob",
    )
    exo.fail(
        400,
        STORE + "CannotRemoveSpecialUserException",
        "Remove-MailboxFolderPermission",
        ep,
        Identity="alice" + CAL,
        User="Default",
        Confirm=False,
    )
    assert (
        exo.call(
            "Set-MailboxFolderPermission", ep, Identity="alice" + CAL, User="Default", AccessRights=["LimitedDetails"]
        )
        == []
    )
    assert (
        exo.call("Set-MailboxFolderPermission", ep, Identity="boardroom" + CAL, User="admin", AccessRights="Reviewer")
        == []
    )
    [admin_row] = exo.call("Get-MailboxFolderPermission", ep, Identity="boardroom" + CAL, User="admin")
    assert admin_row["AccessRights"] == ["Reviewer"] and admin_row["SharingPermissionFlags"] is None
    assert exo.call("Remove-MailboxFolderPermission", ep, Identity="boardroom" + CAL, User="admin", Confirm=False) == []
    exo.fail(404, NOT_FOUND, "Get-MailboxFolderPermission", ep, Identity="nobody" + CAL)


def test_distribution_groups_and_room_lists(exo: Exo) -> None:
    [group] = exo.call("New-DistributionGroup", Name="Meeting Rooms", RoomList=True, Members=["Board room"])
    assert group["RecipientTypeDetails"] == "RoomList" and group["PrimarySmtpAddress"] == "MeetingRooms@contoso.com"
    assert exo.call("Add-DistributionGroupMember", Identity="Meeting Rooms", Member="Conference room A") == []
    text = exo.fail(
        400,
        "Microsoft.Exchange.Configuration.Tasks.RecipientTaskException",
        "Add-DistributionGroupMember",
        Identity="Meeting Rooms",
        Member="alice",
    )
    assert text == (
        'Room lists can only have room mailboxes or room lists as members. "alice" is not a room mailbox or a room '
        "list."
    )
    dup = exo.fail(
        400,
        "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException",
        "Add-DistributionGroupMember",
        Identity="Meeting Rooms",
        Member="Board room",
    )
    assert dup == 'The recipient "Board room" is already a member of the group "Meeting Rooms".'
    members = exo.call("Get-DistributionGroupMember", "DistributionGroupMember", Identity="Meeting Rooms")
    assert {m["Name"] for m in members} == {"Board room", "Conference room A"}
    conv = exo.fail(
        400,
        "Microsoft.Exchange.Configuration.Tasks.RecipientTaskException",
        "Set-DistributionGroup",
        Identity="Cronofy Rooms and Users",
        RoomList=True,
    )
    assert conv.startswith('Group "Cronofy Rooms and Users" can\'t be converted to a room list.')
    exo.call("New-DistributionGroup", Name="Plain", Members="Conference room B")
    assert exo.call("Set-DistributionGroup", Identity="Plain", RoomList=True) == []
    assert exo.call("Get-DistributionGroup", Identity="Plain")[0]["RecipientTypeDetails"] == "RoomList"
    exo.fail(
        400, "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException", "New-DistributionGroup", Name="Plain"
    )
    assert exo.call("Remove-DistributionGroupMember", Identity="Plain", Member="Conference room B") == []
    exo.fail(
        400,
        "Microsoft.Exchange.Management.Tasks.MemberNotFoundException",
        "Remove-DistributionGroupMember",
        Identity="Plain",
        Member="Conference room B",
    )
    assert exo.call("Remove-DistributionGroup", Identity="Plain", Confirm=False) == []
    exo.fail(404, NOT_FOUND, "Get-DistributionGroup", Identity="Plain")
    assert [d["DomainName"] for d in exo.call("Get-AcceptedDomain", "AcceptedDomain")] == [
        "contoso.onmicrosoft.com",
        "contoso.com",
    ]


def _rbac_setup(exo: Exo) -> str:
    dn = exo.call("Get-DistributionGroup", Identity="Cronofy Rooms and Users")[0]["DistinguishedName"]
    [scope] = exo.call("New-ManagementScope", Name="Cronofy", RecipientRestrictionFilter=f"MemberOfGroup -eq '{dn}'")
    assert (
        scope["RecipientFilter"] == f"(MemberOfGroup -eq '{dn}')" and scope["ScopeRestrictionType"] == "RecipientScope"
    )
    return str(dn)


def test_scopes_service_principals_and_app_assignments(exo: Exo) -> None:
    _rbac_setup(exo)
    exo.fail(
        400,
        "System.Management.Automation.ParameterBindingException",
        "New-ManagementScope",
        Name="Bad",
        RecipientRestrictionFilter="Department -eq 'x'",
    )
    unregistered = exo.fail(
        404,
        NOT_FOUND,
        "New-ManagementRoleAssignment",
        Role="Application Calendars.ReadWrite",
        App=CRONOFY,
        CustomResourceScope="Cronofy",
    )
    assert f"object '{CRONOFY}'" in unregistered
    [sp] = exo.call(
        "New-ServicePrincipal",
        AppId=CRONOFY,
        ObjectId="6a4ce63b-1c4f-5c7f-a9a5-2057e9e5a77a",
        DisplayName="Cronofy Enterprise Connect",
    )
    assert exo.call("Get-ServicePrincipal", Identity=CRONOFY) == [sp]
    [assignment] = exo.call(
        "New-ManagementRoleAssignment",
        Role="Application Calendars.ReadWrite",
        App=sp["ObjectId"],
        CustomResourceScope="Cronofy",
    )
    assert assignment["RoleAssignee"] == sp["ObjectId"] and assignment["RoleAssigneeType"] == "ServicePrincipal"
    assert (
        assignment["RecipientWriteScope"] == "CustomRecipientScope" and assignment["CustomResourceScope"] == "Cronofy"
    )
    assert exo.call("Get-ManagementRoleAssignment", RoleAssignee=CRONOFY) == [assignment]
    [inside] = exo.call("Test-ServicePrincipalAuthorization", Identity=CRONOFY, Resource="alice@contoso.com")
    assert inside == {
        "RoleName": "Application Calendars.ReadWrite",
        "GrantedPermissions": "Calendars.ReadWrite",
        "AllowedResourceScope": "Cronofy",
        "ScopeType": "CustomRecipientScope",
        "InScope": True,
    }
    [outside] = exo.call("Test-ServicePrincipalAuthorization", Identity=CRONOFY, Resource="dave@contoso.com")
    assert outside["InScope"] is False
    imp = exo.fail(404, NOT_FOUND, "New-ManagementRoleAssignment", Role="ApplicationImpersonation", User="alice")
    assert "object 'ApplicationImpersonation'" in imp
    in_use = exo.fail(
        400,
        "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException",
        "Remove-ManagementScope",
        Identity="Cronofy",
    )
    assert assignment["Name"] in in_use
    assert exo.call("Remove-ManagementRoleAssignment", Identity=assignment["Name"], Confirm=False) == []
    assert exo.call("Remove-ManagementScope", Identity="Cronofy") == []
    assert exo.call("Remove-ServicePrincipal", Identity=CRONOFY) == []


def test_application_access_policies(exo: Exo) -> None:
    bad = exo.fail(
        400,
        "Microsoft.Exchange.Configuration.Tasks.RecipientTaskException",
        "New-ApplicationAccessPolicy",
        AppId=CRONOFY,
        PolicyScopeGroupId="cronofy-scope@contoso.com",
        AccessRight="RestrictAccess",
    )
    assert "mail-enabled security group" in bad
    [policy] = exo.call(
        "New-ApplicationAccessPolicy",
        AppId=CRONOFY,
        PolicyScopeGroupId="cronofy-access@contoso.com",
        AccessRight="RestrictAccess",
        Description="Cronofy",
    )
    assert set(policy) == {"Identity", "AppId", "ScopeName", "ScopeIdentity", "AccessRight", "Description"}
    [granted] = exo.call("Test-ApplicationAccessPolicy", Identity="alice@contoso.com", AppId=CRONOFY)
    [denied] = exo.call("Test-ApplicationAccessPolicy", Identity="dave@contoso.com", AppId=CRONOFY)
    assert granted["AccessCheckResult"] == "Granted" and denied["AccessCheckResult"] == "Denied"
    assert exo.call("Set-ApplicationAccessPolicy", Identity=policy["Identity"], Description="x") == []
    assert exo.call("Get-ApplicationAccessPolicy")[0]["Description"] == "x"
    assert exo.call("Remove-ApplicationAccessPolicy", Identity=policy["Identity"]) == []


def test_organization_ews_settings(exo: Exo) -> None:
    [org] = exo.call("Get-OrganizationConfig", "OrganizationConfig", RetrieveEwsOperationAccessPolicy=True)
    assert org["EwsEnabled"] is None and org["EwsAllowedAppIDs"] is None
    assert (
        exo.call(
            "Set-OrganizationConfig",
            EwsEnabled=True,
            EwsAllowedAppIDs=f"{CRONOFY},9437e0a7-15ef-46bd-9106-da9b1477234d",
        )
        == []
    )
    [org] = exo.call("Get-OrganizationConfig", "OrganizationConfig", RetrieveEwsOperationAccessPolicy=True)
    assert org["EwsEnabled"] is True and org["EwsAllowedAppIDs"] == f"{CRONOFY},9437e0a7-15ef-46bd-9106-da9b1477234d"
    exo.call("Set-OrganizationConfig", EwsAllowedAppIDs=None)
    assert (
        exo.call("Get-OrganizationConfig", "OrganizationConfig", RetrieveEwsOperationAccessPolicy=True)[0][
            "EwsAllowedAppIDs"
        ]
        is None
    )
    exo.fail(
        400, "System.Management.Automation.ParameterBindingException", "Set-OrganizationConfig", EwsAllowedAppIDs="nope"
    )


def test_changes_persist_in_the_tenant_file(sim: Simulator, exo: Exo) -> None:
    exo.call("New-DistributionGroup", Name="Meeting Rooms", RoomList=True)
    with Simulator(sim.tenant_file) as again:
        data = again.store.data
        assert xm.find_recipient(data, "Meeting Rooms") is not None


def test_exchange_server_shell_lines(tmp_path: Path) -> None:
    tenant = tmp_path / "server.json"
    init_tenant(tenant, flavor="exchange_server")
    [dn] = run_shell_lines(tenant, ["(Get-DistributionGroup cronofy-scope@contoso.com).DistinguishedName"])
    assert dn == "CN=Cronofy Rooms and Users,OU=Users,DC=contoso,DC=com"
    [assignment] = run_shell_lines(
        tenant,
        [
            f'New-ManagementScope -Name "Cronofy" -RecipientRestrictionFilter "MemberOfGroup -eq \'{dn}\'"',
            "New-ManagementRoleAssignment -Name X -Role ApplicationImpersonation -User cronofy-svc@contoso.com "
            '-CustomRecipientWriteScope "Cronofy"',
        ],
    )
    assert assignment["RecipientWriteScope"] == "CustomRecipientScope"
    assert assignment["CustomRecipientWriteScope"] == "Cronofy"
    data = read_tenant(tenant)  # the file and its journal of writes since
    assert xm.user_can_impersonate(data, "cronofy-svc", "alice@contoso.com")
    assert not xm.user_can_impersonate(data, "cronofy-svc", "dave@contoso.com")
    assert xm.user_can_impersonate(data, "reconciler-admin@contoso.com", "dave@contoso.com")
    assert xm.check_ad_password(data, "cronofy-svc@contoso.com", "Simulated-Pa55!")
    assert "Simulated-Pa55!" not in str(data)
    with pytest.raises(CmdletError) as info:
        run_cmdlet(data, "New-ServicePrincipal", {"AppId": CRONOFY, "ObjectId": CRONOFY})
    assert "System.Management.Automation.CommandNotFoundException" in info.value.detail
    with pytest.raises(
        ShellError, match="A parameter cannot be found that matches parameter name 'SharingPermissionFlags'"
    ):
        run_shell_lines(
            tenant,
            [
                "Add-MailboxFolderPermission 'alice:\\Calendar' -User bob -AccessRights Editor "
                "-SharingPermissionFlags Delegate"
            ],
        )
    [row] = run_shell_lines(
        tenant,
        ["Add-MailboxFolderPermission -Identity 'alice:\\Calendar' -User bob -AccessRights Editor -Confirm:$false"],
    )
    assert row["AccessRights"] == ["Editor"] and row["User"] == "Bob"
    run_shell_lines(
        tenant, ["New-DistributionGroup 'Meeting Rooms' -RoomList; Set-DistributionGroup 'Meeting Rooms' -RoomList"]
    )
    [group] = run_shell_lines(tenant, ["Get-DistributionGroup -Identity 'Meeting Rooms'"])
    assert group["RecipientTypeDetails"] == "RoomList"


def test_filter_evaluation() -> None:
    data = build_tenant()
    alice = xm.find_recipient(data, "alice")
    assert alice is not None
    dn = distinguished_name(data, "Cronofy Access")
    assert xm.evaluate_filter(data, alice, f"(MemberOfGroup -eq '{dn}') -and (RecipientTypeDetails -eq 'UserMailbox')")
    assert not xm.evaluate_filter(data, alice, f"MemberOfGroup -ne '{dn}' -or RecipientTypeDetails -eq 'RoomMailbox'")
    with pytest.raises(xm.FilterError):
        xm.evaluate_filter(data, alice, "Colour -eq 'x'")
    with pytest.raises(xm.FilterError):
        xm.evaluate_filter(data, alice, "(Alias -eq 'x'")
    pseudo = xm.find_recipient(data, "admin@contoso.onmicrosoft.com")
    assert pseudo is not None and pseudo["RecipientTypeDetails"] == "UserMailbox"
