"""`room`: a room's place metadata (capacity, building, floor, label, tags, accessibility, devices, phone), what
room finders and workplace tools search on.

Only the properties a spec names are managed; the others are read but never compared, changed or drift.
Exchange Online only (Get-Place and Set-Place are "Applicable: Exchange Online"; on-premises Exchange has no
place metadata), through the admin API's InvokeCommand:
- read: one `Get-Place -Type Room -ResultSize Unlimited` listing for every room (paged), its rows named by the
  room's Name, which the run's mailbox index turns into the room's address;
- write: `Set-Place -Identity <room>` with the properties that differ.
Graph's `PATCH /places/{id | emailAddress}` (v1.0, Place.ReadWrite.All) writes the same metadata, but its page
lists no application permission ("Application: Not supported"), and reconciler signs in as an application; the
properties are named as Graph's room resource names them (floor_number is Set-Place's -Floor).
https://learn.microsoft.com/powershell/module/exchangepowershell/set-place
https://learn.microsoft.com/graph/api/place-update (permissions: delegated Place.ReadWrite.All only)
https://learn.microsoft.com/graph/api/resources/room
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.errors import SpecError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    EXCHANGE_ONLINE_ROLE,
    READ,
    READ_COMMANDS,
    VIEW_ONLY_CONFIGURATION,
    Attributes,
    Backend,
    Context,
    Desired,
    Fragment,
    Observed,
    Permission,
    Query,
    ResourceKind,
    Unsupported,
)
from reconciler.resources.lookups import ROOM_TYPES, read_permission, smtp
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target

if TYPE_CHECKING:
    from reconciler.engine.plan import Change
    from reconciler.resources.lookups import Lookups

# Microsoft365DSC's EXOPlace: read View-Only Configuration, update TenantPlacesManagement (role group Places
# Administrator)
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.708.1/Content/"
    "DscResources%5CMSFT_EXOPlace%5Csettings.json"
)
PLACES_ROLE = "TenantPlacesManagement"
# spec attribute -> Set-Place parameter (and Get-Place property)
PARAMETERS = {
    "capacity": "Capacity",
    "building": "Building",
    "floor_number": "Floor",
    "floor_label": "FloorLabel",
    "label": "Label",
    "tags": "Tags",
    "is_wheel_chair_accessible": "IsWheelChairAccessible",
    "audio_device_name": "AudioDeviceName",
    "video_device_name": "VideoDeviceName",
    "display_device_name": "DisplayDeviceName",
    "phone": "Phone",
}


class RoomAttrs(Attributes):
    """A room's address and its place metadata (those the spec names, or all that were read)."""

    room: str
    capacity: int | None = None
    building: str | None = None
    floor_number: int | None = None
    floor_label: str | None = None
    label: str | None = None
    tags: list[str] | None = None
    is_wheel_chair_accessible: bool | None = None
    audio_device_name: str | None = None
    video_device_name: str | None = None
    display_device_name: str | None = None
    phone: str | None = None


def _address(room: str) -> str:
    return f"{RoomKind.kind}.{room}"


def places(ctx: Context) -> dict[str, dict[str, Any]]:
    """Every room's metadata by its address: one Get-Place listing, named through the run's mailbox index."""
    rows = ctx.clients.exchange.run("Get-Place", {"Type": "Room", "ResultSize": "Unlimited"}, what="rooms")
    index = ctx.lookups.mailbox_index()
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        mailbox = index.get(str(row.get("Identity") or "").lower())
        if mailbox is not None:
            address = smtp(mailbox)
            found[address] = {"room": address, **{n: row.get(p) for n, p in PARAMETERS.items()}}
    return found


