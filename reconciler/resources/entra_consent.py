"""`entra_consent`: an Entra ID admin consent for a permission that opens calendars (Microsoft Graph's Calendars.Read /
Calendars.ReadWrite, Exchange's EWS full_access_as_app) held by an app the spec scopes with RBAC for Applications
(Exchange Online). Never asked for, never made: only found, and reported as access wider than the spec.

Microsoft's RBAC for Applications page: "Permission consents are additive" and RBAC for Applications is "an alternate
expression of authorization": an app consented `Calendars.ReadWrite` in Entra ID reaches every mailbox whatever its
Exchange role assignment's scope (an application access policy, if any, restricts only that consent). The migration
from access policies removes the consent ("Remove consent to permission in Azure") before the policy. So for a spec
that restricts the integration with `rbac_for_applications`, every app role assignment of the app for one of those
permissions is an extra of this kind: `plan` and `drift` report it `(!)`, with the command that revokes it.
reconciler never revokes it itself, not even with `access.exclusive`: that needs AppRoleAssignment.ReadWrite.All, a
permission that lets its holder grant any app anything, which reconciler's own identity should not hold.

Read:   GET /servicePrincipals(appId='{appId}'), GET /servicePrincipals/{id}/appRoleAssignments
https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments
https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac
Revoke: Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId -AppRoleAssignmentId
https://learn.microsoft.com/powershell/module/microsoft.graph.applications/remove-mgserviceprincipalapproleassignment
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.clients.graph import EXCHANGE_EWS_APP_ROLES, MAILBOX_APP_ROLES
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    READ,
    Attributes,
    Backend,
    Context,
    Desired,
    Observed,
    Permission,
    Query,
    ResourceKind,
    Unsupported,
    graph_permission,
)
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target
from reconciler.spec.presets import leaving_access_policies

KIND = "entra_consent"
RBAC_DOC = "https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac"
LIST_DOC = "https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments"


class ConsentAttrs(Attributes):
    """One app role assignment of the app: which permission, on which resource, granted to which enterprise app."""

    app_id: str
    permission: str
    resource: str | None = None
    service_principal_id: str | None = None


def scoped_app(spec: Spec) -> str | None:
    """The integration's app id when the spec scopes it with RBAC for Applications on Exchange Online."""
    app = leaving_access_policies(spec)
    return app.lower() if app else None


class Online(Backend[ConsentAttrs]):
    """Microsoft Graph: the app's enterprise application and its app role assignments."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        app = scoped_app(ctx.spec.spec)
        if app is None:
            return []
        rows = ctx.clients.graph.mailbox_consents(app) or []
        found = []
        for row in rows:
            permission = MAILBOX_APP_ROLES[str(row["appRoleId"])]
            attributes = ConsentAttrs(
                app_id=app,
                permission=permission,
                resource=row.get("resourceDisplayName"),
                service_principal_id=row.get("principalId"),
            ).to_json()
            found.append(Observed(f"{KIND}.{app}/{permission}", str(row.get("id") or ""), attributes))
        return found


class EntraConsentKind(ResourceKind):
    kind = KIND
    deletable = False  # never made by reconciler, and never removed by it (see the module's docstring)
    online = Online(ConsentAttrs)
    server: Backend[ConsentAttrs] = Unsupported(ConsentAttrs)  # no Entra ID apps reach Exchange Server mailboxes

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        return []  # a spec never asks for it: RBAC for Applications replaces it

    def concerned(self, loaded: LoadedSpec) -> bool:
        return scoped_app(loaded.spec) is not None

    def wider(self, observed: Observed, loaded: LoadedSpec) -> str | None:
        attrs = observed.attributes
        return (
            f"app {attrs.get('app_id')} holds Entra ID admin consent for {attrs.get('permission')} "
            f"({attrs.get('resource') or _resource(str(attrs.get('permission')))}), which reaches every mailbox "
            "whatever the RBAC for "
            'Applications scope ("Permission consents are additive"; an application access policy, while there is '
            "one, restricts only this consent); the spec's scope is the limit only once it is revoked (Entra admin "
            "center > Enterprise applications > the app > Permissions, or the command below). reconciler never "
            f"revokes it itself: that needs AppRoleAssignment.ReadWrite.All ({RBAC_DOC})"
        )

    def identity(self, name: str) -> dict[str, Any]:
        app, _, permission = name.partition("/")
        return {"app_id": app, "permission": permission}

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        return [("app", str(attributes.get("app_id") or name.partition("/")[0])), ("every mailbox", None)]

    def permissions(self, spec: Spec) -> list[Permission]:
        if scoped_app(spec) is None:
            return []
        return [
            graph_permission(
                self.kind,
                READ,
                (
                    "GET /servicePrincipals(appId='{appId}') (the integration's enterprise app)",
                    "GET /servicePrincipals/{id}/appRoleAssignments (its Entra ID consents for calendars)",
                ),
                LIST_DOC,
            )
        ]

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """Revoking the consent (Microsoft Graph PowerShell); there is nothing to create or change."""
        nothing = [ps.comment(f"{change['address']}: reconciler never grants an Entra ID consent")]
        return ps.by_action(change, create=lambda _: nothing, update=lambda _: nothing, delete=self._ps_revoke)

    def _ps_revoke(self, change: dict[str, Any]) -> list[str]:
        values = {**ps.before(change), "id": change.get("id")}
        missing = ps.lacking(change, values, "service_principal_id", "id")
        if missing:
            return missing
        principal, assignment = ps.quote(values["service_principal_id"]), ps.quote(values["id"])
        cmdlet = "Remove-MgServicePrincipalAppRoleAssignment"
        return [f"{cmdlet} -ServicePrincipalId {principal} -AppRoleAssignmentId {assignment}"]


def _resource(permission: str) -> str:
    return "Office 365 Exchange Online" if permission in EXCHANGE_EWS_APP_ROLES.values() else "Microsoft Graph"
