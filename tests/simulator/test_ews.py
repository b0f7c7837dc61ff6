"""EWS SOAP surface of the tenant simulator: the real exchangelib client (Exchange Server, Basic auth) and
raw SOAP over httpx (Exchange Online bearer tokens, delegate access, faults)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from exchangelib import BASIC, IMPERSONATION, Account, Configuration, Credentials, Version
from exchangelib.errors import ErrorImpersonateUserDenied, ErrorNameResolutionNoResults
from exchangelib.properties import CalendarPermission, UserId
from exchangelib.version import EXCHANGE_2016

from reconciler.clients.ews import EwsClient
from reconciler.simulator import Simulator, init_tenant, make_token, read_tenant, run_shell_lines

ADMIN = "reconciler-admin@contoso.com"
PASSWORD = "Simulated-Pa55!"
APP_ID = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
SP_OBJECT_ID = "6a3b9b7e-2c1d-4f5e-8a9b-0c1d2e3f4a5b"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
S = "http://schemas.xmlsoap.org/soap/envelope/"


def edit_tenant(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def recipient(data: dict[str, Any], alias: str) -> dict[str, Any]:
    return next(r for r in data["exchange"]["recipients"] if r["Alias"] == alias)


def guid(data: dict[str, Any], alias: str) -> str:
    return str(recipient(data, alias)["Guid"])


def add_room_list(data: dict[str, Any]) -> None:
    members = [guid(data, "boardroom"), guid(data, "confrooma"), guid(data, "alice")]
    data["exchange"]["recipients"].append(
        {
            "Guid": "0d4c1a3e-1111-4222-8333-944455556666",
            "Identity": "Meeting Rooms",
            "Name": "Meeting Rooms",
            "Alias": "meetingrooms",
            "DisplayName": "Meeting Rooms",
            "PrimarySmtpAddress": "meetingrooms@contoso.com",
            "DistinguishedName": "CN=Meeting Rooms,OU=Contoso,DC=contoso,DC=com",
            "RecipientTypeDetails": "RoomList",
            "ExternalDirectoryObjectId": None,
            "Members": members,
        }
    )


def add_scope(data: dict[str, Any], name: str = "Cronofy scope") -> None:
    group_dn = recipient(data, "cronofy-scope")["DistinguishedName"]
    data["exchange"]["managementScopes"].append(
        {"Name": name, "Identity": name, "RecipientFilter": f"MemberOfGroup -eq '{group_dn}'"}
    )


def set_rows(data: dict[str, Any], mailbox: str, rows: list[dict[str, Any]]) -> None:
    data["exchange"]["folderPermissions"][guid(data, mailbox)] = rows


def stored_rows(path: Path, mailbox: str) -> list[dict[str, Any]]:
    data = read_tenant(path)
    rows: list[dict[str, Any]] = data["exchange"]["folderPermissions"][guid(data, mailbox)]
    return rows


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def server_file(tmp_path: Path) -> Path:
    path = tmp_path / "tenant.json"
    init_tenant(path, users=1, flavor="exchange_server")

    def seed(data: dict[str, Any]) -> None:
        add_room_list(data)
        add_scope(data)
        data["exchange"]["roleAssignments"].append(
            {
                "Name": "ApplicationImpersonation-cronofy-svc",
                "Role": "ApplicationImpersonation",
                "RoleAssignee": "cronofy-svc",
                "RoleAssigneeType": "User",
                "CustomRecipientWriteScope": "Cronofy scope",
                "RecipientWriteScope": "CustomRecipientScope",
                "Enabled": True,
            }
        )
        svc = guid(data, "cronofy-svc")
        set_rows(data, "boardroom", [{"User": svc, "AccessRights": ["Editor"], "SharingPermissionFlags": ["Delegate"]}])

    edit_tenant(path, seed)
    return path


@pytest.fixture
def server(server_file: Path) -> Iterator[Simulator]:
    with Simulator(server_file) as simulator:
        yield simulator


def config(sim: Simulator, user: str = ADMIN, password: str = PASSWORD) -> Configuration:
    return Configuration(
        service_endpoint=sim.base_url + "/EWS/Exchange.asmx",
        credentials=Credentials(user, password),
        auth_type=BASIC,
        version=Version(build=EXCHANGE_2016),
    )


def account(sim: Simulator, mailbox: str, user: str = ADMIN) -> Account:
    return Account(
        primary_smtp_address=mailbox, access_type=IMPERSONATION, config=config(sim, user), autodiscover=False
    )


# --- raw SOAP helpers ------------------------------------------------------------------------


def envelope(body: str, mailbox: str | None = None, version: str = "Exchange2016") -> str:
    impersonation = (
        f"<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{mailbox}</t:PrimarySmtpAddress>"
        "</t:ConnectingSID></t:ExchangeImpersonation>"
        if mailbox
        else ""
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}" xmlns:m="{M}" xmlns:t="{T}">'
        f'<s:Header><t:RequestServerVersion Version="{version}"/>{impersonation}</s:Header>'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )


def get_calendar(mailbox: str) -> str:
    return (
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
        '<t:FieldURI FieldURI="folder:PermissionSet"/></t:AdditionalProperties></m:FolderShape>'
        f'<m:FolderIds><t:DistinguishedFolderId Id="calendar"><t:Mailbox><t:EmailAddress>{mailbox}'
        "</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>"
    )


def set_permissions(mailbox: str, permissions: str) -> str:
    return (
        '<m:UpdateFolder><m:FolderChanges><t:FolderChange><t:DistinguishedFolderId Id="calendar"><t:Mailbox>'
        f"<t:EmailAddress>{mailbox}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId><t:Updates>"
        '<t:SetFolderField><t:FieldURI FieldURI="folder:PermissionSet"/><t:CalendarFolder><t:PermissionSet>'
        f"<t:CalendarPermissions>{permissions}</t:CalendarPermissions></t:PermissionSet></t:CalendarFolder>"
        "</t:SetFolderField></t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>"
    )


def permission(level: str, smtp: str | None = None, distinguished: str | None = None) -> str:
    user = f"<t:DistinguishedUser>{distinguished}</t:DistinguishedUser>" if distinguished else ""
    user += f"<t:PrimarySmtpAddress>{smtp}</t:PrimarySmtpAddress>" if smtp else ""
    return (
        f"<t:CalendarPermission><t:UserId>{user}</t:UserId>"
        f"<t:CalendarPermissionLevel>{level}</t:CalendarPermissionLevel></t:CalendarPermission>"
    )


def post(sim: Simulator, body: str, auth: httpx.Auth | None = None, token: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(sim.base_url + "/EWS/Exchange.asmx", content=body, headers=headers, auth=auth, timeout=10)


def response_code(response: httpx.Response) -> str:
    root = ET.fromstring(response.content)
    code = root.find(f".//{{{M}}}ResponseCode")
    if code is None:
        code = root.find(".//{http://schemas.microsoft.com/exchange/services/2006/errors}ResponseCode")
    assert code is not None, response.text
    return str(code.text)


# --- Exchange Server through exchangelib -----------------------------------------------------


def test_room_lists_and_rooms(server: Simulator) -> None:
    protocol = account(server, "boardroom@contoso.com").protocol
    room_lists = list(protocol.get_roomlists())
    assert [(r.name, r.email_address, r.mailbox_type) for r in room_lists] == [
        ("Meeting Rooms", "meetingrooms@contoso.com", "PublicDL")
    ]
    rooms = list(protocol.get_rooms("meetingrooms@contoso.com"))
    assert [(r.name, r.email_address) for r in rooms] == [
        ("Board room", "boardroom@contoso.com"),
        ("Conference room A", "confrooma@contoso.com"),
    ]  # alice is a member but not a room
    with pytest.raises(ErrorNameResolutionNoResults):
        list(protocol.get_rooms("nosuchlist@contoso.com"))


def test_expand_dl_returns_members(server: Simulator) -> None:
    protocol = account(server, "boardroom@contoso.com").protocol
    members = protocol.expand_dl("cronofy-scope@contoso.com")
    assert [(mb.name, mb.email_address, mb.routing_type, mb.mailbox_type) for mb in members] == [
        ("Board room", "boardroom@contoso.com", "SMTP", "Mailbox"),
        ("Conference room A", "confrooma@contoso.com", "SMTP", "Mailbox"),
        ("Conference room B", "confroomb@contoso.com", "SMTP", "Mailbox"),
        ("Alice", "alice@contoso.com", "SMTP", "Mailbox"),
        ("Bob", "bob@contoso.com", "SMTP", "Mailbox"),
        ("Carol", "carol@contoso.com", "SMTP", "Mailbox"),
    ]
    # A room list expands too; by display name as well as SMTP address.
    rooms = protocol.expand_dl("Meeting Rooms")
    assert [mb.email_address for mb in rooms] == ["boardroom@contoso.com", "confrooma@contoso.com", "alice@contoso.com"]


def test_expand_dl_nested_group_is_public_dl(server_file: Path) -> None:
    def nest(data: dict[str, Any]) -> None:
        recipient(data, "cronofy-access")["Members"] = [guid(data, "cronofy-scope"), guid(data, "dave")]

    edit_tenant(server_file, nest)
    with Simulator(server_file) as sim:
        members = account(sim, "boardroom@contoso.com").protocol.expand_dl("cronofy-access@contoso.com")
    assert [(mb.email_address, mb.mailbox_type) for mb in members] == [
        ("dave@contoso.com", "Mailbox"),
        ("cronofy-scope@contoso.com", "PublicDL"),
    ]


def test_expand_dl_unknown_or_not_a_group(server: Simulator) -> None:
    protocol = account(server, "boardroom@contoso.com").protocol
    for address in ("nosuchgroup@contoso.com", "alice@contoso.com"):
        with pytest.raises(ErrorNameResolutionNoResults):
            protocol.expand_dl(address)


def test_expand_dl_response_shape(server: Simulator) -> None:
    body = "<m:ExpandDL><m:Mailbox><t:EmailAddress>cronofy-access@contoso.com</t:EmailAddress></m:Mailbox></m:ExpandDL>"
    response = post(server, envelope(body), httpx.BasicAuth(ADMIN, PASSWORD))
    assert response.status_code == 200, response.text
    message = ET.fromstring(response.content).find(f".//{{{M}}}ExpandDLResponseMessage")
    assert message is not None and message.get("ResponseClass") == "Success"
    expansion = message.find(f"{{{M}}}DLExpansion")
    assert expansion is not None
    assert (expansion.get("TotalItemsInView"), expansion.get("IncludesLastItemInRange")) == ("6", "true")
    assert [c.tag for c in expansion[0]] == [
        f"{{{T}}}{n}" for n in ("Name", "EmailAddress", "RoutingType", "MailboxType")
    ]
    missing = post(server, envelope(body.replace("cronofy-access", "nobody")), httpx.BasicAuth(ADMIN, PASSWORD))
    error = ET.fromstring(missing.content).find(f".//{{{M}}}ExpandDLResponseMessage")
    assert error is not None and error.get("ResponseClass") == "Error"
    assert error.findtext(f"{{{M}}}ResponseCode") == "ErrorNameResolutionNoResults"


def test_calendar_permission_set(server: Simulator) -> None:
    permissions = account(server, "boardroom@contoso.com").calendar.permission_set.calendar_permissions
    seen = {(p.user_id.distinguished_user or p.user_id.primary_smtp_address): p for p in permissions}
    assert set(seen) == {"Default", "Anonymous", "cronofy-svc@contoso.com"}
    assert (seen["Default"].calendar_permission_level, seen["Default"].read_items) == ("FreeBusyTimeOnly", "TimeOnly")
    assert seen["Anonymous"].calendar_permission_level == "None"
    editor = seen["cronofy-svc@contoso.com"]
    assert (editor.calendar_permission_level, editor.edit_items, editor.read_items) == ("Editor", "All", "FullDetails")
    assert editor.user_id.display_name == "Cronofy service"


def _saveable(permissions: list[CalendarPermission]) -> list[CalendarPermission]:
    # exchangelib 5.6 only accepts ReadItems None/FullDetails on write; the level carries the meaning.
    for entry in permissions:
        if entry.read_items not in ("None", "FullDetails"):
            entry.read_items = "None"
    return permissions


def test_save_permission_set_replaces_rows_and_keeps_editor_flags(server: Simulator, server_file: Path) -> None:
    calendar = account(server, "boardroom@contoso.com").calendar
    permissions = _saveable(calendar.permission_set.calendar_permissions)
    permissions.append(
        CalendarPermission(
            calendar_permission_level="Reviewer", user_id=UserId(primary_smtp_address="alice@contoso.com")
        )
    )
    calendar.save(update_fields=["permission_set"])
    rows = stored_rows(server_file, "boardroom")
    data = read_tenant(server_file)
    assert rows == [
        {"User": "Default", "AccessRights": ["AvailabilityOnly"], "SharingPermissionFlags": None},
        {"User": "Anonymous", "AccessRights": ["None"], "SharingPermissionFlags": None},
        {"User": guid(data, "cronofy-svc"), "AccessRights": ["Editor"], "SharingPermissionFlags": ["Delegate"]},
        {"User": guid(data, "alice"), "AccessRights": ["Reviewer"], "SharingPermissionFlags": None},
    ]
    # A level change away from Editor drops the flags EWS cannot express; a left-out user is removed.
    fresh = account(server, "boardroom@contoso.com").calendar
    kept = [
        p
        for p in _saveable(fresh.permission_set.calendar_permissions)
        if p.user_id.primary_smtp_address != "alice@contoso.com"
    ]
    for entry in kept:
        if entry.user_id.primary_smtp_address == "cronofy-svc@contoso.com":
            entry.calendar_permission_level = "Reviewer"
    fresh.permission_set.calendar_permissions = kept
    fresh.save(update_fields=["permission_set"])
    assert stored_rows(server_file, "boardroom")[2:] == [
        {"User": guid(data, "cronofy-svc"), "AccessRights": ["Reviewer"], "SharingPermissionFlags": None}
    ]


def test_left_out_default_and_anonymous_become_none(server: Simulator, server_file: Path) -> None:
    auth = httpx.BasicAuth(ADMIN, PASSWORD)
    body = envelope(
        set_permissions("confrooma@contoso.com", permission("Editor", "alice@contoso.com")), "confrooma@contoso.com"
    )
    response = post(server, body, auth)
    assert response.status_code == 200 and response_code(response) == "NoError"
    assert [(r["User"], r["AccessRights"]) for r in stored_rows(server_file, "confrooma")][:2] == [
        ("Default", ["None"]),
        ("Anonymous", ["None"]),
    ]


def test_impersonation_in_scope_and_denied_outside(server: Simulator) -> None:
    assert account(server, "carol@contoso.com", "cronofy-svc@contoso.com").calendar.permission_set is not None
    with pytest.raises(ErrorImpersonateUserDenied):
        account(server, "dave@contoso.com", "cronofy-svc@contoso.com").calendar  # noqa: B018


def test_impersonation_fault_shape(server: Simulator) -> None:
    response = post(
        server,
        envelope(get_calendar("dave@contoso.com"), "dave@contoso.com"),
        httpx.BasicAuth("CONTOSO\\cronofy-svc", PASSWORD),
    )
    assert response.status_code == 500
    root = ET.fromstring(response.content)
    fault = root.find(f"{{{S}}}Body/{{{S}}}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == "a:ErrorImpersonateUserDenied"
    assert response_code(response) == "ErrorImpersonateUserDenied"


def test_basic_auth_required(server: Simulator) -> None:
    response = post(server, envelope(get_calendar("boardroom@contoso.com")), httpx.BasicAuth(ADMIN, "wrong"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert post(server, envelope(get_calendar("boardroom@contoso.com"))).status_code == 401


def test_delegate_access_needs_folder_permission(server: Simulator, server_file: Path) -> None:
    svc = httpx.BasicAuth("cronofy-svc@contoso.com", PASSWORD)
    response = post(server, envelope(get_calendar("boardroom@contoso.com")), svc)  # Editor row: may read
    assert response.status_code == 200 and response_code(response) == "NoError"
    assert b"ServerVersionInfo" in response.content
    denied = post(server, envelope(get_calendar("confrooma@contoso.com")), svc)  # only Default FreeBusy
    assert response_code(denied) == "ErrorAccessDenied"
    update = post(
        server, envelope(set_permissions("boardroom@contoso.com", permission("None", distinguished="Default"))), svc
    )
    assert response_code(update) == "ErrorAccessDenied"  # Editor is not folder owner


def test_update_errors_leave_rows_unchanged(server: Simulator, server_file: Path) -> None:
    auth = httpx.BasicAuth(ADMIN, PASSWORD)
    before = stored_rows(server_file, "boardroom")
    cases = {
        "ErrorDuplicateUserIdsSpecified": permission("Reviewer", "alice@contoso.com") * 2,
        "ErrorInvalidUserInfo": permission("Reviewer", "nobody@contoso.com"),
        "ErrorMissingUserIdInformation": permission("Reviewer"),
    }
    for code, entries in cases.items():
        response = post(
            server, envelope(set_permissions("boardroom@contoso.com", entries), "boardroom@contoso.com"), auth
        )
        assert response_code(response) == code
    assert stored_rows(server_file, "boardroom") == before


def test_bad_request_server_version_is_a_fault(server: Simulator) -> None:
    response = post(
        server,
        envelope(get_calendar("boardroom@contoso.com"), version="Exchange2099"),
        httpx.BasicAuth(ADMIN, PASSWORD),
    )
    assert response.status_code == 500 and response_code(response) == "ErrorInvalidServerVersion"


# --- Exchange Online: bearer tokens and the EWS allow list -----------------------------------


@pytest.fixture
def online_file(tmp_path: Path) -> Path:
    path = tmp_path / "online.json"
    init_tenant(path, flavor="exchange_online")

    def seed(data: dict[str, Any]) -> None:
        add_scope(data)
        exchange = data["exchange"]
        exchange["servicePrincipals"].append(
            {"AppId": APP_ID, "ObjectId": SP_OBJECT_ID, "DisplayName": "Cronofy", "Identity": SP_OBJECT_ID}
        )
        exchange["roleAssignments"].append(
            {
                "Name": "Cronofy calendars",
                "Role": "Application Calendars.ReadWrite",
                "RoleAssignee": SP_OBJECT_ID,
                "RoleAssigneeType": "ServicePrincipal",
                "CustomResourceScope": "Cronofy scope",
                "RecipientWriteScope": "CustomRecipientScope",
                "Enabled": True,
            }
        )

    edit_tenant(path, seed)
    return path


def allow(path: Path, enabled: bool | None, app_ids: str | None) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["exchange"]["organization"].update(EwsEnabled=enabled, EwsAllowedAppIDs=app_ids)

    edit_tenant(path, edit)


def invoke(sim: Simulator, cmdlet: str, **params: Any) -> None:
    """A cmdlet through the Exchange admin API (InvokeCommand), as an admin app."""
    token = make_token(sim.tenant_id, "00000000-0000-0000-0000-0000000000ad", ["Exchange.ManageAsAppV2"])
    response = httpx.post(
        f"{sim.base_url}/adminapi/beta/{sim.tenant_id}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


DISABLED = "EWS is disabled for this user or tenant"  # the two documented X-EWS-Policy-Reason values
BLOCKED = "EWS is blocked by policy for this user or tenant"


@pytest.mark.parametrize(
    ("enabled", "app_ids", "status", "reason"),
    [
        (None, None, 403, DISABLED),  # tenants left at Null were switched to False on 1 October 2026
        (False, APP_ID, 403, DISABLED),
        (True, "11111111-2222-3333-4444-555555555555", 403, BLOCKED),
        (True, "", 403, BLOCKED),  # EwsEnabled True with an empty list blocks all EWS
        (True, f"11111111-2222-3333-4444-555555555555, {APP_ID.upper()}", 200, None),
    ],
)
def test_online_ews_allow_list(
    online_file: Path, enabled: bool | None, app_ids: str | None, status: int, reason: str | None
) -> None:
    allow(online_file, enabled, app_ids)
    with Simulator(online_file) as sim:
        token = make_token(sim.tenant_id, APP_ID, ["full_access_as_app"])
        response = post(sim, envelope(get_calendar("boardroom@contoso.com"), "boardroom@contoso.com"), token=token)
        assert response.status_code == status
        assert response.headers.get("X-EWS-Policy-Reason") == reason
        if status == 403:
            assert response.content == b""


def test_online_mailbox_level_ews_switch(online_file: Path) -> None:
    """Set-CASMailbox -EwsEnabled $false blocks EWS for that mailbox only, with the "disabled" reason."""
    allow(online_file, True, APP_ID)
    with Simulator(online_file) as sim:
        token = make_token(sim.tenant_id, APP_ID, ["full_access_as_app"])
        invoke(sim, "Set-CASMailbox", Identity="boardroom@contoso.com", EwsEnabled=False)
        blocked = post(sim, envelope(get_calendar("boardroom@contoso.com"), "boardroom@contoso.com"), token=token)
        assert (blocked.status_code, blocked.headers.get("X-EWS-Policy-Reason")) == (403, DISABLED)
        other = post(sim, envelope(get_calendar("alice@contoso.com"), "alice@contoso.com"), token=token)
        assert other.status_code == 200
        invoke(sim, "Set-CASMailbox", Identity="boardroom@contoso.com", EwsEnabled=True)
        again = post(sim, envelope(get_calendar("boardroom@contoso.com"), "boardroom@contoso.com"), token=token)
        assert again.status_code == 200


def test_online_app_scope_and_impersonation_header(online_file: Path) -> None:
    allow(online_file, True, APP_ID)
    with Simulator(online_file) as sim:
        token = make_token(sim.tenant_id, APP_ID, ["full_access_as_app"])
        assert post(sim, envelope(get_calendar("boardroom@contoso.com")), token="not-a-token").status_code == 401
        no_header = post(sim, envelope(get_calendar("boardroom@contoso.com")), token=token)
        assert (no_header.status_code, response_code(no_header)) == (500, "ErrorInvalidExchangeImpersonationHeaderData")
        out_of_scope = post(sim, envelope(get_calendar("dave@contoso.com"), "dave@contoso.com"), token=token)
        assert response_code(out_of_scope) == "ErrorAccessDenied"
        update = envelope(
            set_permissions(
                "alice@contoso.com",
                permission("FreeBusyTimeOnly", distinguished="Default")
                + permission("None", distinguished="Anonymous")
                + permission("FreeBusyTimeAndSubjectAndLocation", "carol@contoso.com"),
            ),
            "alice@contoso.com",
        )
        assert response_code(post(sim, update, token=token)) == "NoError"
        read = post(sim, envelope(get_calendar("alice@contoso.com"), "alice@contoso.com"), token=token)
        assert (
            b"<t:CalendarPermissionLevel>FreeBusyTimeAndSubjectAndLocation</t:CalendarPermissionLevel>" in read.content
        )
    rows = stored_rows(online_file, "alice")
    assert rows[2]["AccessRights"] == ["LimitedDetails"]


FULL_ACCESS_AS_APP = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"  # Office 365 Exchange Online's EWS app permission


def _consent_ews(data: dict[str, Any]) -> None:
    sp = next(s for s in data["servicePrincipals"] if s["appId"] == APP_ID)
    sp["appRoleAssignments"] = [{"id": "ews", "appRoleId": FULL_ACCESS_AS_APP, "principalId": sp["id"]}]


def test_online_app_access_is_consent_within_policies_or_rbac(online_file: Path) -> None:
    """Microsoft's RBAC for Applications page: access policies constrain only the Entra ID consent, and consents are
    additive. An EWS consent (full_access_as_app) opens every mailbox until a RestrictAccess policy limits it to the
    policy's group; the RBAC assignment's scope stays open whatever the policy."""
    allow(online_file, True, APP_ID)
    edit_tenant(online_file, _consent_ews)

    def alice_leaves_the_policy_group(data: dict[str, Any]) -> None:
        group = recipient(data, "cronofy-access")
        group["Members"] = [m for m in group["Members"] if str(m).lower() != guid(data, "alice").lower()]

    edit_tenant(online_file, alice_leaves_the_policy_group)
    data = read_tenant(online_file)
    access = recipient(data, "cronofy-access")
    in_policy = {
        str(r["Alias"])
        for r in data["exchange"]["recipients"]
        if str(r["Guid"]).lower() in {str(m).lower() for m in access.get("Members") or []}
    }
    outsider = "dave"  # in neither the RBAC scope nor (checked below) the policy's group
    assert outsider not in in_policy
    with Simulator(online_file) as sim:
        token = make_token(sim.tenant_id, APP_ID, ["full_access_as_app"])

        def code(alias: str) -> str:
            mailbox = f"{alias}@contoso.com"
            return response_code(post(sim, envelope(get_calendar(mailbox), mailbox), token=token))

        assert code(outsider) == "NoError"  # the consent alone: every mailbox
        invoke(
            sim,
            "New-ApplicationAccessPolicy",
            AppId=APP_ID,
            PolicyScopeGroupId="cronofy-access@contoso.com",
            AccessRight="RestrictAccess",
        )
        assert code(outsider) == "ErrorAccessDenied"  # the policy limits the consent
        assert all(code(alias) == "NoError" for alias in sorted(in_policy)[:2])
        assert "alice" not in in_policy and code("alice") == "NoError"  # in the RBAC scope: not constrained


def test_unimplemented_operation_is_a_schema_fault(server: Simulator) -> None:
    body = envelope('<m:GetServerTimeZones ReturnFullTimeZoneData="false"/>')
    response = post(server, body, httpx.BasicAuth(ADMIN, PASSWORD))
    assert response.status_code == 500 and response_code(response) == "ErrorSchemaValidation"
    assert b"GetServerTimeZones" in response.content


def _resolve(server: Simulator, entry: str) -> httpx.Response:
    body = envelope(
        f'<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>{entry}</m:UnresolvedEntry></m:ResolveNames>'
    )
    return post(server, body, httpx.BasicAuth(ADMIN, PASSWORD))


def test_resolve_names_by_display_name_prefix_and_address(server: Simulator) -> None:
    one = _resolve(server, "Board room")
    assert one.status_code == 200 and b'ResponseClass="Success"' in one.content
    assert b"<t:EmailAddress>boardroom@contoso.com</t:EmailAddress>" in one.content
    several = _resolve(server, "Conference")
    assert (
        b'ResponseClass="Warning"' in several.content and response_code(several) == "ErrorNameResolutionMultipleResults"
    )
    assert several.content.count(b"<t:Resolution>") == 2
    exact = _resolve(server, "smtp:confrooma@contoso.com")
    assert exact.content.count(b"<t:Resolution>") == 1
    none = _resolve(server, "nobody at all")
    assert b'ResponseClass="Error"' in none.content and response_code(none) == "ErrorNameResolutionNoResults"


# --- GetUserConfiguration: the calendar options ([MS-OXOCFG] 2.2.5.1.1) --------------------------


def get_calendar_options(mailbox: str, name: str = "Calendar", properties: str = "Dictionary") -> str:
    """The operation page's request, for the calendar folder of `mailbox`."""
    return (
        f'<m:GetUserConfiguration><m:UserConfigurationName Name="{name}"><t:DistinguishedFolderId Id="calendar">'
        f"<t:Mailbox><t:EmailAddress>{mailbox}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"
        f"</m:UserConfigurationName><m:UserConfigurationProperties>{properties}</m:UserConfigurationProperties>"
        "</m:GetUserConfiguration>"
    )


