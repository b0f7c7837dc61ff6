"""Expand the `access` preset and the explicit sections into the wanted Exchange objects.

The guide's three levels, on today's two targets:

level       Exchange Online (the integration's own Entra app)            Exchange Server (service account)
full        role "Application Calendars.ReadWrite", no scope (RBAC for    ApplicationImpersonation, org-wide
            Applications); no access policy
restricted  scope from scope_group + "Application Calendars.ReadWrite"    scope from scope_group +
            scoped to it (or an application access policy), and          ApplicationImpersonation with
            Editor + Delegate + CanViewPrivateItems for the service       CustomRecipientWriteScope, and Editor +
            account on the mailboxes                                      Delegate + CanViewPrivateItems
free_busy   "Application Calendars.Read" (scoped when scope_group is      AvailabilityOnly on the mailboxes
            set), and AvailabilityOnly for the service account

Nothing here reads the tenant: group members, DNs and rooms are resolved by the resource kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.spec.loader import LoadedSpec
from reconciler.spec.mailbox_csv import MailboxCsv, read_mailbox_csv
from reconciler.spec.models import AccessLevel, AppRestriction, Spec, Target

EDITOR_DELEGATE = ("Editor", ("Delegate", "CanViewPrivateItems"))
AVAILABILITY_ONLY = ("AvailabilityOnly", ())
IMPERSONATION = "ApplicationImpersonation"


@dataclass(frozen=True)
class ScopeWant:
    name: str
    group: str
    field: tuple[str | int, ...]


@dataclass(frozen=True)
class AssignmentWant:
    name: str
    role: str
    app_id: str | None
    user: str | None
    scope: str | None
    field: tuple[str | int, ...]


@dataclass(frozen=True)
class PolicyWant:
    app_id: str
    group: str
    field: tuple[str | int, ...]


@dataclass(frozen=True)
class MailboxSet:
    """Where the mailboxes come from: addresses/aliases, a group's members, or a room list's rooms."""

    addresses: tuple[str, ...] = ()
    group: str | None = None
    room_list: str | None = None


@dataclass(frozen=True)
class PermissionWant:
    mailboxes: MailboxSet
    grantee: str
    access_rights: str
    flags: tuple[str, ...]
    field: tuple[str | int, ...]


def scopes(spec: Spec) -> list[ScopeWant]:
    access = spec.access
    if access is None or access.scope_group is None or not _scoped_by_rbac(spec):
        return []
    if spec.target is Target.EXCHANGE_SERVER and access.level is AccessLevel.FREE_BUSY:
        return []  # nothing is impersonated at free_busy on-premises: no assignment uses (or confirms) a scope
    return [ScopeWant(access.scope_name, access.scope_group, ("access", "scope_group"))]


def role_assignments(spec: Spec) -> list[AssignmentWant]:
    wants = [
        AssignmentWant(r.name, r.role, r.app_id, r.user, r.scope, ("role_assignments", i))
        for i, r in enumerate(spec.role_assignments)
    ]
    access = spec.access
    if access is None or not _scoped_by_rbac(spec):
        return wants
    scope = access.scope_name if access.scope_group and access.level is not AccessLevel.FULL else None
    if spec.target is Target.EXCHANGE_ONLINE and spec.integration is not None:
        role = (
            "Application Calendars.Read" if access.level is AccessLevel.FREE_BUSY else "Application Calendars.ReadWrite"
        )
        wants.append(AssignmentWant(access.assignment_name, role, spec.integration.app_id, None, scope, ("access",)))
    elif spec.target is Target.EXCHANGE_SERVER and spec.service_account and access.level is not AccessLevel.FREE_BUSY:
        upn = spec.service_account.user_principal_name
        wants.append(AssignmentWant(access.assignment_name, IMPERSONATION, None, upn, scope, ("access",)))
    return wants


def access_policies(spec: Spec) -> list[PolicyWant]:
    access, integration = spec.access, spec.integration
    if access is None or integration is None or spec.target is not Target.EXCHANGE_ONLINE:
        return []
    if integration.restriction is not AppRestriction.APPLICATION_ACCESS_POLICY or access.scope_group is None:
        return []
    return [PolicyWant(integration.app_id, access.scope_group, ("access", "scope_group"))]


def leaving_access_policies(spec: Spec) -> str | None:
    """The integration's app id when the spec restricts it with RBAC for Applications on Exchange Online: its
    application access policies, if any, are what the tenant is migrating away from."""
    integration = spec.integration
    if spec.target is not Target.EXCHANGE_ONLINE or integration is None or spec.access is None:
        return None
    return integration.app_id if integration.restriction is AppRestriction.RBAC_FOR_APPLICATIONS else None


def _scoped_by_rbac(spec: Spec) -> bool:
    if spec.target is Target.EXCHANGE_SERVER:
        return True
    return spec.integration is not None and spec.integration.restriction is AppRestriction.RBAC_FOR_APPLICATIONS


def permissions(loaded: LoadedSpec) -> list[PermissionWant]:
    spec = loaded.spec
    wants = [
        PermissionWant(
            MailboxSet(addresses=(p.mailbox,)),
            p.grantee,
            p.access_rights,
            tuple(p.sharing_permission_flags),
            ("calendar_permissions", i),
        )
        for i, p in enumerate(spec.calendar_permissions)
    ]
    access = spec.access
    if access is None or access.level is AccessLevel.FULL or spec.service_account is None:
        return wants
    if not access.folder_permissions:
        return wants  # the app's scope alone grants access (access.folder_permissions: false)
    rights, flags = EDITOR_DELEGATE if access.level is AccessLevel.RESTRICTED else AVAILABILITY_ONLY
    if spec.target is Target.EXCHANGE_SERVER:
        flags = ()  # SharingPermissionFlags exist only in Exchange Online (see rules: flags on Exchange Server)
    grantee = spec.service_account.user_principal_name
    for source in mailbox_sets(loaded):
        wants.append(PermissionWant(source, grantee, rights, flags, ("access", "mailboxes")))
    return wants


def mailbox_sets(loaded: LoadedSpec) -> list[MailboxSet]:
    access = loaded.spec.access
    assert access is not None
    sources = access.mailboxes
    sets = []
    addresses = tuple(sources.addresses) + (read_csv_aliases(loaded) if sources.csv else ())
    if addresses:
        sets.append(MailboxSet(addresses=addresses))
    if sources.group:
        sets.append(MailboxSet(group=sources.group))
    if sources.room_list:
        sets.append(MailboxSet(room_list=sources.room_list))
    if "mailboxes" not in access.model_fields_set and access.scope_group:
        sets.append(MailboxSet(group=access.scope_group))  # default: the members of the scope group
    return sets  # an empty source (a CSV of only its header, addresses: []) means no mailboxes


def read_csv_aliases(loaded: LoadedSpec) -> tuple[str, ...]:
    """The `alias` column of the guide's cronofy.csv (relative to the spec), in file order.

    Read by spec/mailbox_csv.py: UTF-8 (with or without a BOM), UTF-16, or Windows-1252 with a note; comma,
    semicolon or tab; rows without values ignored; every problem reported at once with its file:line."""
    return mailbox_csv(loaded).values


def mailbox_csv(loaded: LoadedSpec) -> MailboxCsv:
    """The CSV with each entry's line and the notes on how it was read (for errors naming file:line)."""
    access = loaded.spec.access
    assert access is not None and access.mailboxes.csv is not None
    return read_mailbox_csv(loaded.relative(access.mailboxes.csv), loaded.locate("access", "mailboxes", "csv"))


