"""`reconciler permissions SPEC`: what reconciler's own identity needs for this spec, read-only first.

Each resource kind declares what it needs for the spec (`ResourceKind.permissions`, resources/base.py), so a new
kind brings its own entries. This module adds what no kind owns: the Exchange admin API's application permission,
the reads of `export` and the checks of `verify`; then merges equal entries (one per permission and holder), orders
them (read before apply, least privileged first) and writes the commands that grant them. The tenant is never read.

Read-only is enough for plan, drift, import, export and verify; apply needs the read set plus the apply entries
(an apply entry may replace a read one: User.ReadWrite.All makes User.Read.All unnecessary).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from reconciler.resources import KINDS
from reconciler.resources.base import (
    APPLICATION_IMPERSONATION,
    APPLY,
    DISTRIBUTION_GROUPS,
    ENTRA_ROLE,
    EWS_ACCOUNT,
    EXCHANGE_APP_PERMISSION,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    GRAPH_PERMISSION,
    MAIL_RECIPIENTS,
    ORGANIZATION_CONFIGURATION,
    READ,
    READ_COMMANDS,
    RECONCILER_APP,
    ROLE_MANAGEMENT,
    SHELL_ADMIN,
    VIEW_ONLY_CONFIGURATION,
    VIEW_ONLY_RECIPIENTS,
    Permission,
    graph_permission,
)
from reconciler.resources.calendar_permission import GRAPH_LIST_DOC, IMPERSONATION_DOC, IMPERSONATION_NOTE
from reconciler.resources.lookups import RECIPIENTS_DOC
from reconciler.resources.service_principal import READ_NOTE as SERVICE_PRINCIPAL_NOTE
from reconciler.resources.service_principal import ROLES_DOC as SERVICE_PRINCIPAL_DOC
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import AppRestriction, Spec, Target
from reconciler.syntax import ps_single_quoted

PERMISSIONS_FORMAT_VERSION = "1.0"
ADMIN_API_DOC = "https://learn.microsoft.com/en-us/exchange/reference/admin-api-authentication"
APP_ONLY_DOC = "https://learn.microsoft.com/en-us/powershell/exchange/app-only-auth-powershell-v2"
CONSENT_DOC = "https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignments"
APPLICATION_RBAC_DOC = "https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac"
CMDLET_ROLES_DOC = "https://learn.microsoft.com/en-us/powershell/exchange/find-exchange-cmdlet-permissions"
ROOM_LISTS_DOC = (
    "https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getroomlists-operation"
)
EXPAND_DL_DOC = "https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/expanddl-operation"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"  # Office 365 Exchange Online
EXPORT_GRAPH = (
    ("GET /users/{id}", "https://learn.microsoft.com/en-us/graph/api/user-get"),
    ("GET /subscribedSkus", "https://learn.microsoft.com/en-us/graph/api/subscribedsku-list"),
    ("GET /users/{mailbox}/calendar/calendarPermissions ($batch)", GRAPH_LIST_DOC),
)
UNDOCUMENTED = (
    "Microsoft names no role for {cmdlet} (Get-ManagementRoleEntry '*\\{cmdlet}' in the tenant shows them); "
    "if verify is refused, it needs {fallback}"
)

# Order of the output: read before apply; Graph, Exchange Online, Entra, then Exchange Server; least privileged first.
NEEDED_ORDER = {READ: 0, APPLY: 1}
API_ORDER = {
    GRAPH_PERMISSION: 0,
    EXCHANGE_APP_PERMISSION: 1,
    EXCHANGE_ONLINE_ROLE: 2,
    ENTRA_ROLE: 3,
    EXCHANGE_SERVER_ROLE: 4,
}
HOLDER_ORDER = {RECONCILER_APP: 0, EWS_ACCOUNT: 1, SHELL_ADMIN: 2}
ROLE_RANK = {
    VIEW_ONLY_RECIPIENTS: 0,
    VIEW_ONLY_CONFIGURATION: 1,
    MAIL_RECIPIENTS: 2,
    DISTRIBUTION_GROUPS: 3,
    ORGANIZATION_CONFIGURATION: 4,
    ROLE_MANAGEMENT: 5,
    APPLICATION_IMPERSONATION: 6,
}
COMMAND_ORDER = ("plan", "drift", "import", "export", "verify", "apply")


class PermissionEntry(BaseModel):
    """One permission or role, merged over every kind and command that needs it."""

    api: str
    name: str
    needed_for: Literal["read", "apply"]
    holder: str
    why: str
    calls: list[str]
    owners: list[str]
    commands: list[str]
    doc: str
    replaces: str | None = None
    notes: list[str] = Field(default_factory=list)


class PermissionReport(BaseModel):
    format_version: str = PERMISSIONS_FORMAT_VERSION
    spec: str
    tenant: str
    target: str
    app_id: str | None  # tenant.auth.client_id (None: whatever identity azure-identity's chain finds)
    ews_account: str | None  # exchange_server.username (Exchange Server)
    read: list[PermissionEntry]  # enough for plan, drift, import, export, verify
    apply: list[PermissionEntry]  # what apply needs in addition
    grant_read: list[str]  # PowerShell that grants the read set ("#" lines are comments)
    grant_apply: list[str]  # PowerShell that grants what apply adds
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def entries(self) -> list[PermissionEntry]:
        return [*self.read, *self.apply]


def required_permissions(loaded: LoadedSpec) -> PermissionReport:
    spec = loaded.spec
    found: list[Permission] = []
    for kind in KINDS.values():
        found += kind.permissions(spec)
    found += _admin_api(spec) + _export(spec) + _verify(spec)
    entries = merge(found)
    read = [e for e in entries if e.needed_for == READ]
    apply = [e for e in entries if e.needed_for == APPLY]
    return PermissionReport(
        spec=str(loaded.path),
        tenant=spec.tenant.name,
        target=spec.target.value,
        app_id=spec.tenant.auth.client_id,
        ews_account=spec.exchange_server.username if spec.exchange_server else None,
        read=read,
        apply=apply,
        grant_read=grant_commands(spec, read),
        grant_apply=grant_commands(spec, apply),
        notes=_notes(spec, entries),
    )


def merge(found: list[Permission]) -> list[PermissionEntry]:
    """One entry per (api, name, holder): read if anything reads with it; calls, owners and commands joined."""
    groups: dict[tuple[str, str, str], list[Permission]] = {}
    for permission in found:
        groups.setdefault((permission.api, permission.name, permission.holder), []).append(permission)
    entries = []
    for (api, name, holder), items in groups.items():
        needed: Literal["read", "apply"] = "read" if any(p.needed_for == READ for p in items) else "apply"
        commands = {c for p in items for c in p.used_by}
        entries.append(
            PermissionEntry(
                api=api,
                name=name,
                needed_for=needed,
                holder=holder,
                why=_why(items),
                calls=list(dict.fromkeys(c for p in items for c in p.calls)),
                owners=list(dict.fromkeys(p.owner for p in items if p.owner)),
                commands=[c for c in COMMAND_ORDER if c in commands],
                doc=next(p.doc for p in items if p.doc),
                replaces=next((p.replaces for p in items if p.replaces), None),
                notes=list(dict.fromkeys(p.note for p in items if p.note)),
            )
        )
    return sorted(entries, key=_order)


def _why(items: list[Permission]) -> str:
    """What needs it, each owner once in the order they came: `kind: call, call; other kind: call`."""
    by_owner: dict[str, list[str]] = {}
    for item in items:
        calls = by_owner.setdefault(item.owner, [])
        calls += [c for c in item.calls if c not in calls]
    return "; ".join(f"{owner}: {', '.join(calls)}" if owner else ", ".join(calls) for owner, calls in by_owner.items())


def _order(entry: PermissionEntry) -> tuple[int, int, int, int, str]:
    rank = ROLE_RANK.get(entry.name, 1 if "ReadWrite" in entry.name else 0)
    return (
        NEEDED_ORDER[entry.needed_for],
        API_ORDER.get(entry.api, 9),
        HOLDER_ORDER.get(entry.holder, 9),
        rank,
        entry.name,
    )


# -- what no kind owns ---------------------------------------------------------------------------
def _admin_api(spec: Spec) -> list[Permission]:
    """Exchange.ManageAsAppV2: every call to the Exchange admin API (every Exchange Online role is used through it)."""
    if spec.target is not Target.EXCHANGE_ONLINE:
        return []
    return [
        Permission(
            EXCHANGE_APP_PERMISSION,
            "Exchange.ManageAsAppV2",
            READ,
            ("POST /adminapi/v2.0/{tenant}/<Endpoint>", "POST /adminapi/beta/{tenant}/InvokeCommand"),
            ADMIN_API_DOC,
            "Exchange admin API",
            commands=(*READ_COMMANDS, "export", "verify"),
            note="alone it allows nothing: the Exchange roles below say which cmdlets the app may run",
        )
    ]


def _export(spec: Spec) -> list[Permission]:
    """`export` reads the whole calendar setup of the tenant, whatever the spec asks for."""
    if spec.target is Target.EXCHANGE_SERVER:
        calls = ("GetFolder of each Calendar found (PermissionSet) by impersonation",)
        return [
            Permission(
                EXCHANGE_SERVER_ROLE,
                APPLICATION_IMPERSONATION,
                READ,
                calls,
                IMPERSONATION_DOC,
                "export",
                EWS_ACCOUNT,
                note=IMPERSONATION_NOTE,
                commands=("export",),
            )
        ]
    export = ("export",)
    graph = [graph_permission("export", READ, (call,), doc, commands=export) for call, doc in EXPORT_GRAPH]
    recipients = (
        "Get-Mailbox",
        "Get-Recipient",
        "Get-DistributionGroup -RecipientTypeDetails RoomList",
        "Get-DistributionGroupMember",
        "Get-MailboxFolderPermission",
    )
    configuration = (
        "Get-ManagementRoleAssignment",
        "Get-ManagementScope",
        "Get-ApplicationAccessPolicy",
        "Get-OrganizationConfig",
    )
    return [
        *graph,
        Permission(
            EXCHANGE_ONLINE_ROLE, VIEW_ONLY_RECIPIENTS, READ, recipients, RECIPIENTS_DOC, "export", commands=export
        ),
        Permission(
            EXCHANGE_ONLINE_ROLE,
            VIEW_ONLY_CONFIGURATION,
            READ,
            configuration,
            CMDLET_ROLES_DOC,
            "export",
            commands=export,
        ),
        Permission(
            EXCHANGE_ONLINE_ROLE,
            VIEW_ONLY_CONFIGURATION,
            READ,
            ("Get-ServicePrincipal",),
            SERVICE_PRINCIPAL_DOC,
            "export",
            note=SERVICE_PRINCIPAL_NOTE,
            commands=export,
        ),
    ]


def _verify(spec: Spec) -> list[Permission]:
    """`verify`: the guide's credential test, run by reconciler's identity (engine/verify.py)."""
    if spec.access is None:
        return []
    verify = ("verify",)
    if spec.target is Target.EXCHANGE_SERVER:  # EWS as the service account, and ExpandDL: see _notes
        return []
    if spec.integration is None:
        return []
    result = [
        Permission(
            EXCHANGE_ONLINE_ROLE,
            VIEW_ONLY_RECIPIENTS,
            READ,
            ("Get-DistributionGroupMember (a mailbox inside the scope)", "Get-Mailbox (one outside it)"),
            RECIPIENTS_DOC,
            "verify",
            commands=verify,
        )
    ]
    if spec.integration.restriction is AppRestriction.APPLICATION_ACCESS_POLICY:
        cmdlet, fallback, doc = "Test-ApplicationAccessPolicy", ORGANIZATION_CONFIGURATION, CMDLET_ROLES_DOC
    else:
        cmdlet, fallback, doc = "Test-ServicePrincipalAuthorization", ROLE_MANAGEMENT, APPLICATION_RBAC_DOC
    note = UNDOCUMENTED.format(cmdlet=cmdlet, fallback=fallback)
    result.append(
        Permission(
            EXCHANGE_ONLINE_ROLE, VIEW_ONLY_CONFIGURATION, READ, (cmdlet,), doc, "verify", note=note, commands=verify
        )
    )
    return result


def _notes(spec: Spec, entries: list[PermissionEntry]) -> list[str]:
    notes = []
    if spec.target is Target.EXCHANGE_SERVER:
        notes += [
            "Exchange Server is reached over EWS only: reconciler's app (tenant.auth) needs no Graph or Exchange "
            "Online permission; the EWS account signs in with exchange_server.password.",
            "GetRoomLists, GetRooms and ExpandDL (room lists, group members) need no admin role, only a "
            f"mailbox-enabled EWS account ({ROOM_LISTS_DOC}, {EXPAND_DL_DOC}).",
            "plan and verify confirm role assignments and scopes by impersonating a mailbox as the service account "
            "(service_account.password): that is the access the spec grants the integration, not reconciler's.",
        ]
        if any(e.holder == SHELL_ADMIN for e in entries):
            notes.append(
                "The admin who runs the printed commands needs the roles listed for them; the Organization Management "
                "role group has all of them."
            )
        return notes
    if any(e.api == GRAPH_PERMISSION and e.name.startswith("Calendars.") for e in entries):
        notes.append(
            "Consented Graph calendar permissions cover every mailbox (Calendars.ReadWrite: any calendar). To narrow "
            "them, restrict reconciler's own app with an application access policy (New-ApplicationAccessPolicy "
            "-AccessRight RestrictAccess) on a group of the mailboxes it manages, or grant the calendar access through "
            f"RBAC for Applications with a management scope instead of Graph consent ({APPLICATION_RBAC_DOC})."
        )
    if spec.integration is not None and spec.integration.client_secret is not None:
        notes.append(
            "verify's Graph calendar read signs in as the integration's own app (integration.client_secret): "
            "it needs nothing from reconciler's app."
        )
    notes.append(
        "Instead of the Exchange roles, the Microsoft Entra role Global Reader (read-only) or Exchange Administrator "
        f"(apply) assigned to reconciler's app also works, but allows far more than reconciler uses ({APP_ONLY_DOC})."
    )
    return notes


# -- how to grant them ---------------------------------------------------------------------------
def grant_commands(spec: Spec, entries: list[PermissionEntry]) -> list[str]:
    """PowerShell that grants `entries` (run by an admin); "#" lines say where and what."""
    if not entries:
        return []
    if spec.target is Target.EXCHANGE_SERVER:
        return _grant_server(spec, entries)
    app = spec.tenant.auth.client_id or "<reconciler's app id>"
    lines: list[str] = []
    graph = [e.name for e in entries if e.api == GRAPH_PERMISSION]
    exchange_app = [e.name for e in entries if e.api == EXCHANGE_APP_PERMISSION]
    roles = [e.name for e in entries if e.api == EXCHANGE_ONLINE_ROLE]
    if graph or exchange_app or roles:
        lines += [
            "# Microsoft Graph PowerShell, as an admin who may grant consent (e.g. Privileged Role Administrator):",
            "Connect-MgGraph -Scopes 'Application.Read.All', 'AppRoleAssignment.ReadWrite.All'",
            f"$App = Get-MgServicePrincipal -Filter \"appId eq '{app}'\"",
        ]
    for label, resource, names in (
        ("Microsoft Graph", GRAPH_APP_ID, graph),
        ("Office 365 Exchange Online", EXCHANGE_APP_ID, exchange_app),
    ):
        if names:
            lines += [
                f"# {label} application permissions = admin consent ({CONSENT_DOC})",
                f"$Api = Get-MgServicePrincipal -Filter \"appId eq '{resource}'\"",
                f"foreach ($Name in {', '.join(_quote(n) for n in names)}) {{ "
                "New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $App.Id -PrincipalId $App.Id "
                "-ResourceId $Api.Id -AppRoleId ($Api.AppRoles | Where-Object Value -eq $Name).Id }",
            ]
    if roles:
        lines += [
            "# Exchange Online PowerShell (Connect-ExchangeOnline) as an admin with Role Management: register the app "
            f"in Exchange once, then assign the roles to it ({APP_ONLY_DOC})",
            "if (-not (Get-ServicePrincipal | Where-Object AppId -eq $App.AppId)) { "
            "New-ServicePrincipal -AppId $App.AppId -ObjectId $App.Id -DisplayName $App.DisplayName }",
            *(f"New-ManagementRoleAssignment -App $App.Id -Role {_quote(role)}" for role in roles),
        ]
    return lines


def _grant_server(spec: Spec, entries: list[PermissionEntry]) -> list[str]:
    lines: list[str] = []
    server = spec.exchange_server
    account = server.username if server else "<exchange_server.username>"
    if any(e.holder == EWS_ACCOUNT and e.name == APPLICATION_IMPERSONATION for e in entries):
        access = spec.access
        scope = access.scope_name if access is not None and access.scope_group else "<scope of the managed mailboxes>"
        lines += [
            "# Exchange Management Shell, as an admin with Role Management: impersonation for the EWS account, limited "
            "to a management scope holding every mailbox reconciler manages (access.mailboxes, calendar_permissions)",
        ]
        if access is not None and access.scope_group:
            lines.append(
                f"# {scope!r} is the scope the plan makes from {access.scope_group}; it serves only if every managed "
                "mailbox is in that group (else make one that holds them with New-ManagementScope)"
            )
        lines.append(
            f"New-ManagementRoleAssignment -Name 'reconciler EWS impersonation' -Role ApplicationImpersonation "
            f"-User {_quote(account)} -CustomRecipientWriteScope {_quote(scope)}"
        )
    admin = [e.name for e in entries if e.holder == SHELL_ADMIN]
    if admin:
        lines += [
            "# the admin who runs the plan's printed commands: a role group with just these roles (or make them a "
            "member of Organization Management, which has them all)",
            f"New-RoleGroup -Name 'reconciler manual commands' -Roles {', '.join(_quote(r) for r in admin)} "
            "-Members '<that admin>'",
        ]
    return lines


def _quote(text: str) -> str:
    return ps_single_quoted(text)