def parameters_of(attributes: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    return {PARAMETERS[n]: attributes.get(n) for n in sorted(names) if n in PARAMETERS}


class Online(Backend[RoomAttrs]):
    def read(self, ctx: Context, query: Query) -> list[Observed]:
        """One listing of every room; each queried room keeps only the properties its entry (or record) names."""
        wanted: dict[str, set[str]] = {}
        for attributes in [d.attributes for d in query.desired] + [r.attributes for r in query.records]:
            wanted.setdefault(str(attributes["room"]).lower(), set()).update(k for k in attributes if k in PARAMETERS)
        if not wanted:
            return []
        every = places(ctx)
        ctx.read_some(len(wanted))
        return [
            Observed(_address(room), room, {k: v for k, v in every[room].items() if k == "room" or k in names})
            for room, names in sorted(wanted.items())
            if room in every
        ]

    def update(self, ctx: Context, change: Change) -> Observed:
        """Set-Place with exactly the properties that differ."""
        after = dict(change.after or {})
        room = str(after["room"])
        parameters = parameters_of(after, change.changed)
        if parameters:
            ctx.clients.exchange.run("Set-Place", {"Identity": room, **parameters}, what=room)
        return Observed(change.address, room, after)

    def create(self, ctx: Context, change: Change) -> Observed:
        """A room Get-Place did not list: Set-Place says why (or sets it, if it has become a place meanwhile)."""
        after = dict(change.after or {})
        room = str(after["room"])
        names = [n for n in after if n in PARAMETERS and after[n] is not None]
        ctx.clients.exchange.run("Set-Place", {"Identity": room, **parameters_of(after, names)}, what=room)
        return Observed(change.address, room, after)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return ps.boolean(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return ",".join(ps.quote(v) for v in value) if value else "$null"
    return "$null" if value is None else ps.quote(value)


def set_place(room: str, parameters: Mapping[str, Any]) -> str:
    values = " ".join(f"-{name} {_literal(value)}" for name, value in parameters.items())
    return f"Set-Place -Identity {ps.quote(room)} {values}".rstrip()


class RoomKind(ResourceKind):
    kind = "room"
    deletable = False  # a room keeps its metadata when the spec stops managing it
    online = Online(RoomAttrs)
    server = Unsupported(RoomAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def resolve(self, loaded: LoadedSpec, lookups: Lookups) -> dict[str, Any]:
        spec = loaded.spec
        if not spec.rooms:
            return {}
        if spec.target is Target.EXCHANGE_SERVER:
            raise SpecError(
                "rooms (place metadata) exist only in Exchange Online: Set-Place and Graph's places have no "
                "Exchange Server form",
                "remove rooms from this Exchange Server spec",
                loaded.locate("rooms"),
            )
        names = [entry.room for entry in spec.rooms]
        found = lookups.recipients(names)
        addresses: dict[str, str] = {}
        for i, name in enumerate(names):
            row, location = found.get(name), loaded.locate("rooms", i, "room")
            if row is None:
                raise SpecError(
                    f"room '{name}' does not exist in the tenant", "check the room's name or address", location
                )
            if row.get("RecipientTypeDetails") not in ROOM_TYPES - {"EquipmentMailbox"}:
                raise SpecError(
                    f"'{name}' is a {row.get('RecipientTypeDetails')}, not a room: place metadata belongs to rooms",
                    "name a room mailbox (New-Mailbox -Room)",
                    location,
                )
            addresses[name] = smtp(row)
        return {"addresses": addresses}

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        addresses: Mapping[str, str] = resolved.get("addresses", {})
        found: dict[str, Desired] = {}
        for i, entry in enumerate(loaded.spec.rooms):
            room = addresses.get(entry.room, entry.room.lower())
            location = loaded.locate("rooms", i)
            if room in found:
                raise SpecError(f"room {room} is listed twice in rooms", "keep one entry per room", location)
            if not entry.named():
                raise SpecError("this rooms entry names no property", "name e.g. capacity or building", location)
            found[room] = Desired(self.kind, room, {"room": room, **entry.named()}, location=location)
        return list(found.values())

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        room, tags = attributes.get("room"), attributes.get("tags")
        return {
            **attributes,
            "room": room.lower() if isinstance(room, str) else room,
            "tags": sorted(tags) if isinstance(tags, list) else tags,
        }

    def permissions(self, spec: Spec) -> list[Permission]:
        if not spec.rooms or spec.target is Target.EXCHANGE_SERVER:
            return []
        return [
            Permission(
                EXCHANGE_ONLINE_ROLE,
                VIEW_ONLY_CONFIGURATION,
                READ,
                ("Get-Place -Type Room",),
                ROLES_DOC,
                self.kind,
                commands=(*READ_COMMANDS, "export"),
            ),
            read_permission(self.kind, ("Get-Recipient", "Get-Mailbox (each room's name to its address)")),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                PLACES_ROLE,
                APPLY,
                ("Set-Place",),
                ROLES_DOC,
                self.kind,
                note="the role group Places Administrator holds it",
            ),
        ]

    def identity(self, name: str) -> dict[str, Any]:
        return {"room": name}

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        return [("room finders searching room", name)]

    def export(self, ctx: Context) -> Fragment | None:
        """Every room with metadata, for a spec that manages rooms (one Get-Place listing)."""
        if ctx.target is Target.EXCHANGE_SERVER or not ctx.spec.spec.rooms:
            return None
        entries = CommentedSeq()
        for room, attributes in sorted(places(ctx).items()):
            named = {n: v for n, v in attributes.items() if n in PARAMETERS and v not in (None, [])}
            if named and named != {"is_wheel_chair_accessible": False}:
                entry = CommentedMap(room=room)
                entry.update({n: v for n, v in named.items() if n != "is_wheel_chair_accessible" or v})
                entries.append(entry)
        return Fragment("rooms", entries, comment="Rooms' place metadata (what room finders search on)")

    def powershell(self, change: dict[str, Any]) -> list[str]:
        """Set-Place with the properties that differ (Graph's PATCH /places needs a delegated sign-in)."""
        after = ps.after(change)
        room = after.get("room") or ps.name_of(change)
        if change["action"] not in ("create", "update"):
            return [ps.comment(f"{change['address']}: nothing to run ({change['action']})")]
        names = change.get("changed") or [n for n in after if n in PARAMETERS and after[n] is not None]
        return [set_place(str(room), parameters_of(after, names))]
