"""The EWS allow list as Exchange Online now applies it, end to end on the simulated tenant.

Microsoft's "Control access to EWS in Exchange": a blocked call is HTTP 403 with an X-EWS-Policy-Reason header ("EWS is
disabled for this user or tenant" / "EWS is blocked by policy for this user or tenant"); the mailbox's own
Set-CASMailbox -EwsEnabled gates it too; writing EwsAllowedAppIDs replaces the whole list; changes can take up to 24
hours. A hybrid tenant's ExchangeServerApp-* entry must stay on the list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import APP_SECRET, Tenant

APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
OTHER = "11111111-2222-3333-4444-555555555555"
HYBRID = "ExchangeServerApp-5d8ac7f9-1111-2222-3333-444444444444"
ENV = {"CRONOFY_APP_SECRET": APP_SECRET}
MAILBOX = "boardroom@contoso.com"
CHECK = f"EWS GetFolder (Calendar) as the integration {MAILBOX} (expected: allowed)"


def _spec(tenant: Tenant) -> str:
    path = Path(tenant.spec_file("full"))
    text = path.read_text(encoding="utf-8").replace(
        "  display_name: Cronofy Enterprise Connect",
        "  display_name: Cronofy Enterprise Connect\n  uses_ews: true\n  client_secret: ${env:CRONOFY_APP_SECRET}",
    )
    path.write_text(text, encoding="utf-8")
    return str(path)


def _hybrid_tenant(data: dict[str, Any]) -> None:
    """A hybrid tenant that already allows another app and its Exchange hybrid app, not the integration."""
    data["exchange"]["organization"].update(EwsEnabled=True, EwsAllowedAppIDs=f"{HYBRID},{OTHER}")


def test_allow_list_keeps_hybrid_entries_and_verify_reports_the_policy_reason(tenant: Tenant) -> None:
    tenant.set_tenant(_hybrid_tenant)
    spec = _spec(tenant)

    before = tenant.cli("verify", spec, "--mailbox", MAILBOX, env=ENV)
    assert before.exit_code == 1
    assert f"FAIL {CHECK}" in before.stdout, before.output
    assert "X-EWS-Policy-Reason: EWS is blocked by policy for this user or tenant" in before.stdout

    plan = tenant.cli("plan", spec)
    assert plan.exit_code == 0, plan.output
    assert '~ ews_access "organization"' in plan.stdout and "~ allowed_app_ids" in plan.stdout
    assert "can take up to 24 hours to take effect" in plan.stdout
    assert "permanently disabled on 1 April 2027" in plan.stdout
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0

    config = tenant.exchange("Get-OrganizationConfig", {"RetrieveEwsOperationAccessPolicy": True})[0]
    assert config["EwsEnabled"] is True
    assert str(config["EwsAllowedAppIDs"]).split(",") == [HYBRID, OTHER, APP]  # the whole list, hybrid entry intact
    assert "No changes." in tenant.cli("plan", spec).stdout

    after = tenant.cli("verify", spec, "--mailbox", MAILBOX, env=ENV)
    assert after.exit_code == 0, after.output
    assert f"PASS {CHECK}" in after.stdout

    # the mailbox's own switch: Set-CASMailbox -EwsEnabled $false blocks it, whatever the organization allows
    tenant.exchange("Set-CASMailbox", {"Identity": MAILBOX, "EwsEnabled": False})
    blocked = tenant.cli("verify", spec, "--mailbox", MAILBOX, env=ENV)
    assert blocked.exit_code == 1
    assert f"FAIL {CHECK}" in blocked.stdout
    assert "X-EWS-Policy-Reason: EWS is disabled for this user or tenant" in blocked.stdout
    assert "Set-CASMailbox -EwsEnabled" in blocked.stdout
    assert "No changes." in tenant.cli("plan", spec).stdout  # the mailbox's switch is not the spec's


def test_ews_disabled_for_the_organization_is_reported_as_such(tenant: Tenant) -> None:
    tenant.set_tenant(lambda data: data["exchange"]["organization"].update(EwsEnabled=False))
    spec = _spec(tenant)
    result = tenant.cli("verify", spec, "--mailbox", MAILBOX, env=ENV)
    assert result.exit_code == 1
    assert "X-EWS-Policy-Reason: EWS is disabled for this user or tenant" in result.stdout
