"""`room_booking`: a room's booking policy (its resource booking attendant), so it accepts the integration's bookings.

Attributes: the room's address and the Set-CalendarProcessing settings the spec names (snake_case of Exchange's
names). Only those settings are managed: read() keeps only what the spec or the record names, so the others are
never compared, changed, shown or drift.
A spec names rooms one by one, by room list, or as the rooms of access.mailboxes; the `integration` preset fills in
what the integration's mode needs (access.level free_busy: Cronofy's settings, room_booking_preset in
spec/presets.py).

Exchange Online: Get-CalendarProcessing / Set-CalendarProcessing through the admin API's InvokeCommand. The cmdlet
takes one mailbox per call (-Identity is mandatory and takes no wildcards; PowerShell's
`Get-Mailbox | Get-CalendarProcessing` is one call per mailbox too) and the admin API has no pipeline, so rooms are
read one request each, `ctx.parallelism` at a time (never one mailbox twice at once). A write names only the
settings that differ.
Exchange Server: the settings are changed by the Exchange Management Shell commands the plan prints. EWS reads one of
them: [MS-OXOCFG] 2.2.5.1.1 documents the calendar options dictionary (the FAI message IPM.Configuration.Calendar of
the Calendar folder, EWS GetUserConfiguration "Calendar"), whose only calendar-processing setting is
AutomateProcessing (0 None, 1 AutoUpdate, 2 AutoAccept). reconciler reads it for each room, impersonating the room as
the EWS account, and compares it as on Exchange Online. The others are not readable over EWS: apply records the values
its printed commands set (Backend.record_manual), and later plans take them from that record; AutomateProcessing
matching the record confirms the commands ran. Before any record, they count as not set, so the plan prints them.
https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxocfg/043f83fa-3b7b-4a7f-8fb8-493d0d10afe8
https://learn.microsoft.com/powershell/module/exchangepowershell/set-calendarprocessing
https://learn.microsoft.com/powershell/module/exchangepowershell/get-calendarprocessing
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.errors import ClientError, Location, ReconcilerError, SpecError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLICATION_IMPERSONATION,
    APPLY,
    EWS_ACCOUNT,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    MAIL_RECIPIENTS,
    READ,
    SHELL_ADMIN,
    VIEW_ONLY_RECIPIENTS,
    Attributes,
    Backend,
    Context,
    Desired,
    Fragment,
    Observed,
    Permission,
    Query,
    ResourceKind,
)
from reconciler.resources.calendar_permission import IMPERSONATION_DOC, server_mailboxes
from reconciler.resources.lookups import ROOM_TYPES, read_permission, smtp
from reconciler.resources.room_list import resolve_rooms
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import AutomateProcessing, BookingSettings, RoomBooking, Spec, Target
from reconciler.spec.presets import MailboxSet, mailbox_sets, room_booking_preset

if TYPE_CHECKING:
    from reconciler.engine.plan import Change
    from reconciler.resources.lookups import Lookups

SET_DOC = "https://learn.microsoft.com/powershell/module/exchangepowershell/set-calendarprocessing"
# Microsoft365DSC's EXOCalendarProcessing: read View-Only Recipients, update Mail Recipients
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.708.1/Content/"
    "DscResources%5CMSFT_EXOCalendarProcessing%5Csettings.json"
)
# spec attribute -> Set-CalendarProcessing parameter (and Get-CalendarProcessing property)
PARAMETERS: dict[str, str] = {
    name: "".join(part.title() for part in name.split("_")) for name in BookingSettings.model_fields
}
PARAMETERS |= {
    "all_book_in_policy": "AllBookInPolicy",
    "all_request_in_policy": "AllRequestInPolicy",
    "all_request_out_of_policy": "AllRequestOutOfPolicy",
}
# spec attribute -> key of the calendar options dictionary ([MS-OXOCFG] 2.2.5.1.1), the settings EWS can read
READABLE: dict[str, str] = {"automate_processing": "AutomateProcessing"}
# AutomateProcessing in the dictionary: "0" disables, "1" enables automatic processing, "2" enables it as a resource
AUTOMATE_PROCESSING_CODES: dict[int, AutomateProcessing] = {0: "None", 1: "AutoUpdate", 2: "AutoAccept"}
NOT_READABLE = "not readable over EWS; recorded when apply printed the Exchange Management Shell commands"


class BookingAttrs(Attributes):
    """A room's address and the calendar processing settings (those the spec names, or all that were read)."""

    room: str
    automate_processing: AutomateProcessing | None = None
    allow_conflicts: bool | None = None
    allow_recurring_meetings: bool | None = None
    booking_window_in_days: int | None = None
    maximum_duration_in_minutes: int | None = None
    conflict_percentage_allowed: int | None = None
    maximum_conflict_instances: int | None = None
    enforce_scheduling_horizon: bool | None = None
    schedule_only_during_work_hours: bool | None = None
    process_external_meeting_messages: bool | None = None
    all_book_in_policy: bool | None = None
    all_request_in_policy: bool | None = None
    all_request_out_of_policy: bool | None = None
    delete_subject: bool | None = None
    add_organizer_to_subject: bool | None = None
    delete_comments: bool | None = None
    remove_private_property: bool | None = None
    delete_attachments: bool | None = None


