"""`application_access_policy`: limit the integration's app to a mail-enabled security group (Exchange Online).

Cronofy's supported method (docs.cronofy.com, "restrict data access"); the spec chooses it with
`integration.restriction: application_access_policy` instead of RBAC for Applications. Microsoft's
New-ApplicationAccessPolicy page says not to create new ones (DEPRECATED below): every plan of such a spec says so.

Migrating to RBAC for Applications (a spec choosing `rbac_for_applications` for an app that has policies): "Application
Access Policies constrain ONLY the permissions assigned in Microsoft Entra ID" and "Permission consents are additive"
(https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac, "How does RBAC for Applications work
alongside Application Access Policies?"). While both exist the app reaches (its Entra consent within the policy's
group) plus (its RBAC scope); once the policy is gone, an Entra consent left behind reaches every mailbox. So the
page's migration order is kept, and each step is a plan of its own: the scope and assignment are made first (the
policy stays); the policy is removed only with `access.remove_access_policies: true`, only after refresh sees the
app's RBAC role (Test-ServicePrincipalAuthorization, as `reconciler verify` runs it) and only when the app holds no
Entra ID consent for calendars (Graph appRoleAssignments; the page's step 4, "Remove consent to permission in
Azure", comes before step 5, "Remove the Application Access Policy"). Until then the plan says why it is kept.

Read:  Get-ApplicationAccessPolicy          Write: New-/Remove-ApplicationAccessPolicy
https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-applicationaccesspolicy
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.clients.exchange_admin import ExchangeError
from reconciler.errors import SpecError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    EXCHANGE_ONLINE_ROLE,
    ORGANIZATION_CONFIGURATION,
    READ,
    VIEW_ONLY_CONFIGURATION,
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
    record_name,
)
from reconciler.resources.lookups import read_permission, smtp
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target
from reconciler.spec.presets import access_policies, leaving_access_policies

if TYPE_CHECKING:
    from reconciler.engine.plan import Change
    from reconciler.resources.lookups import Lookups

DESCRIPTION = "Managed by reconciler: calendar integration restricted to its scope group"
# Microsoft's New-ApplicationAccessPolicy page (https://learn.microsoft.com/powershell/module/exchange/new-applicationaccesspolicy)
DEPRECATED = (
    "integration.restriction: application_access_policy. Microsoft's New-ApplicationAccessPolicy page: \"App Access "
    "Policies are replaced by Role Based Access Control for Applications. [...] Don't create new App Access Policies "
    'as these policies will eventually require migration to Role Based Access Control for Applications." The '
    "alternative: integration.restriction: rbac_for_applications (a management scope from access.scope_group and "
    "New-ManagementRoleAssignment -App -CustomResourceScope); on a tenant that already has the policy, reconciler "
    "plans the migration (README: Two targets)"
)
RBAC_DOC = "https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac"
# Exchange roles: Microsoft365DSC's EXOApplicationAccessPolicy (read View-Only Configuration, update Organization
# Configuration)
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.128.1/Content/"
    "DSCResources%5CMSFT_EXOApplicationAccessPolicy%5Csettings.json"
)


class PolicyAttrs(Attributes):
    """An application access policy: the app, its scope group's address, RestrictAccess."""

    app_id: str
    scope_group: str
    access_right: str


