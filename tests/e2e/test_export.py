"""`reconciler export`: a spec of what the tenant has now, which then plans to no changes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench import SPEC as BENCH_SPEC
from reconciler.simulator import Simulator, init_tenant
from tests.conftest import E3, PASSWORD, SVC, Result, Tenant, Workspace

APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
FREE_BUSY_APP = "9437e0a7-15ef-46bd-9106-da9b1477234d"
FLOW_FREE = "f30db892-07e9-47e9-837c-80727f46fd3d"
EXCHANGESTANDARD = "4b9405b0-7788-4568-add1-99614e613b69"
EDITOR_DELEGATE = {"AccessRights": ["Editor"], "SharingPermissionFlags": "Delegate,CanViewPrivateItems"}
SERVER_SVC = "cronofy-svc@contoso.com"


def _minimal_spec(tenant: Tenant, folder: str = "specs") -> Path:
    """Only what export needs: version and the tenant (with a comment, which export must copy as written)."""
    path = tenant.root / folder / "min.yaml"
    simulator = "../state/simulated-tenant.json" if folder == "specs" else "state/simulated-tenant.json"
    path.write_text(
        f"version: 1\ntenant:\n  id: {tenant.tenant_id}   # Contoso (simulated)\n"
        f"  domain: contoso.onmicrosoft.com\n  simulator: {simulator}\n",
        encoding="utf-8",
    )
    return path


def _export(tenant: Tenant, spec: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> str:
    result = tenant.cli("export", str(spec), "--out", str(out), *extra, env=env)
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert PASSWORD not in text
    return text


def _assert_no_changes(tenant: Tenant, spec: Path, env: dict[str, str] | None = None) -> None:
    """The exported spec, planned with a fresh state, changes nothing: every object is only adopted into state
    (which `--detailed-exitcode` counts as a difference, exit 2); after adopting, the plan is empty (exit 0)."""
    assert tenant.cli("validate", str(spec), env=env).exit_code == 0
    plan = tenant.cli("plan", str(spec), "--json", env=env)
    assert plan.exit_code == 0, plan.output
    summary = json.loads(plan.stdout)["summary"]
    assert (summary["add"], summary["change"], summary["destroy"], summary["forget"]) == (0, 0, 0, 0), summary
    assert "No changes." in tenant.cli("plan", str(spec), env=env).stdout
    assert tenant.cli("apply", str(spec), "--auto-approve", env=env).exit_code == 0
    again = tenant.cli("plan", str(spec), "--detailed-exitcode", env=env)
    assert again.exit_code == 0 and "No changes." in again.stdout, again.output


def test_tenant_configured_by_hand_exports_to_a_spec_with_no_changes(tenant: Tenant) -> None:
    """The guide's steps done by an admin (Graph and Exchange cmdlets), never by reconciler apply."""
    user = {
        "accountEnabled": True,
        "displayName": "Cronofy Calendar Sync",
        "givenName": "Cronofy",
        "surname": "Sync",
        "mailNickname": "cronofy-svc",
        "userPrincipalName": SVC,
        "usageLocation": "GB",
        "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False},
    }
    assert tenant.graph("POST", "/users", user).exit_code == 0
    # E3, Plan 1 and Power Automate Free; E3 is removed below, Plan 1 stays (folder permissions need a mailbox)
    licenses = [{"disabledPlans": [], "skuId": s} for s in (E3, EXCHANGESTANDARD, FLOW_FREE)]
    assert tenant.graph("POST", f"/users/{SVC}/assignLicense", {"addLicenses": licenses, "removeLicenses": []})
    removed = tenant.graph("POST", f"/users/{SVC}/assignLicense", {"addLicenses": [], "removeLicenses": [E3]})
    assert removed.exit_code == 0, removed.output

    tenant.exchange("New-DistributionGroup", {"Name": "Meeting Rooms", "RoomList": True})
    for room in ("Conference room B", "Board room"):
        tenant.exchange("Add-DistributionGroupMember", {"Identity": "Meeting Rooms", "Member": room})
    dn = tenant.exchange("Get-DistributionGroup", {"Identity": "cronofy-scope@contoso.com"})[0]["DistinguishedName"]
    scope = {"Name": "Cronofy mailboxes", "RecipientRestrictionFilter": f"MemberOfGroup -eq '{dn}'"}
    tenant.exchange("New-ManagementScope", scope)
    sp = tenant.graph_json(f"/servicePrincipals(appId='{APP}')")
    tenant.exchange("New-ServicePrincipal", {"AppId": APP, "ObjectId": sp["id"], "DisplayName": "Cronofy"})
    assignment = {
        "Name": "Cronofy calendars",
        "Role": "Application Calendars.ReadWrite",
        "App": sp["id"],
        "CustomResourceScope": "Cronofy mailboxes",
    }
    tenant.exchange("New-ManagementRoleAssignment", assignment)
    in_scope = ("boardroom", "confrooma", "confroomb", "alice", "bob", "carol")
    for alias in in_scope:
        grant = {"Identity": f"{alias}@contoso.com:\\Calendar", "User": SVC, **EDITOR_DELEGATE}
        tenant.exchange("Add-MailboxFolderPermission", grant)
    outside = {"Identity": "dave@contoso.com:\\Calendar", "User": SVC, "AccessRights": ["Reviewer"]}
    tenant.exchange("Add-MailboxFolderPermission", outside)
    author = {"Identity": "admin@contoso.onmicrosoft.com:\\Calendar", "User": SVC, "AccessRights": ["Author"]}
    tenant.exchange("Add-MailboxFolderPermission", author)  # a role Graph shows only as "custom"
    assistant = {"Identity": "carol@contoso.com:\\Calendar", "User": "bob@contoso.com", "AccessRights": ["Reviewer"]}
    tenant.exchange("Add-MailboxFolderPermission", assistant)
    # A second app with a scope no access preset makes: exported as an explicit role assignment.
    rooms = {"Name": "All rooms", "RecipientRestrictionFilter": "RecipientTypeDetails -eq 'RoomMailbox'"}
    tenant.exchange("New-ManagementScope", rooms)
    other = tenant.graph_json(f"/servicePrincipals(appId='{FREE_BUSY_APP}')")
    principal = {"AppId": FREE_BUSY_APP, "ObjectId": other["id"], "DisplayName": "Cronofy Free Busy"}
    tenant.exchange("New-ServicePrincipal", principal)
    free_busy = {"Name": "Room free/busy", "Role": "Application Calendars.Read", "App": other["id"]}
    tenant.exchange("New-ManagementRoleAssignment", {**free_busy, "CustomResourceScope": "All rooms"})

    spec = _minimal_spec(tenant, folder=".")
    out = tenant.root / "exported.yaml"
    text = _export(tenant, spec, out)

    assert text.startswith(f"# Exported by reconciler from tenant contoso.onmicrosoft.com {tenant.tenant_id}")
    assert spec.read_text(encoding="utf-8").split("\n", 1)[1] in text  # the tenant section, exactly as written
    assert "\nservice_account:\n  user_principal_name: cronofy-svc@contoso.onmicrosoft.com\n" in text
    assert "  display_name: Cronofy Calendar Sync\n" in text and "  usage_location: GB\n" in text
    assert "  licenses: [EXCHANGESTANDARD, FLOW_FREE]\n" in text
    assert "\n  password:" not in text and "# password: not exported; only needed to create the account" in text
    assert f"  app_id: {APP}\n  display_name: Cronofy\n  restriction: rbac_for_applications\n" in text
    assert (
        "access:\n  level: restricted\n  scope_group: cronofy-scope@contoso.com\n  scope_name: Cronofy mailboxes\n"
        "  assignment_name: Cronofy calendars\n"
    ) in text
    assert "mailboxes:" not in text  # exactly the scope group's members: the preset's default
    assert (
        "room_lists:\n  - name: Meeting Rooms\n    rooms:\n      - boardroom@contoso.com\n"
        "      - confroomb@contoso.com\n"
    ) in text
    assert (
        "calendar_permissions:\n  - mailbox: admin@contoso.onmicrosoft.com\n"
        "    grantee: cronofy-svc@contoso.onmicrosoft.com\n    access_rights: Author\n"
        "  - mailbox: dave@contoso.com\n    grantee: cronofy-svc@contoso.onmicrosoft.com\n"
        "    access_rights: Reviewer\n"
    ) in text
    assert "other grantees of calendar permissions" in text and "bob@contoso.com (1)" in text
    assert (
        "role_assignments:\n  - name: Room free/busy\n    role: Application Calendars.Read\n"
        f"    app_id: {FREE_BUSY_APP}\n    scope: All rooms\n"
    ) in text
    assert "# - not exported: management scope All rooms" in text

    _assert_no_changes(tenant, out)
    before = tenant.tenant.read_bytes()
    applied = tenant.cli("apply", str(out), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "No changes." in applied.stdout
    assert tenant.tenant.read_bytes() == before  # nothing at all was written to the tenant

    again = _export(tenant, spec, tenant.root / "exported.yaml", "--force")
    assert again == text  # deterministic


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("example", ["level: restricted", "    addresses:\n      - alice@contoso.com\n", "- name: Meeting Rooms"]),
        ("free_busy", ["level: free_busy", "scope_name: CronofyFreeBusyScope", "cronofy-freebusy@"]),
        ("full", ["level: full", "assignment_name: CronofyFullAccess", "allow_organization_wide: true"]),
        ("restricted", ["restriction: application_access_policy", "scope_group: cronofy-access@contoso.com"]),
    ],
)
def test_what_a_spec_applied_exports_to_a_spec_with_no_changes(tenant: Tenant, name: str, expected: list[str]) -> None:
    applied = tenant.cli("apply", tenant.spec_file(name), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    out = tenant.root / "specs" / "exported.yaml"
    text = _export(tenant, _minimal_spec(tenant), out)
    for fragment in expected:
        assert fragment in text, (fragment, text)
    if name in ("free_busy", "restricted"):
        assert "mailboxes:" not in text  # every member of the scope group: the preset's default
    _assert_no_changes(tenant, out)


def test_export_reads_calendar_permissions_in_batches(tmp_path: Path) -> None:
    """One `$batch` per 20 mailboxes plus a fixed number of calls, never one request per mailbox."""
    path = tmp_path / "tenant.json"
    data = init_tenant(path, rooms=200)
    env = {"BENCH_SVC_PASSWORD": "Scale-test-Pa55word!"}
    with Simulator(path) as sim:
        ws = Workspace(tmp_path, path, data["tenant"]["id"])
        ws.write_spec(text=BENCH_SPEC.format(tenant_id=ws.tenant_id, url=sim.base_url))
        assert ws.cli("apply", str(ws.spec), "--auto-approve", env=env).exit_code == 0
        mailboxes = len([r for r in data["exchange"]["recipients"] if r["RecipientTypeDetails"].endswith("Mailbox")])
        before = sim.requests_served
        out = tmp_path / "exported.yaml"
        result = ws.cli("export", str(ws.spec), "--out", str(out), env=env)
        assert result.exit_code == 0, result.output
        requests = sim.requests_served - before
        assert requests <= math.ceil(mailboxes / 20) + 16, requests
        text = out.read_text(encoding="utf-8")
        assert "level: free_busy" in text and "mailboxes:" not in text  # every member of the group
        plan = ws.cli("plan", str(out), "--json")
        summary = json.loads(plan.stdout)["summary"]
        assert (summary["add"], summary["change"], summary["destroy"]) == (0, 0, 0), plan.output


def _server_cli(server: Tenant, *args: str) -> Result:
    return server.cli(*args, env={"EXCHANGE_ADMIN_PASSWORD": PASSWORD})


def _automated_changes(server: Tenant, spec: Path) -> list[str]:
    plan = _server_cli(server, "plan", str(spec), "--json")
    assert plan.exit_code == 0, plan.output
    return [c["address"] for c in json.loads(plan.stdout)["changes"] if c["action"] != "no-op" and c["automated"]]


def test_exchange_server_exports_what_ews_shows(server: Tenant) -> None:
    spec = server.spec_file("exchange-server")
    assert _server_cli(server, "apply", spec, "--auto-approve").exit_code == 0
    plan: dict[str, Any] = json.loads(_server_cli(server, "plan", spec, "--json").stdout)
    for change in plan["changes"]:  # an admin runs the plan's Exchange Management Shell commands
        if change["manual"]:
            assert server.cli("sim", "ems", str(server.tenant), *change["manual"]).exit_code == 0

    env = {"EXCHANGE_ADMIN_PASSWORD": PASSWORD}
    out = server.root / "specs" / "exported.yaml"
    text = _export(server, Path(spec), out, env=env)
    assert "target: exchange_server\nexchange_server:\n  ews_url: https://mail.contoso.com/EWS/Exchange.asmx\n" in text
    assert "room_lists:\n  - name: Meeting Rooms\n    rooms:\n      - boardroom@contoso.com\n" in text
    for mailbox in ("alice", "boardroom", "confrooma"):
        entry = f"  - mailbox: {mailbox}@contoso.com\n    grantee: {SERVER_SVC}\n    access_rights: Editor\n"
        assert entry in text, text
    assert "service_account:\n  # password: not exported; verify (and an access: preset) sign in as the account" in text
    assert f"  user_principal_name: {SERVER_SVC}\n  display_name: Cronofy service\nroom_lists:" in text
    assert "not exported: management scopes and role assignments" in text
    assert "SharingPermissionFlags (Delegate, CanViewPrivateItems) cannot be read over EWS" in text
    assert _server_cli(server, "validate", str(out)).exit_code == 0
    assert _automated_changes(server, out) == []

    # With only the tenant and how to reach it, EWS finds the rooms of the room lists.
    minimal = server.root / "specs" / "min.yaml"
    minimal.write_text(
        "version: 1\ntenant:\n  domain: contoso.com\n  simulator: ../state/simulated-exchange-server.json\n"
        "target: exchange_server\nexchange_server:\n  ews_url: https://mail.contoso.com/EWS/Exchange.asmx\n"
        "  username: reconciler-admin@contoso.com\n  password: ${env:EXCHANGE_ADMIN_PASSWORD}\n",
        encoding="utf-8",
    )
    text = _export(server, minimal, out, "--force", env=env)
    assert f"  - mailbox: boardroom@contoso.com\n    grantee: {SERVER_SVC}\n    access_rights: Editor\n" in text
    assert "alice@contoso.com" not in text
    assert f"the service account {SERVER_SVC} lives in Active Directory" in text
    assert _automated_changes(server, out) == []


def test_export_refuses_to_overwrite_without_force(tenant: Tenant) -> None:
    out = tenant.root / "specs" / "exported.yaml"
    out.write_text("keep me\n", encoding="utf-8")
    refused = tenant.cli("export", str(_minimal_spec(tenant)), "--out", str(out))
    assert refused.exit_code == 1
    assert f"{out} exists" in refused.stderr and "--force" in refused.stderr
    assert out.read_text(encoding="utf-8") == "keep me\n"
    _export(tenant, _minimal_spec(tenant), out, "--force")


def test_a_tenant_that_cannot_be_read_is_an_error_and_writes_nothing(tenant: Tenant) -> None:
    tenant.set_tenant(lambda t: t.update(faults=[{"method": "GET", "path": "^/users", "status": 500}]))
    out = tenant.root / "specs" / "exported.yaml"
    result = tenant.cli("export", str(_minimal_spec(tenant)), "--out", str(out))
    assert result.exit_code == 1
    assert "GET /users/" in result.stderr and "failed" in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_export_into_another_folder_than_relative_tenant_paths_is_refused(tenant: Tenant) -> None:
    """The tenant section is copied as written: `simulator: ../state/...` only holds next to the source spec."""
    out = tenant.root / "exported.yaml"
    refused = tenant.cli("export", str(_minimal_spec(tenant)), "--out", str(out))
    assert refused.exit_code == 1 and "relative paths" in refused.stderr and "--out" in refused.stderr
    assert not out.exists()
