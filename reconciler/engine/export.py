"""`reconciler export SPEC --out FILE`: a spec describing what the tenant has now.

Two parts: the `access` preset spans several kinds (service account, licenses, management scope, role
assignments, access policies, folder permissions), so choosing the preset that reproduces the tenant is done
here, as the inverse of spec/presets.py; every other kind writes its own section through its `export` hook
(resources/base.py), so a new kind exports itself without touching this module.

Planned against the same tenant with a fresh state, the exported spec shows no changes. Only the
input spec's `tenant` and `target` (and `exchange_server`) sections matter; they are copied as written.
Everything is read through the product's clients and, where a kind already reads it, the kind's code.

Exchange Online (Graph and the Exchange admin API):
  mailboxes            Get-Mailbox -ResultSize Unlimited (one paged call, shared with the kinds' lookups)
  folder permissions   Graph `$batch` GET .../calendar/calendarPermissions, 20 mailboxes per batch; the admin
                       API's Get-MailboxFolderPermission only for the service account's entries Graph shows as
                       a custom role
  service account      the grantee with the most folder permissions: Get-Recipient, GET /users/{id},
                       assignedLicenses + GET /subscribedSkus (the user and license_assignment kinds' reads)
  mailbox access       Get-ManagementRoleAssignment -Role "Application Calendars.ReadWrite" / ".Read",
                       Get-ServicePrincipal, Get-ManagementScope, Get-Recipient <scope group DN>,
                       Get-ApplicationAccessPolicy, Get-OrganizationConfig (the EWS allow list)
  other kinds          each kind's own `export` hook (room lists: Get-DistributionGroup -RecipientTypeDetails
                       RoomList, Get-DistributionGroupMember)
Exchange Server (EWS only): GetRoomLists / GetRooms, and GetFolder of the Calendar of every mailbox EWS lets it
find (rooms of the room lists, plus the mailboxes, groups and room lists the input spec names); management
scopes and role assignments have no API there and are only mentioned.

The `access` preset is preferred whenever the tenant holds exactly what it makes; otherwise the explicit
`role_assignments:` and `calendar_permissions:` lists are used. What the spec cannot express is listed in the
file's header as "not exported: ...".
"""

from __future__ import annotations

import re
import tempfile
import typing
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.errors import ReconcilerError, SpecError
from reconciler.resources import KINDS
from reconciler.resources import lookups as lookup
from reconciler.resources.application_access_policy import group_address
from reconciler.resources.base import Context, Query
from reconciler.resources.calendar_permission import GRAPH_ROLES, permissions_path, read_admin_entry, server_mailboxes
from reconciler.resources.ews_access import app_ids, organization_config
from reconciler.resources.management_scope import balanced
from reconciler.spec.loader import MAX_SPEC_BYTES, load_spec
from reconciler.spec.models import AccessRight, ServiceAccount, Target
from reconciler.spec.presets import AVAILABILITY_ONLY, EDITOR_DELEGATE, MailboxSet, mailbox_sets
from reconciler.state.model import ResourceRecord

CALENDAR_ROLES = ("Application Calendars.ReadWrite", "Application Calendars.Read")
READ_WRITE, READ = CALENDAR_ROLES
ACCESS_RIGHTS = frozenset(typing.get_args(AccessRight))
SPECIAL_GRANTEES = frozenset({"default", "anonymous"})
GrantKey = tuple[str | None, tuple[str, ...]]
EDC: GrantKey = (EDITOR_DELEGATE[0], tuple(sorted(EDITOR_DELEGATE[1])))  # Editor + Delegate + CanViewPrivateItems
AVAILABILITY: GrantKey = (AVAILABILITY_ONLY[0], tuple(sorted(AVAILABILITY_ONLY[1])))
MEMBER_OF = re.compile(r"""^MemberOfGroup\s+-eq\s+(?:'((?:[^']|'')*)'|"((?:[^"]|"")*)")$""", re.IGNORECASE)
PASSWORD_NOTE = "password: not exported; only needed to create the account, e.g. password: ${env:CRONOFY_SVC_PASSWORD}"
SERVER_PASSWORD_NOTE = (
    "password: not exported; verify (and an access: preset) sign in as the account, e.g. "
    "password: ${env:CRONOFY_SVC_PASSWORD}"
)
LISTED = 20  # names listed in one note before "and N more"
SYSTEM_MAILBOXES = frozenset({"DiscoveryMailbox", "ArbitrationMailbox", "AuditLogMailbox", "MonitoringMailbox"})


