"""Verify: the guide's "Test your credentials" (Remote Connectivity Analyzer, Service Account Access).

Exchange Online: Test-ServicePrincipalAuthorization (RBAC for Applications) or Test-ApplicationAccessPolicy
for the integration's app against a mailbox inside the scope and one outside, plus a real calendar read
through Graph with the integration's own app credentials when the spec supplies them, and, for an integration that
still uses EWS, a real EWS call as the app (a policy block reports Exchange's X-EWS-Policy-Reason header).
Exchange Server: EWS impersonation as the service account, inside and outside the scope.
Every check passes or fails with its reason.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from reconciler.clients.exchange_admin import ExchangeError
from reconciler.errors import ClientError, ReconcilerError, SpecError
from reconciler.resources.base import Context
from reconciler.resources.lookups import GROUP_TYPES, smtp
from reconciler.spec.models import AccessLevel, AppRestriction, Target

VERIFY_FORMAT_VERSION = "1.0"


class Check(BaseModel):
    name: str
    mailbox: str | None
    expected: str  # "allowed" or "refused"
    passed: bool
    reason: str


class VerifyReport(BaseModel):
    format_version: str = VERIFY_FORMAT_VERSION
    tenant: str
    passed: bool
    checks: list[Check]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def verify(ctx: Context, inside: str | None, outside: str | None) -> VerifyReport:
    spec = ctx.spec.spec
    if spec.access is None:
        raise SpecError(
            "verify needs an access section: it checks the access the spec grants", location=ctx.spec.locate()
        )
    scoped = spec.access.level is not AccessLevel.FULL and spec.access.scope_group is not None
    inside = inside or _first_member(ctx)
    outside = outside or (_first_outsider(ctx) if scoped else None)
    checks = []
    if spec.target is Target.EXCHANGE_SERVER:
        checks += _server_checks(ctx, inside, outside if scoped else None)
    else:
        checks += _online_checks(ctx, inside, outside if scoped else None)
    return VerifyReport(tenant=spec.tenant.name, passed=all(c.passed for c in checks) and bool(checks), checks=checks)


def _first_member(ctx: Context) -> str | None:
    access = ctx.spec.spec.access
    assert access is not None
    if access.scope_group is None:
        if access.mailboxes.addresses:
            return access.mailboxes.addresses[0]
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            return None
        rows = ctx.clients.exchange.run("Get-Mailbox", {"ResultSize": 1}, what="mailboxes")  # full: any mailbox
        return smtp(rows[0]) if rows else None
    if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
        members = ctx.lookups.ews_members(access.scope_group)
        return members[0] if members else None
    rows = [m for m in ctx.lookups.members(access.scope_group) if m.get("RecipientTypeDetails") not in GROUP_TYPES]
    return smtp(rows[0]) if rows else None


def _first_outsider(ctx: Context) -> str | None:
    access = ctx.spec.spec.access
    if ctx.spec.spec.target is Target.EXCHANGE_SERVER or access is None or access.scope_group is None:
        return None
    inside = {smtp(m) for m in ctx.lookups.members(access.scope_group)}
    rows = ctx.clients.exchange.run("Get-Mailbox", {"ResultSize": 200}, what="mailboxes")
    return next((smtp(r) for r in rows if smtp(r) not in inside), None)


def _expectations(inside: str | None, outside: str | None) -> list[tuple[str, str]]:
    return [(m, e) for m, e in ((inside, "allowed"), (outside, "refused")) if m]


# -- Exchange Online ------------------------------------------------------------------------
def _online_checks(ctx: Context, inside: str | None, outside: str | None) -> list[Check]:
    integration = ctx.spec.spec.integration
    if integration is None:
        return [
            Check(
                name="integration app",
                mailbox=None,
                expected="allowed",
                passed=False,
                reason="no integration.app_id in the spec: nothing to test on Exchange Online",
            )
        ]
    checks = []
    for mailbox, expected in _expectations(inside, outside):
        if integration.restriction is AppRestriction.APPLICATION_ACCESS_POLICY:
            checks.append(_policy_check(ctx, integration.app_id, mailbox, expected))
        else:
            checks.append(_rbac_check(ctx, integration.app_id, mailbox, expected))
        if integration.client_secret:
            checks.append(_graph_read_check(ctx, mailbox, expected))
        if integration.client_secret and integration.uses_ews:
            checks.append(_ews_check(ctx, mailbox, expected))
    return checks


# https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-control-access-to-ews-in-exchange
EWS_FIX = {
    "EWS is disabled for this user or tenant": "the organization's EwsEnabled (Set-OrganizationConfig) or the "
    "mailbox's (Set-CASMailbox -EwsEnabled) is not $true",
    "EWS is blocked by policy for this user or tenant": "the app is not on EwsAllowedAppIDs, or a user-agent "
    "policy (EwsApplicationAccessPolicy) blocks it; a change of the list can take up to 24 hours to take effect",
}


def _ews_check(ctx: Context, mailbox: str, expected: str) -> Check:
    from reconciler.clients.ews import probe_as_app
    from reconciler.clients.session import integration_ews_token

    name = "EWS GetFolder (Calendar) as the integration"
    url, token = integration_ews_token(ctx.spec, ctx.clients)
    answer = probe_as_app(url, token, mailbox)
    if answer.policy_reason:
        why = EWS_FIX.get(answer.policy_reason, "an EWS access policy")
        reason = f"HTTP {answer.status}, X-EWS-Policy-Reason: {answer.policy_reason} ({why})"
    elif answer.status != 200:
        reason = f"HTTP {answer.status}" + (f" ({answer.response_code})" if answer.response_code else "")
    else:
        reason = f"ResponseCode {answer.response_code}"
    return Check(
        name=name, mailbox=mailbox, expected=expected, passed=answer.allowed == (expected == "allowed"), reason=reason
    )


def _rbac_check(ctx: Context, app_id: str, mailbox: str, expected: str) -> Check:
    name = "Test-ServicePrincipalAuthorization"
    try:
        rows = ctx.clients.exchange.run(name, {"Identity": app_id, "Resource": mailbox}, what=app_id)
    except ExchangeError as exc:
        if not exc.not_found:
            return Check(
                name=name, mailbox=mailbox, expected=expected, passed=False, reason=f"{exc.summary}: {exc.detail}"
            )
        reason = f"app {app_id} is not registered in Exchange Online (no service principal, so no role)"
        return Check(name=name, mailbox=mailbox, expected=expected, passed=expected == "refused", reason=reason)
    granted = [r for r in rows if r.get("InScope") and "Calendars" in str(r.get("GrantedPermissions", ""))]
    allowed = bool(granted)
    roles = ", ".join(sorted({str(r.get("RoleName")) for r in granted})) or "no calendar role in scope"
    reason = (
        f"app {app_id}: {roles}" if allowed else f"app {app_id} has no calendar role whose scope includes {mailbox}"
    )
    return Check(
        name=name, mailbox=mailbox, expected=expected, passed=allowed == (expected == "allowed"), reason=reason
    )


def _policy_check(ctx: Context, app_id: str, mailbox: str, expected: str) -> Check:
    name = "Test-ApplicationAccessPolicy"
    try:
        rows = ctx.clients.exchange.run(name, {"Identity": mailbox, "AppId": app_id}, what=mailbox)
    except ClientError as exc:
        return Check(name=name, mailbox=mailbox, expected=expected, passed=False, reason=f"{exc.summary}: {exc.detail}")
    result = str(rows[0].get("AccessCheckResult")) if rows else "no answer"
    allowed = result == "Granted"
    return Check(
        name=name,
        mailbox=mailbox,
        expected=expected,
        passed=allowed == (expected == "allowed"),
        reason=f"AccessCheckResult: {result}",
    )


def _graph_read_check(ctx: Context, mailbox: str, expected: str) -> Check:
    from reconciler.clients.session import integration_graph

    name = "Graph calendar read as the integration"
    client = integration_graph(ctx.spec, ctx.clients)
    try:
        client.get_calendar(mailbox)
    except ClientError as exc:
        ok = expected == "refused" and exc.status in (401, 403)
        return Check(name=name, mailbox=mailbox, expected=expected, passed=ok, reason=exc.detail)
    finally:
        client.close()
    return Check(
        name=name,
        mailbox=mailbox,
        expected=expected,
        passed=expected == "allowed",
        reason=f"GET /users/{mailbox}/calendar answered 200",
    )


# -- Exchange Server ------------------------------------------------------------------------
def _server_checks(ctx: Context, inside: str | None, outside: str | None) -> list[Check]:
    from reconciler.clients.session import service_account_ews

    checks = []
    try:
        ews = service_account_ews(ctx.spec, ctx.clients)
    except ReconcilerError as exc:
        return [Check(name="EWS impersonation", mailbox=None, expected="allowed", passed=False, reason=exc.summary)]
    try:
        for mailbox, expected in _expectations(inside, outside):
            ok, why = ews.can_impersonate(mailbox)
            checks.append(
                Check(
                    name="EWS impersonation (Calendar folder)",
                    mailbox=mailbox,
                    expected=expected,
                    passed=ok == (expected == "allowed"),
                    reason=why,
                )
            )
    finally:
        ews.close()
    return checks
