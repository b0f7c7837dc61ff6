"""`calendar_permission`: one grantee's entry on one mailbox's Calendar folder.

Attributes: mailbox, grantee, access_rights (Add-MailboxFolderPermission -AccessRights) and
sharing_permission_flags (Delegate, CanViewPrivateItems; Editor only).

Exchange Online: read and written through Graph calendarPermissions where the role maps exactly
(Editor + Delegate + CanViewPrivateItems = delegateWithPrivateEventAccess, AvailabilityOnly =
freeBusyRead), otherwise through the admin API (Get-/Add-/Set-MailboxFolderPermission).
Exchange Server: EWS GetFolder / UpdateFolder of the PermissionSet.
An entry is always changed in place (PATCH role, Set-MailboxFolderPermission, one UpdateFolder), never
removed and re-added, so access never drops during apply. Entries of other grantees are left alone.
https://learn.microsoft.com/en-us/graph/api/resources/calendarpermission
https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/add-mailboxfolderpermission
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.clients.graph import BatchRequest, BatchResult, required_permission
from reconciler.errors import Location, NotStarted, ReconcilerError, SpecError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLICATION_IMPERSONATION,
    APPLY,
    EWS_ACCOUNT,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    MAIL_RECIPIENTS,
    READ,
    READ_COMMANDS,
    Attributes,
    Backend,
    Context,
    Desired,
    Observed,
    Permission,
    Query,
    ResourceKind,
    graph_permission,
)
from reconciler.resources.lookups import GROUP_TYPES, read_permission, smtp
from reconciler.resources.room_list import resolve_rooms
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import AccessLevel, Spec, Target
from reconciler.spec.presets import (
    AVAILABILITY_ONLY,
    EDITOR_DELEGATE,
    MailboxSet,
    PermissionWant,
    mailbox_csv,
    permissions,
)
from reconciler.spec.rules import preset_grants_folder_permissions

if TYPE_CHECKING:
    from reconciler.engine.plan import Change
    from reconciler.resources.lookups import Lookups

DELEGATE_PRIVATE: tuple[str, tuple[str, ...]] = ("Editor", ("CanViewPrivateItems", "Delegate"))
# Graph role <-> (AccessRights, SharingPermissionFlags); only the first two are used to write through Graph.
GRAPH_WRITES: dict[tuple[str, tuple[str, ...]], str] = {
    DELEGATE_PRIVATE: "delegateWithPrivateEventAccess",
    ("AvailabilityOnly", ()): "freeBusyRead",
}
GRAPH_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "none": ("None", ()),
    "freeBusyRead": ("AvailabilityOnly", ()),
    "limitedRead": ("LimitedDetails", ()),
    "read": ("Reviewer", ()),
    "write": ("Editor", ()),
    "delegateWithoutPrivateEventAccess": ("Editor", ("Delegate",)),
    "delegateWithPrivateEventAccess": DELEGATE_PRIVATE,
}


# How much of a calendar each access right opens, to see when a change widens access.
RANK = {
    "None": 0,
    "AvailabilityOnly": 1,
    "LimitedDetails": 2,
    "Reviewer": 3,
    "Contributor": 3,
    "NonEditingAuthor": 4,
    "Author": 5,
    "PublishingAuthor": 5,
    "Editor": 6,
    "PublishingEditor": 7,
    "Owner": 8,
}


def graph_role(rights: str, flags: list[str]) -> str | None:
    return GRAPH_WRITES.get((rights, tuple(sorted(flags))))


# Where reconciler's identity needs what (permissions())
GRAPH_LIST_DOC = "https://learn.microsoft.com/en-us/graph/api/calendar-list-calendarpermissions"
GRAPH_WRITE_DOC = "https://learn.microsoft.com/en-us/exchange/sharing/manage-calendar-delegate-access"
# Microsoft365DSC's EXOMailboxFolderPermission: read View-Only Recipients, update Mail Recipients
FOLDER_ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.218.1/Content/"
    "DSCResources%5CMSFT_EXOMailboxFolderPermission%5Csettings.json"
)
IMPERSONATION_DOC = (
    "https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-configure-impersonation"
)
IMPERSONATION_NOTE = (
    "ApplicationImpersonation opens every mailbox in its scope fully: assign it with -CustomRecipientWriteScope "
    "limited to the mailboxes reconciler manages"
)


class PermissionAttrs(Attributes):
    """One grantee's entry on one mailbox's Calendar folder."""

    mailbox: str
    grantee: str
    access_rights: str
    sharing_permission_flags: list[str] | None = None


# Recipients that have a Calendar folder (Get-Recipient's RecipientTypeDetails)
MAILBOX_TYPES = frozenset({"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox"})


def source_key(source: MailboxSet) -> str:
    """How resolve records a group or room list's mailboxes: `group:<name>` or `room_list:<name>`."""
    return f"group:{source.group}" if source.group else f"room_list:{source.room_list}"


