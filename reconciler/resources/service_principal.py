"""`service_principal`: the integration's app as Exchange Online knows it (RBAC for Applications' "pointer").

An app holds Exchange Online roles only through its service principal in Exchange, a pointer to the app's
enterprise application in Microsoft Entra ID (New-ServicePrincipal -AppId -ObjectId -DisplayName). Every
role assignment to the app depends on it: refresh reads it before them, a pointer removed by hand is drift
named as this object, and apply makes it again before the assignments that need it.

Exchange Online only: service principals do not exist on-premises (the cmdlets are "available only in the
cloud-based service"), so the Exchange Server backend has nothing to manage and the spec asks for none there.

Read:   Get-ServicePrincipal -Identity <AppId>          (matched on AppId; resources/lookups.py)
Write:  New-ServicePrincipal -AppId -ObjectId -DisplayName (never removed: see `deletable`)
https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac ("Service Principals")
https://learn.microsoft.com/powershell/module/exchangepowershell/new-serviceprincipal
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.errors import ClientError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    EXCHANGE_ONLINE_ROLE,
    READ,
    ROLE_MANAGEMENT,
    VIEW_ONLY_CONFIGURATION,
    Attributes,
    Backend,
    Comparison,
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
from reconciler.spec.presets import role_assignments

if TYPE_CHECKING:
    from reconciler.engine.plan import Change

# Exchange roles per cmdlet: Microsoft365DSC's EXOServicePrincipal (read and update: Role Management)
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.527.1/Content/"
    "DSCResources%5CMSFT_EXOServicePrincipal%5Csettings.json"
)
READ_NOTE = (
    "Microsoft365DSC's EXOServicePrincipal listed View-Only Configuration for reading service principals until "
    "1.26.128.1 and Role Management since 1.26.408.1; if Get-ServicePrincipal is refused, plan needs Role Management"
)
ENTRA_DOC = "https://learn.microsoft.com/en-us/graph/api/serviceprincipal-get"
KIND = "service_principal"


class PrincipalAttrs(Attributes):
    """The app's Exchange service principal: its app id (what it is) and display name (written on create only)."""

    app_id: str
    display_name: str | None = None


def address_of(app_id: str) -> str:
    """The address of an app's service principal: `service_principal.<app id>` (what role assignments depend on)."""
    return f"{KIND}.{app_id.lower()}"


def apps(spec: Spec) -> list[tuple[str, tuple[str | int, ...]]]:
    """The apps that hold Exchange Online role assignments in the spec (RBAC for Applications), each once, with the
    spec field that asks for the first of its assignments."""
    if spec.target is not Target.EXCHANGE_ONLINE:
        return []
    found: dict[str, tuple[str | int, ...]] = {}
    for want in role_assignments(spec):
        if want.app_id:
            found.setdefault(want.app_id.lower(), want.field)
    return list(found.items())


def _observed(address: str, row: Mapping[str, Any]) -> Observed:
    attributes = {"app_id": str(row.get("AppId") or "").lower(), "display_name": row.get("DisplayName")}
    return Observed(address, str(row.get("ObjectId") or row.get("Identity") or ""), attributes)


class Online(Backend[PrincipalAttrs]):
    """The Exchange admin API: Get-/New-/Remove-ServicePrincipal."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        wanted = {d.address: str(d.attributes["app_id"]) for d in query.desired}
        wanted.update({r.address: str(r.attributes.get("app_id") or r.address.split(".", 1)[1]) for r in query.records})
        found = []
        for address, app_id in wanted.items():
            row = ctx.lookups.service_principal(app_id)
            if row is not None:
                found.append(_observed(address, row))
        return found

    def create(self, ctx: Context, change: Change) -> Observed:
        """New-ServicePrincipal with the object id of the app's enterprise application (Graph)."""
        attrs = self.parse(change.after)
        object_id = ctx.clients.graph.service_principal_object_id(attrs.app_id)
        if object_id is None:
            raise ClientError(
                f"the integration's app {attrs.app_id} has no enterprise application in this tenant",
                "an admin must consent to the integration first (its onboarding link), then run apply again",
            )
        parameters = {"AppId": attrs.app_id, "ObjectId": object_id, "DisplayName": attrs.display_name or attrs.app_id}
        rows = ctx.clients.exchange.run("New-ServicePrincipal", parameters, what=attrs.app_id)
        ctx.lookups.forget_service_principal(attrs.app_id)
        row = rows[0] if rows else {"AppId": attrs.app_id, "ObjectId": object_id, "DisplayName": attrs.display_name}
        return _observed(change.address, row)