@dataclass(frozen=True)
class Grant:
    """One Calendar-folder permission entry of one grantee."""

    mailbox: str
    grantee: str
    rights: str | None  # None: a role Graph shows only as custom (read exactly through the admin API)
    flags: tuple[str, ...] | None  # sorted; None: cannot be read (EWS has no SharingPermissionFlags)

    @property
    def key(self) -> GrantKey:
        return self.rights, self.flags or ()


@dataclass(frozen=True)
class Account:
    """The service account: its address as a grantee and, when known, its spec fields."""

    address: str
    grants: int
    attributes: dict[str, Any] | None  # ServiceAccount fields (no password); None: unknown (Exchange Server)
    licenses: list[str] | None = None

    @property
    def upn(self) -> str:
        return str((self.attributes or {}).get("user_principal_name") or self.address)

    @property
    def named_by_upn(self) -> bool:
        """Whether folder permissions name the account by its user principal name (what a preset grants to)."""
        return self.attributes is not None and self.address == self.upn.lower()


@dataclass(frozen=True)
class Assignment:
    """An RBAC for Applications assignment of a calendar role."""

    name: str
    role: str
    app_id: str | None  # None: its service principal is not registered (cannot be named in a spec)
    assignee: str
    scope: str | None


@dataclass(frozen=True)
class Policy:
    identity: str
    app_id: str
    group: str
    access_right: str


@dataclass(frozen=True)
class Scope:
    name: str
    filter: str
    group: str | None  # the group's address when the filter is exactly `MemberOfGroup -eq '<DN>'`


@dataclass
class Preset:
    """The `access` preset that reproduces part of the tenant."""

    level: str
    restriction: str
    scope_group: str | None = None
    scope_name: str | None = None
    assignment: Assignment | None = None
    policy: Policy | None = None
    mailboxes: set[str] = field(default_factory=set)  # where the preset grants the service account its rights
    default_mailboxes: bool = False  # the mailboxes are exactly the scope group's members (the preset's default)


def export_spec(ctx: Context) -> str:
    """YAML text of a spec that, planned against this tenant with a fresh state, shows no changes."""
    exporter = _Exporter(ctx)
    if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
        exporter.exchange_server()
    else:
        exporter.exchange_online()
    text = exporter.render()
    _check(text)
    return text


