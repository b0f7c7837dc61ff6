"""`room_list`: a distribution group with the RoomList flag and its rooms, so room finders see them.

Exchange Online: Get-DistributionGroup / Get-DistributionGroupMember to read; New-DistributionGroup
-RoomList, Set-DistributionGroup -RoomList, Add-/Remove-DistributionGroupMember to write.
Exchange Server: read over EWS (GetRoomLists, GetRooms); changes are Exchange Management Shell
commands in the plan, confirmed by the next plan.
Only rooms may be members: a listed name that is not a room mailbox is refused.
`exclusive: true` also removes members the spec does not list.
https://learn.microsoft.com/en-us/exchange/recipients/room-mailboxes#create-a-room-list
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.errors import SpecError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    DISTRIBUTION_GROUPS,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    SHELL_ADMIN,
    Attributes,
    Backend,
    Comparison,
    Context,
    Desired,
    Fragment,
    Observed,
    Permission,
    Query,
    ResourceKind,
    record_name,
)
from reconciler.resources.lookups import RECIPIENTS_DOC, ROOM_TYPES, read_permission, smtp
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target

if TYPE_CHECKING:
    from reconciler.engine.plan import Change
    from reconciler.resources.lookups import Lookups

SERVER_DOC = "https://learn.microsoft.com/en-us/exchange/recipients/room-mailboxes#create-a-room-list"


class RoomListAttrs(Attributes):
    """A room list: its name, the RoomList flag, and its rooms' addresses."""

    name: str
    room_list: bool
    rooms: list[str]


def resolve_rooms(loaded: LoadedSpec, lookups: Lookups) -> dict[str, str]:
    """Every room the spec's room lists name -> its primary SMTP address (Exchange Online); a name that is not a
    room mailbox is a SpecError at its field. Many rooms are resolved from one listing of every mailbox."""
    spec = loaded.spec
    if spec.target is Target.EXCHANGE_SERVER:
        return _server_rooms(loaded, lookups)
    names = [room for room_list in spec.room_lists for room in room_list.rooms]
    found = lookups.recipients(names)
    result: dict[str, str] = {}
    for i, room_list in enumerate(spec.room_lists):
        for j, room in enumerate(room_list.rooms):
            row = found.get(room)
            location = loaded.locate("room_lists", i, "rooms", j)
            if row is None:
                raise SpecError(
                    f"room '{room}' does not exist in the tenant", "check the room's name or address", location
                )
            if row.get("RecipientTypeDetails") not in ROOM_TYPES:
                raise SpecError(
                    f"'{room}' is a {row.get('RecipientTypeDetails')}, not a room: a room list holds only rooms",
                    "remove it from rooms, or list a room mailbox (New-Mailbox -Room)",
                    location,
                )
            result[room] = smtp(row)
    return result


def _server_rooms(loaded: LoadedSpec, lookups: Lookups) -> dict[str, str]:
    """Exchange Server: each room name to its address through EWS ResolveNames (the guide names rooms by display
    name, "Board room"); a name that resolves to nothing, or to several rooms, is a SpecError at its field."""
    result: dict[str, str] = {}
    for i, room_list in enumerate(loaded.spec.room_lists):
        for j, room in enumerate(room_list.rooms):
            if "@" in room:
                result[room] = room.lower()
                continue
            address = lookups.ews_address(room)
            if address is None:
                found = ", ".join(a for _, a in lookups.ews_resolve(room)) or "nothing"
                raise SpecError(
                    f"room '{room}' does not resolve to one mailbox on Exchange Server (EWS ResolveNames: {found})",
                    "name the room by its address (boardroom@contoso.com) or its exact display name",
                    loaded.locate("room_lists", i, "rooms", j),
                )
            result[room] = address
    return result