# -- room booking (kind room_booking) -------------------------------------------------------------------------------
# Cronofy, "Booking Microsoft resource calendars with Free/Busy" (docs.cronofy.com/calendar-admins/enterprise-connect-
# office365-graph/free-busy-access-mode/microsoft-resource-calendars/): in free/busy mode Cronofy invites the room by
# e-mail, and a resource ignores invites from outside its tenant unless set so.
CRONOFY_FREE_BUSY_ROOMS: dict[str, object] = {
    "automate_processing": "AutoAccept",
    "allow_conflicts": False,
    "process_external_meeting_messages": True,
    "all_book_in_policy": True,
    "all_request_in_policy": False,
    "all_request_out_of_policy": False,
}
FREE_BUSY_ROOMS_REASON = (
    "access.level free_busy: Cronofy books a room by inviting it by e-mail from outside the tenant, which a room "
    "accepts only with these settings (Cronofy, Booking Microsoft resource calendars with Free/Busy)"
)


def room_booking_preset(spec: Spec) -> tuple[dict[str, object], str] | None:
    """The booking settings the integration's mode needs in its rooms, and why; None when it needs none (levels
    restricted and full write to calendars directly, so rooms need no invitation handling)."""
    if spec.access is None or spec.access.level is not AccessLevel.FREE_BUSY:
        return None
    return dict(CRONOFY_FREE_BUSY_ROOMS), FREE_BUSY_ROOMS_REASON