def dictionary_of(response: httpx.Response) -> dict[str, tuple[str, str]]:
    root = ET.fromstring(response.content)
    entries = root.findall(f".//{{{M}}}UserConfiguration/{{{T}}}Dictionary/{{{T}}}DictionaryEntry")
    found: dict[str, tuple[str, str]] = {}
    for entry in entries:
        key = entry.findtext(f"{{{T}}}DictionaryKey/{{{T}}}Value")
        kind = entry.findtext(f"{{{T}}}DictionaryValue/{{{T}}}Type")
        value = entry.findtext(f"{{{T}}}DictionaryValue/{{{T}}}Value")
        assert key is not None and kind is not None and value is not None, response.text
        found[key] = (kind, value)
    return found


def test_calendar_options_follow_set_calendar_processing(server_file: Path) -> None:
    """AutomateProcessing as the calendar options dictionary holds it (0 None, 1 AutoUpdate, 2 AutoAccept), from the
    same data the shell's Set-CalendarProcessing changes; the shape of the operation page's response example."""
    admin = httpx.BasicAuth(ADMIN, PASSWORD)
    with Simulator(server_file) as sim:
        response = post(sim, envelope(get_calendar_options("boardroom@contoso.com"), "boardroom@contoso.com"), admin)
        assert response.status_code == 200 and response_code(response) == "NoError", response.text
        options = dictionary_of(response)
        assert options["AutomateProcessing"] == ("Integer32", "1")  # a room made in PowerShell on-premises
        assert options["piAutoProcess"] == ("Boolean", "true") and options["piRemindDefault"] == ("Integer32", "15")
        root = ET.fromstring(response.content)
        named = root.find(f".//{{{M}}}UserConfiguration/{{{T}}}UserConfigurationName")
        assert named is not None and named.get("Name") == "Calendar"
        assert named.find(f"{{{T}}}DistinguishedFolderId") is not None
        assert root.find(f".//{{{M}}}UserConfiguration/{{{T}}}ItemId") is None  # Dictionary only
    run_shell_lines(server_file, ["Set-CalendarProcessing -Identity 'Board room' -AutomateProcessing AutoAccept"])
    with Simulator(server_file) as sim:
        options = dictionary_of(
            post(sim, envelope(get_calendar_options("boardroom@contoso.com"), "boardroom@contoso.com"), admin)
        )
        assert options["AutomateProcessing"] == ("Integer32", "2")
        with_id = post(
            sim,
            envelope(get_calendar_options("boardroom@contoso.com", properties="All"), "boardroom@contoso.com"),
            admin,
        )
        assert ET.fromstring(with_id.content).find(f".//{{{M}}}UserConfiguration/{{{T}}}ItemId") is not None
    run_shell_lines(server_file, ["Set-CalendarProcessing -Identity 'Board room' -AutomateProcessing None"])
    with Simulator(server_file) as sim:
        options = dictionary_of(
            post(sim, envelope(get_calendar_options("boardroom@contoso.com"), "boardroom@contoso.com"), admin)
        )
        assert options["AutomateProcessing"] == ("Integer32", "0")


