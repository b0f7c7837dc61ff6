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

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from reconciler.errors import ClientError
from reconciler.render import powershell as ps
from reconciler.resources import service_principal
from reconciler.resources.base import (
    APPLY,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    READ,
    ROLE_MANAGEMENT,
    SHELL_ADMIN,
    VIEW_ONLY_CONFIGURATION,
    Attributes,
    Backend,
    Context,
    Desired,
    Item,
    Observed,
    Permission,
    Query,
    ResourceKind,
    record_name,
)
from reconciler.resources.impersonation import IMPERSONATION_REFUSED, confirmed
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target
from reconciler.spec.presets import role_assignments
from reconciler.state.model import ResourceRecord

if TYPE_CHECKING:
    from reconciler.engine.plan import Change

# Exchange roles per cmdlet: Microsoft365DSC's EXOManagementRoleAssignment (Role Management, View-Only Configuration);
# the app's service principal is its own kind (service_principal.py)
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.25.1001.1/Content/"
    "DSCResources%5CMSFT_EXOManagementRoleAssignment%5Csettings.json"
)
SERVER_DOC = (
    "https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-configure-impersonation"
)


# Roles that open mailboxes to their holder: an assignment of one the spec does not ask for is wider access.
MAILBOX_ROLES = ("application calendars.", "application mail.", "application ews.", "applicationimpersonation")


class AssignmentAttrs(Attributes):
    """A management role assignment: its role, holder (app id or user principal name) and management scope."""

    role: str
    assignee: str
    assignee_type: Literal["app", "user"]
    scope: str | None = None
    # Disabled, an assignment grants nothing (Set-ManagementRoleAssignment -Enabled); the spec's are enabled
    enabled: bool = True


def _observed(address: str, row: dict[str, Any], assignee: str, assignee_type: str) -> Observed:
    attributes = {
        "role": row.get("Role"),
        "assignee": assignee,
        "assignee_type": assignee_type,
        "scope": _scope(row),
        "enabled": row.get("Enabled") is not False,
    }
    return Observed(address, str(row.get("Name") or row.get("Identity")), attributes)


class Online(Backend[AssignmentAttrs]):
    """The Exchange admin API: every role assignment of the spec's app or service account, scoped or not."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        holders = {(d.attributes["assignee"], d.attributes["assignee_type"]) for d in query.desired}
        holders |= {(r.attributes.get("assignee"), r.attributes.get("assignee_type")) for r in query.records}
        found: dict[str, Observed] = {}
        for assignee, assignee_type in sorted((str(a), str(t)) for a, t in holders if a):
            identity = assignee
            if assignee_type == "app":
                sp = ctx.lookups.service_principal(assignee)
                if sp is None:  # no pointer in Exchange: Get-ManagementRoleAssignment -RoleAssignee cannot name it
                    found.update(self._orphans(ctx, query, assignee, None, found))
                    continue
                identity = str(sp.get("ObjectId") or sp.get("Identity") or assignee)
            rows = ctx.clients.exchange.run(
                "Get-ManagementRoleAssignment", {"RoleAssignee": identity}, what=f"role assignments of {assignee}"
            )
            for row in rows:
                address = f"{RoleAssignmentKind.kind}.{row.get('Name') or row.get('Identity')}"
                found[address] = _observed(address, row, assignee, assignee_type)
            if assignee_type == "app":
                found.update(self._orphans(ctx, query, assignee, sp, found))
        return list(found.values())

    def _orphans(
        self, ctx: Context, query: Query, app_id: str, sp: Mapping[str, Any] | None, found: Mapping[str, Observed]
    ) -> dict[str, Observed]:
        """The app's assignments (the spec's names, the recorded ids) that -RoleAssignee did not return: left behind
        when its service principal was removed by hand. Without a pointer they grant nothing and are observed as the
        app's (New-ServicePrincipal with the enterprise application's object id points them at the app again); with
        one, an assignment that holds another object id is observed as that holder's (the plan replaces it)."""
        names = {d.address: d.name for d in query.desired if d.attributes.get("assignee") == app_id}
        names.update(
            {r.address: r.id or record_name(r) for r in query.records if r.attributes.get("assignee") == app_id}
        )
        seen = {o.id for o in found.values()} | {o.name for o in found.values()}
        result: dict[str, Observed] = {}
        for address, name in names.items():
            if address in found or name in seen:  # -RoleAssignee returned it: nothing left behind to look for
                continue
            row = ctx.clients.exchange.get("Get-ManagementRoleAssignment", {"Identity": name}, what=name)
            if row is None or row.get("RoleAssigneeType") != "ServicePrincipal":
                continue
            holder = str(row.get("App") or row.get("RoleAssignee") or "").lower()
            if sp is not None and holder == str(sp.get("ObjectId") or "").lower():
                continue  # the pointer's own: -RoleAssignee returned it (under another address)
            result[address] = _observed(address, row, app_id if sp is None else holder, "app")
        return result

    def create(self, ctx: Context, change: Change) -> Observed:
        attrs = self.parse(change.after)
        name = change.address.split(".", 1)[1]
        parameters: dict[str, Any] = {"Name": name, "Role": attrs.role}
        if attrs.assignee_type == "app":
            sp = ctx.lookups.service_principal(attrs.assignee)
            if sp is None:  # service_principal.<app> comes first in every plan (depends_on); by hand it may be gone
                raise ClientError(
                    f"the app {attrs.assignee} has no service principal in Exchange Online",
                    f"run apply again: the plan registers it ({service_principal.address_of(attrs.assignee)}) "
                    "before its role assignments",
                )
            parameters["App"] = str(sp["ObjectId"])
            if attrs.scope:
                parameters["CustomResourceScope"] = attrs.scope
        else:
            parameters["User"] = attrs.assignee
            if attrs.scope:
                parameters["CustomRecipientWriteScope"] = attrs.scope
        rows = ctx.clients.exchange.run("New-ManagementRoleAssignment", parameters, what=name)
        return Observed(change.address, str(rows[0].get("Name") if rows else name), attrs.to_json())

    def update(self, ctx: Context, change: Change) -> Observed:
        """Set-ManagementRoleAssignment with what differs: the scope, and -Enabled $true for a disabled one."""
        attrs = self.parse(change.after)
        identity = change.id or change.address.split(".", 1)[1]
        scope_parameter = "CustomResourceScope" if attrs.assignee_type == "app" else "CustomRecipientWriteScope"
        parameters: dict[str, Any] = {"Identity": identity}
        if "scope" in change.changed or not change.changed:
            parameters[scope_parameter] = attrs.scope
        if "enabled" in change.changed:
            parameters["Enabled"] = attrs.enabled
        ctx.clients.exchange.run("Set-ManagementRoleAssignment", parameters, what=identity)
        return Observed(change.address, identity, attrs.to_json())

    def delete(self, ctx: Context, change: Change) -> None:
        identity = change.id or change.address.split(".", 1)[1]
        ctx.clients.exchange.run(
            "Remove-ManagementRoleAssignment", {"Identity": identity, "Confirm": False}, what=identity
        )


