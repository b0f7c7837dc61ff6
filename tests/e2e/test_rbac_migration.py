"""Application access policy -> RBAC for Applications, end to end on the simulated tenant.

The tenant starts as Cronofy documents it: an admin consented Calendars.ReadWrite for the app in Entra ID and made
an application access policy (RestrictAccess) on the mail-enabled security group "Cronofy Access". The spec chooses
RBAC for Applications on the same group. Microsoft's RBAC for Applications page: access policies "constrain ONLY the
permissions assigned in Microsoft Entra ID" and "Permission consents are additive"; its migration creates the scope
and assignment, removes the Entra consent, then the policy. After every apply, no mailbox outside the group is
reachable by the integration (a real Graph read as its app, and `verify --outside`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from reconciler.simulator import Simulator, make_token
from tests.conftest import APP_SECRET, Tenant

APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
GROUP = "cronofy-access@contoso.com"
CALENDARS_READWRITE = "ef54d2bf-783f-4e0f-bca1-3210c0444d99"  # Microsoft Graph application permission id
ENV = {"CRONOFY_APP_SECRET": APP_SECRET}
SPEC = """\
version: 1
tenant:
  id: {tenant_id}
  simulator: ../state/simulated-tenant.json
service_account:
  user_principal_name: cronofy-svc@contoso.onmicrosoft.com
  display_name: Cronofy Service Account
  password: ${{env:CRONOFY_SVC_PASSWORD}}
integration:
  app_id: {app}
  display_name: Cronofy Enterprise Connect
  restriction: rbac_for_applications
  client_secret: ${{env:CRONOFY_APP_SECRET}}
access:
  level: restricted
  scope_group: {group}
  folder_permissions: false
  remove_access_policies: {remove}
"""


def _spec(tenant: Tenant, *, remove: bool, folder_permissions: bool = False) -> str:
    path = Path(tenant.spec_file("migration"))
    text = SPEC.format(tenant_id=tenant.tenant_id, app=APP, group=GROUP, remove=str(remove).lower())
    if folder_permissions:  # a licensed account with Editor + Delegate on the group's calendars (what export reads)
        text = text.replace("  folder_permissions: false\n", "").replace(
            "  password:", "  usage_location: US\n  licenses: [ENTERPRISEPACK]\n  password:"
        )
    path.write_text(text, encoding="utf-8")
    return str(path)


def _consented(role_id: str, assignment_id: str, resource: str) -> Callable[[dict[str, Any]], None]:
    """An admin consented an application permission for the app in Entra ID (its enterprise app's
    appRoleAssignments)."""

    def consent(data: dict[str, Any]) -> None:
        sp = next(s for s in data["servicePrincipals"] if s["appId"] == APP)
        sp["appRoleAssignments"] = [
            {
                "id": assignment_id,
                "appRoleId": role_id,
                "principalId": sp["id"],
                "principalType": "ServicePrincipal",
                "principalDisplayName": sp["displayName"],
                "resourceDisplayName": resource,
            }
        ]

    return consent


_consent = _consented(CALENDARS_READWRITE, "consent-calendars-readwrite", "Microsoft Graph")


def _mailboxes(tenant: Tenant) -> set[str]:
    return {str(r["PrimarySmtpAddress"]).lower() for r in tenant.exchange("Get-Mailbox", {})}


def _members(tenant: Tenant) -> set[str]:
    return {
        str(r["PrimarySmtpAddress"]).lower()
        for r in tenant.exchange("Get-DistributionGroupMember", {"Identity": GROUP})
    }


def _reachable(tenant: Tenant, mailboxes: set[str]) -> set[str]:
    """The mailboxes whose calendar the integration's own app opens through Graph (GET /users/{id}/calendar)."""
    with Simulator(tenant.tenant) as sim:
        token = make_token(sim.tenant_id, APP, ["Calendars.ReadWrite"])
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{sim.base_url}/v1.0", headers=headers, timeout=30) as graph:
            return {m for m in mailboxes if graph.get(f"/users/{m}/calendar").status_code == 200}


def _plan(tenant: Tenant, spec: str) -> dict[str, Any]:
    result = tenant.cli("plan", spec, "--json")
    assert result.exit_code == 0, result.output
    plan: dict[str, Any] = json.loads(result.stdout)
    return plan


def _apply(tenant: Tenant, spec: str) -> None:
    result = tenant.cli("apply", spec, "--auto-approve")
    assert result.exit_code == 0, result.output


def _policies(tenant: Tenant) -> list[Any]:
    return [p for p in tenant.exchange("Get-ApplicationAccessPolicy", {}) if str(p["AppId"]).lower() == APP]