class ServicePrincipalKind(ResourceKind):
    kind = KIND
    create_only = frozenset({"app_id"})
    # The pointer may serve role assignments reconciler does not manage (the app's other roles): when the spec no
    # longer gives the app a role assignment, reconciler stops managing it and leaves it in Exchange.
    deletable = False
    online = Online(PrincipalAttrs)
    server: Backend[PrincipalAttrs] = Unsupported(PrincipalAttrs)  # no service principals on-premises

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        integration = loaded.spec.integration
        result = []
        for app_id, field in apps(loaded.spec):
            ours = integration is not None and integration.app_id.lower() == app_id
            name = integration.display_name if integration is not None and ours else None
            result.append(
                Desired(
                    kind=self.kind,
                    name=app_id,
                    attributes=PrincipalAttrs(app_id=app_id, display_name=name).to_json(),
                    location=loaded.locate(*field),
                )
            )
        return result

    def compare(self, desired: Desired, observed: Observed) -> Comparison:
        """The pointer is the app's: only its app id is compared. The display name is what New-ServicePrincipal
        writes; it decides no access, so a name changed by hand (Set-ServicePrincipal) is left as it is."""
        changed = self.changed({"app_id": desired.attributes["app_id"]}, observed.attributes)
        return Comparison(changed, {**desired.attributes, **observed.attributes} if not changed else desired.attributes)

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        value = attributes.get("app_id")
        return {**attributes, "app_id": value.lower() if isinstance(value, str) else value}

    def identity(self, name: str) -> dict[str, Any]:
        return {"app_id": name}

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        return [("app", name)]  # and whatever its Exchange role assignments open: nothing, while it is missing

    def permissions(self, spec: Spec) -> list[Permission]:
        if not apps(spec):
            return []
        return [
            Permission(
                EXCHANGE_ONLINE_ROLE,
                VIEW_ONLY_CONFIGURATION,
                READ,
                ("Get-ServicePrincipal",),
                ROLES_DOC,
                self.kind,
                note=READ_NOTE,
            ),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                ROLE_MANAGEMENT,
                APPLY,
                ("New-ServicePrincipal",),
                ROLES_DOC,
                self.kind,
            ),
            graph_permission(
                self.kind,
                APPLY,
                ("GET /servicePrincipals(appId='{appId}') (the app's object id, for New-ServicePrincipal)",),
                ENTRA_DOC,
            ),
        ]

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """New-ServicePrincipal (with the enterprise application's ids from Get-MgServicePrincipal); Remove- for a
        delete written by hand (reconciler itself never removes the pointer)."""
        # https://learn.microsoft.com/powershell/module/exchangepowershell/new-serviceprincipal
        # https://learn.microsoft.com/powershell/module/exchangepowershell/remove-serviceprincipal
        return ps.by_action(change, create=self._ps_new, update=self._ps_new, delete=self._ps_remove)

    def _ps_new(self, change: dict[str, Any]) -> list[str]:
        attrs = ps.after(change)
        missing = ps.lacking(change, attrs, "app_id")
        if missing:
            return missing
        return service_principal_lines(str(attrs["app_id"]))

    def _ps_remove(self, change: dict[str, Any]) -> list[str]:
        identity = change.get("id") or ps.before(change).get("app_id") or ps.name_of(change)
        return [f"Remove-ServicePrincipal -Identity {ps.quote(identity)} -Confirm:$false"]


def service_principal_lines(app_id: str) -> list[str]:
    """`$ServicePrincipal`: the app's Exchange service principal, registered (New-ServicePrincipal) if missing; the
    role assignments' PowerShell names it as `$ServicePrincipal.ObjectId`."""
    entra_filter = "appId eq '" + app_id + "'"
    return [
        lookup_line(app_id),
        "if (-not $ServicePrincipal) { "
        f"$EntraApp = Get-MgServicePrincipal -Filter {ps.quote(entra_filter)}; "
        "$ServicePrincipal = New-ServicePrincipal -AppId $EntraApp.AppId -ObjectId $EntraApp.Id "
        "-DisplayName $EntraApp.DisplayName }",
    ]


def lookup_line(app_id: str) -> str:
    """`$ServicePrincipal`: the app's Exchange service principal as it is now."""
    return f"$ServicePrincipal = (Get-ServicePrincipal).Where({{ $_.AppId -eq {ps.quote(app_id)} }}, 'First')"
