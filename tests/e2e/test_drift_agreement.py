"""One comparison, two reports: after any hand change, `drift` exits 2 exactly when `plan --detailed-exitcode`
does (both read the tenant, resolve the spec and diff the same way). 200 seeded random hand changes."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from tests.conftest import E3, Tenant

SVC = "cronofy-svc@contoso.onmicrosoft.com"
APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
SCOPE_GROUP = "cronofy-scope@contoso.com"
CSV_MAILBOXES = ("boardroom@contoso.com", "confrooma@contoso.com", "alice@contoso.com")
OTHERS = ("bob@contoso.com", "carol@contoso.com", "dave@contoso.com")
RIGHTS = ("Reviewer", "AvailabilityOnly", "Author", "Editor")
CALENDARS_READ = "798ee544-9d2d-430c-a058-570e29e34338"  # Microsoft Graph application permission id
STEPS = 200

Change = Callable[[Tenant, random.Random], None]


def _permission(tenant: Tenant, rng: random.Random) -> None:
    mailbox = rng.choice(CSV_MAILBOXES + OTHERS)
    identity = {"Identity": f"{mailbox}:\\Calendar", "User": SVC}
    entries = tenant.graph_json(f"/users/{mailbox}/calendar/calendarPermissions")["value"]
    present = SVC in {str(e.get("emailAddress", {}).get("address", "")).lower() for e in entries}
    if present and rng.random() < 0.4:
        tenant.exchange("Remove-MailboxFolderPermission", {**identity, "Confirm": False})
    elif present:
        tenant.exchange("Set-MailboxFolderPermission", {**identity, "AccessRights": [rng.choice(RIGHTS)]})
    else:
        tenant.exchange("Add-MailboxFolderPermission", {**identity, "AccessRights": [rng.choice(RIGHTS)]})


def _aliases(tenant: Tenant, group: str) -> set[str]:
    rows = tenant.exchange("Get-DistributionGroupMember", {"Identity": group})
    return {str(m["PrimarySmtpAddress"]).split("@")[0].lower() for m in rows}


def _membership(tenant: Tenant, rng: random.Random) -> None:
    member = rng.choice(("bob", "carol", "dave"))  # not the CSV's: outside the scope, the spec is refused
    members = _aliases(tenant, SCOPE_GROUP)
    cmdlet = "Remove-DistributionGroupMember" if member in members else "Add-DistributionGroupMember"
    parameters = {"Identity": SCOPE_GROUP, "Member": member}
    tenant.exchange(cmdlet, {**parameters, "Confirm": False} if cmdlet.startswith("Remove") else parameters)


def _license(tenant: Tenant, rng: random.Random) -> None:
    add = rng.random() < 0.5
    body = {"addLicenses": [{"skuId": E3, "disabledPlans": []}] if add else [], "removeLicenses": [] if add else [E3]}
    tenant.graph("POST", f"/users/{SVC}/assignLicense", body)


def _display_name(tenant: Tenant, rng: random.Random) -> None:
    tenant.graph("PATCH", f"/users/{SVC}", {"displayName": rng.choice(("Cronofy Service Account", "Renamed"))})


def _assignment(tenant: Tenant, rng: random.Random) -> None:
    principals = [r for r in tenant.exchange("Get-ServicePrincipal", {}) if str(r.get("AppId")).lower() == APP]
    if not principals:
        return
    rows = tenant.exchange("Get-ManagementRoleAssignment", {"RoleAssignee": principals[0]["ObjectId"]})
    if rows and rng.random() < 0.5:
        tenant.exchange("Remove-ManagementRoleAssignment", {"Identity": rng.choice(rows)["Name"], "Confirm": False})
    else:
        name = f"ByHand{rng.randrange(1000)}"
        role = rng.choice(("Application Calendars.ReadWrite", "Application Calendars.Read"))
        tenant.exchange("New-ManagementRoleAssignment", {"Name": name, "Role": role, "App": principals[0]["ObjectId"]})


def _service_principal(tenant: Tenant, rng: random.Random) -> None:
    """The integration's Exchange service principal removed by hand (its role assignments stay behind), or registered
    again by hand with the enterprise application's object id."""
    principals = [r for r in tenant.exchange("Get-ServicePrincipal", {}) if str(r.get("AppId")).lower() == APP]
    if principals:
        tenant.exchange("Remove-ServicePrincipal", {"Identity": APP, "Confirm": False})
    elif rng.random() < 0.5:
        entra = tenant.graph_json(f"/servicePrincipals(appId='{APP}')")
        tenant.exchange("New-ServicePrincipal", {"AppId": APP, "ObjectId": entra["id"], "DisplayName": "By hand"})