class Online(Backend[PolicyAttrs]):
    """The Exchange admin API: every access policy of the spec's app (Get-ApplicationAccessPolicy lists all)."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        apps = {str(d.attributes["app_id"]).lower() for d in query.desired}
        apps |= {str(r.attributes.get("app_id") or record_name(r)).lower() for r in query.records}
        leaving = leaving_access_policies(ctx.spec.spec)
        apps |= {leaving} if leaving else set()
        rows = ctx.clients.exchange.run("Get-ApplicationAccessPolicy", {}, what="application access policies")
        found: list[Observed] = []
        taken: set[str] = set()
        migration: dict[str, Any] | None = None
        for row in rows:
            app_id = str(row.get("AppId", "")).lower()
            if app_id not in apps:
                continue
            address = f"{ApplicationAccessPolicyKind.kind}.{app_id}"
            if address in taken:  # a second policy of the same app: reported apart under its identity
                address = f"{ApplicationAccessPolicyKind.kind}.{row.get('Identity')}"
            taken.add(address)
            attributes = {
                "app_id": app_id,
                "scope_group": group_address(ctx, row),
                "access_right": row.get("AccessRight"),
            }
            if app_id == leaving:  # what decides whether the policy may go (see the module's docstring)
                migration = migration if migration is not None else migration_facts(ctx, app_id)
                attributes.update(migration)
            found.append(Observed(address, str(row.get("Identity")), attributes))
        return found

    def create(self, ctx: Context, change: Change) -> Observed:
        attrs = self.parse(change.after)
        rows = ctx.clients.exchange.run(
            "New-ApplicationAccessPolicy",
            {
                "AppId": attrs.app_id,
                "PolicyScopeGroupId": attrs.scope_group,
                "AccessRight": attrs.access_right,
                "Description": DESCRIPTION,
            },
            what=attrs.app_id,
        )
        return Observed(change.address, str(rows[0].get("Identity")) if rows else None, attrs.to_json())

    def update(self, ctx: Context, change: Change) -> Observed:
        return Observed(change.address, change.id, self.parse(change.after).to_json())  # every attribute: create-only

    def delete(self, ctx: Context, change: Change) -> None:
        identity = change.id or ""
        ctx.clients.exchange.run(
            "Remove-ApplicationAccessPolicy", {"Identity": identity, "Confirm": False}, what=identity
        )


def migration_facts(ctx: Context, app_id: str) -> dict[str, Any]:
    """What the app has besides its policies: the calendar roles RBAC for Applications grants it
    (Test-ServicePrincipalAuthorization, as `reconciler verify` runs it) and the calendar permissions an admin
    consented for it in Entra ID (Graph appRoleAssignments), which the policy restricts."""
    try:
        rows = ctx.clients.exchange.run("Test-ServicePrincipalAuthorization", {"Identity": app_id}, what=app_id)
    except ExchangeError as exc:
        if not exc.not_found:
            raise
        rows = []  # not registered in Exchange (no New-ServicePrincipal yet): no RBAC role
    roles = sorted({str(r.get("RoleName")) for r in rows if "Calendars" in str(r.get("GrantedPermissions", ""))})
    consent = ctx.clients.graph.app_permissions(app_id) or []
    return {"rbac_roles": roles, "entra_consent": consent}


def group_address(ctx: Context, row: dict[str, Any]) -> str:
    for key in ("ScopeIdentity", "ScopeName"):
        if row.get(key):
            found = ctx.lookups.recipient(str(row[key]))
            if found is not None:
                return smtp(found)
    return str(row.get("ScopeName") or "").lower()


class ApplicationAccessPolicyKind(ResourceKind):
    kind = "application_access_policy"
    create_only = frozenset({"app_id", "scope_group", "access_right"})
    online = Online(PolicyAttrs)
    server = Unsupported(PolicyAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def resolve(self, loaded: LoadedSpec, lookups: Lookups) -> dict[str, Any]:
        """Each scope group's address; it must be a mail-enabled security group."""
        groups = {}
        for want in access_policies(loaded.spec):
            location = loaded.locate(*want.field)
            group = lookups.existing_group(want.group, location, "scope group")
            if group.get("RecipientTypeDetails") != "MailUniversalSecurityGroup":
                raise SpecError(
                    f"scope group '{want.group}' is a {group.get('RecipientTypeDetails')}, "
                    "but an application access policy needs a mail-enabled security group",
                    "create one with New-DistributionGroup -Type Security and name it in access.scope_group",
                    location,
                )
            groups[want.group] = smtp(group)
        return {"group_address": groups} if groups else {}

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        groups: Mapping[str, str] = resolved.get("group_address", {})
        return [
            Desired(
                kind=self.kind,
                name=want.app_id,
                attributes=PolicyAttrs(
                    app_id=want.app_id, scope_group=groups.get(want.group, want.group), access_right="RestrictAccess"
                ).to_json(),
                location=loaded.locate(*want.field),
            )
            for want in access_policies(loaded.spec)
        ]

    def permissions(self, spec: Spec) -> list[Permission]:
        if leaving_access_policies(spec):
            return self._migration_permissions(spec)
        if not access_policies(spec):
            return []
        return [
            read_permission(self.kind, ("Get-DistributionGroup (the scope group)", "Get-Recipient")),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                VIEW_ONLY_CONFIGURATION,
                READ,
                ("Get-ApplicationAccessPolicy",),
                ROLES_DOC,
                self.kind,
            ),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                ORGANIZATION_CONFIGURATION,
                APPLY,
                ("New-ApplicationAccessPolicy", "Remove-ApplicationAccessPolicy"),
                ROLES_DOC,
                self.kind,
            ),
        ]

    def widens(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
        if before and after is None:
            app = before.get("app_id")
            return f"removes the access policy: app {app} may then reach every mailbox it is consented for"
        return None

    def warnings(self, loaded: LoadedSpec) -> list[str]:
        return [DEPRECATED] if access_policies(loaded.spec) else []

    def concerned(self, loaded: LoadedSpec) -> bool:
        """An app moving to RBAC for Applications: its policies are read (and reported) though the spec makes none."""
        return leaving_access_policies(loaded.spec) is not None

    def owns_wider(self, loaded: LoadedSpec) -> bool:
        """Migrating to RBAC for Applications, the spec removes the app's policies only when it says so."""
        access = loaded.spec.access
        return bool(leaving_access_policies(loaded.spec) and access is not None and access.remove_access_policies)

    def held(self, observed: Observed, loaded: LoadedSpec) -> str | None:
        """Why the policy of an app migrating to RBAC for Applications stays for now (see the module's docstring)."""
        attrs = observed.attributes
        app = str(attrs.get("app_id") or "")
        if app != leaving_access_policies(loaded.spec) or str(attrs.get("access_right", "")).lower() == "denyaccess":
            return None
        if not attrs.get("rbac_roles"):
            return (
                f"Test-ServicePrincipalAuthorization shows no RBAC for Applications calendar role for app {app} "
                "yet; apply the spec's scope and assignment, run `reconciler verify`, then plan again"
            )
        consent = ", ".join(attrs.get("entra_consent") or [])
        if consent:
            return (
                f"app {app} holds Entra ID consent for {consent}, which this policy restricts; without the "
                "policy that consent reaches every mailbox. Revoke it first (Microsoft's migration step 4: Entra admin "
                f"center > Enterprise applications > the app > Permissions), then plan again ({RBAC_DOC})"
            )
        return None

    def _migration_permissions(self, spec: Spec) -> list[Permission]:
        """Reading the app's policies, RBAC roles and Entra consent; removing the policies when the spec says so."""
        result = [
            Permission(
                EXCHANGE_ONLINE_ROLE,
                VIEW_ONLY_CONFIGURATION,
                READ,
                ("Get-ApplicationAccessPolicy",),
                ROLES_DOC,
                self.kind,
            ),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                VIEW_ONLY_CONFIGURATION,
                READ,
                ("Test-ServicePrincipalAuthorization",),
                RBAC_DOC,
                self.kind,
                note="Microsoft names no role for it; if plan is refused it, it needs Role Management",
            ),
            graph_permission(
                self.kind,
                READ,
                ("GET /servicePrincipals/{id}/appRoleAssignments (the app's Entra ID consent)",),
                "https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments",
                note="read only while the app still has an application access policy",
            ),
        ]
        if spec.access is not None and spec.access.remove_access_policies:
            result.append(
                Permission(
                    EXCHANGE_ONLINE_ROLE,
                    ORGANIZATION_CONFIGURATION,
                    APPLY,
                    ("Remove-ApplicationAccessPolicy",),
                    ROLES_DOC,
                    self.kind,
                )
            )
        return result

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        return {k: v.lower() if isinstance(v, str) else v for k, v in attributes.items()}

    def wider(self, observed: Observed, loaded: LoadedSpec) -> str | None:
        attrs = observed.attributes
        if str(attrs.get("access_right", "")).lower() == "denyaccess":
            return None
        if attrs.get("app_id") == leaving_access_policies(loaded.spec):
            what = f"app {attrs.get('app_id')} still has application access policy {observed.id}"
            reach = f"its Entra ID consent on the members of {attrs.get('scope_group')}"
            how = "" if self.owns_wider(loaded) else "; access.remove_access_policies: true removes it"
            return f"{what} ({reach}), which RBAC for Applications replaces{how}"
        return (
            f"app {attrs.get('app_id')} has a second access policy ({observed.id}) granting the members of "
            f"{attrs.get('scope_group')}, which the spec does not ask for"
        )

    def identity(self, name: str) -> dict[str, Any]:
        return {"app_id": name}

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        return [("app", name)]

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """New-ApplicationAccessPolicy -AccessRight RestrictAccess, Remove-ApplicationAccessPolicy."""
        # https://learn.microsoft.com/powershell/module/exchangepowershell/new-applicationaccesspolicy
        same = [ps.comment(f"{change['address']}: every attribute is create-only; nothing to change in place")]
        return ps.by_action(change, create=self._ps_new, update=lambda _: same, delete=self._ps_remove)

    def _ps_new(self, change: dict[str, Any]) -> list[str]:
        attrs = {"app_id": ps.name_of(change), "access_right": "RestrictAccess", **ps.after(change)}
        missing = ps.lacking(change, attrs, "scope_group")
        if missing:
            return missing
        return [
            ps.comment('Microsoft: "Don\'t create new App Access Policies" (RBAC for Applications replaces them)'),
            f"New-ApplicationAccessPolicy -AppId {ps.quote(attrs['app_id'])} "
            f"-PolicyScopeGroupId {ps.quote(attrs['scope_group'])} -AccessRight {ps.word(attrs['access_right'])} "
            f"-Description {ps.quote(DESCRIPTION)}",
        ]

    def _ps_remove(self, change: dict[str, Any]) -> list[str]:
        if change.get("id"):
            return [f"Remove-ApplicationAccessPolicy -Identity {ps.quote(change['id'])} -Confirm:$false"]
        app_id = ps.before(change).get("app_id") or ps.name_of(change)
        return [
            f"(Get-ApplicationAccessPolicy).Where({{ $_.AppId -eq {ps.quote(app_id)} }}) | "
            "Remove-ApplicationAccessPolicy -Confirm:$false"
        ]
