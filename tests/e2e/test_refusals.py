"""Specs that can never apply are refused with the reason and the fix (issue: Exchange resources, item 4)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Tenant


def _edit(path: str, old: str, new: str) -> str:
    text = Path(path).read_text()
    assert old in text
    Path(path).write_text(text.replace(old, new))
    return path


def test_application_impersonation_on_exchange_online(tenant: Tenant) -> None:
    spec = _edit(
        tenant.spec_file("full"),
        "room_lists:",
        "role_assignments:\n  - name: Legacy\n    role: ApplicationImpersonation\n"
        "    user: cronofy-svc@contoso.com\nroom_lists:",
    )
    result = tenant.cli("validate", spec)
    assert result.exit_code == 1
    assert "(role_assignments.0.role): ApplicationImpersonation no longer exists in Exchange Online" in result.stderr
    assert "RBAC for Applications" in result.stderr and "Application Calendars.ReadWrite" in result.stderr


def test_sharing_flags_only_with_editor(tenant: Tenant) -> None:
    spec = _edit(
        tenant.spec_file("full"),
        "room_lists:",
        "calendar_permissions:\n  - mailbox: alice@contoso.com\n    grantee: bob@contoso.com\n"
        "    access_rights: Reviewer\n    sharing_permission_flags: [Delegate]\nroom_lists:",
    )
    result = tenant.cli("validate", spec)
    assert result.exit_code == 1
    assert (
        "(calendar_permissions.0): sharing_permission_flags apply only to Editor on a calendar folder, not Reviewer"
        in result.stderr
    )


def test_non_room_in_a_room_list(tenant: Tenant) -> None:
    spec = _edit(
        tenant.spec_file("full"),
        "rooms: [Board room, Conference room A, Conference room B]",
        "rooms: [Board room, alice]",
    )
    result = tenant.cli("plan", spec)
    assert result.exit_code == 1
    assert "(room_lists.0.rooms.1): 'alice' is a UserMailbox, not a room: a room list holds only rooms" in result.stderr


def test_scope_group_that_does_not_exist(tenant: Tenant) -> None:
    spec = _edit(
        tenant.spec_file("example"), "scope_group: cronofy-scope@contoso.com", "scope_group: nobody-group@contoso.com"
    )
    result = tenant.cli("plan", spec)
    assert result.exit_code == 1
    assert "(access.scope_group): scope group 'nobody-group@contoso.com' does not exist in the tenant" in result.stderr
    assert not (tenant.root / "state" / "specs" / "example.json").exists()


def test_unlicensed_service_account_that_must_own_a_mailbox(tenant: Tenant) -> None:
    spec = _edit(tenant.spec_file("example"), "  licenses: [EXCHANGESTANDARD]", "  licenses: []\n  mailbox: true")
    result = tenant.cli("validate", spec)
    assert result.exit_code == 1
    assert "(service_account.licenses): the service account must own a mailbox" in result.stderr
    assert "disabled after the 30-day grace period" in result.stderr and "EXCHANGESTANDARD" in result.stderr


def test_restricted_on_exchange_online_needs_the_integration_app(tenant: Tenant) -> None:
    text = Path(tenant.spec_file("restricted")).read_text()
    start, end = text.index("integration:"), text.index("access:")
    Path(tenant.spec_file("restricted")).write_text(text[:start] + text[end:])
    result = tenant.cli("validate", tenant.spec_file("restricted"))
    assert result.exit_code == 1
    assert "access level 'restricted' on Exchange Online needs the integration's Entra app" in result.stderr


def test_access_policy_needs_a_security_group(tenant: Tenant) -> None:
    spec = _edit(
        tenant.spec_file("restricted"),
        "scope_group: cronofy-access@contoso.com",
        "scope_group: cronofy-scope@contoso.com",
    )
    result = tenant.cli("plan", spec)
    assert result.exit_code == 1
    assert "needs a mail-enabled security group" in result.stderr


def test_free_busy_without_a_scope_group_is_organization_wide(tenant: Tenant) -> None:
    """Application Calendars.Read on every mailbox reads every event, not only free/busy: it must be confirmed."""
    spec = tenant.spec_file("free_busy")
    text = Path(spec).read_text()
    lines = [line for line in text.splitlines() if "scope_group:" not in line]
    Path(spec).write_text("\n".join(lines) + "\n")
    result = tenant.cli("validate", spec)
    assert result.exit_code == 1
    assert "access level 'free_busy' without scope_group gives the integration's app every mailbox" in result.stderr
    assert "allow_organization_wide: true" in result.stderr
    confirmed = text.replace("access:\n", "access:\n  allow_organization_wide: true\n")
    Path(spec).write_text("\n".join(line for line in confirmed.splitlines() if "scope_group:" not in line) + "\n")
    assert tenant.cli("validate", spec).exit_code == 0, tenant.cli("validate", spec).output


def test_sharing_flags_on_exchange_server(tenant: Tenant) -> None:
    spec = _edit(
        tenant.spec_file("exchange-server"),
        "room_lists:",
        "calendar_permissions:\n  - mailbox: alice@contoso.com\n    grantee: cronofy-svc@contoso.com\n"
        "    access_rights: Editor\n    sharing_permission_flags: [Delegate]\nroom_lists:",
    )
    result = tenant.cli("validate", spec)
    assert result.exit_code == 1
    assert "sharing_permission_flags (Delegate, CanViewPrivateItems) exist only in Exchange Online" in result.stderr