def _want_mailboxes(want: PermissionWant, resolved: Mapping[str, Any]) -> list[str]:
    """The addresses of one want's mailboxes, as resolve recorded them."""
    source = want.mailboxes
    if source.group or source.room_list:
        groups: Mapping[str, list[str]] = resolved.get("mailboxes", {})
        return list(groups.get(source_key(source), []))
    names: Mapping[str, str] = resolved.get("addresses", {})
    return sorted({names.get(a, a.lower()) for a in source.addresses})


def _pairs(query: Query) -> dict[tuple[str, str], dict[str, Any]]:
    """(mailbox, grantee) -> the attributes the spec or the record gives, for every pair the query concerns."""
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for attrs in [d.attributes for d in query.desired] + [r.attributes for r in query.records]:
        pairs.setdefault((str(attrs["mailbox"]).lower(), str(attrs["grantee"]).lower()), attrs)
    return pairs


def _sweep(ctx: Context, query: Query) -> set[str]:
    """Every mailbox of the tenant when the spec owns the integration's access (access.exclusive): entries of the
    spec's grantees on mailboxes it does not name are then seen, reported as wider access and removed."""
    access = ctx.spec.spec.access
    if access is None or not access.exclusive or not query.desired:
        return set()
    rows = ctx.lookups.mailbox_index().values()
    return {smtp(r) for r in rows if r.get("RecipientTypeDetails") in MAILBOX_TYPES} - {""}


def _address(mailbox: str, grantee: str) -> str:
    return f"{CalendarPermissionKind.kind}.{mailbox}/{grantee}"


