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

from typing import Any

from reconciler.errors import SpecError
from reconciler.render import powershell as ps
from reconciler.resources import exchange_lookup as lookup
from reconciler.resources.base import (
    APPLY,
    DISTRIBUTION_GROUPS,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    SHELL_ADMIN,
    Context,
    Desired,
    Observed,
    Permission,
    ResourceKind,
    record_name,
)
from reconciler.spec.models import Spec, Target
from reconciler.state.model import ResourceRecord

SERVER_DOC = "https://learn.microsoft.com/en-us/exchange/recipients/room-mailboxes#create-a-room-list"


class RoomListKind(ResourceKind):
    kind = "room_list"
    manual_on_exchange_server = True

    def desired(self, ctx: Context) -> list[Desired]:
        result = []
        index = self._index(ctx)
        for i, room_list in enumerate(ctx.spec.spec.room_lists):
            rooms = [
                self._room(ctx, room, ("room_lists", i, "rooms", j), index) for j, room in enumerate(room_list.rooms)
            ]
            result.append(
                Desired(
                    kind=self.kind,
                    name=room_list.name,
                    attributes={"name": room_list.name, "room_list": True, "rooms": sorted(rooms)},
                    write_only={"exclusive": room_list.exclusive},
                    location=ctx.spec.locate("room_lists", i),
                )
            )
        return result

    def permissions(self, spec: Spec) -> list[Permission]:
        if not spec.room_lists:
            return []
        writes = ("New-DistributionGroup -RoomList", "Set-DistributionGroup -RoomList", "Add-DistributionGroupMember")
        if spec.target is Target.EXCHANGE_SERVER:  # read over EWS (GetRoomLists, GetRooms: no admin role); made by hand
            return [
                Permission(EXCHANGE_SERVER_ROLE, DISTRIBUTION_GROUPS, APPLY, writes, SERVER_DOC, self.kind, SHELL_ADMIN)
            ]
        return [
            lookup.read_permission(
                self.kind, ("Get-Recipient (each room)", "Get-DistributionGroup", "Get-DistributionGroupMember")
            ),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                DISTRIBUTION_GROUPS,
                APPLY,
                (*writes, "Remove-DistributionGroupMember (exclusive)", "Remove-DistributionGroup"),
                lookup.RECIPIENTS_DOC,
                self.kind,
            ),
        ]

    @staticmethod
    def _index(ctx: Context) -> dict[str, dict[str, Any]] | None:
        """Many rooms are resolved from one listing of every mailbox (rooms are mailboxes), not one call each."""
        count = sum(len(room_list.rooms) for room_list in ctx.spec.spec.room_lists)
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER or count <= lookup.INDEX_ABOVE:
            return None
        return lookup.mailbox_index(ctx)

    def _room(
        self, ctx: Context, identity: str, field: tuple[str | int, ...], index: dict[str, dict[str, Any]] | None
    ) -> str:
        location = ctx.spec.locate(*field)
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            return identity.lower()
        found = index.get(identity.lower()) if index is not None else None
        found = found or lookup.recipient(ctx, identity)  # not a mailbox (e.g. a group): say what it is
        if found is None:
            raise SpecError(
                f"room '{identity}' does not exist in the tenant", "check the room's name or address", location
            )
        if found.get("RecipientTypeDetails") not in lookup.ROOM_TYPES:
            raise SpecError(
                f"'{identity}' is a {found.get('RecipientTypeDetails')}, not a room: a room list holds only rooms",
                "remove it from rooms, or list a room mailbox (New-Mailbox -Room)",
                location,
            )
        return lookup.smtp(found)

    # -- read ------------------------------------------------------------------------------
    def read(self, ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None:
        name = desired.name if desired else record_name(record) if record else ""
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            return self._read_ews(ctx, name, desired)
        group = ctx.clients.exchange.get("Get-DistributionGroup", {"Identity": name}, what=name)
        if group is None:
            return None
        rooms = [lookup.smtp(m) for m in lookup.members(ctx, name)]
        return Observed(
            str(group.get("Guid") or name),
            self._observed(name, group.get("RecipientTypeDetails") == "RoomList", rooms, desired),
        )

    def _read_ews(self, ctx: Context, name: str, desired: Desired | None) -> Observed | None:
        lists = {k.lower(): v for k, v in ctx.clients.ews.room_lists().items()}
        address = lists.get(name.lower())
        if address is None:
            return None
        return Observed(address, self._observed(name, True, ctx.clients.ews.rooms(address), desired))

    def _observed(self, name: str, flag: bool, rooms: list[str], desired: Desired | None) -> dict[str, Any]:
        exclusive = bool(desired and desired.write_only.get("exclusive"))
        wanted = set(desired.attributes["rooms"]) if desired else set()
        shown = rooms if exclusive or desired is None else [r for r in rooms if r in wanted]
        return {"name": name, "room_list": flag, "rooms": sorted(shown)}

    # -- write -----------------------------------------------------------------------------
    def create(self, ctx: Context, desired: Desired) -> Observed:
        attrs = desired.attributes
        rows = ctx.clients.exchange.run(
            "New-DistributionGroup",
            {"Name": attrs["name"], "RoomList": True, "Members": attrs["rooms"]},
            what=attrs["name"],
        )
        return Observed(str(rows[0].get("Guid")) if rows else attrs["name"], dict(attrs))

    def update(self, ctx: Context, desired: Desired, remote_id: str | None, changed: list[str]) -> Observed:
        name = desired.name
        current = [lookup.smtp(m) for m in lookup.members(ctx, name)]
        wanted = desired.attributes["rooms"]
        if "room_list" in changed:
            ctx.clients.exchange.run("Set-DistributionGroup", {"Identity": name, "RoomList": True}, what=name)
        for room in [r for r in wanted if r not in current]:
            ctx.clients.exchange.run(
                "Add-DistributionGroupMember", {"Identity": name, "Member": room}, what=f"{name} + {room}"
            )
        if desired.write_only.get("exclusive"):
            for room in [r for r in current if r not in wanted]:
                ctx.clients.exchange.run(
                    "Remove-DistributionGroupMember",
                    {"Identity": name, "Member": room, "Confirm": False},
                    what=f"{name} - {room}",
                )
        ctx.cache.pop(f"members:{name.lower()}", None)
        return Observed(remote_id, dict(desired.attributes))

    def delete(self, ctx: Context, record: ResourceRecord) -> None:
        name = record_name(record)
        ctx.clients.exchange.run("Remove-DistributionGroup", {"Identity": name, "Confirm": False}, what=name)

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        rooms = attributes.get("rooms") or []
        name = attributes.get("name")
        return {
            **attributes,
            "rooms": sorted(str(r).lower() for r in rooms),
            "name": name.lower() if isinstance(name, str) else name,
        }

    def manual(self, ctx: Context, desired: Desired, action: str) -> list[str]:
        if ctx.spec.spec.target is not Target.EXCHANGE_SERVER:
            return []
        name = desired.attributes["name"]
        commands = (
            [f"New-DistributionGroup -Name {ps.quote(name)} -RoomList"]
            if action == "create"
            else [f"Set-DistributionGroup -Identity {ps.quote(name)} -RoomList"]
        )
        commands += [
            f"Add-DistributionGroupMember -Identity {ps.quote(name)} -Member {ps.quote(room)}"
            for room in desired.attributes["rooms"]
        ]
        return commands

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