class _Exporter:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.spec = ctx.spec.spec
        self.notes: list[str] = []
        self.body = CommentedMap()
        self.account: Account | None = None
        self.comments: dict[str, str] = {}  # top-level key -> comment written above it
        self.principal_names: dict[str, str] = {}  # app id -> its Exchange service principal's display name

    def note(self, text: str) -> None:
        self.notes.append(text)

    # -- Exchange Online -----------------------------------------------------------------------
    def exchange_online(self) -> None:
        rows = self.ctx.lookups.mailbox_index().values()
        mailboxes = sorted(
            {lookup.smtp(r) for r in rows if r.get("RecipientTypeDetails") not in SYSTEM_MAILBOXES} - {""}
        )
        grants = self._graph_grants(mailboxes)
        account = self._pick_account(grants, self._graph_account)
        mine = self._exact([g for g in grants if account and g.grantee == account.address])
        assignments = self._assignments()
        policies = self._policies()
        scopes = {name: self._scope(name) for name in sorted({a.scope for a in assignments if a.scope})}
        app = self._integration_app(assignments, policies)
        preset = self._choose_preset(app, account, mine, assignments, policies, scopes) if app else None

        self._service_account(account)
        if app:
            self._integration(app, preset)
        if preset:
            self._access(preset)
        self._kind_fragments()
        explicit = [g for g in mine if not (preset and g.mailbox in preset.mailboxes)]
        self._calendar_permissions(explicit, account)
        used = [preset.assignment] if preset and preset.assignment else []
        self._role_assignments([a for a in assignments if a not in used], scopes, preset)
        for policy in policies:
            if preset is not None and preset.restriction == "rbac_for_applications" and policy.app_id == app:
                self.note(
                    f"kept: application access policy {policy.identity} (app {policy.app_id}, group {policy.group}, "
                    f"{policy.access_right}), which RBAC for Applications replaces; plans report it, and "
                    "access.remove_access_policies: true removes it once verify passes and the app holds no Entra ID "
                    "consent for calendars"
                )
            elif preset is None or policy != preset.policy:
                self.note(
                    f"not exported: application access policy {policy.identity} (app {policy.app_id}, group "
                    f"{policy.group}, {policy.access_right}): a spec makes one policy, RestrictAccess for "
                    "integration.app_id on access.scope_group"
                )

    def _graph_grants(self, mailboxes: list[str]) -> list[Grant]:
        """Every mailbox's Calendar permissions through Graph `$batch` (as calendar_permission.read_many reads)."""
        if not mailboxes:
            return []
        paths = {mailbox: permissions_path(mailbox) for mailbox in mailboxes}
        answers = self.ctx.clients.graph.batch_get(list(paths.values()), self.ctx.parallelism)
        grants, unreadable = [], []
        for mailbox, path in paths.items():
            answer = answers[path]
            if answer.status == 404:  # e.g. a mailbox not enabled for REST (on-premises in a hybrid)
                unreadable.append(mailbox)
                continue
            if answer.status >= 400:
                raise answer.client_error(f"GET /users/{mailbox}/calendar/calendarPermissions")
            for entry in answer.body.get("value", []):
                address = str((entry.get("emailAddress") or {}).get("address") or "").lower()
                if not address:  # Default ("My Organization") has no address; Anonymous is not listed
                    continue
                role = str(entry.get("role") or "none")
                rights, flags = GRAPH_ROLES.get(role, (None, ()))
                grants.append(Grant(mailbox, address, rights, tuple(sorted(flags))))
        if unreadable:
            self.note(f"not exported: the Calendar permissions of {_names(unreadable)} (Graph answered 404)")
        return grants

    def _exact(self, grants: list[Grant]) -> list[Grant]:
        """Entries Graph shows only as a custom role, read exactly through Get-MailboxFolderPermission."""
        result = []
        for grant in grants:
            if grant.rights is None:
                observed = read_admin_entry(self.ctx, grant.mailbox, grant.grantee)
                if observed is None:
                    continue
                flags = tuple(sorted(observed.attributes.get("sharing_permission_flags") or []))
                grant = Grant(grant.mailbox, grant.grantee, str(observed.attributes["access_rights"]), flags)
            result.append(grant)
        return result

    def _graph_account(self, address: str, grants: int) -> Account | None:
        """The grantee as an Entra user (through the user and license_assignment kinds' reads), or None."""
        found = self.ctx.lookups.recipient(address)
        if found is not None and found.get("RecipientTypeDetails") in lookup.GROUP_TYPES:
            return None
        key = str((found or {}).get("ExternalDirectoryObjectId") or address)
        user = self._one("user", ResourceRecord(address="user.service_account", kind="user", id=key))
        if user is None:
            return None
        attributes = {k: v for k, v in user.items() if v is not None}
        upn = str(attributes["user_principal_name"])
        record = ResourceRecord(
            address="license_assignment.service_account", kind="license_assignment", attributes={"user": upn}
        )
        assigned = self._one("license_assignment", record)
        licenses = sorted(assigned["skus"]) if assigned else []
        known = {str(s.get("skuPartNumber")) for s in self.ctx.clients.graph.subscribed_skus()}
        strange = [sku for sku in licenses if sku not in known]
        if strange:
            self.note(
                f"license(s) {', '.join(strange)} of {upn} are not among the tenant's subscribed SKUs: "
                "plan will refuse them until they are removed from service_account.licenses"
            )
        return Account(address, grants, attributes, licenses)

    def _one(self, kind: str, record: ResourceRecord) -> dict[str, Any] | None:
        """One object through its kind's backend read (the same read refresh makes), by the record's id or key."""
        seen = KINDS[kind].backend(self.ctx.target).read(self.ctx, Query((), (record,)))
        return dict(seen[0].attributes) if seen else None

    def _assignments(self) -> list[Assignment]:
        rows = [
            row
            for role in CALENDAR_ROLES
            for row in self.ctx.clients.exchange.run("Get-ManagementRoleAssignment", {"Role": role}, what=role)
        ]
        if not rows:
            return []
        principals = self.ctx.clients.exchange.run("Get-ServicePrincipal", {}, what="service principals")
        app_of = {
            str(sp[k]).lower(): str(sp.get("AppId") or "").lower()
            for sp in principals
            for k in ("ObjectId", "Identity", "DisplayName", "AppId")
            if sp.get(k)
        }
        self.principal_names = {
            str(sp.get("AppId") or "").lower(): str(sp["DisplayName"]) for sp in principals if sp.get("DisplayName")
        }
        result = []
        for row in rows:
            if row.get("Enabled") is False:  # grants nothing; a spec's assignments are enabled ones
                self.note(f"not exported: role assignment {row.get('Name')} ({row.get('Role')}) is disabled")
                continue
            assignee = str(row.get("RoleAssignee") or row.get("RoleAssigneeName") or "")
            app_id = app_of.get(assignee.lower()) or app_of.get(str(row.get("RoleAssigneeName") or "").lower())
            scope = row.get("CustomResourceScope") or row.get("CustomRecipientWriteScope") or None
            name = str(row.get("Name") or row.get("Identity"))
            result.append(Assignment(name, str(row.get("Role")), app_id or None, assignee, scope))
        return sorted(result, key=lambda a: a.name.lower())

    def _policies(self) -> list[Policy]:
        rows = self.ctx.clients.exchange.run("Get-ApplicationAccessPolicy", {}, what="application access policies")
        policies = [
            Policy(
                str(row.get("Identity")),
                str(row.get("AppId") or "").lower(),
                group_address(self.ctx, row),
                str(row.get("AccessRight")),
            )
            for row in rows
        ]
        return sorted(policies, key=lambda p: (p.app_id, p.group, p.identity))

    def _scope(self, name: str) -> Scope:
        row = self.ctx.clients.exchange.get("Get-ManagementScope", {"Identity": name}, what=name) or {}
        text = str(row.get("RecipientFilter") or "")
        dn = _member_of(text)
        group = None
        if dn is not None:
            found = self.ctx.lookups.recipient(dn)
            if found is not None and found.get("RecipientTypeDetails") in lookup.GROUP_TYPES:
                group = lookup.smtp(found)
        return Scope(str(row.get("Name") or name), text, group)

    def _integration_app(self, assignments: list[Assignment], policies: list[Policy]) -> str | None:
        """The integration's app: the input spec's when the tenant grants it anything, else the most granted."""
        counts = Counter(a.app_id for a in assignments if a.app_id)
        counts.update(p.app_id for p in policies if p.app_id)
        hint = self.spec.integration.app_id if self.spec.integration else None
        if not counts:
            return None
        return sorted(counts, key=lambda app: (app != hint, -counts[app], app))[0]

    def _choose_preset(
        self,
        app: str,
        account: Account | None,
        mine: list[Grant],
        assignments: list[Assignment],
        policies: list[Policy],
        scopes: dict[str, Scope],
    ) -> Preset | None:
        """The first `access` preset that makes exactly what the tenant has for the app, if any."""
        # The preset grants to the service account's user principal name; Graph names grantees by address.
        grantee_ok = account is not None and account.named_by_upn
        editor = {g.mailbox for g in mine if g.key == EDC}
        free_busy = {g.mailbox for g in mine if g.key == AVAILABILITY}
        options: list[Preset] = []
        restrict = [p for p in policies if p.app_id == app and p.access_right.lower() == "restrictaccess"]
        if restrict and grantee_ok:
            level = "free_busy" if free_busy and not editor else "restricted"
            chosen = free_busy if level == "free_busy" else editor
            options.append(
                Preset(level, "application_access_policy", restrict[0].group, policy=restrict[0], mailboxes=chosen)
            )
        for assignment in sorted((a for a in assignments if a.app_id == app), key=_preference):
            group = scopes[assignment.scope].group if assignment.scope else None
            if assignment.scope and group is None:
                continue  # a scope the spec cannot make (not a single MemberOfGroup)
            if assignment.role == READ_WRITE and group is None:
                options.append(Preset("full", "rbac_for_applications", assignment=assignment))
            elif grantee_ok and assignment.role in (READ_WRITE, READ):
                level = "restricted" if assignment.role == READ_WRITE else "free_busy"
                chosen = editor if level == "restricted" else free_busy
                options.append(
                    Preset(level, "rbac_for_applications", group, assignment.scope, assignment, mailboxes=chosen)
                )
        # both for one group: the tenant is midway from the policy to RBAC for Applications (the spec it migrates to)
        moving = {p.group for p in restrict}
        options.sort(key=lambda o: not (o.restriction == "rbac_for_applications" and o.scope_group in moving))
        for option in options:
            if self._feasible(option):
                return option
        return None

    def _feasible(self, preset: Preset) -> bool:
        """Whether the preset's folder permissions are exactly the service account's (its default: the group)."""
        if preset.level == "full":
            return True
        members = self._members(preset.scope_group) if preset.scope_group else set()
        preset.default_mailboxes = preset.mailboxes == members
        return bool(preset.mailboxes) or not members  # with no mailbox listed the preset takes the group's members

    def _members(self, group: str) -> set[str]:
        """The group's members as calendar_permission resolves a group (nested groups are not expanded)."""
        rows = self.ctx.lookups.members(group)
        return {lookup.smtp(m) for m in rows if m.get("RecipientTypeDetails") not in lookup.GROUP_TYPES}

    def _kind_fragments(self) -> None:
        """The sections of the kinds the access preset does not span, each from its kind's `export` hook."""
        for kind in KINDS.values():
            fragment = kind.export(self.ctx)
            if fragment is None:
                continue
            self.body[fragment.key] = fragment.value
            if fragment.comment:
                self.comments[fragment.key] = fragment.comment
            self.notes += fragment.notes

    # -- Exchange Server -----------------------------------------------------------------------
    def exchange_server(self) -> None:
        ews = self.ctx.clients.ews
        rooms = {r.lower() for address in ews.room_lists().values() for r in self.ctx.lookups.ews_rooms(address)}
        mailboxes = sorted(rooms | self._hinted_mailboxes())
        grants = []
        for mailbox in mailboxes:
            for entry in ews.calendar_permissions(mailbox):
                user = entry.user.lower()
                if user in SPECIAL_GRANTEES or "@" not in user:
                    continue
                grants.append(Grant(mailbox, user, entry.access_rights, None))
        account = self._pick_account(grants, self._server_account)
        self._service_account(account)
        self._kind_fragments()
        self._calendar_permissions([g for g in grants if account and g.grantee == account.address], account)
        self.note(
            f"EWS cannot list every mailbox: the Calendar permissions of {len(mailboxes)} mailbox(es) were read, "
            "those of the room lists and those the input spec names (access, calendar_permissions, room_lists)"
        )
        self.note(
            "not exported: management scopes and role assignments (ApplicationImpersonation): Exchange Server has "
            "no API to read them; to manage them add `access:` (see specs/exchange-server.yaml): plan confirms it "
            "by impersonating a mailbox in scope"
        )
        if account is not None:
            self.note(
                "not exported: SharingPermissionFlags (Delegate, CanViewPrivateItems) cannot be read over EWS; "
                "calendar_permissions carry the access rights only"
            )

    def _hinted_mailboxes(self) -> set[str]:
        """The mailboxes the input spec names, resolved as calendar_permission resolves them on Exchange Server."""
        spec, sets = self.spec, []
        if spec.access is not None:
            if spec.access.scope_group:
                sets.append(MailboxSet(group=spec.access.scope_group))
            sets += mailbox_sets(self.ctx.spec)
        sets += [MailboxSet(addresses=(p.mailbox,)) for p in spec.calendar_permissions]
        sets += [MailboxSet(addresses=tuple(r.rooms)) for r in spec.room_lists if r.rooms]
        unique = dict.fromkeys(sets)  # each group expanded once
        return {
            mailbox.lower()
            for source in unique
            for mailbox in server_mailboxes(self.ctx.spec, self.ctx.lookups, source)
        }

    def _server_account(self, address: str, grants: int) -> Account | None:
        """On Exchange Server the account lives in Active Directory: only the input spec can give its names."""
        given = self.spec.service_account
        if given is not None and given.user_principal_name.lower() == address:
            attributes = given.model_dump(exclude={"password", "licenses", "mailbox"}, exclude_defaults=True)
            attributes["user_principal_name"] = given.user_principal_name
            attributes["display_name"] = given.display_name
            return Account(address, grants, attributes)
        return Account(address, grants, None)

    # -- both targets ---------------------------------------------------------------------------
    def _pick_account(self, grants: list[Grant], resolve: Callable[[str, int], Account | None]) -> Account | None:
        """The grantee with the most folder permissions that is a user (the input spec's account wins a tie)."""
        counts = Counter(g.grantee for g in grants)
        hint = self.spec.service_account.user_principal_name.lower() if self.spec.service_account else None
        if hint:
            counts[hint] += 0
        account, others = None, []
        for address in sorted(counts, key=lambda a: (-counts[a], a != hint, a)):
            if account is None:
                account = resolve(address, counts[address])
                if account is not None:
                    continue
                if address == hint and not counts[address]:
                    self.note(f"the input spec's service account {hint} was not found in the tenant")
            if counts[address]:
                others.append(f"{address} ({counts[address]})")
        if others:
            self.note(
                "other grantees of calendar permissions (not exported; reconciler leaves their entries alone), "
                f"with their number of grants: {_names(others)}"
            )
        self.account = account
        return account

    def _service_account(self, account: Account | None) -> None:
        if account is None:
            return
        heading = f"The service account: grantee of {account.grants} calendar permission(s)."
        if account.attributes is None:
            self.note(
                f"the service account {account.address} lives in Active Directory (Exchange Server): its names "
                "cannot be read over EWS; add service_account: {user_principal_name, display_name, password} "
                "to use access: or verify"
            )
            return
        fields = dict(account.attributes)
        if account.licenses is not None:
            fields["licenses"] = account.licenses
        if account.upn.lower() != account.address:
            self.note(
                f"the service account's folder permissions name it {account.address}, not its user principal name "
                f"{account.upn}: they are exported as calendar_permissions by address, since an access preset "
                "grants to the user principal name and reconciler compares that with the address Graph shows"
            )
        valid = self._valid_account(fields)
        if valid is None:
            return
        section = CommentedMap()
        for name in ServiceAccount.model_fields:
            if name in valid:
                section[name] = _flow(valid[name]) if isinstance(valid[name], list) else valid[name]
        before = "licenses" if "licenses" in section else next(iter(section))
        note = PASSWORD_NOTE if self.spec.target is Target.EXCHANGE_ONLINE else SERVER_PASSWORD_NOTE
        section.yaml_set_comment_before_after_key(before, before=note, indent=2)
        self.body["service_account"] = section
        self.comments["service_account"] = heading

    def _valid_account(self, fields: dict[str, Any]) -> dict[str, Any] | None:
        """The fields the spec accepts; what it refuses is noted instead."""
        from pydantic import ValidationError

        try:
            ServiceAccount.model_validate(fields)
            return fields
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        for name in sorted(bad):
            self.note(f"not exported: service_account.{name} = {fields.get(name)!r} (the spec refuses it)")
        if bad & {"user_principal_name", "display_name"}:
            return None
        return {k: v for k, v in fields.items() if k not in bad}

    def _integration(self, app: str, preset: Preset | None) -> None:
        section = CommentedMap()
        section["app_id"] = app
        name = self.principal_names.get(app)
        if name:
            section["display_name"] = name
        restriction = preset.restriction if preset else "rbac_for_applications"
        section["restriction"] = restriction
        config = organization_config(self.ctx)
        if config.get("EwsEnabled") is True and app in app_ids(config.get("EwsAllowedAppIDs")):
            section["uses_ews"] = True
        self.body["integration"] = section
        self.comments["integration"] = "The integration's Entra app (the assignee of its calendar role)."

    def _access(self, preset: Preset) -> None:
        section = CommentedMap()
        section["level"] = preset.level
        if preset.scope_group:
            section["scope_group"] = preset.scope_group
        if preset.restriction == "rbac_for_applications" and preset.scope_name:
            section["scope_name"] = preset.scope_name
        if preset.assignment is not None:
            section["assignment_name"] = preset.assignment.name
        if preset.level != "full" and preset.mailboxes and not preset.default_mailboxes:
            section["mailboxes"] = CommentedMap(addresses=CommentedSeq(sorted(preset.mailboxes)))
        if preset.level == "full":
            section["allow_organization_wide"] = True
        self.body["access"] = section
        what = {
            "full": "every mailbox",
            "restricted": "the scope group's mailboxes, with Editor + Delegate + CanViewPrivateItems for the "
            "service account",
            "free_busy": "free/busy, with AvailabilityOnly for the service account",
        }[preset.level]
        self.comments["access"] = f"Access: {what}."

    def _calendar_permissions(self, grants: list[Grant], account: Account | None) -> None:
        if not grants or account is None:
            return
        grantee = account.upn.lower() if account.named_by_upn else None
        entries = CommentedSeq()
        for grant in sorted(grants, key=lambda g: g.mailbox):
            rights, flags = grant.rights, list(grant.flags or ())
            if not _expressible(rights, flags):
                shown = f"{rights} with {', '.join(flags)}" if flags else str(rights)
                self.note(
                    f"not exported: {grant.grantee} has {shown} on {grant.mailbox}'s Calendar, which a spec's "
                    "calendar_permissions cannot name"
                )
                continue
            entry = CommentedMap(mailbox=grant.mailbox, grantee=grantee or grant.grantee, access_rights=rights)
            if flags:
                entry["sharing_permission_flags"] = _flow(sorted(flags, key=lambda f: (f != "Delegate", f)))
            entries.append(entry)
        if entries:
            self.body["calendar_permissions"] = entries
            other = " other" if "access" in self.body else ""
            self.comments["calendar_permissions"] = f"The service account's{other} calendar permissions."

    def _role_assignments(self, assignments: list[Assignment], scopes: dict[str, Scope], preset: Preset | None) -> None:
        entries = CommentedSeq()
        for assignment in assignments:
            if assignment.app_id is None:
                self.note(
                    f"not exported: role assignment {assignment.name} ({assignment.role}) to {assignment.assignee}, "
                    "whose service principal is not registered in Exchange (Get-ServicePrincipal)"
                )
                continue
            if assignment.scope is None and "access" not in self.body:
                self.note(
                    f"not exported: role assignment {assignment.name} ({assignment.role}, app {assignment.app_id}) "
                    "has no scope: a spec allows that only with access.allow_organization_wide, and there is no "
                    "access preset to carry it"
                )
                continue
            entry = CommentedMap(name=assignment.name, role=assignment.role, app_id=assignment.app_id)
            if assignment.scope:
                entry["scope"] = assignment.scope
            else:
                self.body["access"]["allow_organization_wide"] = True
            entries.append(entry)
        if entries:
            self.body["role_assignments"] = entries
            self.comments["role_assignments"] = "Other RBAC for Applications assignments of calendar roles."
        preset_scope = preset.scope_name if preset else None
        for name in sorted({e["scope"] for e in entries if e.get("scope")} - {preset_scope}):
            scope = scopes[name]
            self.note(
                f"not exported: management scope {name} (RecipientRestrictionFilter {scope.filter!r}): a spec makes "
                "a scope only from access.scope_group; role_assignments name it and reconciler leaves it as it is"
            )

    # -- output ---------------------------------------------------------------------------------
    def render(self) -> str:
        loaded, tenant = self.ctx.spec, self.spec.tenant
        names = " ".join(dict.fromkeys(n for n in (tenant.domain, tenant.id) if n))
        lines = [
            f"Exported by reconciler from tenant {names} ({self.spec.target.value}): what it has now.",
            "Planned against the same tenant with a fresh state, this spec shows no changes.",
            f"{'tenant and exchange_server are' if self._server else 'tenant is'} copied from {loaded.path.name}"
            + (": keep this file in that folder (paths in tenant are relative to it)" if self._relative_paths() else "")
            + ".",
        ]
        if self.notes:
            lines.append("")
            lines += [f"- {n}" for n in self.notes]
        text = "".join(f"# {line}".rstrip() + "\n" for line in lines)
        text += "version: 1\n" + _section_text(loaded.document, loaded.path, "tenant")
        text += f"target: {self.spec.target.value}\n"
        if self._server and self.spec.exchange_server is not None:
            text += _section_text(loaded.document, loaded.path, "exchange_server")
        for key, comment in self.comments.items():
            if key in self.body:
                self.body.yaml_set_comment_before_after_key(key, before=comment)
        return text + _dump(self.body) if self.body else text

    @property
    def _server(self) -> bool:
        return self.spec.target is Target.EXCHANGE_SERVER

    def _relative_paths(self) -> bool:
        if self.spec.tenant.simulator_file_is_relative:
            return True
        return "${file:" in _section_text(self.ctx.spec.document, self.ctx.spec.path, "tenant")


