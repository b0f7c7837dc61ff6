"""Diff per kind, offline, as tables: {desired, observed, record} -> {action, changed, after} (both targets).

Each row goes through the kind's own `match` and the engine's pure `diff`, the path every plan takes; no tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.diff import diff, wider
from reconciler.engine.plan import Action, Change
from reconciler.resources import KINDS
from reconciler.resources.base import Desired, Observed
from reconciler.spec.loader import load_spec
from reconciler.spec.models import Target
from reconciler.state.model import ResourceRecord

SVC = "cronofy-svc@contoso.onmicrosoft.com"
APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
DN = "CN=Cronofy Rooms and Users,OU=contoso.onmicrosoft.com,DC=EURPR01A001,DC=prod,DC=outlook,DC=com"


@dataclass(frozen=True)
class Row:
    """One table row: what the spec wants, what the tenant shows, what state recorded -> the change."""

    kind: str
    name: str
    want: dict[str, Any] | None
    have: dict[str, Any] | None
    action: Action
    changed: tuple[str, ...] = ()
    after: dict[str, Any] | None = None  # the attributes `after` must hold (a subset)
    recorded: bool = False
    created_by_reconciler: bool = False
    write_only: dict[str, Any] = field(default_factory=dict)
    widens: bool = False


def perm(mailbox: str, rights: str, flags: list[str] | None) -> dict[str, Any]:
    return {"mailbox": mailbox, "grantee": SVC, "access_rights": rights, "sharing_permission_flags": flags}


EDC = ["CanViewPrivateItems", "Delegate"]
SCOPE = {"name": "CronofyImpersonationScope", "recipient_filter": f"MemberOfGroup -eq '{DN}'"}
ASSIGNMENT = {"role": "Application Calendars.ReadWrite", "assignee": APP, "assignee_type": "app", "scope": "S"}
ROWS = [
    # user
    Row("user", "service_account", {"user_principal_name": SVC, "display_name": "A"}, None, Action.CREATE),
    Row(
        "user",
        "service_account",
        {"user_principal_name": SVC, "display_name": "B"},
        {"user_principal_name": SVC.upper(), "display_name": "A", "given_name": None},
        Action.UPDATE,
        ("display_name",),
        {"display_name": "B", "given_name": None},
    ),
    Row(
        "user",
        "service_account",
        None,
        {"user_principal_name": SVC},
        Action.DELETE,
        recorded=True,
        created_by_reconciler=True,
    ),
    Row("user", "service_account", None, {"user_principal_name": SVC}, Action.FORGET, recorded=True),
    # license_assignment (never deletable)
    Row(
        "license_assignment",
        "service_account",
        {"user": SVC, "skus": []},
        {"user": SVC, "skus": ["E3"]},
        Action.UPDATE,
        ("skus",),
        {"skus": []},
    ),
    Row(
        "license_assignment",
        "service_account",
        None,
        {"user": SVC, "skus": ["E3"]},
        Action.FORGET,
        recorded=True,
        created_by_reconciler=True,
    ),
    # management_scope: Exchange's stored filter form compares equal
    Row(
        "management_scope",
        "CronofyImpersonationScope",
        SCOPE,
        {**SCOPE, "recipient_filter": f"(MemberOfGroup -eq '{DN}')"},
        Action.NOOP,
    ),
    Row(
        "management_scope",
        "CronofyImpersonationScope",
        SCOPE,
        {**SCOPE, "recipient_filter": "Department -eq 'x'"},
        Action.UPDATE,
        ("recipient_filter",),
    ),
    # role_assignment: matched by role and holder, whatever its name; scope changed in place
    Row("role_assignment", "A", ASSIGNMENT, {**ASSIGNMENT, "scope": None}, Action.UPDATE, ("scope",), {"scope": "S"}),
    Row("role_assignment", "A", ASSIGNMENT, {**ASSIGNMENT, "scope": "S"}, Action.NOOP),
    Row(
        "role_assignment",
        "A",
        ASSIGNMENT,
        {**ASSIGNMENT, "role": "Application Calendars.Read"},
        Action.REPLACE,
        ("role",),
        widens=True,
    ),
    Row("role_assignment", "A", {**ASSIGNMENT, "scope": None}, ASSIGNMENT, Action.UPDATE, ("scope",), widens=True),
    # a disabled assignment grants nothing: enabled again in place (Set-ManagementRoleAssignment -Enabled $true)
    Row(
        "role_assignment",
        "A",
        {**ASSIGNMENT, "enabled": True},
        {**ASSIGNMENT, "enabled": False},
        Action.UPDATE,
        ("enabled",),
        {"enabled": True, "scope": "S"},
    ),
    # one left behind by a removed service principal, now held by another object id: replaced
    Row(
        "role_assignment",
        "A",
        ASSIGNMENT,
        {**ASSIGNMENT, "assignee": "6f1c0e7e-0000-4000-8000-000000000001"},
        Action.REPLACE,
        ("assignee",),
    ),
    # service_principal: the app's Exchange pointer, compared on its app id only (the display name decides nothing)
    Row("service_principal", APP, {"app_id": APP, "display_name": "Cronofy"}, None, Action.CREATE),
    Row(
        "service_principal",
        APP,
        {"app_id": APP, "display_name": "Cronofy"},
        {"app_id": APP.upper(), "display_name": "Renamed by hand"},
        Action.NOOP,
        after={"display_name": "Renamed by hand"},
    ),
    # never removed: it may serve role assignments reconciler does not manage
    Row("service_principal", APP, None, {"app_id": APP}, Action.FORGET, recorded=True, created_by_reconciler=True),
    Row("service_principal", APP, None, {"app_id": APP}, Action.FORGET, recorded=True),
    # application_access_policy: every attribute is create-only
    Row(
        "application_access_policy",
        APP,
        {"app_id": APP, "scope_group": "cronofy-access@contoso.com", "access_right": "RestrictAccess"},
        {"app_id": APP, "scope_group": "other@contoso.com", "access_right": "RestrictAccess"},
        Action.REPLACE,
        ("scope_group",),
    ),
    # room_list: listed rooms must be members; others stay unless exclusive
    Row(
        "room_list",
        "Meeting Rooms",
        {"name": "Meeting Rooms", "room_list": True, "rooms": ["a@x"]},
        {"name": "Meeting Rooms", "room_list": True, "rooms": ["a@x", "b@x"]},
        Action.NOOP,
        write_only={"exclusive": False},
    ),
    Row(
        "room_list",
        "Meeting Rooms",
        {"name": "Meeting Rooms", "room_list": True, "rooms": ["a@x", "c@x"]},
        {"name": "Meeting Rooms", "room_list": True, "rooms": ["a@x", "b@x"]},
        Action.UPDATE,
        ("rooms",),
        {"rooms": ["a@x", "b@x", "c@x"]},
        write_only={"exclusive": False},
    ),
    Row(
        "room_list",
        "Meeting Rooms",
        {"name": "Meeting Rooms", "room_list": True, "rooms": ["a@x"]},
        {"name": "Meeting Rooms", "room_list": False, "rooms": ["a@x", "b@x"]},
        Action.UPDATE,
        ("room_list", "rooms"),
        {"rooms": ["a@x"], "room_list": True},
        write_only={"exclusive": True},
    ),
    # calendar_permission: changed in place, raising rights widens access
    Row("calendar_permission", f"alice@x/{SVC}", perm("alice@x", "Editor", EDC), None, Action.CREATE),
    Row(
        "calendar_permission",
        f"alice@x/{SVC}",
        perm("alice@x", "Editor", EDC),
        perm("alice@x", "Reviewer", []),
        Action.UPDATE,
        ("access_rights", "sharing_permission_flags"),
        widens=True,
    ),
    Row(
        "calendar_permission",
        f"alice@x/{SVC}",
        perm("alice@x", "Editor", EDC),
        perm("alice@x", "Editor", EDC[::-1]),
        Action.NOOP,
    ),
    # ews_access: the app is added; apps already listed are kept
    Row(
        "ews_access",
        "organization",
        {"ews_enabled": True, "allowed_app_ids": [APP]},
        {"ews_enabled": True, "allowed_app_ids": ["other"]},
        Action.UPDATE,
        ("allowed_app_ids",),
        {"allowed_app_ids": ["other", APP]},
    ),
    Row(
        "ews_access",
        "organization",
        {"ews_enabled": True, "allowed_app_ids": [APP]},
        {"ews_enabled": False, "allowed_app_ids": [APP.upper(), "other"]},
        Action.UPDATE,
        ("ews_enabled",),
    ),
    # room_booking: only the settings the spec names are compared; the others are never drift
    Row(
        "room_booking",
        "boardroom@x",
        {"room": "boardroom@x", "automate_processing": "AutoAccept", "process_external_meeting_messages": True},
        {
            "room": "boardroom@x",
            "automate_processing": "AutoAccept",
            "process_external_meeting_messages": False,
            "delete_subject": True,
        },
        Action.UPDATE,
        ("process_external_meeting_messages",),
        {"process_external_meeting_messages": True, "delete_subject": True},
    ),
    Row(
        "room_booking",
        "boardroom@x",
        {"room": "boardroom@x", "booking_window_in_days": 365},
        {"room": "BoardRoom@x", "booking_window_in_days": 365, "allow_conflicts": True, "delete_subject": False},
        Action.NOOP,
    ),
    Row(
        "room_booking",
        "boardroom@x",
        None,
        {"room": "boardroom@x", "automate_processing": "AutoAccept"},
        Action.FORGET,
        recorded=True,
        created_by_reconciler=True,
    ),
    # room: named properties only; tags compare as a set
    Row(
        "room",
        "boardroom@x",
        {"room": "boardroom@x", "capacity": 12, "tags": ["view", "whiteboard"]},
        {"room": "boardroom@x", "capacity": 8, "tags": ["whiteboard", "view"], "building": "B1", "label": None},
        Action.UPDATE,
        ("capacity",),
        {"capacity": 12, "building": "B1"},
    ),
    Row(
        "room",
        "boardroom@x",
        {"room": "boardroom@x", "floor_number": 3},
        {"room": "boardroom@x", "floor_number": 3, "capacity": 40, "is_wheel_chair_accessible": False},
        Action.NOOP,
    ),
    # entra_consent: never asked for; a record of one (none is ever written) is only forgotten, never revoked
    Row(
        "entra_consent",
        f"{APP}/Calendars.ReadWrite",
        None,
        {"app_id": APP, "permission": "Calendars.ReadWrite", "resource": "Microsoft Graph"},
        Action.FORGET,
        recorded=True,
        created_by_reconciler=True,
    ),
    # a hybrid tenant's ExchangeServerApp-* entry stays, exactly as written (the list is written back whole)
    Row(
        "ews_access",
        "organization",
        {"ews_enabled": True, "allowed_app_ids": [APP]},
        {"ews_enabled": True, "allowed_app_ids": ["ExchangeServerApp-5d8ac7f9"]},
        Action.UPDATE,
        ("allowed_app_ids",),
        {"allowed_app_ids": ["ExchangeServerApp-5d8ac7f9", APP]},
    ),
]


def run(row: Row) -> Change:
    kind = KINDS[row.kind]
    address = f"{row.kind}.{row.name}"
    desired = [Desired(row.kind, row.name, row.want, dict(row.write_only))] if row.want is not None else []
    observed = [Observed(address, "id-1", row.have)] if row.have is not None else []
    records = (
        [
            ResourceRecord(
                address=address,
                kind=row.kind,
                id="id-1",
                attributes=row.have or row.want or {},
                created_by_reconciler=row.created_by_reconciler,
            )
        ]
        if row.recorded
        else []
    )
    items, extras = kind.match(desired, observed, records)
    assert extras == []
    assert len(items) == 1
    return diff(items[0])


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.kind}-{r.action.value}-{i}" for i, r in enumerate(ROWS)])
def test_diff_table(row: Row) -> None:
    change = run(row)
    assert change.action is row.action, change
    if row.action in (Action.UPDATE, Action.REPLACE):
        assert change.changed == sorted(row.changed)
        assert change.before == row.have
    for name, value in (row.after or {}).items():
        assert change.after is not None and change.after[name] == value, (name, change.after)
    assert bool(change.widens) is row.widens, change.widens
    if row.action is Action.CREATE:
        assert change.before is None and change.after is not None


def test_every_kind_has_rows() -> None:
    assert {r.kind for r in ROWS} == set(KINDS)


def test_role_assignment_matches_by_role_and_holder_and_reports_the_rest_as_wider(tmp_path: Path) -> None:
    kind = KINDS["role_assignment"]
    want = Desired("role_assignment", "CronofyImpersonationAssignment", ASSIGNMENT)
    same = Observed("role_assignment.OtherName", "OtherName", ASSIGNMENT)
    unscoped = Observed("role_assignment.ByHand", "ByHand", {**ASSIGNMENT, "scope": None})
    items, extras = kind.match([want], [unscoped, same], [])
    assert items[0].observed is same and extras == [unscoped]
    assert diff(items[0]).action is Action.NOOP
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\ntenant: {id: 6972eeb0-1bf6-5393-8f32-08076f624a10}\nintegration: {app_id: " + APP + "}\n"
        "service_account: {user_principal_name: " + SVC + ", display_name: S}\n"
        "access: {level: free_busy, scope_group: g, exclusive: true, folder_permissions: false}\n",
        encoding="utf-8",
    )
    loaded = load_spec(spec)
    found = wider(kind, unscoped, loaded)
    assert found is not None
    finding, removal = found
    assert "every mailbox (no scope)" in finding.message and finding.removed
    assert removal is not None and removal.action is Action.DELETE
    assert finding.fix == ["Remove-ManagementRoleAssignment -Identity 'ByHand' -Confirm:$false"]
    disabled = Observed("role_assignment.Off", "Off", {**ASSIGNMENT, "scope": None, "enabled": False})
    assert wider(kind, disabled, loaded) is None  # a disabled assignment grants nothing


@pytest.mark.parametrize("restriction", ["rbac_for_applications", "application_access_policy"])
def test_an_entra_consent_is_wider_only_for_an_app_scoped_by_rbac(tmp_path: Path, restriction: str) -> None:
    """Consents are additive to RBAC for Applications: reported, never removed by reconciler (even exclusive);
    under an access policy the consent is what the policy restricts."""
    kind = KINDS["entra_consent"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "version: 1\ntenant: {id: 6972eeb0-1bf6-5393-8f32-08076f624a10}\n"
        f"integration: {{app_id: {APP}, restriction: {restriction}}}\n"
        "service_account: {user_principal_name: " + SVC + ", display_name: S}\n"
        "access: {level: free_busy, scope_group: g, exclusive: true, folder_permissions: false}\n",
        encoding="utf-8",
    )
    loaded = load_spec(spec)
    attributes = {
        "app_id": APP,
        "permission": "Calendars.ReadWrite",
        "resource": "Microsoft Graph",
        "service_principal_id": "sp-1",
    }
    consent = Observed(f"entra_consent.{APP}/Calendars.ReadWrite", "grant-1", attributes)
    assert kind.concerned(loaded) is (restriction == "rbac_for_applications")
    found = wider(kind, consent, loaded)
    assert found is not None  # wider() is asked only of what refresh read: the backend reads it for rbac only
    finding, removal = found
    assert "Calendars.ReadWrite" in finding.message and "every mailbox" in finding.message
    assert not finding.removed and removal is None
    assert finding.fix == [
        "Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId 'sp-1' -AppRoleAssignmentId 'grant-1'"
    ]
    assert kind.backend(Target.EXCHANGE_SERVER).automated and not kind.desired(loaded, {})


@pytest.mark.parametrize("target", [Target.EXCHANGE_ONLINE, Target.EXCHANGE_SERVER])
def test_backends_are_chosen_once_per_target(target: Target) -> None:
    manual = {name for name, kind in KINDS.items() if not kind.backend(target).automated}
    server = {"management_scope", "role_assignment", "room_list", "room_booking"}
    expected = server if target is Target.EXCHANGE_SERVER else set()
    assert manual == expected


def test_exchange_server_manual_steps_come_from_the_change() -> None:
    change = Change(
        address="role_assignment.CronofyImpersonationAssignment",
        kind="role_assignment",
        action=Action.CREATE,
        after={
            "role": "ApplicationImpersonation",
            "assignee": "cronofy-svc@contoso.com",
            "assignee_type": "user",
            "scope": "CronofyImpersonationScope",
        },
    )
    commands = KINDS["role_assignment"].backend(Target.EXCHANGE_SERVER).manual(change)
    assert commands == [
        "if (Get-ManagementRoleAssignment -Identity 'CronofyImpersonationAssignment' -ErrorAction SilentlyContinue) "
        "{ Set-ManagementRoleAssignment -Identity 'CronofyImpersonationAssignment' -CustomRecipientWriteScope "
        "'CronofyImpersonationScope' -Enabled $true } else { New-ManagementRoleAssignment -Name "
        "'CronofyImpersonationAssignment' -Role ApplicationImpersonation -User 'cronofy-svc@contoso.com' "
        "-CustomRecipientWriteScope 'CronofyImpersonationScope' }"
    ]
    rooms = Change(
        address="room_list.Meeting Rooms",
        kind="room_list",
        action=Action.UPDATE,
        before={"name": "Meeting Rooms", "room_list": True, "rooms": ["a@x"]},
        after={"name": "Meeting Rooms", "room_list": True, "rooms": ["a@x", "b@x"]},
        changed=["rooms"],
    )
    assert KINDS["room_list"].backend(Target.EXCHANGE_SERVER).manual(rooms) == [
        "Set-DistributionGroup -Identity 'Meeting Rooms' -RoomList",
        "if ((Get-DistributionGroupMember -Identity 'Meeting Rooms').PrimarySmtpAddress -notcontains 'b@x') "
        "{ Add-DistributionGroupMember -Identity 'Meeting Rooms' -Member 'b@x' }",
    ]


def test_room_booking_writes_only_what_differs_and_the_shell_command_sets_every_named_setting() -> None:
    change = Change(
        address="room_booking.boardroom@contoso.com",
        kind="room_booking",
        action=Action.UPDATE,
        before={"room": "boardroom@contoso.com", "automate_processing": "AutoUpdate", "allow_conflicts": False},
        after={"room": "boardroom@contoso.com", "automate_processing": "AutoAccept", "allow_conflicts": False},
        changed=["automate_processing"],
    )
    kind = KINDS["room_booking"]
    assert kind.powershell(change.model_dump(mode="json")) == [
        "Set-CalendarProcessing -Identity 'boardroom@contoso.com' -AutomateProcessing AutoAccept"
    ]
    assert kind.backend(Target.EXCHANGE_SERVER).manual(change) == [
        "Set-CalendarProcessing -Identity 'boardroom@contoso.com' -AllowConflicts $false -AutomateProcessing AutoAccept"
    ]


def test_only_exchange_servers_room_booking_records_the_commands_it_prints() -> None:
    """Apply records what the printed Set-CalendarProcessing sets (the settings EWS cannot read come from it later);
    the other manual kinds record nothing until the next plan confirms them."""
    change = Change(
        address="room_booking.boardroom@contoso.com",
        kind="room_booking",
        action=Action.UPDATE,
        before={"room": "boardroom@contoso.com", "automate_processing": "AutoUpdate", "allow_conflicts": None},
        after={"room": "boardroom@contoso.com", "automate_processing": "AutoAccept", "allow_conflicts": False},
        changed=["allow_conflicts", "automate_processing"],
    )
    server = KINDS["room_booking"].backend(Target.EXCHANGE_SERVER)
    recorded = server.record_manual(change)
    assert recorded is not None and recorded.attributes == change.after
    assert "not readable over EWS" in str(server.caveat()) and "AutomateProcessing" in str(server.caveat())
    others = [k for name, k in KINDS.items() if name != "room_booking"]
    assert all(k.backend(Target.EXCHANGE_SERVER).record_manual(change) is None for k in others)
    assert KINDS["room_booking"].backend(Target.EXCHANGE_ONLINE).record_manual(change) is None