class Server(Backend[AssignmentAttrs]):
    """Exchange Server: no API; the plan prints New-ManagementRoleAssignment, impersonation over EWS confirms it."""

    automated = False

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        return confirmed(ctx, query)

    def unseen(self) -> str | None:
        return IMPERSONATION_REFUSED

    def manual(self, change: Change) -> list[str]:
        attrs = self.parse(change.after)
        name = ps.quote(change.address.split(".", 1)[1])
        scope = f" -CustomRecipientWriteScope {ps.quote(attrs.scope)}" if attrs.scope else ""
        new = f"New-ManagementRoleAssignment -Name {name} -Role {ps.word(attrs.role)} -User {ps.quote(attrs.assignee)}"
        # converges whatever it finds (EWS cannot read an assignment): made once, its scope and Enabled set if it exists
        return [
            f"if (Get-ManagementRoleAssignment -Identity {name} -ErrorAction SilentlyContinue) "
            f"{{ Set-ManagementRoleAssignment -Identity {name}{scope} -Enabled $true }} else {{ {new}{scope} }}"
        ]


class RoleAssignmentKind(ResourceKind):
    kind = "role_assignment"
    create_only = frozenset({"role", "assignee"})
    online = Online(AssignmentAttrs)
    server = Server(AssignmentAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        online = loaded.spec.target is Target.EXCHANGE_ONLINE
        return [
            Desired(
                kind=self.kind,
                name=w.name,
                attributes=AssignmentAttrs(
                    role=w.role,
                    assignee=(w.app_id or w.user or "").lower(),
                    assignee_type="app" if w.app_id else "user",
                    scope=w.scope,
                ).to_json(),
                depends_on=(
                    *((f"management_scope.{w.scope}",) if w.scope else ()),
                    *((service_principal.address_of(w.app_id),) if w.app_id and online else ()),
                ),
                location=loaded.locate(*w.field),
            )
            for w in role_assignments(loaded.spec)
        ]

    def match(
        self, desired: Sequence[Desired], observed: Sequence[Observed], records: Sequence[ResourceRecord]
    ) -> tuple[list[Item], list[Observed]]:
        """An assignment is the spec's when role and holder match, whatever its name (an equal one under another
        name is the same object: Microsoft365DSC's pitfall); the recorded one first, then an equal scope, then the
        same name. Failing that, the assignment of the spec's name (another role: the plan replaces it)."""
        free = list(observed)
        by_record = {r.address: r for r in records}
        items: list[Item] = []
        for want in desired:
            record = by_record.get(want.address)
            found = _best(want, record, free)
            if found is not None:
                free.remove(found)
            items.append(Item(self, want, found, record))
        wanted = {d.address for d in desired}
        for record in records:
            if record.address in wanted:
                continue
            found = next((o for o in free if o.id == record.id or o.address == record.address), None)
            if found is not None:
                free.remove(found)
            items.append(Item(self, None, found, record))
        return items, free

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        return {k: v.lower() if isinstance(v, str) else v for k, v in attributes.items()}

    def widens(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
        if not before or not after:
            return None
        if before.get("scope") and not after.get("scope"):
            return f"removes the management scope {before['scope']}: the role then covers every mailbox"
        if str(before.get("role", "")).endswith(".Read") and str(after.get("role", "")).endswith(".ReadWrite"):
            return f"raises the role from {before['role']} to {after['role']}"
        return None

    def wider(self, observed: Observed, loaded: LoadedSpec) -> str | None:
        attrs = observed.attributes
        if attrs.get("enabled") is False:  # a disabled assignment grants nothing
            return None
        role = str(attrs.get("role") or "")
        if not role.lower().startswith(MAILBOX_ROLES):
            return None
        holder = f"{attrs.get('assignee_type')} {attrs.get('assignee')}"
        reach = f"the mailboxes of scope {attrs['scope']}" if attrs.get("scope") else "every mailbox (no scope)"
        how = "" if self.owns_wider(loaded) else "; access.exclusive: true removes it"
        return f"{holder} holds {role} on {reach} through {observed.id}, which the spec does not ask for{how}"

    def owns_wider(self, loaded: LoadedSpec) -> bool:
        return bool(loaded.spec.access and loaded.spec.access.exclusive)

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        parts: list[tuple[str, str | None]] = []
        if attributes.get("assignee"):
            parts.append((str(attributes.get("assignee_type") or "app"), str(attributes["assignee"])))
        if attributes.get("scope"):
            parts.append(("mailboxes in scope", str(attributes["scope"])))
        return parts or [("the holder of role assignment", name)]

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
        return result

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """New-ManagementRoleAssignment -App (the service principal's ObjectId) or -User, Set-, Remove-."""
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
            return [service_principal.lookup_line(attrs["assignee"]), f"{head} -App $ServicePrincipal.ObjectId{tail}"]
        tail = f" -CustomRecipientWriteScope {ps.quote(scope)}" if scope else ""
        return [f"{head} -User {ps.quote(attrs['assignee'])}{tail}"]

    def _ps_set(self, change: dict[str, Any]) -> list[str]:
        attrs = {**ps.before(change), **ps.after(change)}
        user = attrs.get("assignee_type") == "user"
        parameter = "CustomRecipientWriteScope" if user else "CustomResourceScope"
        scope = ps.quote(attrs["scope"]) if attrs.get("scope") else "$null"
        changed = change.get("changed") or []
        parts = [f"Set-ManagementRoleAssignment -Identity {self._ps_identity(change)}"]
        if "scope" in changed or not changed:
            parts.append(f"-{parameter} {scope}")
        if "enabled" in changed:
            parts.append(f"-Enabled {ps.boolean(attrs.get('enabled', True))}")
        return [" ".join(parts)]

    def _ps_remove(self, change: dict[str, Any]) -> list[str]:
        return [f"Remove-ManagementRoleAssignment -Identity {self._ps_identity(change)} -Confirm:$false"]

    def _ps_identity(self, change: dict[str, Any]) -> str:
        """The assignment as the tenant names it (the plan's id), else the spec's name."""
        return ps.quote(change.get("id") or ps.name_of(change))


def _best(want: Desired, record: ResourceRecord | None, free: list[Observed]) -> Observed | None:
    attrs = want.attributes
    same = [
        o
        for o in free
        if str(o.attributes.get("role", "")).lower() == attrs["role"].lower()
        and str(o.attributes.get("assignee", "")).lower() == attrs["assignee"]
    ]
    if same:
        same.sort(
            key=lambda o: (
                not (record is not None and o.id == record.id),
                (o.attributes.get("scope") or "").lower() != (attrs.get("scope") or "").lower(),
                o.address != want.address,
            )
        )
        return same[0]
    named = [o for o in free if o.address == want.address or (record is not None and o.id == record.id)]
    return named[0] if named else None


def _scope(row: dict[str, Any]) -> str | None:
    return row.get("CustomResourceScope") or row.get("CustomRecipientWriteScope") or None