def test_calendar_options_are_the_mailboxs_own(server: Simulator) -> None:
    """Read as the mailbox (impersonation); another account's delegate access does not reach them; impersonation
    outside the account's scope is the usual fault; any other configuration name is not found."""
    svc = httpx.BasicAuth("cronofy-svc@contoso.com", PASSWORD)
    delegate = post(server, envelope(get_calendar_options("boardroom@contoso.com")), svc)  # Editor on its calendar
    assert response_code(delegate) == "ErrorAccessDenied"
    outside = post(server, envelope(get_calendar_options("dave@contoso.com"), "dave@contoso.com"), svc)
    assert outside.status_code == 500 and response_code(outside) == "ErrorImpersonateUserDenied"
    admin = httpx.BasicAuth(ADMIN, PASSWORD)
    other = post(
        server, envelope(get_calendar_options("boardroom@contoso.com", "WorkHours"), "boardroom@contoso.com"), admin
    )
    assert response_code(other) == "ErrorItemNotFound"
    bad = post(
        server,
        envelope(get_calendar_options("boardroom@contoso.com", properties="Everything"), "boardroom@contoso.com"),
        admin,
    )
    assert bad.status_code == 500 and response_code(bad) == "ErrorSchemaValidation"


def test_calendar_options_through_the_product_client(server: Simulator) -> None:
    """The product's exchangelib call: one GetUserConfiguration request per mailbox, the dictionary as values."""
    client = EwsClient(server.base_url + "/EWS/Exchange.asmx", ADMIN, PASSWORD, "basic", True)
    try:
        before = server.requests_served
        options = client.calendar_configuration("boardroom@contoso.com")
        assert server.requests_served - before == 1
        assert options is not None and options["AutomateProcessing"] == 1
    finally:
        client.close()
