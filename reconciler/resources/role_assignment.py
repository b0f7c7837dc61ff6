"""`role_assignment`: the right to act on mailboxes.

Exchange Online (RBAC for Applications): the integration's app, registered in Exchange with
New-ServicePrincipal, gets "Application Calendars.ReadWrite" (or ".Read") with a CustomResourceScope.
Exchange Server: ApplicationImpersonation to the service account with a CustomRecipientWriteScope;
there is no API for it, so the plan carries the Exchange Management Shell commands and the next plan
confirms them by impersonating a mailbox in scope over EWS.

An assignment is identified by role, assignee and scope, not by name: an equal assignment under
another name is the same object (Microsoft365DSC's pitfall).
https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac
"""

from __future__ import annotations

from typing import Any

from reconciler.clients.exchange_admin import ExchangeError
from reconciler.errors import ClientError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    READ,
    ROLE_MANAGEMENT,
    SHELL_ADMIN,
    VIEW_ONLY_CONFIGURATION,
    Context,
    Desired,
    Observed,
    Permission,
    ResourceKind,
    graph_permission,
    record_name,
)
from reconciler.resources.impersonation import confirmed
from reconciler.spec.models import Spec, Target
from reconciler.spec.presets import role_assignments
from reconciler.state.model import ResourceRecord

# Exchange roles per cmdlet: Microsoft365DSC's EXOManagementRoleAssignment (Role Management, View-Only Configuration)
# and EXOServicePrincipal (New-ServicePrincipal: Role Management)
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.25.1001.1/Content/"
    "DSCResources%5CMSFT_EXOManagementRoleAssignment%5Csettings.json"
)
SERVICE_PRINCIPAL_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.527.1/Content/"
    "DSCResources%5CMSFT_EXOServicePrincipal%5Csettings.json"
)
SERVICE_PRINCIPAL_NOTE = (
    "Microsoft365DSC's EXOServicePrincipal listed View-Only Configuration for reading service principals until "
    "1.26.128.1 and Role Management since 1.26.408.1; if Get-ServicePrincipal is refused, plan needs Role Management"
)
SERVER_DOC = (
    "https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-configure-impersonation"
)