class Online(Backend[PermissionAttrs]):
    """Graph calendarPermissions where the rights map to a Graph role (read in `$batch`, all of a mailbox's
    entries at once); the admin API's MailboxFolderPermission otherwise."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        pairs = _pairs(query)
        grantees = {g for _, g in pairs}
        by_graph = sorted({m for (m, _), a in pairs.items() if _graph_routed(a)} | _sweep(ctx, query))
        found: list[Observed] = []
        if by_graph:
            for mailbox, entries in self._graph_entries(ctx, by_graph).items():
                found += [o for o in (_entry(mailbox, e) for e in entries) if o and o.attributes["grantee"] in grantees]
        for (mailbox, grantee), attrs in sorted(pairs.items()):
            if not _graph_routed(attrs):
                entry = read_admin_entry(ctx, mailbox, grantee)
                found += [entry] if entry is not None else []
        return found

    def _graph_entries(self, ctx: Context, mailboxes: list[str]) -> dict[str, list[dict[str, Any]]]:
        if not ctx.batch:
            result = {}
            for mailbox in mailboxes:
                result[mailbox] = ctx.clients.graph.calendar_permissions(mailbox) or []
                ctx.read_some(1)
            return result
        paths = {m: permissions_path(m) for m in mailboxes}
        answers = ctx.clients.graph.batch_get(list(paths.values()), ctx.parallelism, ctx.read_some)
        return {m: _batch_entries(answers[path], m) for m, path in paths.items()}

    def write_many(self, ctx: Context, changes: Sequence[Change]) -> list[Observed | ReconcilerError]:
        """Graph-routed writes go through `$batch` (POST to add, PATCH of the role to change in place)."""
        routed = [ctx.batch and _graph_write(c) is not None for c in changes]
        requests = [_graph_write(c) for c, r in zip(changes, routed, strict=True) if r]
        batch = [q for q in requests if q]
        answers = iter(ctx.clients.graph.batch(batch, ctx.parallelism, stopping=ctx.stopping) if batch else [])
        singles = iter(super().write_many(ctx, [c for c, r in zip(changes, routed, strict=True) if not r]))
        return [_written(c, next(answers)) if r else next(singles) for c, r in zip(changes, routed, strict=True)]

    def create(self, ctx: Context, change: Change) -> Observed:
        return self._write(ctx, change, add=True)

    def update(self, ctx: Context, change: Change) -> Observed:
        return self._write(ctx, change, add=False)

    def _write(self, ctx: Context, change: Change, add: bool) -> Observed:
        a = self.parse(change.after)
        flags = a.sharing_permission_flags or []
        role = graph_role(a.access_rights, flags)
        if role and add:
            created = ctx.clients.graph.add_calendar_permission(a.mailbox, a.grantee, role)
            return Observed(change.address, created.get("id"), a.to_json())
        if role and change.id:
            ctx.clients.graph.set_calendar_permission_role(a.mailbox, change.id, role)
            return Observed(change.address, change.id, a.to_json())
        parameters: dict[str, Any] = {
            "Identity": f"{a.mailbox}:\\Calendar",
            "User": a.grantee,
            "AccessRights": [a.access_rights],
        }
        if flags:
            parameters["SharingPermissionFlags"] = ",".join(flags)
        cmdlet = "Add-MailboxFolderPermission" if add else "Set-MailboxFolderPermission"
        ctx.clients.exchange.run(cmdlet, parameters, what=f"{a.mailbox}:\\Calendar ({a.grantee})")
        return Observed(change.address, change.id or f"{a.mailbox}:\\Calendar:{a.grantee}", a.to_json())

    def delete(self, ctx: Context, change: Change) -> None:
        a = self.parse(change.before)
        if graph_role(a.access_rights, a.sharing_permission_flags or []) and change.id:
            ctx.clients.graph.delete_calendar_permission(a.mailbox, change.id)
            return
        ctx.clients.exchange.run(
            "Remove-MailboxFolderPermission",
            {"Identity": f"{a.mailbox}:\\Calendar", "User": a.grantee, "Confirm": False},
            what=f"{a.mailbox}:\\Calendar ({a.grantee})",
        )


class Server(Backend[PermissionAttrs]):
    """Exchange Server: EWS GetFolder / UpdateFolder of the Calendar's PermissionSet (by impersonation)."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        pairs = _pairs(query)
        grantees = {g for _, g in pairs}
        found = []
        for mailbox in sorted({m for m, _ in pairs}):
            for entry in ctx.clients.ews.calendar_permissions(mailbox):
                grantee = entry.user.lower()
                if grantee in grantees:
                    # SharingPermissionFlags have no EWS form: only access_rights is compared on Exchange Server
                    attributes = _attrs(mailbox, grantee, entry.access_rights, None)
                    found.append(Observed(_address(mailbox, grantee), f"{mailbox}:\\Calendar:{grantee}", attributes))
        return found

    def create(self, ctx: Context, change: Change) -> Observed:
        return self.update(ctx, change)

    def update(self, ctx: Context, change: Change) -> Observed:
        a = self.parse(change.after)
        ctx.clients.ews.set_calendar_permission(a.mailbox, a.grantee, a.access_rights)
        return Observed(change.address, f"{a.mailbox}:\\Calendar:{a.grantee}", a.to_json())

    def delete(self, ctx: Context, change: Change) -> None:
        a = self.parse(change.before)
        ctx.clients.ews.set_calendar_permission(a.mailbox, a.grantee, "None")


