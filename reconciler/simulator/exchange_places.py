"""Get-/Set-Place: room metadata (Exchange Online only; the pages' "Applicable: Exchange Online").

The metadata is the tenant's ``"places"`` section that Graph's places API shows (:mod:`graph_places`), kept under
Graph's property names, so a Set-Place is seen by ``GET /places`` and a ``PATCH /places`` by Get-Place.
Set-Place parameter -> Graph room property: Capacity capacity, Building building, Floor floorNumber, FloorLabel
floorLabel, Label label, Tags tags, IsWheelChairAccessible isWheelChairAccessible, Phone phone, AudioDeviceName /
VideoDeviceName / DisplayDeviceName the same names, Street / City / State / PostalCode / CountryOrRegion the room's
physicalAddress. Get-Place's properties are not listed on its page; they are those Microsoft365DSC's EXOPlace reads
(Modules/Microsoft365DSC/DSCResources/MSFT_EXOPlace/MSFT_EXOPlace.psm1, Get-TargetResource and its export's
``PlaceType`` filter).
https://learn.microsoft.com/powershell/module/exchangepowershell/set-place
https://learn.microsoft.com/powershell/module/exchangepowershell/get-place
"""

from __future__ import annotations

from typing import Any

from reconciler.simulator import exchange_model as xm
from reconciler.simulator.exchange_cmdlets import Ctx, Params, choice, resolve, result_size, stamp
from reconciler.simulator.exchange_errors import PARAMETER_BINDING_TYPE, CmdletError

JsonObject = dict[str, Any]
PLACE_TYPES = {"RoomMailbox": "Room", "RoomList": "RoomList"}
GET_PLACE_TYPES = ("Room", "RoomList", "Space")  # -Type's valid values
TEXT = {
    "Building": "building",
    "FloorLabel": "floorLabel",
    "Label": "label",
    "Phone": "phone",
    "AudioDeviceName": "audioDeviceName",
    "VideoDeviceName": "videoDeviceName",
    "DisplayDeviceName": "displayDeviceName",
}
INTEGERS = {"Capacity": "capacity", "Floor": "floorNumber"}
ADDRESS = {
    "Street": "street",
    "City": "city",
    "State": "state",
    "PostalCode": "postalCode",
    "CountryOrRegion": "countryOrRegion",
}
EMULATED = ("Identity", *TEXT, *INTEGERS, *ADDRESS, "IsWheelChairAccessible", "Tags")


def _stored(ctx: Ctx, recipient: JsonObject) -> JsonObject:
    places: JsonObject = ctx.data.get("places") or {}
    found: JsonObject = places.get(str(recipient["Guid"]).lower()) or {}
    return found


def place_view(ctx: Ctx, recipient: JsonObject) -> JsonObject:
    """One Get-Place object (unset properties null, Tags [], the Booleans false)."""
    stored = _stored(ctx, recipient)
    address: JsonObject = stored.get("address") or {}
    view: JsonObject = {
        "Identity": recipient.get("Name"),
        "DisplayName": recipient.get("DisplayName"),
        "PlaceType": PLACE_TYPES.get(str(recipient.get("RecipientTypeDetails"))),
    }
    view.update({name: address.get(key) for name, key in ADDRESS.items()})
    view.update({name: stored.get(key) for name, key in (*TEXT.items(), *INTEGERS.items())})
    view["Tags"] = list(stored.get("tags") or [])
    view["IsWheelChairAccessible"] = bool(stored.get("isWheelChairAccessible"))
    view.update({"MTREnabled": False, "GeoCoordinates": None, "ParentId": None, "ParentType": None, "Desks": []})
    view.update({"IsValid": True, "ObjectState": "Unchanged"})
    return view


def get_place(ctx: Ctx, params: Params) -> list[JsonObject]:
    """-Identity (one room or room list), or every place of -Type (default: all of them)."""
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-place
    identity = params.text("Identity")
    if identity:
        return [place_view(ctx, resolve(ctx, identity, frozenset(PLACE_TYPES)))]
    wanted = choice(params, "Type", GET_PLACE_TYPES)
    rows = [
        place_view(ctx, r)
        for r in xm.recipients(ctx.data)
        if r.get("RecipientTypeDetails") in PLACE_TYPES
        and (wanted is None or PLACE_TYPES[str(r["RecipientTypeDetails"])] == wanted)
    ]
    return result_size(ctx, params, rows)


def _integer(params: Params, name: str) -> int | None:
    raw = params.values[name.lower()]
    if raw is None:
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError(raw)
        return int(str(raw).strip())
    except ValueError:
        raise CmdletError(
            PARAMETER_BINDING_TYPE,
            f"Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{raw}\" to type "
            '"System.Int32". Error: "Input string was not in a correct format."',
            binding=True,
        ) from None


def set_place(ctx: Ctx, params: Params) -> list[JsonObject]:
    """The named properties only; $null clears one (the page: "use the value $null" for no device)."""
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-place
    room = resolve(ctx, params.required("Identity"), frozenset(PLACE_TYPES))
    changes: JsonObject = {}
    for name, key in TEXT.items():
        if params.has(name):
            changes[key] = params.text(name)
    for name, key in INTEGERS.items():
        if params.has(name):
            changes[key] = _integer(params, name)
    if params.has("IsWheelChairAccessible"):
        changes["isWheelChairAccessible"] = params.flag("IsWheelChairAccessible")
    if params.has("Tags"):
        changes["tags"] = params.items("Tags") or []
    places: JsonObject = ctx.data.setdefault("places", {})
    guid = str(room["Guid"]).lower()
    merged = dict(places.get(guid) or {})
    merged.update(changes)
    if any(params.has(name) for name in ADDRESS):
        address = dict(merged.get("address") or dict.fromkeys(ADDRESS.values()))
        address.update({key: params.text(name) for name, key in ADDRESS.items() if params.has(name)})
        merged["address"] = address
    places[guid] = merged
    stamp(room)
    return []
