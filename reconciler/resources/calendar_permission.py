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

from typing import Any

from reconciler.clients.graph import BatchRequest, BatchResult, required_permission
from reconciler.errors import ReconcilerError, SpecError
from reconciler.render import powershell as ps
from reconciler.resources import exchange_lookup as lookup
from reconciler.resources.base import (
    APPLICATION_IMPERSONATION,
    APPLY,
    EWS_ACCOUNT,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    MAIL_RECIPIENTS,
    READ,
    READ_COMMANDS,
    Context,
    Desired,
    Observed,
    Permission,
    ResourceKind,
    Write,
    graph_permission,
)
from reconciler.spec.models import AccessLevel, Spec, Target
from reconciler.spec.presets import AVAILABILITY_ONLY, EDITOR_DELEGATE, MailboxSet, PermissionWant, permissions
from reconciler.state.model import ResourceRecord

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


class CalendarPermissionKind(ResourceKind):
    kind = "calendar_permission"
    create_only = frozenset({"mailbox", "grantee"})
    bulk = True

    # -- desired ---------------------------------------------------------------------------
    def desired(self, ctx: Context) -> list[Desired]:
        found: dict[str, Desired] = {}
        for want in permissions(ctx.spec):
            location = ctx.spec.locate(*want.field)
            server = ctx.spec.spec.target is Target.EXCHANGE_SERVER
            for mailbox in self._mailboxes(ctx, want.mailboxes, location):
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
        if access is not None and access.level is not AccessLevel.FULL and spec.service_account is not None:
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
        result = [lookup.read_permission(self.kind, lookups)] if lookups else []
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
                lookup.read_permission(self.kind, ("Get-MailboxFolderPermission",), FOLDER_ROLES_DOC),
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

    def _mailboxes(self, ctx: Context, source: MailboxSet, location: Any) -> list[str]:
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            return _server_mailboxes(ctx, source)
        if source.group or source.room_list:
            name = source.group or source.room_list or ""
            lookup.group(ctx, name, location, "mailbox group" if source.group else "room list")
            return sorted(
                lookup.smtp(m)
                for m in lookup.members(ctx, name)
                if m.get("RecipientTypeDetails") not in lookup.GROUP_TYPES
            )
        return lookup.mailbox_addresses(ctx, list(source.addresses), location)

    # -- read ------------------------------------------------------------------------------
    def read(self, ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None:
        attrs = desired.attributes if desired else record.attributes if record else {}
        mailbox, grantee = attrs["mailbox"], attrs["grantee"]
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            return self._read_ews(ctx, mailbox, grantee)
        if graph_role(attrs["access_rights"], attrs.get("sharing_permission_flags") or []):
            return self._read_graph(ctx, mailbox, grantee)
        return self._read_admin(ctx, mailbox, grantee)

    def read_many(
        self, ctx: Context, items: list[tuple[Desired | None, ResourceRecord | None]]
    ) -> list[Observed | None]:
        """Graph-routed entries: one `$batch` GET per 20 mailboxes; the rest one by one."""
        online = ctx.spec.spec.target is Target.EXCHANGE_ONLINE and ctx.batch
        attrs = [(d.attributes if d else r.attributes if r else {}) for d, r in items]
        batched = [
            online and bool(graph_role(a["access_rights"], a.get("sharing_permission_flags") or [])) for a in attrs
        ]
        paths = {a["mailbox"]: _permissions_path(a["mailbox"]) for a, b in zip(attrs, batched, strict=True) if b}
        answers = ctx.clients.graph.batch_get(list(paths.values()), ctx.parallelism, ctx.read_some) if paths else {}
        result: list[Observed | None] = []
        for (desired, record), a, b in zip(items, attrs, batched, strict=True):
            if b:
                result.append(_from_batch(answers[paths[a["mailbox"]]], a["mailbox"], a["grantee"]))
            else:
                result.append(self.read(ctx, desired, record))
        return result

    def _read_graph(self, ctx: Context, mailbox: str, grantee: str) -> Observed | None:
        entries = ctx.clients.graph.calendar_permissions(mailbox)
        return _entry_for(entries or [], mailbox, grantee)

    def _read_admin(self, ctx: Context, mailbox: str, grantee: str) -> Observed | None:
        row = ctx.clients.exchange.get(
            "Get-MailboxFolderPermission",
            {"Identity": f"{mailbox}:\\Calendar", "User": grantee},
            what=f"{mailbox}:\\Calendar",
        )
        if row is None:
            return None
        rights = row.get("AccessRights") or ["None"]
        flags = _flags(row.get("SharingPermissionFlags"))
        return Observed(f"{mailbox}:\\Calendar:{grantee}", _attrs(mailbox, grantee, str(rights[0]), flags))

    def _read_ews(self, ctx: Context, mailbox: str, grantee: str) -> Observed | None:
        for entry in ctx.clients.ews.calendar_permissions(mailbox):
            if entry.user.lower() == grantee:
                # SharingPermissionFlags have no EWS form: only access_rights is compared on Exchange Server
                return Observed(f"{mailbox}:\\Calendar:{grantee}", _attrs(mailbox, grantee, entry.access_rights, None))
        return None

    # -- write -----------------------------------------------------------------------------
    def write_many(self, ctx: Context, writes: list[Write]) -> list[Observed | ReconcilerError]:
        """Graph-routed writes go through `$batch` (POST to add, PATCH of the role to change in place)."""
        online = ctx.spec.spec.target is Target.EXCHANGE_ONLINE and ctx.batch
        routed = [online and _graph_write(w) is not None for w in writes]
        requests = [_graph_write(w) for w, r in zip(writes, routed, strict=True) if r]
        answers = iter(ctx.clients.graph.batch([q for q in requests if q], ctx.parallelism) if requests else [])
        singles = iter(super().write_many(ctx, [w for w, r in zip(writes, routed, strict=True) if not r]))
        return [_written(w, next(answers)) if r else next(singles) for w, r in zip(writes, routed, strict=True)]

    def create(self, ctx: Context, desired: Desired) -> Observed:
        return self._write(ctx, desired, None, add=True)

    def update(self, ctx: Context, desired: Desired, remote_id: str | None, changed: list[str]) -> Observed:
        return self._write(ctx, desired, remote_id, add=False)

    def _write(self, ctx: Context, desired: Desired, remote_id: str | None, add: bool) -> Observed:
        a = desired.attributes
        mailbox, grantee, rights = a["mailbox"], a["grantee"], a["access_rights"]
        flags = a.get("sharing_permission_flags") or []
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            ctx.clients.ews.set_calendar_permission(mailbox, grantee, rights)
            return Observed(f"{mailbox}:\\Calendar:{grantee}", dict(a))
        role = graph_role(rights, flags)
        if role and add:
            created = ctx.clients.graph.add_calendar_permission(mailbox, grantee, role)
            return Observed(created.get("id"), dict(a))
        if role and remote_id:
            ctx.clients.graph.set_calendar_permission_role(mailbox, remote_id, role)
            return Observed(remote_id, dict(a))
        parameters: dict[str, Any] = {"Identity": f"{mailbox}:\\Calendar", "User": grantee, "AccessRights": [rights]}
        if flags:
            parameters["SharingPermissionFlags"] = ",".join(flags)
        cmdlet = "Add-MailboxFolderPermission" if add else "Set-MailboxFolderPermission"
        ctx.clients.exchange.run(cmdlet, parameters, what=f"{mailbox}:\\Calendar ({grantee})")
        return Observed(remote_id or f"{mailbox}:\\Calendar:{grantee}", dict(a))

    def delete(self, ctx: Context, record: ResourceRecord) -> None:
        a = record.attributes
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            ctx.clients.ews.set_calendar_permission(a["mailbox"], a["grantee"], "None")
        elif graph_role(a["access_rights"], a.get("sharing_permission_flags") or []) and record.id:
            ctx.clients.graph.delete_calendar_permission(a["mailbox"], record.id)
        else:
            ctx.clients.exchange.run(
                "Remove-MailboxFolderPermission",
                {"Identity": f"{a['mailbox']}:\\Calendar", "User": a["grantee"], "Confirm": False},
                what=f"{a['mailbox']}:\\Calendar ({a['grantee']})",
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

    def warnings(self, ctx: Context) -> list[str]:
        spec = ctx.spec.spec
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


def _graph_write(write: Write) -> BatchRequest | None:
    a = write.desired.attributes
    role = graph_role(a["access_rights"], a.get("sharing_permission_flags") or [])
    if role is None:
        return None
    base = f"/users/{a['mailbox']}/calendar/calendarPermissions"
    if write.action == "create":
        body = {
            "emailAddress": {"address": a["grantee"]},
            "role": role,
            "isInsideOrganization": True,
            "isRemovable": True,
        }
        return BatchRequest("POST", base, body)
    return BatchRequest("PATCH", f"{base}/{write.remote_id}", {"role": role})


def _written(write: Write, answer: BatchResult) -> Observed | ReconcilerError:
    a = write.desired.attributes
    if answer.status >= 400:
        verb = "POST" if write.action == "create" else "PATCH"
        return answer.client_error(f"{verb} /users/{a['mailbox']}/calendar/calendarPermissions ({a['grantee']})")
    return Observed(answer.body.get("id") or write.remote_id, dict(a))


def _permissions_path(mailbox: str) -> str:
    return f"/users/{mailbox}/calendar/calendarPermissions?$select=id,role,emailAddress"


def _from_batch(answer: BatchResult, mailbox: str, grantee: str) -> Observed | None:
    """One mailbox's calendarPermissions from a batch: its entry for `grantee`, None when absent."""
    if answer.status == 404:
        return None
    if answer.status >= 400:
        raise answer.client_error(f"GET /users/{mailbox}/calendar/calendarPermissions")
    return _entry_for(answer.body.get("value", []), mailbox, grantee)


def _entry_for(entries: list[dict[str, Any]], mailbox: str, grantee: str) -> Observed | None:
    """The grantee's calendarPermission among a Calendar's entries, as spec attributes."""
    for entry in entries:
        address = (entry.get("emailAddress") or {}).get("address")
        if address and address.lower() == grantee:
            role = str(entry.get("role") or "none")
            rights, flags = GRAPH_ROLES.get(role, (f"Custom ({role})", ()))
            return Observed(entry.get("id"), _attrs(mailbox, grantee, rights, list(flags)))
    return None


def _attrs(mailbox: str, grantee: str, rights: str, flags: list[str] | None) -> dict[str, Any]:
    return {"mailbox": mailbox, "grantee": grantee, "access_rights": rights, "sharing_permission_flags": flags}


def _flags(value: Any) -> list[str]:
    if not value or value == "None":
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return sorted(str(i).strip() for i in items if str(i).strip() and str(i).strip() != "None")


def _server_mailboxes(ctx: Context, source: MailboxSet) -> list[str]:
    if source.room_list:
        lists = {k.lower(): v for k, v in ctx.clients.ews.room_lists().items()}
        address = lists.get(source.room_list.lower(), source.room_list)
        return ctx.clients.ews.rooms(address)
    if source.group:
        return ctx.clients.ews.expand_group(source.group)
    domain = ctx.spec.spec.tenant.domain or ""
    return sorted((a if "@" in a else f"{a}@{domain}").lower() for a in source.addresses)
