"""Graph calendar, calendarPermissions, places and servicePrincipals of the tenant simulator (raw httpx)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.simulator import Simulator, make_token

CRONOFY = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
CALENDARS_READWRITE = "ef54d2bf-783f-4e0f-bca1-3210c0444d99"  # Microsoft Graph application permission id
FREEBUSY = "9437e0a7-15ef-46bd-9106-da9b1477234d"
ADMIN_APP = "11111111-2222-3333-4444-555555555555"
PERMS = "/users/{}/calendar/calendarPermissions"


def invoke(sim: Simulator, cmdlet: str, **params: Any) -> list[dict[str, Any]]:
    token = make_token(sim.tenant_id, ADMIN_APP, ["Exchange.ManageAsAppV2"])
    response = httpx.post(
        f"{sim.base_url}/adminapi/beta/{sim.tenant_id}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    value: list[dict[str, Any]] = response.json()["value"]
    return value


@pytest.fixture
def app_client(sim: Simulator) -> Iterator[httpx.Client]:
    """Cronofy's app token with the Calendars.ReadWrite application permission."""
    token = make_token(sim.tenant_id, CRONOFY, ["Calendars.ReadWrite"])
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{sim.base_url}/v1.0", headers=headers, timeout=10) as client:
        yield client


def test_calendar_permissions_crud(graph: httpx.Client) -> None:
    listed = graph.get(PERMS.format("boardroom@contoso.com"))
    assert listed.status_code == 200
    [default] = listed.json()["value"]
    assert default["id"] == "RGVmYXVsdA==" and default["isRemovable"] is False and default["role"] == "freeBusyRead"
    assert "address" not in default["emailAddress"]
    created = graph.post(
        PERMS.format("boardroom@contoso.com"),
        json={
            "emailAddress": {"name": "Alice", "address": "alice@contoso.com"},
            "role": "delegateWithPrivateEventAccess",
        },
    )
    assert created.status_code == 200, created.text
    perm = created.json()
    assert perm["emailAddress"] == {"name": "Alice", "address": "alice@contoso.com"} and perm["isRemovable"] is True
    url = PERMS.format("boardroom@contoso.com") + "/" + perm["id"]
    assert graph.get(url).json()["role"] == "delegateWithPrivateEventAccess"
    assert (
        graph.post(
            PERMS.format("boardroom@contoso.com"),
            json={"emailAddress": {"address": "alice@contoso.com"}, "role": "read"},
        ).status_code
        == 400
    )
    patched = graph.patch(url, json={"role": "read"})
    assert patched.status_code == 200 and patched.json()["role"] == "read"
    assert graph.patch(url, json={"isRemovable": False}).status_code == 400
    assert graph.patch(url, json={"role": "custom"}).status_code == 400
    default_url = PERMS.format("boardroom@contoso.com") + "/RGVmYXVsdA=="
    assert graph.patch(default_url, json={"role": "limitedRead"}).json()["role"] == "limitedRead"
    assert graph.delete(default_url).status_code == 400
    assert graph.delete(url).status_code == 204
    assert graph.get(url).status_code == 404
    assert graph.get(PERMS.format("nobody@contoso.com")).json()["error"]["code"] == "ErrorInvalidUser"
    assert graph.get(PERMS.format("Cronofy Access")).status_code == 404


def test_three_views_agree(sim: Simulator, graph: httpx.Client) -> None:
    invoke(
        sim,
        "Add-MailboxFolderPermission",
        Identity="confrooma@contoso.com:\\Calendar",
        User="bob@contoso.com",
        AccessRights=["Editor"],
        SharingPermissionFlags=["Delegate"],
    )
    values = graph.get(PERMS.format("confrooma@contoso.com")).json()["value"]
    bob = next(v for v in values if v["emailAddress"].get("address") == "bob@contoso.com")
    assert bob["role"] == "delegateWithoutPrivateEventAccess"
    graph.patch(PERMS.format("confrooma@contoso.com") + "/" + bob["id"], json={"role": "freeBusyRead"})
    rows = invoke(sim, "Get-MailboxFolderPermission", Identity="confrooma:\\Calendar", User="bob")
    assert rows[0]["AccessRights"] == ["AvailabilityOnly"] and rows[0]["SharingPermissionFlags"] is None


