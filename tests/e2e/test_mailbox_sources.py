"""Mailbox sources mean what they say: an empty source is no mailboxes, the scope group is the default only when
access.mailboxes is absent, mailboxes outside the scope are refused unless confirmed, groups are not mailboxes."""

from __future__ import annotations

import json

from tests.conftest import SVC, Tenant, granted, write_access_spec


def write(tenant: Tenant, tail: str, level: str = "restricted") -> str:
    return write_access_spec(tenant, "sources", tail, level)


def test_emptied_csv_revokes_instead_of_falling_back_to_the_scope_group(tenant: Tenant) -> None:
    csv = tenant.root / "specs" / "few.csv"
    csv.write_text("alias\nalice\nboardroom\n", encoding="utf-8")
    spec = write(tenant, "  mailboxes:\n    csv: few.csv\n")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert granted(tenant, "alice@contoso.com") and not granted(tenant, "bob@contoso.com")

    csv.write_text("alias\n", encoding="utf-8")  # the admin empties the CSV to revoke access
    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    removed = {c["address"] for c in plan["changes"] if c["action"] == "delete"}
    assert removed == {
        f"calendar_permission.alice@contoso.com/{SVC}",
        f"calendar_permission.boardroom@contoso.com/{SVC}",
    }
    assert not [c for c in plan["changes"] if c["action"] == "create"]
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert not granted(tenant, "alice@contoso.com") and not granted(tenant, "bob@contoso.com")


def test_scope_group_is_the_default_only_without_mailboxes(tenant: Tenant) -> None:
    spec = write(tenant, "")
    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    mailboxes = {c["after"]["mailbox"] for c in plan["changes"] if c["kind"] == "calendar_permission"}
    assert "bob@contoso.com" in mailboxes and "dave@contoso.com" not in mailboxes
    empty = write(tenant, "  mailboxes:\n    addresses: []\n")
    plan = json.loads(tenant.cli("plan", empty, "--json").stdout)
    assert not [c for c in plan["changes"] if c["kind"] == "calendar_permission"]


def test_mailbox_outside_the_scope_group_is_refused_unless_confirmed(tenant: Tenant) -> None:
    spec = write(tenant, "  mailboxes:\n    addresses: [alice, dave]\n")
    before = tenant.tenant_data()["exchange"]
    refused = tenant.cli("plan", spec)
    assert refused.exit_code == 1, refused.output
    assert "not members of scope group 'cronofy-scope@contoso.com': dave@contoso.com" in refused.output
    assert "sources.yaml:" in refused.output and "allow_outside_scope: true" in refused.output
    assert "Traceback" not in refused.output
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 1
    assert tenant.tenant_data()["exchange"] == before

    confirmed = write(tenant, "  allow_outside_scope: true\n  mailboxes:\n    addresses: [alice, dave]\n")
    assert tenant.cli("apply", confirmed, "--auto-approve").exit_code == 0
    assert granted(tenant, "dave@contoso.com")


def test_full_level_with_mailboxes_is_refused(tenant: Tenant) -> None:
    spec = write(tenant, "  allow_organization_wide: true\n  mailboxes:\n    addresses: [alice]\n", level="full")
    result = tenant.cli("validate", spec)
    assert result.exit_code == 1, result.output
    assert "access level 'full' grants no folder permissions, so access.mailboxes would be ignored" in result.output


def test_group_alias_in_the_csv_is_refused_at_plan_saying_what_it_is(tenant: Tenant) -> None:
    (tenant.root / "specs" / "mixed.csv").write_text("alias\nalice\ncronofy-access\n", encoding="utf-8")
    spec = write(tenant, "  mailboxes:\n    csv: mixed.csv\n")
    result = tenant.cli("plan", spec)
    assert result.exit_code == 1, result.output
    assert "not a mailbox: 'cronofy-access' is a MailUniversalSecurityGroup" in result.output
    assert "access.mailboxes.group" in result.output and "Traceback" not in result.output


def test_a_scope_group_with_a_quote_in_its_name_converges(tenant: Tenant) -> None:
    """O'Brien: the group's DN goes into the scope's OPATH filter with the quote doubled (syntax.opath_literal)."""
    tenant.exchange("New-DistributionGroup", {"Name": "O'Brien Team", "Members": ["alice", "bob"]})
    spec = write(tenant, "")
    path = tenant.root / "specs" / "sources.yaml"
    text = path.read_text(encoding="utf-8").replace("cronofy-scope@contoso.com", '"O\'Brien Team"')
    path.write_text(text, encoding="utf-8")
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    [scope] = tenant.exchange("Get-ManagementScope", {"Identity": "CronofyImpersonationScope"})
    assert "O''Brien Team" in scope["RecipientFilter"]
    assert granted(tenant, "alice@contoso.com") and not granted(tenant, "carol@contoso.com")
    again = tenant.cli("plan", spec, "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.stdout


def test_folder_permissions_need_a_mail_enabled_grantee(tenant: Tenant) -> None:
    """Exchange grants folder permissions only to mail-enabled principals: the simulator refuses an unlicensed
    Entra user as grantee (Graph and the admin API), and reconciler refuses the spec before asking."""
    body = {
        "accountEnabled": True,
        "displayName": "No mailbox",
        "mailNickname": "nomailbox",
        "userPrincipalName": "nomailbox@contoso.onmicrosoft.com",
        "passwordProfile": {"password": "Hand-made-Pw-123!"},
    }
    assert tenant.graph("POST", "/users", body).exit_code == 0
    grant = {"emailAddress": {"address": "nomailbox@contoso.onmicrosoft.com"}, "role": "read"}
    refused = tenant.graph("POST", "/users/alice@contoso.com/calendar/calendarPermissions", grant)
    assert refused.exit_code == 1 and "ErrorInvalidUser" in refused.output
    command = {
        "Identity": "alice@contoso.com:\\Calendar",
        "User": "nomailbox@contoso.onmicrosoft.com",
        "AccessRights": ["Reviewer"],
    }
    body = {"CmdletInput": {"CmdletName": "Add-MailboxFolderPermission", "Parameters": command}}
    result = tenant.cli(
        "sim",
        "request",
        str(tenant.tenant),
        "POST",
        f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand",
        "--body",
        json.dumps(body),
    )
    assert result.exit_code == 1 and "mail-enabled" in result.output

    spec = write(tenant, "")
    path = tenant.root / "specs" / "sources.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("[ENTERPRISEPACK]", "[]"), encoding="utf-8")
    validate = tenant.cli("validate", spec)
    assert validate.exit_code == 1, validate.output
    assert "(service_account.licenses)" in validate.output and "mail-enabled principals" in validate.output
    assert "access.folder_permissions: false" in validate.output and "Traceback" not in validate.output


def test_without_folder_permissions_the_apps_scope_alone_grants_access(tenant: Tenant) -> None:
    """The second way out: licenses: [] as the guide says, and access.folder_permissions: false."""
    spec = write(tenant, "  folder_permissions: false\n")
    path = tenant.root / "specs" / "sources.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("[ENTERPRISEPACK]", "[]"), encoding="utf-8")
    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    kinds = {c["kind"] for c in plan["changes"]}
    assert "calendar_permission" not in kinds and {"management_scope", "role_assignment"} <= kinds
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    verify = tenant.cli("verify", spec)
    assert verify.exit_code == 0, verify.output
    assert not granted(tenant, "alice@contoso.com")
    again = tenant.cli("plan", spec, "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.stdout