def test_access_policy_migrates_to_rbac_for_applications_never_wider_than_the_spec(tenant: Tenant) -> None:
    tenant.set_tenant(_consent)
    tenant.exchange(
        "New-ApplicationAccessPolicy", {"AppId": APP, "PolicyScopeGroupId": GROUP, "AccessRight": "RestrictAccess"}
    )
    mailboxes, members = _mailboxes(tenant), _members(tenant)
    outsider = sorted(mailboxes - members)[0]
    assert members and _reachable(tenant, mailboxes) == members  # the policy limits the Entra consent to the group

    # 1. scope + assignment first; the policy stays: Test-ServicePrincipalAuthorization shows no RBAC role yet
    spec = _spec(tenant, remove=True)
    plan = _plan(tenant, spec)
    creates = [c["address"] for c in plan["changes"] if c["action"] == "create"]
    assert "management_scope.CronofyImpersonationScope" in creates
    assert "role_assignment.CronofyImpersonationAssignment" in creates
    assert not [c for c in plan["changes"] if c["action"] == "delete"]
    by_kind = {f["kind"]: f for f in plan["wider_access"]}
    assert sorted(by_kind) == ["application_access_policy", "entra_consent"]
    finding, consent = by_kind["application_access_policy"], by_kind["entra_consent"]
    assert not finding["removed"] and not consent["removed"]  # a consent is never revoked by reconciler
    assert consent["address"] == f"entra_consent.{APP}/Calendars.ReadWrite"
    assert "RBAC for Applications replaces" in finding["message"]
    assert "shows no RBAC for Applications calendar role" in finding["message"]
    _apply(tenant, spec)
    assert _reachable(tenant, mailboxes) <= members
    assert len(_policies(tenant)) == 1

    # 2. verify next: the RBAC role covers the group and nothing outside it
    verified = tenant.cli("verify", spec, "--outside", outsider, env=ENV)
    assert verified.exit_code == 0, verified.output
    assert f"PASS Test-ServicePrincipalAuthorization {outsider} (expected: refused)" in verified.stdout
    assert f"PASS Graph calendar read as the integration {outsider} (expected: refused)" in verified.stdout

    # the policy still restricts the Entra consent: removing it now would open every mailbox, so it is kept
    human = tenant.cli("plan", spec)
    assert "holds Entra ID consent for Calendars.ReadWrite" in human.stdout, human.output
    assert "Microsoft's migration step 4" in human.stdout
    assert "No changes." in human.stdout
    _apply(tenant, spec)
    assert len(_policies(tenant)) == 1 and _reachable(tenant, mailboxes) <= members

    # 3. the admin revokes the consent (step 4); the policy's removal comes last
    sp_id = next(s["id"] for s in tenant.tenant_data()["servicePrincipals"] if s["appId"] == APP)
    assert (
        tenant.graph("DELETE", f"/servicePrincipals/{sp_id}/appRoleAssignments/consent-calendars-readwrite").exit_code
        == 0
    )
    assert _reachable(tenant, mailboxes) <= members
    plan = _plan(tenant, spec)
    [removal] = [c for c in plan["changes"] if c["action"] != "no-op"]
    assert removal["action"] == "delete" and removal["kind"] == "application_access_policy"
    assert plan["wider_access"][0]["removed"] is True
    _apply(tenant, spec)
    assert _policies(tenant) == []
    assert _reachable(tenant, mailboxes) == members
    verified = tenant.cli("verify", spec, "--outside", outsider, env=ENV)
    assert verified.exit_code == 0, verified.output
    final = _plan(tenant, spec)
    assert [c for c in final["changes"] if c["action"] != "no-op"] == [] and final["wider_access"] == []


def test_policies_are_only_reported_without_the_spec_field(tenant: Tenant) -> None:
    tenant.exchange(
        "New-ApplicationAccessPolicy", {"AppId": APP, "PolicyScopeGroupId": GROUP, "AccessRight": "RestrictAccess"}
    )
    spec = _spec(tenant, remove=False)
    _apply(tenant, spec)
    plan = _plan(tenant, spec)
    [finding] = plan["wider_access"]
    assert "access.remove_access_policies: true removes it" in finding["message"] and not finding["removed"]
    assert not [c for c in plan["changes"] if c["action"] != "no-op"]
    assert len(_policies(tenant)) == 1


def test_a_spec_that_creates_an_access_policy_warns_with_microsofts_statement(tenant: Tenant) -> None:
    plan = tenant.cli("plan", tenant.spec_file("restricted"))
    assert plan.exit_code == 0, plan.output
    assert "Don't create new App Access Policies" in plan.stdout
    assert "integration.restriction: rbac_for_applications" in plan.stdout
    script = tenant.cli("plan", tenant.spec_file("restricted"), "--format", "powershell")
    assert '# Microsoft: "Don\'t create new App Access Policies"' in script.stdout