def _enabled(tenant: Tenant, rng: random.Random) -> None:
    """A role assignment of the app disabled or enabled by hand (Set-ManagementRoleAssignment -Enabled)."""
    rows = [
        r
        for r in tenant.exchange("Get-ManagementRoleAssignment", {})
        if r.get("RoleAssigneeType") == "ServicePrincipal"
    ]
    if rows:
        row = rng.choice(rows)
        tenant.exchange("Set-ManagementRoleAssignment", {"Identity": row["Name"], "Enabled": not row["Enabled"]})


def _scope_group(tenant: Tenant, rng: random.Random) -> None:
    """The scope group deleted and made again under the same name and address, with the same members."""
    del rng
    members = sorted(_aliases(tenant, SCOPE_GROUP))
    tenant.exchange("Remove-DistributionGroup", {"Identity": SCOPE_GROUP, "Confirm": False})
    parameters = {"Name": "Cronofy Rooms and Users", "Alias": "cronofy-scope", "PrimarySmtpAddress": SCOPE_GROUP}
    tenant.exchange("New-DistributionGroup", {**parameters, "Members": members})


def _room_list(tenant: Tenant, rng: random.Random) -> None:
    if not tenant.exchange("Get-DistributionGroup", {"RecipientTypeDetails": "RoomList"}):
        return
    room = rng.choice(("boardroom", "confroomb"))
    members = _aliases(tenant, "Meeting Rooms")
    if room in members:
        tenant.exchange(
            "Remove-DistributionGroupMember", {"Identity": "Meeting Rooms", "Member": room, "Confirm": False}
        )
    else:
        tenant.exchange("Add-DistributionGroupMember", {"Identity": "Meeting Rooms", "Member": room})


def _consent(tenant: Tenant, rng: random.Random) -> None:
    """An admin consents Calendars.Read for the integration's app in Entra ID (its enterprise app's
    appRoleAssignments), or revokes the consent it holds: wider than an RBAC for Applications spec while it is there."""
    sp_id = tenant.graph_json(f"/servicePrincipals(appId='{APP}')")["id"]
    held = tenant.graph_json(f"/servicePrincipals/{sp_id}/appRoleAssignments")["value"]
    if held:
        tenant.graph("DELETE", f"/servicePrincipals/{sp_id}/appRoleAssignments/{held[0]['id']}")
    elif rng.random() < 0.5:

        def grant(data: dict[str, Any]) -> None:
            sp = next(s for s in data["servicePrincipals"] if s["id"] == sp_id)
            sp["appRoleAssignments"] = [
                {
                    "id": f"consent-{rng.randrange(1000)}",
                    "appRoleId": CALENDARS_READ,
                    "principalId": sp_id,
                    "principalType": "ServicePrincipal",
                    "resourceDisplayName": "Microsoft Graph",
                }
            ]

        tenant.set_tenant(grant)


CHANGES: tuple[Change, ...] = (
    _permission,
    _permission,
    _membership,
    _license,
    _display_name,
    _assignment,
    _room_list,
    _service_principal,
    _enabled,
    _scope_group,
    _consent,
)


def test_drift_and_plan_agree_after_random_hand_changes(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    rng = random.Random(20261202)
    drifted = consented = 0
    for step in range(STEPS):
        change = rng.choice(CHANGES)
        change(tenant, rng)
        plan = tenant.cli("plan", spec, "--detailed-exitcode", "--json")
        drift = tenant.cli("drift", spec, "--json")
        assert plan.exit_code in (0, 2), (step, change.__name__, plan.output)
        assert drift.exit_code == plan.exit_code, (step, change.__name__, plan.stdout, drift.stdout)
        drifted += drift.exit_code == 2
        consented += any(f["kind"] == "entra_consent" for f in json.loads(plan.stdout)["wider_access"])
        if step % 15 == 14:  # converge now and then, so later changes start from the spec again
            applied = tenant.cli("apply", spec, "--auto-approve")
            assert applied.exit_code == 0, (step, applied.output)
    assert drifted > STEPS // 4  # the walk did leave the spec, often
    assert consented > 0  # and passed through an Entra ID consent beside RBAC for Applications