class RoleAssignmentKind(ResourceKind):
    kind = "role_assignment"
    manual_on_exchange_server = True
    create_only = frozenset({"role", "assignee"})

    def desired(self, ctx: Context) -> list[Desired]:
        wants = role_assignments(ctx.spec.spec)
        return [
            Desired(
                kind=self.kind,
                name=w.name,
                attributes={
                    "role": w.role,
                    "assignee": (w.app_id or w.user or "").lower(),
                    "assignee_type": "app" if w.app_id else "user",
                    "scope": w.scope,
                },
                depends_on=(f"management_scope.{w.scope}",) if w.scope else (),
                location=ctx.spec.locate(*w.field),
            )
            for w in wants
        ]

    def permissions(self, spec: Spec) -> list[Permission]:
        wants = role_assignments(spec)
        if not wants:
            return []
        if spec.target is Target.EXCHANGE_SERVER:  # confirmed over EWS (impersonation.py); made by hand
            calls = ("New-ManagementRoleAssignment -Role ApplicationImpersonation -CustomRecipientWriteScope",)
            return [Permission(EXCHANGE_SERVER_ROLE, ROLE_MANAGEMENT, APPLY, calls, SERVER_DOC, self.kind, SHELL_ADMIN)]
        result = [
            Permission(
                EXCHANGE_ONLINE_ROLE,
                VIEW_ONLY_CONFIGURATION,
                READ,
                ("Get-ManagementRoleAssignment",),
                ROLES_DOC,
                self.kind,
            ),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                ROLE_MANAGEMENT,
                APPLY,
                ("New-ManagementRoleAssignment", "Set-ManagementRoleAssignment", "Remove-ManagementRoleAssignment"),
                ROLES_DOC,
                self.kind,
            ),
        ]
        if any(w.app_id for w in wants):  # RBAC for Applications: the app's Exchange service principal
            result += [
                Permission(
                    EXCHANGE_ONLINE_ROLE,
                    VIEW_ONLY_CONFIGURATION,
                    READ,
                    ("Get-ServicePrincipal",),
                    SERVICE_PRINCIPAL_DOC,
                    self.kind,
                    note=SERVICE_PRINCIPAL_NOTE,
                ),
                Permission(
                    EXCHANGE_ONLINE_ROLE,
                    ROLE_MANAGEMENT,
                    APPLY,
                    ("New-ServicePrincipal",),
                    SERVICE_PRINCIPAL_DOC,
                    self.kind,
                ),
                graph_permission(
                    self.kind,
                    APPLY,
                    ("GET /servicePrincipals(appId='{appId}') (the app's object id, for New-ServicePrincipal)",),
                    "https://learn.microsoft.com/en-us/graph/api/serviceprincipal-get",
                ),
            ]
        return result

    # -- read ------------------------------------------------------------------------------
    def read(self, ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None:
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            return confirmed(ctx, desired, record)
        if desired is None:
            assert record is not None
            row = ctx.clients.exchange.get(
                "Get-ManagementRoleAssignment", {"Identity": record.id or record_name(record)}
            )
            return Observed(str(row["Name"]), {**record.attributes, "scope": _scope(row)}) if row else None
        identities = self._assignee_identities(ctx, desired)
        if not identities:
            return None
        rows = [r for r in _by_role(ctx, desired.attributes["role"]) if _assignee(r) & identities]
        if not rows:
            return self._same_name(ctx, desired, record)
        rows.sort(key=lambda r: _scope(r) != desired.attributes["scope"])  # an equal one first, whatever its name
        row = rows[0]
        attributes = {**desired.attributes, "role": row.get("Role"), "scope": _scope(row)}
        return Observed(str(row.get("Name") or row.get("Identity")), attributes)

    def _same_name(self, ctx: Context, desired: Desired, record: ResourceRecord | None) -> Observed | None:
        """The assignment of this name with another role or assignee (e.g. the spec went from restricted to
        free_busy): the plan replaces it, instead of creating a second one that Exchange would refuse."""
        name = record.id if record is not None and record.id else desired.name
        row = ctx.clients.exchange.get("Get-ManagementRoleAssignment", {"Identity": name}, what=name)
        if row is None:
            return None
        assignee = sorted(_assignee(row))
        attributes = {
            **desired.attributes,
            "role": row.get("Role"),
            "assignee": desired.attributes["assignee"]
            if _assignee(row) & self._assignee_identities(ctx, desired)
            else (assignee[0] if assignee else None),
            "scope": _scope(row),
        }
        return Observed(str(row.get("Name") or name), attributes)

    def _assignee_identities(self, ctx: Context, desired: Desired) -> set[str]:
        if desired.attributes["assignee_type"] == "user":
            return {desired.attributes["assignee"]}
        sp = _service_principal(ctx, desired.attributes["assignee"])
        if sp is None:
            return set()
        return {
            str(v).lower() for k, v in sp.items() if k in ("AppId", "ObjectId", "DisplayName", "Identity", "Name") and v
        }

    # -- write -----------------------------------------------------------------------------
    def create(self, ctx: Context, desired: Desired) -> Observed:
        attrs = desired.attributes
        parameters: dict[str, Any] = {"Name": desired.name, "Role": attrs["role"]}
        if attrs["assignee_type"] == "app":
            parameters["App"] = self._registered_app(ctx, desired)
            if attrs["scope"]:
                parameters["CustomResourceScope"] = attrs["scope"]
        else:
            parameters["User"] = attrs["assignee"]
            if attrs["scope"]:
                parameters["CustomRecipientWriteScope"] = attrs["scope"]
        rows = ctx.clients.exchange.run("New-ManagementRoleAssignment", parameters, what=desired.name)
        return Observed(str(rows[0].get("Name") if rows else desired.name), dict(attrs))

    def _registered_app(self, ctx: Context, desired: Desired) -> str:
        """The service principal's ObjectId, registering the app in Exchange (New-ServicePrincipal) if needed."""
        app_id = desired.attributes["assignee"]
        sp = _service_principal(ctx, app_id)
        if sp is not None:
            return str(sp["ObjectId"])
        object_id = ctx.clients.graph.service_principal_object_id(app_id)
        if object_id is None:
            raise ClientError(
                f"the integration's app {app_id} has no enterprise application in this tenant",
                "an admin must consent to the integration first (its onboarding link), then run apply again",
            )
        name = ctx.spec.spec.integration.display_name if ctx.spec.spec.integration else app_id
        ctx.clients.exchange.run(
            "New-ServicePrincipal", {"AppId": app_id, "ObjectId": object_id, "DisplayName": name}, what=app_id
        )
        ctx.cache.pop(f"sp:{app_id}", None)
        return object_id

    def update(self, ctx: Context, desired: Desired, remote_id: str | None, changed: list[str]) -> Observed:
        attrs = desired.attributes
        scope_parameter = "CustomResourceScope" if attrs["assignee_type"] == "app" else "CustomRecipientWriteScope"
        ctx.clients.exchange.run(
            "Set-ManagementRoleAssignment",
            {"Identity": remote_id, scope_parameter: attrs["scope"]},
            what=remote_id or "",
        )
        return Observed(remote_id, dict(attrs))

    def delete(self, ctx: Context, record: ResourceRecord) -> None:
        identity = record.id or record_name(record)
        ctx.clients.exchange.run(
            "Remove-ManagementRoleAssignment", {"Identity": identity, "Confirm": False}, what=identity
        )

    def widens(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
        if not before or not after:
            return None
        if before.get("scope") and not after.get("scope"):
            return f"removes the management scope {before['scope']}: the role then covers every mailbox"
        if str(before.get("role", "")).endswith(".Read") and str(after.get("role", "")).endswith(".ReadWrite"):
            return f"raises the role from {before['role']} to {after['role']}"
        return None

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        return {k: v.lower() if isinstance(v, str) else v for k, v in attributes.items()}

    def manual(self, ctx: Context, desired: Desired, action: str) -> list[str]:
        if ctx.spec.spec.target is not Target.EXCHANGE_SERVER:
            return []
        attrs = desired.attributes
        scope = f" -CustomRecipientWriteScope {ps.quote(attrs['scope'])}" if attrs["scope"] else ""
        return [
            f"New-ManagementRoleAssignment -Name {ps.quote(desired.name)} -Role {ps.word(attrs['role'])} "
            f"-User {ps.quote(attrs['assignee'])}{scope}"
        ]

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """New-ManagementRoleAssignment -App (New-ServicePrincipal first when needed) or -User, Set-, Remove-."""
        # https://learn.microsoft.com/powershell/module/exchangepowershell/new-managementroleassignment
        # https://learn.microsoft.com/exchange/permissions-exo/application-rbac (New-ServicePrincipal, -App)
        if not change.get("automated", True):
            return super().powershell(change)
        return ps.by_action(change, create=self._ps_new, update=self._ps_set, delete=self._ps_remove)

    def _ps_new(self, change: dict[str, Any]) -> list[str]:
        attrs = ps.after(change)
        missing = ps.lacking(change, attrs, "role", "assignee")
        if missing:
            return missing
        head = f"New-ManagementRoleAssignment -Name {ps.quote(ps.name_of(change))} -Role {ps.quote(attrs['role'])}"
        scope = attrs.get("scope")
        if attrs.get("assignee_type") == "app":
            tail = f" -CustomResourceScope {ps.quote(scope)}" if scope else ""
            return [*self._ps_service_principal(attrs["assignee"]), f"{head} -App $ServicePrincipal.ObjectId{tail}"]
        tail = f" -CustomRecipientWriteScope {ps.quote(scope)}" if scope else ""
        return [f"{head} -User {ps.quote(attrs['assignee'])}{tail}"]

    def _ps_service_principal(self, app_id: str) -> list[str]:
        """`$ServicePrincipal`: the app's Exchange service principal, registered (New-ServicePrincipal) if missing."""
        entra_filter = "appId eq '" + app_id + "'"
        return [
            f"$ServicePrincipal = (Get-ServicePrincipal).Where({{ $_.AppId -eq {ps.quote(app_id)} }}, 'First')",
            "if (-not $ServicePrincipal) { "
            f"$EntraApp = Get-MgServicePrincipal -Filter {ps.quote(entra_filter)}; "
            "$ServicePrincipal = New-ServicePrincipal -AppId $EntraApp.AppId -ObjectId $EntraApp.Id "
            "-DisplayName $EntraApp.DisplayName }",
        ]

    def _ps_set(self, change: dict[str, Any]) -> list[str]:
        attrs = {**ps.before(change), **ps.after(change)}
        user = attrs.get("assignee_type") == "user"
        parameter = "CustomRecipientWriteScope" if user else "CustomResourceScope"
        scope = ps.quote(attrs["scope"]) if attrs.get("scope") else "$null"
        return [f"Set-ManagementRoleAssignment -Identity {self._ps_identity(change)} -{parameter} {scope}"]

    def _ps_remove(self, change: dict[str, Any]) -> list[str]:
        return [f"Remove-ManagementRoleAssignment -Identity {self._ps_identity(change)} -Confirm:$false"]

    def _ps_identity(self, change: dict[str, Any]) -> str:
        """The assignment as the tenant names it (the plan's id), else the spec's name."""
        return ps.quote(change.get("id") or ps.name_of(change))


def _by_role(ctx: Context, role: str) -> list[dict[str, Any]]:
    return ctx.cached(
        f"assignments:{role.lower()}",
        lambda: ctx.clients.exchange.run("Get-ManagementRoleAssignment", {"Role": role}, what=role),
    )


def _service_principal(ctx: Context, app_id: str) -> dict[str, Any] | None:
    """The app's service principal in Exchange, matched on AppId: Get-ServicePrincipal's page warns that an
    -Identity value that does not exist can return every service principal instead of none."""

    def load() -> dict[str, Any] | None:
        try:
            rows = ctx.clients.exchange.run("Get-ServicePrincipal", {"Identity": app_id}, what=app_id)
        except ExchangeError as exc:
            if exc.not_found:
                return None
            raise
        return next((r for r in rows if str(r.get("AppId", "")).lower() == app_id.lower()), None)

    return ctx.cached(f"sp:{app_id}", load)


def _assignee(row: dict[str, Any]) -> set[str]:
    return {str(row[k]).lower() for k in ("RoleAssignee", "RoleAssigneeName") if row.get(k)}


def _scope(row: dict[str, Any]) -> str | None:
    return row.get("CustomResourceScope") or row.get("CustomRecipientWriteScope") or None