def _preference(assignment: Assignment) -> tuple[int, str]:
    """Presets in order: restricted, free/busy scoped, full, free/busy for every mailbox."""
    order = {(READ_WRITE, True): 0, (READ, True): 1, (READ_WRITE, False): 2, (READ, False): 3}
    return order.get((assignment.role, bool(assignment.scope)), 9), assignment.name.lower()


def _expressible(rights: str | None, flags: list[str]) -> bool:
    """Whether calendar_permissions accepts these rights and flags (models.CalendarPermission)."""
    if rights not in ACCESS_RIGHTS or (flags and rights != "Editor"):
        return False
    return set(flags) <= {"Delegate", "CanViewPrivateItems"} and ("Delegate" in flags or not flags)


def _member_of(text: str) -> str | None:
    """The DN of a filter that is exactly `MemberOfGroup -eq '<DN>'` (Exchange's stored parentheses allowed)."""
    value = re.sub(r"\s+", " ", text.strip())
    while value.startswith("(") and value.endswith(")") and balanced(value[1:-1]):
        value = value[1:-1].strip()
    match = MEMBER_OF.match(value)
    if match is None:
        return None
    if match.group(1) is not None:
        return match.group(1).replace("''", "'")
    return match.group(2).replace('""', '"')


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _section_text(document: Any, path: Path, key: str) -> str:
    """A top-level section of the input spec exactly as written (its lines), or re-emitted when not block style."""
    lines = _section_lines(document, path, key)
    if lines is not None:
        return lines
    return _dump(CommentedMap([(key, document[key])]))