class CalendarPermissionKind(ResourceKind):
    kind = "calendar_permission"
    create_only = frozenset({"mailbox", "grantee"})
    bulk = True
    online = Online(PermissionAttrs)
    server = Server(PermissionAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    # -- resolve: every mailbox source to addresses ---------------------------------------
    def resolve(self, loaded: LoadedSpec, lookups: Lookups) -> dict[str, Any]:
        """Each group or room list -> its mailboxes; each named mailbox (address, alias, CSV line) -> its address."""
        groups: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for want in permissions(loaded):
            source, location = want.mailboxes, loaded.locate(*want.field)
            if source.group or source.room_list:
                key = source_key(source)
                if key not in groups:
                    groups[key] = self._members(loaded, lookups, source, location)
            else:
                names.update(
                    self._addresses(loaded, lookups, [a for a in source.addresses if a not in names], location)
                )
        resolved: dict[str, Any] = {"mailboxes": groups} if groups else {}
        resolved = {**resolved, "addresses": names} if names else resolved
        self._inside_scope(loaded, lookups, resolved)
        if loaded.spec.target is Target.EXCHANGE_SERVER:
            _grantees_exist(loaded, lookups)
        return resolved

    def _inside_scope(self, loaded: LoadedSpec, lookups: Lookups, resolved: Mapping[str, Any]) -> None:
        """The preset's mailboxes must be members of the scope group (the app's scope), unless the spec says
        otherwise (access.allow_outside_scope): folder permissions outside it widen the integration's reach."""
        access = loaded.spec.access
        if (
            access is None
            or access.scope_group is None
            or access.allow_outside_scope
            or access.level is AccessLevel.FULL
        ):
            return
        wants = [w for w in permissions(loaded) if w.field[:1] == ("access",)]
        if not wants:
            return
        scope_key = source_key(MailboxSet(group=access.scope_group))
        inside = set(
            resolved.get("mailboxes", {}).get(scope_key)
            or self._members(
                loaded, lookups, MailboxSet(group=access.scope_group), loaded.locate("access", "scope_group")
            )
        )
        outside = sorted({m for want in wants for m in _want_mailboxes(want, resolved)} - inside)
        if outside:
            listed = ", ".join(outside[:10]) + (f" and {len(outside) - 10} more" if len(outside) > 10 else "")
            raise SpecError(
                f"{len(outside)} mailbox(es) of access.mailboxes are not members of scope group "
                f"'{access.scope_group}': {listed}",
                "the integration's scope stops at the scope group: add them to the group, remove them from "
                "access.mailboxes, or confirm with access.allow_outside_scope: true",
                loaded.locate("access", "mailboxes"),
            )

    def _members(
        self, loaded: LoadedSpec, lookups: Lookups, source: MailboxSet, location: Location | None
    ) -> list[str]:
        spec = loaded.spec
        defined = {r.name.lower(): r for r in spec.room_lists}
        if source.room_list and source.room_list.lower() in defined:  # a room list this spec makes: its rooms
            rooms = resolve_rooms(loaded, lookups)
            return sorted({rooms.get(r, r.lower()) for r in defined[source.room_list.lower()].rooms})
        if spec.target is Target.EXCHANGE_SERVER:
            return server_mailboxes(loaded, lookups, source)
        name = source.group or source.room_list or ""
        lookups.existing_group(name, location, "mailbox group" if source.group else "room list")
        return sorted(smtp(m) for m in lookups.members(name) if m.get("RecipientTypeDetails") not in GROUP_TYPES)

    def _addresses(
        self, loaded: LoadedSpec, lookups: Lookups, names: list[str], location: Location | None
    ) -> dict[str, str]:
        if loaded.spec.target is Target.EXCHANGE_SERVER:
            domain = loaded.spec.tenant.domain or ""
            return {a: (a if "@" in a else f"{a}@{domain}").lower() for a in names}
        found = lookups.recipients(names)
        missing = [name for name, row in found.items() if row is None]
        if missing:
            raise _located(
                loaded,
                missing,
                "mailbox '{value}' does not exist in the tenant",
                "check the alias or address (the guide's CSV lists aliases)",
                location,
            )
        others = {
            name: str(row.get("RecipientTypeDetails"))
            for name, row in found.items()
            if row is not None and row.get("RecipientTypeDetails") not in MAILBOX_TYPES
        }
        if others:
            raise _located(
                loaded,
                list(others),
                "not a mailbox: '{value}' is a {kind}",
                "a Calendar folder belongs to a mailbox: name a group in access.mailboxes.group (its members are "
                "used), a room list in access.mailboxes.room_list, or list the mailboxes themselves",
                location,
                others,
            )
        return {name: smtp(row) for name, row in found.items() if row is not None}

    # -- desired ---------------------------------------------------------------------------
    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        server = loaded.spec.target is Target.EXCHANGE_SERVER
        found: dict[str, Desired] = {}
        for want in permissions(loaded):
            location = loaded.locate(*want.field)
            for mailbox in _want_mailboxes(want, resolved):
                item = self._desired(want, mailbox, location, server)
                if item.address in found and found[item.address].attributes != item.attributes:
                    raise SpecError(
                        f"{item.address} is asked for twice with different rights",
                        "one grantee has one entry per Calendar folder: keep one of them",
                        location,
                    )
                found[item.address] = item
        return list(found.values())

    def permissions(self, spec: Spec) -> list[Permission]:
        routes = [graph_role(p.access_rights, list(p.sharing_permission_flags)) for p in spec.calendar_permissions]
        sources: set[str] = {"addresses"} if spec.calendar_permissions else set()
        access = spec.access
        if access is not None and preset_grants_folder_permissions(spec):
            rights, flags = EDITOR_DELEGATE if access.level is AccessLevel.RESTRICTED else AVAILABILITY_ONLY
            routes.append(graph_role(rights, list(flags)))
            given = access.mailboxes
            sources |= {"addresses"} if given.addresses or given.csv else set()
            sources |= {"group"} if given.group or given.room_list or given.empty else set()
        if not routes:
            return []
        if spec.target is Target.EXCHANGE_SERVER:
            calls = (
                "GetFolder of each mailbox's Calendar (PermissionSet) by impersonation",
                "UpdateFolder of it (apply)",
            )
            return [
                Permission(
                    EXCHANGE_SERVER_ROLE,
                    APPLICATION_IMPERSONATION,
                    READ,
                    calls,
                    IMPERSONATION_DOC,
                    self.kind,
                    EWS_ACCOUNT,
                    note=IMPERSONATION_NOTE,
                    commands=(*READ_COMMANDS, "export"),
                )
            ]
        lookups: tuple[str, ...] = (
            ("Get-Recipient", "Get-Mailbox (over 20 addresses)") if "addresses" in sources else ()
        )
        lookups += ("Get-DistributionGroup", "Get-DistributionGroupMember") if "group" in sources else ()
        result = [read_permission(self.kind, lookups)] if lookups else []
        if any(routes):  # Editor + Delegate + CanViewPrivateItems, AvailabilityOnly: Graph calendarPermissions
            result += [
                graph_permission(
                    self.kind, READ, ("GET /users/{mailbox}/calendar/calendarPermissions ($batch)",), GRAPH_LIST_DOC
                ),
                graph_permission(
                    self.kind,
                    APPLY,
                    (
                        "POST /users/{mailbox}/calendar/calendarPermissions ($batch)",
                        "PATCH /users/{mailbox}/calendar/calendarPermissions/{id} ($batch)",
                        "DELETE /users/{mailbox}/calendar/calendarPermissions/{id}",
                    ),
                    GRAPH_WRITE_DOC,
                    replaces=required_permission("GET /users/{mailbox}/calendar/calendarPermissions"),
                ),
            ]
        if not all(routes):  # other rights: the admin API's MailboxFolderPermission endpoint
            result += [
                read_permission(self.kind, ("Get-MailboxFolderPermission",), FOLDER_ROLES_DOC),
                Permission(
                    EXCHANGE_ONLINE_ROLE,
                    MAIL_RECIPIENTS,
                    APPLY,
                    ("Add-MailboxFolderPermission", "Set-MailboxFolderPermission", "Remove-MailboxFolderPermission"),
                    FOLDER_ROLES_DOC,
                    self.kind,
                ),
            ]
        return result

    def _desired(self, want: PermissionWant, mailbox: str, location: Any, server: bool) -> Desired:
        """On Exchange Server the flags cannot be read over EWS: they are write-only there (see `manual`)."""
        grantee = want.grantee.lower()
        attributes: dict[str, Any] = {"mailbox": mailbox, "grantee": grantee, "access_rights": want.access_rights}
        flags = {"sharing_permission_flags": sorted(want.flags)}
        return Desired(
            kind=self.kind,
            name=f"{mailbox}/{grantee}",
            depends_on=("user.service_account",),  # the grantee may be the account made in the same apply
            attributes=attributes if server else {**attributes, **flags},
            write_only=flags if server else {},
            location=location,
        )

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        flags = attributes.get("sharing_permission_flags")
        return {
            **attributes,
            "sharing_permission_flags": sorted(flags) if flags else [],
            "mailbox": str(attributes.get("mailbox", "")).lower(),
            "grantee": str(attributes.get("grantee", "")).lower(),
        }

    def widens(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
        if not before or not after:
            return None
        was, will = str(before.get("access_rights")), str(after.get("access_rights"))
        if RANK.get(will, 0) > RANK.get(was, 0):
            return f"raises {after.get('grantee')} on {after.get('mailbox')}'s calendar from {was} to {will}"
        added = set(after.get("sharing_permission_flags") or []) - set(before.get("sharing_permission_flags") or [])
        if "CanViewPrivateItems" in added:
            return f"lets {after.get('grantee')} see private items on {after.get('mailbox')}'s calendar"
        return None

    def warnings(self, loaded: LoadedSpec) -> list[str]:
        spec = loaded.spec
        if (
            spec.target is Target.EXCHANGE_SERVER
            and spec.access is not None
            and spec.access.level.value == "restricted"
        ):
            return [
                "Exchange Server has no SharingPermissionFlags (Delegate, CanViewPrivateItems are Exchange Online "
                "only): the service account gets Editor; to let it see private items, make it a delegate in Outlook"
            ]
        return []

    def wider(self, observed: Observed, loaded: LoadedSpec) -> str | None:
        """An entry of the spec's grantee on a Calendar the spec does not name (seen with access.exclusive)."""
        attrs = observed.attributes
        rights = str(attrs.get("access_rights"))
        if rights == "None":
            return None
        flags = attrs.get("sharing_permission_flags") or []
        shown = f"{rights} + {', '.join(flags)}" if flags else rights
        how = "" if self.owns_wider(loaded) else "; access.exclusive: true removes it"
        where = f"{attrs.get('mailbox')}'s Calendar"
        return f"{attrs.get('grantee')} holds {shown} on {where}, which the spec does not name{how}"

    def owns_wider(self, loaded: LoadedSpec) -> bool:
        return bool(loaded.spec.access and loaded.spec.access.exclusive)

    def identity(self, name: str) -> dict[str, Any]:
        return dict(zip(("mailbox", "grantee"), name.split("/", 1), strict=False))

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        mailbox, _, grantee = name.partition("/")
        return [("mailbox", mailbox), ("grantee", grantee)]

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """Add-/Set-/Remove-MailboxFolderPermission on '<mailbox>:\\Calendar' [-SharingPermissionFlags ...]."""
        # https://learn.microsoft.com/powershell/module/exchangepowershell/add-mailboxfolderpermission
        return ps.by_action(change, create=self._ps_add, update=self._ps_set, delete=self._ps_remove)

    def _ps_add(self, change: dict[str, Any]) -> list[str]:
        return self._ps_write(change, "Add-MailboxFolderPermission", {})

    def _ps_set(self, change: dict[str, Any]) -> list[str]:
        return self._ps_write(change, "Set-MailboxFolderPermission", ps.before(change))

    def _ps_write(self, change: dict[str, Any], cmdlet: str, was: dict[str, Any]) -> list[str]:
        attrs = ps.after(change)
        flags = sorted(attrs.get("sharing_permission_flags") or [], key=lambda f: (f != "Delegate", f))
        # SharingPermissionFlags are valid only with Editor: a change of the flags alone is on an Editor entry
        rights = attrs.get("access_rights") or ("Editor" if flags or was.get("sharing_permission_flags") else None)
        if rights is None:
            return ps.lacking(change, attrs, "access_rights")
        line = f"{cmdlet} {self._ps_entry(change, attrs)} -AccessRights {ps.word(rights)}"
        if change.get("manual"):  # Exchange Server: the plan's own command sets the flags after this
            note = "the flags as reconciler's plan gives them (Microsoft documents them for Exchange Online only)"
            return [line, ps.comment(note), *change["manual"]]
        if flags:
            return [f"{line} -SharingPermissionFlags {ps.words(flags)}"]
        dropped = rights == "Editor" and was.get("sharing_permission_flags")
        return [f"{line} -SharingPermissionFlags None" if dropped else line]

    def _ps_remove(self, change: dict[str, Any]) -> list[str]:
        return [f"Remove-MailboxFolderPermission {self._ps_entry(change, ps.before(change))} -Confirm:$false"]

    def _ps_entry(self, change: dict[str, Any], attrs: dict[str, Any]) -> str:
        """`-Identity 'mailbox:\\Calendar' -User 'grantee'`, from the attributes or else the address."""
        mailbox, _, grantee = ps.name_of(change).partition("/")
        folder = f"{attrs.get('mailbox') or mailbox}:\\Calendar"
        return f"-Identity {ps.quote(folder)} -User {ps.quote(attrs.get('grantee') or grantee)}"


def _located(
    loaded: LoadedSpec,
    names: list[str],
    summary: str,
    detail: str,
    location: Location | None,
    kinds: Mapping[str, str] | None = None,
) -> SpecError:
    """One error naming every bad mailbox name at once: each CSV entry at its file:line, the others at the spec."""
    access = loaded.spec.access
    from_csv = mailbox_csv(loaded) if access is not None and access.mailboxes.csv else None
    lines = {e.value.lower() for e in from_csv.entries} if from_csv is not None else set()
    problems: list[ReconcilerError] = []
    for name in names:
        text = summary.format(value=name, kind=(kinds or {}).get(name, ""))
        entry = next((e for e in from_csv.entries if e.value.lower() == name.lower()), None) if from_csv else None
        where = from_csv.location(entry) if from_csv is not None and entry is not None else location
        problems.append(SpecError(text, detail, where))
    first = problems[0]
    if len(problems) == 1:
        return SpecError(first.summary, detail, first.location)
    origin = " (the CSV's lines below)" if lines & {n.lower() for n in names} else ""
    headline = f"{len(problems)} mailbox names are wrong{origin}: {first.summary}, ..."
    return SpecError(headline, detail, first.location, problems)


def _grantees_exist(loaded: LoadedSpec, lookups: Lookups) -> None:
    """Exchange Server: the grantees (the service account) must exist in Active Directory before any folder
    permission names them; EWS ResolveNames tells. A missing account is a SpecError with the command that makes it."""
    account = loaded.spec.service_account
    for want in permissions(loaded):
        grantee = want.grantee.lower()
        if any(address == grantee for _, address in lookups.ews_resolve(grantee)):
            continue
        is_account = account is not None and account.user_principal_name.lower() == grantee
        name = account.display_name if is_account and account is not None else grantee.split("@")[0]
        alias = grantee.split("@")[0]
        make = (
            f"New-Mailbox -Name {ps.quote(name)} -Alias {ps.quote(alias)} -UserPrincipalName {ps.quote(grantee)} "
            "-Password (Read-Host -AsSecureString 'Password')"
        )
        raise SpecError(
            f"the grantee {grantee} does not exist in Active Directory (EWS ResolveNames finds no mailbox with that "
            "address), so no folder permission can name it",
            f"create the account first, in the Exchange Management Shell: {make}",
            loaded.locate("service_account", "user_principal_name") if is_account else loaded.locate(*want.field),
        )


def _graph_routed(attrs: Mapping[str, Any]) -> bool:
    return graph_role(str(attrs.get("access_rights")), list(attrs.get("sharing_permission_flags") or [])) is not None


def _graph_write(change: Change) -> BatchRequest | None:
    a = change.after or {}
    role = graph_role(a["access_rights"], a.get("sharing_permission_flags") or [])
    if role is None:
        return None
    base = f"/users/{a['mailbox']}/calendar/calendarPermissions"
    if change.action.value == "create":
        body = {
            "emailAddress": {"address": a["grantee"]},
            "role": role,
            "isInsideOrganization": True,
            "isRemovable": True,
        }
        return BatchRequest("POST", base, body)
    return BatchRequest("PATCH", f"{base}/{change.id}", {"role": role})


def _written(change: Change, answer: BatchResult) -> Observed | ReconcilerError:
    a = change.after or {}
    if not answer.sent:
        return NotStarted(f"{change.address}: not started (apply was interrupted)")
    if answer.status >= 400:
        verb = "POST" if change.action.value == "create" else "PATCH"
        return answer.client_error(f"{verb} /users/{a['mailbox']}/calendar/calendarPermissions ({a['grantee']})")
    return Observed(change.address, answer.body.get("id") or change.id, dict(a))


def permissions_path(mailbox: str) -> str:
    """The Graph path that lists one mailbox's Calendar permissions (what refresh and export read)."""
    return f"/users/{mailbox}/calendar/calendarPermissions?$select=id,role,emailAddress"


def _batch_entries(answer: BatchResult, mailbox: str) -> list[dict[str, Any]]:
    """One mailbox's calendarPermissions from a batch ([] when the mailbox has none)."""
    if answer.status == 404:
        return []
    if answer.status >= 400:
        raise answer.client_error(f"GET /users/{mailbox}/calendar/calendarPermissions")
    entries: list[dict[str, Any]] = answer.body.get("value", [])
    return entries


def _entry(mailbox: str, entry: dict[str, Any]) -> Observed | None:
    """A calendarPermission as spec attributes, under its address (None: no address, e.g. 'My Organization')."""
    address = (entry.get("emailAddress") or {}).get("address")
    if not address:
        return None
    grantee = str(address).lower()
    role = str(entry.get("role") or "none")
    rights, flags = GRAPH_ROLES.get(role, (f"Custom ({role})", ()))
    return Observed(_address(mailbox, grantee), entry.get("id"), _attrs(mailbox, grantee, rights, list(flags)))


def read_admin_entry(ctx: Context, mailbox: str, grantee: str) -> Observed | None:
    row = ctx.clients.exchange.get(
        "Get-MailboxFolderPermission",
        {"Identity": f"{mailbox}:\\Calendar", "User": grantee},
        what=f"{mailbox}:\\Calendar",
    )
    if row is None:
        return None
    rights = row.get("AccessRights") or ["None"]
    flags = _flags(row.get("SharingPermissionFlags"))
    attributes = _attrs(mailbox, grantee, str(rights[0]), flags)
    return Observed(_address(mailbox, grantee), f"{mailbox}:\\Calendar:{grantee}", attributes)


def _attrs(mailbox: str, grantee: str, rights: str, flags: list[str] | None) -> dict[str, Any]:
    return {"mailbox": mailbox, "grantee": grantee, "access_rights": rights, "sharing_permission_flags": flags}


def _flags(value: Any) -> list[str]:
    if not value or value == "None":
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return sorted(str(i).strip() for i in items if str(i).strip() and str(i).strip() != "None")


def server_mailboxes(loaded: LoadedSpec, lookups: Lookups, source: MailboxSet) -> list[str]:
    if source.room_list:
        address = lookups.ews_room_lists().get(source.room_list.lower(), source.room_list)
        return sorted(r.lower() for r in lookups.ews_rooms(address))
    if source.group:
        return sorted(m.lower() for m in lookups.ews_members(source.group))
    domain = loaded.spec.tenant.domain or ""
    return sorted((a if "@" in a else f"{a}@{domain}").lower() for a in source.addresses)