class Online(Backend[RoomListAttrs]):
    """The Exchange admin API: distribution groups with the RoomList flag and all their members."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        names = {d.address: d.name for d in query.desired}
        names.update({r.address: record_name(r) for r in query.records})
        found = []
        for address, name in names.items():
            group = ctx.lookups.group(name)
            if group is None:
                continue
            rooms = sorted(smtp(m) for m in ctx.lookups.members(name))
            attributes = {"name": name, "room_list": group.get("RecipientTypeDetails") == "RoomList", "rooms": rooms}
            found.append(Observed(address, str(group.get("Guid") or name), attributes))
        return found

    def create(self, ctx: Context, change: Change) -> Observed:
        attrs = self.parse(change.after)
        rows = ctx.clients.exchange.run(
            "New-DistributionGroup", {"Name": attrs.name, "RoomList": True, "Members": attrs.rooms}, what=attrs.name
        )
        return Observed(change.address, str(rows[0].get("Guid")) if rows else attrs.name, attrs.to_json())

    def update(self, ctx: Context, change: Change) -> Observed:
        """The RoomList flag if it changed, then exactly the members `after` adds to or drops from `before`."""
        was, will = self.parse(change.before), self.parse(change.after)
        name = will.name
        if "room_list" in change.changed:
            ctx.clients.exchange.run("Set-DistributionGroup", {"Identity": name, "RoomList": True}, what=name)
        for room in sorted(set(will.rooms) - set(was.rooms)):
            ctx.clients.exchange.run(
                "Add-DistributionGroupMember", {"Identity": name, "Member": room}, what=f"{name} + {room}"
            )
        for room in sorted(set(was.rooms) - set(will.rooms)):
            ctx.clients.exchange.run(
                "Remove-DistributionGroupMember",
                {"Identity": name, "Member": room, "Confirm": False},
                what=f"{name} - {room}",
            )
        ctx.lookups.forget_members(name)
        return Observed(change.address, change.id, will.to_json())

    def delete(self, ctx: Context, change: Change) -> None:
        name = change.address.split(".", 1)[1]
        ctx.clients.exchange.run("Remove-DistributionGroup", {"Identity": name, "Confirm": False}, what=name)


class Server(Backend[RoomListAttrs]):
    """Exchange Server: read over EWS (GetRoomLists, GetRooms); changes are Exchange Management Shell commands."""

    automated = False

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        names = {d.address: d.name for d in query.desired}
        names.update({r.address: record_name(r) for r in query.records})
        lists = ctx.lookups.ews_room_lists()
        found = []
        for address, name in names.items():
            list_address = lists.get(name.lower())
            if list_address is not None:
                rooms = sorted(r.lower() for r in ctx.lookups.ews_rooms(list_address))
                found.append(Observed(address, list_address, {"name": name, "room_list": True, "rooms": rooms}))
        return found

    def manual(self, change: Change) -> list[str]:
        attrs = self.parse(change.after)
        had = set(self.parse(change.before).rooms) if change.before else set()
        name = ps.quote(attrs.name)
        # idempotent: a second run (or a half-done block run again) adds nothing twice
        commands = (
            [
                f"if (-not (Get-DistributionGroup -Identity {name} -ErrorAction SilentlyContinue)) "
                f"{{ New-DistributionGroup -Name {name} -RoomList }}"
            ]
            if change.action.value == "create"
            else [f"Set-DistributionGroup -Identity {name} -RoomList"]
        )
        commands += [
            f"if ((Get-DistributionGroupMember -Identity {name}).PrimarySmtpAddress -notcontains {ps.quote(room)}) "
            f"{{ Add-DistributionGroupMember -Identity {name} -Member {ps.quote(room)} }}"
            for room in attrs.rooms
            if room not in had
        ]
        return commands


def _online_lists(ctx: Context) -> dict[str, tuple[list[str], list[str]]]:
    """Get-DistributionGroup -RecipientTypeDetails RoomList: name -> (rooms, other members)."""
    rows = ctx.clients.exchange.run(
        "Get-DistributionGroup", {"RecipientTypeDetails": "RoomList", "ResultSize": "Unlimited"}, what="room lists"
    )
    found = {}
    for row in rows:
        name = str(row.get("Name"))
        members = ctx.lookups.members(name)
        rooms = [smtp(m) for m in members if m.get("RecipientTypeDetails") in ROOM_TYPES]
        found[name] = (rooms, [smtp(m) for m in members if m.get("RecipientTypeDetails") not in ROOM_TYPES])
    return found


def _server_lists(ctx: Context) -> dict[str, tuple[list[str], list[str]]]:
    """EWS GetRoomLists and GetRooms: name -> (rooms, [])."""
    lists = ctx.clients.ews.room_lists()
    return {name: ([r.lower() for r in ctx.lookups.ews_rooms(address)], []) for name, address in sorted(lists.items())}


class RoomListKind(ResourceKind):
    kind = "room_list"
    online = Online(RoomListAttrs)
    server = Server(RoomListAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def resolve(self, loaded: LoadedSpec, lookups: Lookups) -> dict[str, Any]:
        return {"rooms": resolve_rooms(loaded, lookups)} if loaded.spec.room_lists else {}

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        rooms: Mapping[str, str] = resolved.get("rooms", {})
        return [
            Desired(
                kind=self.kind,
                name=room_list.name,
                attributes=RoomListAttrs(
                    name=room_list.name,
                    room_list=True,
                    rooms=sorted({rooms.get(r, r.lower()) for r in room_list.rooms}),
                ).to_json(),
                write_only={"exclusive": room_list.exclusive},
                location=loaded.locate("room_lists", i),
            )
            for i, room_list in enumerate(loaded.spec.room_lists)
        ]

    def compare(self, desired: Desired, observed: Observed) -> Comparison:
        """Rooms the spec lists must be members; with `exclusive: true` they must be the only ones."""
        exclusive = bool(desired.write_only.get("exclusive"))
        want, have = self.normalize(desired.attributes), self.normalize(observed.attributes)
        rooms = set(want["rooms"]) if exclusive else set(want["rooms"]) | set(have["rooms"])
        changed = [n for n in ("name", "room_list") if want.get(n) != have.get(n)]
        changed += ["rooms"] if rooms != set(have["rooms"]) else []
        after = {**observed.attributes, **desired.attributes, "rooms": sorted(rooms)}
        return Comparison(sorted(changed), after)

    def permissions(self, spec: Spec) -> list[Permission]:
        if not spec.room_lists:
            return []
        writes = ("New-DistributionGroup -RoomList", "Set-DistributionGroup -RoomList", "Add-DistributionGroupMember")
        if spec.target is Target.EXCHANGE_SERVER:  # read over EWS (GetRoomLists, GetRooms: no admin role); made by hand
            return [
                Permission(EXCHANGE_SERVER_ROLE, DISTRIBUTION_GROUPS, APPLY, writes, SERVER_DOC, self.kind, SHELL_ADMIN)
            ]
        return [
            read_permission(
                self.kind, ("Get-Recipient (each room)", "Get-DistributionGroup", "Get-DistributionGroupMember")
            ),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                DISTRIBUTION_GROUPS,
                APPLY,
                (*writes, "Remove-DistributionGroupMember (exclusive)", "Remove-DistributionGroup"),
                RECIPIENTS_DOC,
                self.kind,
            ),
        ]

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        rooms = attributes.get("rooms") or []
        name = attributes.get("name")
        return {
            **attributes,
            "rooms": sorted(str(r).lower() for r in rooms),
            "name": name.lower() if isinstance(name, str) else name,
        }

    def identity(self, name: str) -> dict[str, Any]:
        return {"name": name}

    def export(self, ctx: Context) -> Fragment | None:
        """Every room list of the tenant with its rooms (members that are not rooms are named in a note)."""
        lists, notes = (_server_lists(ctx) if ctx.target is Target.EXCHANGE_SERVER else _online_lists(ctx)), []
        if not lists:
            return None
        entries = CommentedSeq()
        for name in sorted(lists, key=str.lower):
            rooms, others = lists[name]
            entries.append(CommentedMap(name=name, rooms=CommentedSeq(sorted(set(rooms)))))
            if others:
                shown = ", ".join(others[:20]) + (f" and {len(others) - 20} more" if len(others) > 20 else "")
                notes.append(
                    f"not exported: member(s) {shown} of room list '{name}': a spec's room list holds only rooms "
                    "(reconciler leaves the others as they are)"
                )
        return Fragment("room_lists", entries, notes=tuple(notes))

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        return [("room finders using room list", name)]

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """New-DistributionGroup -RoomList, Set-DistributionGroup -RoomList, Add-/Remove-DistributionGroupMember."""
        # https://learn.microsoft.com/powershell/module/exchangepowershell/new-distributiongroup
        # https://learn.microsoft.com/powershell/module/exchangepowershell/add-distributiongroupmember
        if not change.get("automated", True):
            return super().powershell(change)
        return ps.by_action(change, create=self._ps_new, update=self._ps_set, delete=self._ps_remove)

    def _ps_new(self, change: dict[str, Any]) -> list[str]:
        attrs = ps.after(change)
        name = attrs.get("name") or ps.name_of(change)
        return [f"New-DistributionGroup -Name {ps.quote(name)} -RoomList", *self._ps_members("Add", name, attrs)]

    def _ps_set(self, change: dict[str, Any]) -> list[str]:
        was, will = ps.before(change), ps.after(change)
        name = will.get("name") or ps.name_of(change)
        flag = "room_list" in (change.get("changed") or [])
        lines = [f"Set-DistributionGroup -Identity {ps.quote(name)} -RoomList"] if flag else []
        old, new = list(was.get("rooms") or []), list(will.get("rooms") or [])
        lines += self._ps_members("Add", name, {"rooms": [r for r in new if r not in old]})
        lines += self._ps_members("Remove", name, {"rooms": [r for r in old if r not in new]})
        return lines or [ps.comment(f"{change['address']}: no member to add or remove")]

    def _ps_members(self, verb: str, name: str, attrs: dict[str, Any]) -> list[str]:
        confirm = " -Confirm:$false" if verb == "Remove" else ""
        return [
            f"{verb}-DistributionGroupMember -Identity {ps.quote(name)} -Member {ps.quote(room)}{confirm}"
            for room in attrs.get("rooms") or []
        ]

    def _ps_remove(self, change: dict[str, Any]) -> list[str]:
        return [f"Remove-DistributionGroup -Identity {ps.quote(ps.name_of(change))} -Confirm:$false"]