def _address(room: str) -> str:
    return f"{RoomBookingKind.kind}.{room}"


def settings_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Get-CalendarProcessing object as the kind's settings (every one the kind models)."""
    return {name: row.get(parameter) for name, parameter in PARAMETERS.items()}


def parameters_of(attributes: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    """The Set-CalendarProcessing parameters for `names` (their values from `attributes`)."""
    return {PARAMETERS[n]: attributes[n] for n in sorted(names) if n in PARAMETERS}


def managed(query: Query) -> dict[str, set[str]]:
    """Each room the query concerns -> the settings the spec names (or the record holds) for it; empty: all."""
    found: dict[str, set[str]] = {}
    for attributes in [d.attributes for d in query.desired] + [r.attributes for r in query.records]:
        room = str(attributes["room"]).lower()
        found.setdefault(room, set()).update(k for k in attributes if k in PARAMETERS)
    return found


class Online(Backend[BookingAttrs]):
    """The admin API: Get-/Set-CalendarProcessing (InvokeCommand), one room per request, many at once."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        """Each room's settings; only those its spec entry (or record) names are kept, so the plan and the state
        carry what is managed and nothing else (all of them when none is named, as export asks)."""
        names = managed(query)
        rooms = sorted(names)
        if not rooms:
            return []

        def one(room: str) -> Observed | None:
            row = ctx.clients.exchange.get("Get-CalendarProcessing", {"Identity": room}, what=room)
            if row is None:
                return None
            settings = {k: v for k, v in settings_of(row).items() if not names[room] or k in names[room]}
            return Observed(_address(room), room, {"room": room, **settings})

        return _each_room(ctx, rooms, one)

    def write_many(self, ctx: Context, changes: Sequence[Change]) -> list[Observed | ReconcilerError]:
        """Rooms are independent: their Set-CalendarProcessing calls go `ctx.parallelism` at a time (one per room)."""
        if not ctx.batch or len(changes) < 2:
            return super().write_many(ctx, changes)

        def one(change: Change) -> Observed | ReconcilerError:
            return super(Online, self).write_many(ctx, [change])[0]

        with ThreadPoolExecutor(max_workers=max(1, ctx.parallelism)) as pool:
            return list(pool.map(one, changes))

    def update(self, ctx: Context, change: Change) -> Observed:
        """Set-CalendarProcessing with exactly the settings that differ (the others are left as they are)."""
        after = dict(change.after or {})
        room = str(after["room"])
        parameters = parameters_of(after, change.changed)
        if parameters:
            ctx.clients.exchange.run("Set-CalendarProcessing", {"Identity": room, **parameters}, what=room)
        return Observed(change.address, room, after)

    def create(self, ctx: Context, change: Change) -> Observed:
        """A room whose settings could not be read (it has no mailbox): Exchange says why."""
        after = dict(change.after or {})
        room = str(after["room"])
        names = [n for n in after if n in PARAMETERS and after[n] is not None]
        ctx.clients.exchange.run("Set-CalendarProcessing", {"Identity": room, **parameters_of(after, names)}, what=room)
        return Observed(change.address, room, after)


class Server(Backend[BookingAttrs]):
    """Exchange Server: Exchange Management Shell commands; AutomateProcessing read over EWS (GetUserConfiguration of
    each room's calendar options), the other settings from what apply recorded when it printed the commands."""

    automated = False

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        """Each room the spec or state names: the readable settings as EWS shows them now, the others as recorded
        (None before any record: not set as far as reconciler knows). A room EWS cannot read is an error."""
        names = managed(query)
        records = {str(r.attributes.get("room", "")).lower(): r for r in query.records}

        def one(room: str) -> Observed:
            options = _calendar_options(ctx, room)
            record = records.get(room)
            attributes: dict[str, Any] = {"room": room}
            for name in sorted(names[room] or PARAMETERS):
                if name in READABLE:
                    attributes[name] = _readable(name, options)
                else:
                    attributes[name] = record.attributes.get(name) if record is not None else None
            return Observed(_address(room), room, attributes)

        if names:
            ctx.clients.ews.allow_parallel(max(1, ctx.parallelism))
        return _each_room(ctx, sorted(names), one)

    def manual(self, change: Change) -> list[str]:
        after = dict(change.after or {})
        names = [n for n in after if n in PARAMETERS and after[n] is not None]
        # idempotent as it is: Set-CalendarProcessing sets the named values, and a second run changes nothing
        return [set_command(str(after["room"]), parameters_of(after, names))]

    def record_manual(self, change: Change) -> Observed | None:
        """The settings the printed command sets: the next plans take the unreadable ones from this record, and
        compare AutomateProcessing, read over EWS, with it (confirming the command ran)."""
        after = dict(change.after or {})
        return Observed(change.address, str(after["room"]), after)

    def caveat(self) -> str | None:
        """Said next to a changed room: "outside reconciler" covers both a hand change and a printed command not run
        yet, which EWS cannot tell apart."""
        readable = ", ".join(PARAMETERS[n] for n in READABLE)
        return (
            "on Exchange Server apply prints Set-CalendarProcessing rather than running it, and records what it sets: "
            f"{readable} (read over EWS) differs from that record until the command runs, or after a hand change; the "
            "other settings are not readable over EWS (taken from that record)"
        )


def _each_room(ctx: Context, rooms: list[str], one: Callable[[str], Observed | None]) -> list[Observed]:
    """`one(room)` for each room, `ctx.parallelism` at a time (rooms are read one request each), in room order; a room
    with nothing to observe (None) is left out."""
    found: list[Observed] = []
    with ThreadPoolExecutor(max_workers=max(1, ctx.parallelism)) as pool:
        for observed in pool.map(one, rooms):
            ctx.read_some(1)
            found += [observed] if observed is not None else []
    return found


def _calendar_options(ctx: Context, room: str) -> dict[str, Any] | None:
    """The room's calendar options dictionary, or a clear error naming the room and what the EWS account needs."""
    try:
        return ctx.clients.ews.calendar_configuration(room)
    except ClientError as exc:
        if "ErrorImpersonateUserDenied" not in exc.detail:
            raise
        raise ClientError(
            f"cannot read room {room}'s AutomateProcessing over EWS: the EWS account may not impersonate it",
            f"{exc.detail}\nreconciler reads each room_booking room's calendar options (GetUserConfiguration) by "
            "impersonating the room as exchange_server.username: include the rooms in that account's "
            "ApplicationImpersonation scope (`reconciler permissions SPEC` gives the commands)",
        ) from None


def _readable(name: str, options: Mapping[str, Any] | None) -> Any:
    """A readable setting from the calendar options dictionary; None when the room has none or the key is absent."""
    if options is None:
        return None
    value = options.get(READABLE[name])
    if name == "automate_processing":
        code = value if isinstance(value, int) and not isinstance(value, bool) else None
        return AUTOMATE_PROCESSING_CODES.get(code) if code is not None else None
    return value


def server_note(spec: Spec) -> str:
    """What the plan says of room booking on Exchange Server: what EWS confirms, and what it takes from state."""
    preset = room_booking_preset(spec)
    named = {n for e in spec.room_booking for n in e.named()}
    named |= set(preset[0]) if preset and any(e.preset == "integration" for e in spec.room_booking) else set()
    unreadable = [PARAMETERS[n] for n in sorted(named) if n not in READABLE]
    readable = ", ".join(PARAMETERS[n] for n in READABLE)
    said = (
        f"on Exchange Server reconciler reads {readable} over EWS (GetUserConfiguration of each room's calendar "
        "options, [MS-OXOCFG] 2.2.5.1.1) and compares it with the spec"
    )
    if unreadable:
        said += (
            f"; {', '.join(unreadable)}: {NOT_READABLE}, and taken from state once {readable} shows the commands ran"
            f" (Get-CalendarProcessing in the Exchange Management Shell shows them)"
        )
    return said


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return ps.boolean(value)
    if isinstance(value, int):
        return str(value)
    return ps.word(value)


def set_command(room: str, parameters: Mapping[str, Any]) -> str:
    """`Set-CalendarProcessing -Identity '<room>' -Name value ...`."""
    values = " ".join(f"-{name} {_literal(value)}" for name, value in parameters.items())
    return f"Set-CalendarProcessing -Identity {ps.quote(room)} {values}".rstrip()


class RoomBookingKind(ResourceKind):
    kind = "room_booking"
    deletable = False  # a room keeps its settings when the spec stops managing them
    bulk = True  # rooms are independent: apply hands many to write_many
    online = Online(BookingAttrs)
    server = Server(BookingAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    # -- resolve: each entry's rooms -------------------------------------------------------
    def resolve(self, loaded: LoadedSpec, lookups: Lookups) -> dict[str, Any]:
        entries = loaded.spec.room_booking
        if not entries:
            return {}
        return {"entries": [self._entry_rooms(loaded, lookups, e, i) for i, e in enumerate(entries)]}

    def _entry_rooms(self, loaded: LoadedSpec, lookups: Lookups, entry: RoomBooking, i: int) -> list[str]:
        location = loaded.locate("room_booking", i)
        if entry.room_list is not None:
            return self._list_rooms(loaded, lookups, entry.room_list, loaded.locate("room_booking", i, "room_list"))
        if entry.access_rooms:
            return self._access_rooms(loaded, lookups, location)
        return self._named(loaded, lookups, list(entry.rooms), i)

    def _named(self, loaded: LoadedSpec, lookups: Lookups, names: list[str], i: int) -> list[str]:
        server = loaded.spec.target is Target.EXCHANGE_SERVER
        found = {} if server else lookups.recipients(names)
        result = []
        for j, name in enumerate(names):
            location = loaded.locate("room_booking", i, "rooms", j)
            if server:
                address = name.lower() if "@" in name else lookups.ews_address(name)
                if address is None:
                    raise SpecError(
                        f"room '{name}' does not resolve to one mailbox on Exchange Server (EWS ResolveNames)",
                        "name the room by its address (boardroom@contoso.com) or its exact display name",
                        location,
                    )
                result.append(address)
                continue
            row = found.get(name)
            if row is None:
                raise SpecError(
                    f"room '{name}' does not exist in the tenant", "check the room's name or address", location
                )
            _must_be_room(name, row, location)
            result.append(smtp(row))
        return sorted(set(result))

    def _list_rooms(self, loaded: LoadedSpec, lookups: Lookups, name: str, location: Location | None) -> list[str]:
        defined = {r.name.lower(): r for r in loaded.spec.room_lists}
        if name.lower() in defined:  # a room list this spec makes: its rooms
            rooms = resolve_rooms(loaded, lookups)
            return sorted({rooms.get(r, r.lower()) for r in defined[name.lower()].rooms})
        if loaded.spec.target is Target.EXCHANGE_SERVER:
            return server_mailboxes(loaded, lookups, MailboxSet(room_list=name))
        lookups.existing_group(name, location, "room list")
        return sorted(smtp(m) for m in lookups.members(name) if m.get("RecipientTypeDetails") in ROOM_TYPES)

    def _access_rooms(self, loaded: LoadedSpec, lookups: Lookups, location: Location | None) -> list[str]:
        """The rooms among access.mailboxes (other mailboxes have no booking policy to set)."""
        if loaded.spec.access is None:
            raise SpecError(
                "access_rooms: true needs an access section (its mailboxes are where the rooms come from)",
                "add access with mailboxes, or name the rooms (rooms: [...]) or a room_list",
                location,
            )
        rooms: set[str] = set()
        for source in mailbox_sets(loaded):
            if source.room_list:
                rooms |= set(self._list_rooms(loaded, lookups, source.room_list, location))
            elif loaded.spec.target is Target.EXCHANGE_SERVER:
                every = {r.lower() for a in lookups.ews_room_lists().values() for r in lookups.ews_rooms(a)}
                rooms |= set(server_mailboxes(loaded, lookups, source)) & every
            elif source.group:
                members = lookups.members(source.group)
                rooms |= {smtp(m) for m in members if m.get("RecipientTypeDetails") in ROOM_TYPES}
            else:
                found = lookups.recipients(list(source.addresses))
                rooms |= {smtp(r) for r in found.values() if r and r.get("RecipientTypeDetails") in ROOM_TYPES}
        return sorted(rooms)

    # -- desired ---------------------------------------------------------------------------
    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        entries: list[list[str]] = list(resolved.get("entries", []))
        preset = room_booking_preset(loaded.spec)
        wanted: dict[str, dict[str, Any]] = {}
        where: dict[str, Location | None] = {}
        for i, (entry, rooms) in enumerate(zip(loaded.spec.room_booking, entries, strict=False)):
            location = loaded.locate("room_booking", i)
            settings = {**(preset[0] if preset and entry.preset == "integration" else {}), **entry.named()}
            if not settings:
                raise SpecError(
                    "this room_booking entry names no setting",
                    "name settings (automate_processing: AutoAccept, ...), or keep preset: integration with "
                    "access.level free_busy",
                    location,
                )
            for room in rooms:
                have = wanted.setdefault(room, {})
                clash = sorted(k for k, v in settings.items() if k in have and have[k] != v)
                if clash:
                    raise SpecError(
                        f"room {room} is given different values for {', '.join(clash)} by two room_booking entries",
                        "a room has one booking policy: give each setting one value",
                        location,
                    )
                have.update(settings)
                where.setdefault(room, location)
        return [
            Desired(self.kind, room, {"room": room, **settings}, location=where[room])
            for room, settings in sorted(wanted.items())
        ]

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        room = attributes.get("room")
        return {**attributes, "room": room.lower() if isinstance(room, str) else room}

    def warnings(self, loaded: LoadedSpec) -> list[str]:
        said = []
        preset = room_booking_preset(loaded.spec)
        if preset and any(e.preset == "integration" for e in loaded.spec.room_booking):
            shown = ", ".join(f"{PARAMETERS[k]} {_literal(v)}" for k, v in preset[0].items())
            said.append(f"room_booking: {shown} ({preset[1]}; a setting named in room_booking wins)")
        if loaded.spec.room_booking and loaded.spec.target is Target.EXCHANGE_SERVER:
            said.append(f"room_booking: {server_note(loaded.spec)}")
        return said

    def permissions(self, spec: Spec) -> list[Permission]:
        """Exchange Online: View-Only Recipients to read (export reads every room's policy), Mail Recipients to write;
        Exchange Server: the EWS account impersonates each room to read its AutomateProcessing, and the admin who runs
        Set-CalendarProcessing needs Mail Recipients."""
        writes = ("Set-CalendarProcessing",)
        if not spec.room_booking:
            return []
        if spec.target is Target.EXCHANGE_SERVER:
            server_reads = (
                "GetUserConfiguration of each room's calendar options (AutomateProcessing) by impersonation",
            )
            return [
                Permission(
                    EXCHANGE_SERVER_ROLE,
                    APPLICATION_IMPERSONATION,
                    READ,
                    server_reads,
                    IMPERSONATION_DOC,
                    self.kind,
                    EWS_ACCOUNT,
                    note="its management scope must hold the rooms of room_booking",
                ),
                Permission(EXCHANGE_SERVER_ROLE, MAIL_RECIPIENTS, APPLY, writes, ROLES_DOC, self.kind, SHELL_ADMIN),
            ]
        exported = Permission(
            EXCHANGE_ONLINE_ROLE,
            VIEW_ONLY_RECIPIENTS,
            READ,
            ("Get-Mailbox -RecipientTypeDetails RoomMailbox", "Get-CalendarProcessing (each room)"),
            ROLES_DOC,
            self.kind,
            commands=("export",),
        )
        reads = ("Get-CalendarProcessing (each room)", "Get-Recipient", "Get-DistributionGroupMember")
        return [
            read_permission(self.kind, reads, ROLES_DOC),
            exported,
            Permission(EXCHANGE_ONLINE_ROLE, MAIL_RECIPIENTS, APPLY, writes, ROLES_DOC, self.kind),
        ]

    def identity(self, name: str) -> dict[str, Any]:
        return {"room": name}

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        return [("room", name)]

    def export(self, ctx: Context) -> Fragment | None:
        """The settings the integration's mode needs, as every room of the tenant has them.

        Only for a spec that manages room booking: it costs one read per room (Get-CalendarProcessing takes one
        mailbox per call; on Exchange Server one GetUserConfiguration per room), which an export of a large tenant
        should not pay unasked. Exchange Server: the rooms of the room lists EWS shows, with AutomateProcessing, the
        one setting EWS reads (the note says so)."""
        if not ctx.spec.spec.room_booking:
            return None
        server = ctx.target is Target.EXCHANGE_SERVER
        rooms = self._server_rooms(ctx) if server else self._online_rooms(ctx)
        if not rooms:
            return None
        names = sorted(READABLE if server else BOOKED)
        backend = self.server if server else self.online
        observed = backend.read(ctx, Query(tuple(Desired(self.kind, r, {"room": r}) for r in rooms), ()))
        groups: dict[tuple[tuple[str, Any], ...], list[str]] = {}
        for o in observed:
            key = tuple((n, o.attributes.get(n)) for n in names if o.attributes.get(n) is not None)
            if key:
                groups.setdefault(key, []).append(o.attributes["room"])
        entries = CommentedSeq()
        for key, members in sorted(groups.items(), key=lambda g: g[1]):
            entry = CommentedMap(rooms=CommentedSeq(sorted(members)), preset="none")
            entry.update(dict(key))
            entries.append(entry)
        if not entries:
            return None
        comment = "Rooms' booking policy as the tenant has it (the settings the integration's mode depends on)"
        notes = (
            (
                "room_booking on Exchange Server: only AutomateProcessing is readable over EWS (the calendar options, "
                "[MS-OXOCFG]); the other Set-CalendarProcessing settings are not exported, and only rooms of room "
                "lists are found",
            )
            if server
            else ()
        )
        return Fragment("room_booking", entries, comment=comment, notes=notes)

    @staticmethod
    def _online_rooms(ctx: Context) -> list[str]:
        rows = ctx.clients.exchange.run(
            "Get-Mailbox",
            {"RecipientTypeDetails": "RoomMailbox", "ResultSize": "Unlimited"},
            what="rooms",
            select=("PrimarySmtpAddress",),
        )
        return sorted({smtp(r) for r in rows} - {""})

    @staticmethod
    def _server_rooms(ctx: Context) -> list[str]:
        """The rooms of every room list (GetRoomLists, GetRooms): what EWS shows of a server's rooms."""
        lookups = ctx.lookups
        return sorted({r.lower() for a in lookups.ews_room_lists().values() for r in lookups.ews_rooms(a)})

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """Set-CalendarProcessing with the settings that differ (or, for a room never read, every one named)."""
        if not change.get("automated", True):
            return super().powershell(change)
        after = ps.after(change)
        room = after.get("room") or ps.name_of(change)
        if change["action"] not in ("create", "update"):
            return [ps.comment(f"{change['address']}: nothing to run ({change['action']})")]
        names = change.get("changed") or [n for n in after if n in PARAMETERS and after[n] is not None]
        return [set_command(str(room), parameters_of(after, names))]


# What export writes per room: the settings the free_busy preset and the vendors' guides name
BOOKED = frozenset(
    {
        "automate_processing",
        "allow_conflicts",
        "process_external_meeting_messages",
        "all_book_in_policy",
        "all_request_in_policy",
        "all_request_out_of_policy",
        "booking_window_in_days",
    }
)


def _must_be_room(name: str, row: Mapping[str, Any], location: Location | None) -> None:
    if row.get("RecipientTypeDetails") not in ROOM_TYPES:
        raise SpecError(
            f"'{name}' is a {row.get('RecipientTypeDetails')}, not a room: only rooms have a booking policy",
            "remove it from room_booking, or name a room mailbox (New-Mailbox -Room)",
            location,
        )