def test_export_recognises_a_tenant_midway(tenant: Tenant) -> None:
    tenant.exchange(
        "New-ApplicationAccessPolicy", {"AppId": APP, "PolicyScopeGroupId": GROUP, "AccessRight": "RestrictAccess"}
    )
    spec = _spec(tenant, remove=False, folder_permissions=True)
    _apply(tenant, spec)
    out = tenant.root / "specs" / "exported.yaml"
    result = tenant.cli("export", spec, "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "restriction: rbac_for_applications" in text and f"scope_group: {GROUP}" in text
    assert "remove_access_policies: true" in text  # the note on the policy says how to finish the migration
    plan = tenant.cli("plan", str(out), "--json")
    assert plan.exit_code == 0, plan.output
    summary = json.loads(plan.stdout)["summary"]
    assert (summary["add"], summary["change"], summary["destroy"]) == (0, 0, 0), plan.output


def test_an_entra_consent_beside_rbac_for_applications_is_access_wider_than_the_spec(tenant: Tenant) -> None:
    """Without any policy, an Entra ID consent reaches every mailbox whatever the RBAC scope ("Permission consents
    are additive"): plan and drift report it with the command that revokes it; apply leaves it (even with
    access.exclusive); once an admin revokes it, the tenant matches the spec and the integration reaches the group."""
    tenant.set_tenant(_consent)
    path = Path(_spec(tenant, remove=False))
    path.write_text(path.read_text(encoding="utf-8").replace("access:\n", "access:\n  exclusive: true\n"), "utf-8")
    spec = str(path)
    mailboxes, members = _mailboxes(tenant), _members(tenant)
    _apply(tenant, spec)
    assert _reachable(tenant, mailboxes) == mailboxes  # the consent, not the scope, decides

    plan = tenant.cli("plan", spec, "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert f"entra_consent.{APP}/Calendars.ReadWrite" in plan.stdout
    assert "left as it is (the spec does not own this access); to remove it by hand:" in plan.stdout
    assert "No changes. Apart from the wider access above, the tenant matches the spec." in plan.stdout
    human = tenant.cli("drift", spec)
    assert human.exit_code == 2 and "removed by apply only where the spec owns it" in human.stdout, human.output
    assert "reaches every mailbox whatever the RBAC for Applications scope" in plan.stdout
    drift = tenant.cli("drift", spec, "--format", "json")
    assert drift.exit_code == 2, drift.output
    sp_id = next(s["id"] for s in tenant.tenant_data()["servicePrincipals"] if s["appId"] == APP)
    fix = (
        f"Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId '{sp_id}' "
        "-AppRoleAssignmentId 'consent-calendars-readwrite'"
    )
    assert fix in drift.stdout
    markdown = tenant.cli("drift", spec, "--format", "markdown")
    assert fix in markdown.stdout and "AppRoleAssignment.ReadWrite.All" in markdown.stdout
    assert "Apply removes access wider than the spec only where the spec owns it" in markdown.stdout
    assert "Put the tenant back as the spec says" not in markdown.stdout
    applied = tenant.cli("apply", spec, "--auto-approve")  # nothing to do: reconciler never revokes a consent
    assert applied.exit_code == 0 and "Apart from the wider access above" in applied.stdout, applied.output
    assert _reachable(tenant, mailboxes) == mailboxes

    assert (
        tenant.graph("DELETE", f"/servicePrincipals/{sp_id}/appRoleAssignments/consent-calendars-readwrite").exit_code
        == 0
    )
    assert _reachable(tenant, mailboxes) == members
    assert tenant.cli("drift", spec).exit_code == 0


FULL_ACCESS_AS_APP = "dc890d15-9560-4a4c-9b7f-a736ec74ec40"  # Office 365 Exchange Online's EWS app permission


def test_an_ews_consent_is_wider_and_keeps_the_access_policy_too(tenant: Tenant) -> None:
    """full_access_as_app opens every mailbox over EWS as Calendars.ReadWrite does over Graph: reported beside RBAC
    for Applications, and an access policy (which restricts it) is not removed while it is there."""
    tenant.set_tenant(_consented(FULL_ACCESS_AS_APP, "consent-ews", "Office 365 Exchange Online"))
    tenant.exchange(
        "New-ApplicationAccessPolicy", {"AppId": APP, "PolicyScopeGroupId": GROUP, "AccessRight": "RestrictAccess"}
    )
    spec = _spec(tenant, remove=True)
    _apply(tenant, spec)
    plan = _plan(tenant, spec)
    by_kind = {f["kind"]: f for f in plan["wider_access"]}
    consent = by_kind["entra_consent"]
    assert consent["address"] == f"entra_consent.{APP}/full_access_as_app"
    assert "(Office 365 Exchange Online)" in consent["message"] and not consent["removed"]
    assert consent["fix"] and "-AppRoleAssignmentId 'consent-ews'" in consent["fix"][0]
    policy = by_kind["application_access_policy"]
    assert not policy["removed"] and "holds Entra ID consent for full_access_as_app" in policy["message"]
    assert not [c for c in plan["changes"] if c["action"] == "delete"]
