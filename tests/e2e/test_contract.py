"""The plan is the contract: a saved plan runs exactly as reviewed or not at all; one apply converges;
access wider than the spec is shown (and removed only when the spec owns it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Tenant, granted, write_access_spec

APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
SVC = "cronofy-svc@contoso.onmicrosoft.com"


def write(tenant: Tenant, name: str, tail: str = "") -> str:
    return write_access_spec(tenant, name, tail)


def permission(tenant: Tenant, mailbox: str) -> list[str]:
    rows = tenant.exchange("Get-MailboxFolderPermission", {"Identity": f"{mailbox}:\\Calendar", "User": SVC})
    return [str(r["AccessRights"][0]) for r in rows]


def exchange_section(tenant: Tenant) -> Any:
    return tenant.tenant_data()["exchange"]


def test_saved_plan_refused_before_any_write_when_the_tenant_moved(tenant: Tenant) -> None:
    spec = write(tenant, "moved")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    tenant.exchange(
        "Set-MailboxFolderPermission",
        {"Identity": "alice@contoso.com:\\Calendar", "User": SVC, "AccessRights": ["Reviewer"]},
    )
    planfile = tenant.root / "moved.plan.json"
    made = tenant.cli("plan", spec, "--out", str(planfile))
    assert made.exit_code == 0, made.output
    assert "calendar_permission.alice@contoso.com" in made.stdout

    # after review, the tenant moves: a scope-group member leaves, the permission is changed again by hand
    tenant.exchange("Remove-DistributionGroupMember", {"Identity": "cronofy-scope@contoso.com", "Member": "carol"})
    tenant.exchange(
        "Set-MailboxFolderPermission",
        {"Identity": "alice@contoso.com:\\Calendar", "User": SVC, "AccessRights": ["Author"]},
    )
    state_before = tenant.state_data_of("moved")
    exchange_before = exchange_section(tenant)

    applied = tenant.cli("apply", str(planfile))
    assert applied.exit_code == 1, applied.output
    assert "Traceback" not in applied.output
    assert "the tenant changed since this plan was made; nothing was applied" in applied.output
    assert "calendar_permission.alice@contoso.com/cronofy-svc@contoso.onmicrosoft.com" in applied.output
    assert "carol@contoso.com" in applied.output  # the looked-up scope-group members moved
    assert tenant.state_data_of("moved") == state_before
    assert exchange_section(tenant) == exchange_before
    assert permission(tenant, "alice@contoso.com") == ["Author"]


@pytest.mark.parametrize(
    ("kind", "name", "value"),
    [
        ("calendar_permission", "mailbox", "dave@contoso.com"),
        ("calendar_permission", "access_rights", "Owner"),
        ("role_assignment", "scope", None),
    ],
    ids=["address", "access-right", "scope"],
)
def test_hand_edited_saved_plan_refused_before_any_write(tenant: Tenant, kind: str, name: str, value: Any) -> None:
    spec = write(tenant, "edited")
    planfile = tenant.root / "edited.plan.json"
    assert tenant.cli("plan", spec, "--out", str(planfile)).exit_code == 0
    plan = json.loads(planfile.read_text(encoding="utf-8"))
    change = next(c for c in plan["changes"] if c["kind"] == kind)
    change["after"][name] = value
    planfile.write_text(json.dumps(plan), encoding="utf-8")
    exchange_before = exchange_section(tenant)

    applied = tenant.cli("apply", str(planfile))
    assert applied.exit_code == 1, applied.output
    assert "was changed after it was made" in applied.output
    assert "Traceback" not in applied.output
    assert exchange_section(tenant) == exchange_before
    assert not (tenant.root / "state" / "specs" / "edited.json").exists()


def test_room_list_made_by_the_same_spec_converges_in_one_apply(tenant: Tenant) -> None:
    spec = write(
        tenant,
        "rooms",
        "  mailboxes:\n    room_list: Cronofy Rooms\nroom_lists:\n"
        "  - name: Cronofy Rooms\n    rooms: [Board room, confrooma]\n",
    )
    plan = tenant.cli("plan", spec)
    assert plan.exit_code == 0, plan.output
    assert 'room_list "Cronofy Rooms"' in plan.stdout
    assert 'calendar_permission "boardroom@contoso.com/cronofy-svc@contoso.onmicrosoft.com"' in plan.stdout
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    again = tenant.cli("plan", spec, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout
    assert permission(tenant, "confrooma@contoso.com") == ["Editor"]
    assert not granted(tenant, "alice@contoso.com")  # only the room list's rooms, not the scope group's members


def _service_principal(tenant: Tenant) -> str:
    rows = tenant.exchange("Get-ServicePrincipal", {"Identity": APP})
    return str(next(r for r in rows if str(r["AppId"]).lower() == APP)["ObjectId"])


def test_unscoped_assignment_made_by_hand_is_wider_access(tenant: Tenant) -> None:
    spec = write(tenant, "wider")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    tenant.exchange(
        "New-ManagementRoleAssignment",
        {"Name": "ByHand", "Role": "Application Calendars.ReadWrite", "App": _service_principal(tenant)},
    )

    plan = tenant.cli("plan", spec, "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "(!)" in plan.stdout and "role_assignment.ByHand" in plan.stdout
    assert "every mailbox (no scope)" in plan.stdout
    assert "Remove-ManagementRoleAssignment -Identity 'ByHand' -Confirm:$false" in plan.stdout
    assert "No changes." in plan.stdout  # reported, not removed: the spec does not own that access

    drift = tenant.cli("drift", spec, "--json")
    assert drift.exit_code == 2, drift.output
    entries = {e["address"]: e for e in json.loads(drift.stdout)["entries"]}
    assert entries["role_assignment.ByHand"]["status"] == "wider"
    assert any("Remove-ManagementRoleAssignment" in line for line in entries["role_assignment.ByHand"]["fix"])

    verify = tenant.cli("verify", spec)
    assert verify.exit_code == 1, verify.output
    outside = [line for line in verify.stdout.splitlines() if "(expected: refused)" in line]
    assert outside and all(line.startswith("FAIL Test-ServicePrincipalAuthorization") for line in outside)

    markdown = tenant.cli("drift", spec, "--format", "markdown")
    assert markdown.exit_code == 2 and "access wider than the spec" in markdown.stdout

    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert tenant.exchange("Get-ManagementRoleAssignment", {"Identity": "ByHand"})  # still there

    owned = (
        Path(spec)
        .read_text(encoding="utf-8")
        .replace(
            "  scope_group: cronofy-scope@contoso.com\n",
            "  scope_group: cronofy-scope@contoso.com\n  exclusive: true\n",
        )
    )
    Path(spec).write_text(owned, encoding="utf-8")
    plan = tenant.cli("plan", spec)
    assert plan.exit_code == 0, plan.output
    assert '- role_assignment "ByHand"' in plan.stdout
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    remaining = tenant.exchange("Get-ManagementRoleAssignment", {"RoleAssignee": _service_principal(tenant)})
    assert [r["Name"] for r in remaining] == ["CronofyImpersonationAssignment"]
    final = tenant.cli("plan", spec, "--detailed-exitcode")
    assert final.exit_code == 0 and "No changes." in final.stdout


def test_folder_permission_outside_the_spec_is_found_and_removed_when_the_spec_owns_the_access(tenant: Tenant) -> None:
    spec = write(tenant, "owned", "  exclusive: true\n")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    tenant.exchange(
        "Add-MailboxFolderPermission",
        {"Identity": "dave@contoso.com:\\Calendar", "User": SVC, "AccessRights": ["Reviewer"]},
    )
    plan = tenant.cli("plan", spec, "--json")
    found = json.loads(plan.stdout)
    wider = {f["address"]: f for f in found["wider_access"]}
    address = f"calendar_permission.dave@contoso.com/{SVC}"
    assert address in wider and wider[address]["removed"] is True
    assert "Reviewer on dave@contoso.com's Calendar" in wider[address]["message"]
    assert any(c["address"] == address and c["action"] == "delete" for c in found["changes"])
    drift = tenant.cli("drift", spec)
    assert drift.exit_code == 2 and address in drift.stdout
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert not granted(tenant, "dave@contoso.com")
    final = tenant.cli("plan", spec, "--detailed-exitcode")
    assert final.exit_code == 0, final.output


def test_an_organization_wide_assignment_is_narrowed_in_place(tenant: Tenant) -> None:
    """Brownfield: the app already holds its role on every mailbox; the spec narrows it to the scope group."""
    sp = tenant.graph_json(f"/servicePrincipals(appId='{APP}')")
    tenant.exchange("New-ServicePrincipal", {"AppId": APP, "ObjectId": sp["id"], "DisplayName": "Cronofy"})
    tenant.exchange(
        "New-ManagementRoleAssignment",
        {"Name": "Org-wide", "Role": "Application Calendars.ReadWrite", "App": sp["id"]},
    )
    spec = write(tenant, "narrow")
    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    [role] = [c for c in plan["changes"] if c["kind"] == "role_assignment"]
    assert (role["action"], role["id"], role["changed"]) == ("update", "Org-wide", ["scope"])
    assert role["before"]["scope"] is None and role["after"]["scope"] == "CronofyImpersonationScope"
    assert role["widens"] is None
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    [row] = tenant.exchange("Get-ManagementRoleAssignment", {"RoleAssignee": sp["id"]})
    assert (row["Name"], row["CustomResourceScope"]) == ("Org-wide", "CronofyImpersonationScope")
    again = tenant.cli("plan", spec, "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.stdout


def test_a_tenant_named_by_its_domain_alone_works(tenant: Tenant) -> None:
    """The id is looked up from the domain (the OpenID Connect discovery document), as against a real tenant."""
    spec = write(tenant, "by-domain")
    path = Path(spec)
    path.write_text(path.read_text(encoding="utf-8").replace(f"  id: {tenant.tenant_id}\n", ""), encoding="utf-8")
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    again = tenant.cli("plan", spec, "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.stdout
    wrong = path.read_text(encoding="utf-8").replace("domain: contoso.onmicrosoft.com", "domain: fabrikam.example")
    path.write_text(wrong, encoding="utf-8")
    refused = tenant.cli("plan", spec, "--state", str(tenant.root / "fresh.json"))  # (its own state: a new tenant)
    assert refused.exit_code == 1 and "tenant fabrikam.example was not found" in refused.output
    assert "Traceback" not in refused.output