def _section_lines(document: Any, path: Path, key: str) -> str | None:
    if not isinstance(document, CommentedMap) or key not in document or document.fa.flow_style():
        return None
    start, column = document.lc.key(key)
    if column != 0:
        return None
    later = [document.lc.key(k)[0] for k in document if document.lc.key(k)[0] > start]
    try:
        source = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    block = source[start : min(later) if later else len(source)]
    while block and (not block[-1].strip() or block[-1].startswith("#")):
        block.pop()  # blank lines and the next section's comments
    text = "\n".join(block) + "\n"
    reparsed = YAML(typ="rt").load(text)
    if not isinstance(reparsed, dict) or _plain(reparsed.get(key)) != _plain(document[key]):
        return None  # the file changed since it was loaded: re-emit the loaded section instead
    return text


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _dump(data: CommentedMap) -> str:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    stream = StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _check(text: str) -> None:
    """The exported spec must load as any spec does (schema and rules); otherwise it is reconciler's bug."""
    size = len(text.encode("utf-8"))
    if size > MAX_SPEC_BYTES:
        raise ReconcilerError(
            f"the exported spec would be {size / 1e6:.1f} MB, over the {MAX_SPEC_BYTES // 10**6} MB a spec may be",
            "too many mailboxes are listed one by one; nothing was written",
        )
    with tempfile.TemporaryDirectory(prefix="reconciler-export-") as folder:
        path = Path(folder) / "exported.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_spec(path)
        except SpecError as exc:
            problems = "; ".join(str(p) for p in exc.problems)
            raise ReconcilerError(
                f"the exported spec does not validate: {problems}",
                "this is a bug in reconciler export; nothing was written",
            ) from None