def test_app_token_calendar_access(sim: Simulator, graph: httpx.Client, app_client: httpx.Client) -> None:
    assert app_client.get("/users/dave@contoso.com/calendar").status_code == 403  # no Entra consent, no RBAC role
    sp = next(s for s in sim.store.data["servicePrincipals"] if s["appId"] == CRONOFY)
    consent = {"id": "consent-1", "appRoleId": CALENDARS_READWRITE, "resourceDisplayName": "Microsoft Graph"}
    sp["appRoleAssignments"].append(consent)
    listed = graph.get(f"/servicePrincipals/{sp['id']}/appRoleAssignments").json()["value"]
    assert [a["appRoleId"] for a in listed] == [CALENDARS_READWRITE]
    assert app_client.get("/users/dave@contoso.com/calendar").status_code == 200  # Entra consent: every mailbox
    assert graph.get("/users/dave@contoso.com/calendar").status_code == 200
    invoke(
        sim,
        "New-ApplicationAccessPolicy",
        AppId=CRONOFY,
        PolicyScopeGroupId="Cronofy Access",
        AccessRight="RestrictAccess",
    )
    calendar = app_client.get("/users/alice@contoso.com/calendar")
    assert calendar.status_code == 200 and calendar.json()["owner"]["address"] == "alice@contoso.com"
    denied = app_client.get("/users/dave@contoso.com/calendar")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "ErrorAccessDenied"
    dn = invoke(sim, "Get-DistributionGroup", Identity="Cronofy Rooms and Users")[0]["DistinguishedName"]
    invoke(
        sim,
        "New-ManagementScope",
        Name="Rooms",
        RecipientRestrictionFilter=f"MemberOfGroup -eq '{dn}' -and RecipientTypeDetails -eq 'RoomMailbox'",
    )
    invoke(
        sim,
        "New-ServicePrincipal",
        AppId=CRONOFY,
        ObjectId="6a4ce63b-1c4f-5c7f-a9a5-2057e9e5a77a",
        DisplayName="Cronofy",
    )
    invoke(
        sim, "New-ManagementRoleAssignment", Role="Application Calendars.Read", App=CRONOFY, CustomResourceScope="Rooms"
    )
    assert app_client.get("/users/boardroom@contoso.com/calendar").status_code == 200
    # "Permission consents are additive" (application-rbac): the policy still lets the Entra consent reach alice
    assert app_client.get("/users/alice@contoso.com/calendar").status_code == 200
    assert app_client.get("/users/dave@contoso.com/calendar").status_code == 403  # neither the policy nor the scope
    assert graph.get("/users/dave@contoso.com/calendar").status_code == 200  # the admin token stays unrestricted
    assert graph.delete(f"/servicePrincipals/{sp['id']}/appRoleAssignments/consent-1").status_code == 204
    assert app_client.get("/users/alice@contoso.com/calendar").status_code == 403  # the policy constrains no consent
    assert app_client.get("/users/boardroom@contoso.com/calendar").status_code == 200  # the RBAC scope alone
    write = app_client.post(
        PERMS.format("boardroom@contoso.com"), json={"emailAddress": {"address": "bob@contoso.com"}, "role": "read"}
    )
    assert write.status_code == 403  # Application Calendars.Read grants no write


def test_places_and_service_principals(sim: Simulator, graph: httpx.Client) -> None:
    assert graph.get("/places/microsoft.graph.roomlist").json()["value"] == []
    rooms = graph.get("/places/microsoft.graph.room").json()["value"]
    assert {r["emailAddress"] for r in rooms} == {
        "boardroom@contoso.com",
        "confrooma@contoso.com",
        "confroomb@contoso.com",
    }
    invoke(
        sim,
        "New-DistributionGroup",
        Name="Meeting Rooms",
        PrimarySmtpAddress="rooms@contoso.com",
        RoomList=True,
        Members=["Board room", "Conference room A"],
    )
    [room_list] = graph.get("/places/microsoft.graph.roomlist").json()["value"]
    assert room_list["emailAddress"] == "rooms@contoso.com"
    in_list = graph.get("/places/rooms@contoso.com/microsoft.graph.roomlist/rooms").json()["value"]
    assert {r["displayName"] for r in in_list} == {"Board room", "Conference room A"}
    assert graph.get("/places/nothing@contoso.com/microsoft.graph.roomlist/rooms").status_code == 404
    sp = graph.get(f"/servicePrincipals(appId='{CRONOFY}')")
    assert sp.status_code == 200 and sp.json()["displayName"] == "Cronofy Enterprise Connect"
    [free_busy] = graph.get("/servicePrincipals", params={"$filter": f"appId eq '{FREEBUSY}'"}).json()["value"]
    assert free_busy["appId"] == FREEBUSY
    assert graph.get("/servicePrincipals(appId='00000000-0000-0000-0000-000000000000')").status_code == 404
