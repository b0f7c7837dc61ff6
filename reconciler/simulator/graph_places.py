"""Graph v1.0 places: rooms and room lists (list, get, update).

A room is an Exchange room mailbox and a room list a RoomList distribution group (:mod:`exchange_model`),
so the places API shows the same recipients the admin API and EWS do. What Exchange keeps as place metadata
(``Set-Place``; Graph ``PATCH /places``) lives in the tenant's ``"places"`` section, keyed by the recipient's
Guid, under Graph's property names; a property never set reads as Graph shows it unset.

Shapes are the v1.0 ``room``/``roomList`` types (both derived from ``place``) of Microsoft's CSDL
(https://learn.microsoft.com/en-us/graph/api/resources/room, .../resources/roomlist,
.../resources/place); a room with nothing set reads as in place-list's third example (null, ``phone`` "",
``tags`` [], ``bookingType`` standard, ``isWheelChairAccessible`` false, ``nickname`` the display name).
"""

from __future__ import annotations

from typing import Any

from reconciler.simulator import exchange_model as xm
from reconciler.simulator import odata
from reconciler.simulator.graph_common import GraphError, GraphRequest, GraphResult, json_object_body

JsonObject = dict[str, Any]
Params = dict[str, str]

ROOM = "room"
ROOM_LIST = "roomList"
KINDS = {"RoomMailbox": ROOM, "RoomList": ROOM_LIST}
# v1.0 CSDL: place (address, displayName, geoCoordinates, isWheelChairAccessible, label, parentId, phone,
# placeId, tags) + entity (id), and room's / roomList's own properties.
PLACE_PROPERTIES = (
    "id",
    "displayName",
    "address",
    "geoCoordinates",
    "phone",
    "isWheelChairAccessible",
    "label",
    "tags",
    "placeId",
    "parentId",
)
PROPERTIES: dict[str, tuple[str, ...]] = {
    ROOM: (
        *PLACE_PROPERTIES,
        "emailAddress",
        "nickname",
        "building",
        "floorNumber",
        "floorLabel",
        "capacity",
        "bookingType",
        "audioDeviceName",
        "videoDeviceName",
        "displayDeviceName",
        "teamsEnabledState",
    ),
    ROOM_LIST: (*PLACE_PROPERTIES, "emailAddress"),
}
COLLECTIONS = frozenset({"tags"})
# Values of a place nobody has described (place-list, example 3; teamsEnabledState is not nullable: unknown).
UNSET: dict[str, JsonObject] = {
    ROOM: {
        "phone": "",
        "tags": [],
        "bookingType": "standard",
        "isWheelChairAccessible": False,
        "teamsEnabledState": "unknown",
    },
    ROOM_LIST: {"phone": "", "tags": []},
}
# https://learn.microsoft.com/en-us/graph/api/place-update (request body; displayName: its roomList example)
UPDATABLE: dict[str, frozenset[str]] = {
    ROOM: frozenset(
        {
            "address",
            "audioDeviceName",
            "bookingType",
            "building",
            "capacity",
            "displayDeviceName",
            "floorLabel",
            "floorNumber",
            "geoCoordinates",
            "isWheelChairAccessible",
            "label",
            "nickname",
            "phone",
            "tags",
            "videoDeviceName",
        }
    ),
    ROOM_LIST: frozenset({"address", "displayName", "geoCoordinates", "phone"}),
}
STRINGS = frozenset(
    {
        "audioDeviceName",
        "building",
        "displayDeviceName",
        "displayName",
        "floorLabel",
        "label",
        "nickname",
        "phone",
        "videoDeviceName",
    }
)
INTEGERS = frozenset({"capacity", "floorNumber"})
ADDRESS_FIELDS = ("city", "countryOrRegion", "postalCode", "state", "street")  # physicalAddress
GEO_FIELDS = ("accuracy", "altitude", "altitudeAccuracy", "latitude", "longitude")  # outlookGeoCoordinates
BOOKING_TYPES = ("unknown", "standard", "reserved")  # bookingType
DEFAULT_PAGE = 100
LIST_OPTIONS = frozenset({"$select", "$filter", "$top", "$skip", "$count"})
PLACE_WRITE = "Place.ReadWrite.All"


# --- the view --------------------------------------------------------------------------------


def _metadata(req: GraphRequest, *, create: bool = False) -> JsonObject:
    if create:
        created: JsonObject = req.store.data.setdefault("places", {})
        return created
    places: JsonObject = req.store.data.get("places") or {}
    return places


def place_view(req: GraphRequest, recipient: JsonObject) -> JsonObject:
    """A room or room list with every property of its type (unset ones as Graph shows them)."""
    kind = KINDS[str(recipient.get("RecipientTypeDetails"))]
    stored: JsonObject = _metadata(req).get(str(recipient["Guid"]).lower()) or {}
    known: JsonObject = {
        "id": recipient["Guid"],
        "displayName": recipient.get("DisplayName"),
        "emailAddress": recipient.get("PrimarySmtpAddress"),
    }
    if kind == ROOM:
        known["nickname"] = recipient.get("DisplayName")
    view: JsonObject = {}
    for name in PROPERTIES[kind]:
        if name in stored:
            view[name] = stored[name]
        elif name in known:
            view[name] = known[name]
        else:
            view[name] = UNSET[kind].get(name)
    return view


def _select(req: GraphRequest, kind: str) -> list[str] | None:
    selected = odata.parse_select(req, PROPERTIES[kind], kind)
    if selected is not None and "id" not in selected:
        selected = ["id", *selected]  # Outlook-backed entities always carry their id
    return selected


def _projected(view: JsonObject, selected: list[str] | None) -> JsonObject:
    return view if selected is None else {name: view[name] for name in selected}


# --- lists (https://learn.microsoft.com/en-us/graph/api/place-list) ----------------------------


def _page(req: GraphRequest, items: list[JsonObject]) -> list[JsonObject]:
    """$skip/$top (default 100): the places API pages with $skip, not with @odata.nextLink."""
    top, skip = req.query.get("$top"), req.query.get("$skip", "0")
    for name, raw in (("$top", top), ("$skip", skip)):
        if raw is not None and not raw.strip().isdigit():
            raise GraphError(400, "ErrorInvalidUrlQuery", f"The value of the parameter '{name}' is invalid.")
    size = int(top) if top is not None else DEFAULT_PAGE
    return items[int(skip) : int(skip) + size]


def _list(req: GraphRequest, recipients: list[JsonObject], kind: str, collection: str) -> GraphResult:
    odata.check_options(req, LIST_OPTIONS)
    selected = _select(req, kind)
    keep = odata.parse_filter(req, PROPERTIES[kind], kind)
    views = [v for v in (place_view(req, r) for r in recipients) if keep(v)]
    body: JsonObject = {"@odata.context": req.context(_context_fragment(collection, req))}
    if req.query.get("$count", "").lower() == "true":
        body["@odata.count"] = len(views)
    body["value"] = [_projected(v, selected) for v in _page(req, views)]
    return GraphResult(200, body)


def _context_fragment(collection: str, req: GraphRequest) -> str:
    raw = req.query.get("$select")
    if raw is None:
        return collection
    names = [part.strip() for part in raw.split(",") if part.strip()]
    return f"{collection}({','.join(names)})"


def _of_type(req: GraphRequest, kind: str) -> list[JsonObject]:
    return [r for r in xm.recipients(req.store.data) if KINDS.get(str(r.get("RecipientTypeDetails"))) == kind]


def list_rooms(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/place-list (GET /places/microsoft.graph.room)"""
    return _list(req, _of_type(req, ROOM), ROOM, "places/microsoft.graph.room")


def list_room_lists(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/place-list (GET /places/microsoft.graph.roomlist)"""
    return _list(req, _of_type(req, ROOM_LIST), ROOM_LIST, "places/microsoft.graph.roomList")


def list_rooms_in_list(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/place-list (GET /places/{list}/microsoft.graph.roomlist/rooms)"""
    found = xm.find_exchange_recipient(req.store.data, params["key"])
    if found is None or found.get("RecipientTypeDetails") != "RoomList":
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    rooms = [m for m in xm.group_members(req.store.data, found) if m.get("RecipientTypeDetails") == "RoomMailbox"]
    collection = f"places('{odata.key_segment(params['key'])}')/microsoft.graph.roomList/rooms"
    return _list(req, rooms, ROOM, collection)


# --- one place -------------------------------------------------------------------------------


def _find(req: GraphRequest, key: str) -> tuple[JsonObject, str]:
    """A room or room list by id or email address (https://learn.microsoft.com/en-us/graph/api/place-get)."""
    lowered = key.strip().lower()
    for recipient in xm.recipients(req.store.data):
        kind = KINDS.get(str(recipient.get("RecipientTypeDetails")))
        if kind and lowered in (
            str(recipient.get("Guid", "")).lower(),
            str(recipient.get("PrimarySmtpAddress", "")).lower(),
        ):
            return recipient, kind
    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _entity(req: GraphRequest, recipient: JsonObject, kind: str, selected: list[str] | None) -> JsonObject:
    fragment = _context_fragment("places", req) if selected is not None else "places"
    body: JsonObject = {"@odata.context": req.context(f"{fragment}/$entity"), "@odata.type": f"#microsoft.graph.{kind}"}
    body.update(_projected(place_view(req, recipient), selected))
    return body


def get_place(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/place-get (GET /places/{id | emailAddress})"""
    odata.check_options(req, frozenset({"$select"}))
    recipient, kind = _find(req, params["key"])
    return GraphResult(200, _entity(req, recipient, kind, _select(req, kind)))


# --- update (https://learn.microsoft.com/en-us/graph/api/place-update) ------------------------


def _authorize_update(req: GraphRequest) -> None:
    """Place.ReadWrite.All, delegated only: the page's permission table says application is not supported
    (an app-only call is refused so, microsoftgraph/microsoft-graph-docs-contrib issue 3927)."""
    caller = req.caller
    if not caller.delegated or PLACE_WRITE not in caller.scopes:
        incoming = ",".join(caller.scopes or caller.roles) or "none"
        raise GraphError(
            403,
            "ErrorAccessDenied",
            "Required permissions are not present in request security token. "
            f"Required permissions: {PLACE_WRITE} - Incoming permissions: {incoming}",
        )


def _read_error(message: str) -> GraphError:
    return GraphError(400, "RequestBodyRead", message)


def _convert(kind: str, name: str, value: Any) -> Any:
    """The stored form of an updated property, or RequestBodyRead when it has the wrong type."""
    if value is None:
        if name == "tags":
            raise _read_error(
                "A null value was found for the property named 'tags', which has the expected type "
                "'Collection(Edm.String)[Nullable=False]'."
            )
        return None
    if name in STRINGS and isinstance(value, str):
        return value
    if name in INTEGERS and isinstance(value, int) and not isinstance(value, bool):
        return value
    if name == "isWheelChairAccessible" and isinstance(value, bool):
        return value
    if name == "tags" and isinstance(value, list) and all(isinstance(t, str) for t in value):
        return list(value)
    if name == "bookingType" and isinstance(value, str) and value.lower() in BOOKING_TYPES:
        return value.lower()  # the page's request table writes Standard and Reserved
    if name == "address" and isinstance(value, dict):
        return _complex(value, ADDRESS_FIELDS, "physicalAddress", str)
    if name == "geoCoordinates" and isinstance(value, dict):
        return _complex(value, GEO_FIELDS, "outlookGeoCoordinates", int | float)
    raise _read_error(
        f"Cannot convert the literal '{value}' to the expected type of the property '{name}' "
        f"on type 'microsoft.graph.{kind}'."
    )


def _complex(value: JsonObject, fields: tuple[str, ...], type_name: str, kind: Any) -> JsonObject:
    for field, item in value.items():
        if field.startswith("@odata."):
            continue
        if field not in fields:
            raise _read_error(
                f"The property '{field}' does not exist on type 'microsoft.graph.{type_name}'. Make sure to only use "
                "property names that are defined by the type or mark the type as open type."
            )
        if item is not None and (not isinstance(item, kind) or isinstance(item, bool)):
            raise _read_error(f"Cannot convert the literal '{item}' to the expected type of '{type_name}.{field}'.")
    return {field: value.get(field) for field in fields}


def update_place(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/place-update (PATCH /places/{id | emailAddress})"""
    _authorize_update(req)
    recipient, kind = _find(req, params["key"])
    body = json_object_body(req)
    declared = str(body.get("@odata.type", "")).lstrip("#").lower()
    if declared != f"microsoft.graph.{kind.lower()}":
        # the request must name the place's type in @odata.type (the message reported in docs-contrib issue 2289)
        raise GraphError(400, "ErrorInvalidRequest", "Update request has to be for a tenant Room or RoomList.")
    changes: JsonObject = {}
    for name, value in body.items():
        if name.startswith("@odata."):
            continue
        if name not in PROPERTIES[kind]:
            raise _read_error(
                f"The property '{name}' does not exist on type 'microsoft.graph.{kind}'. Make sure to only use "
                "property names that are defined by the type or mark the type as open type."
            )
        if name not in UPDATABLE[kind]:
            raise GraphError(400, "ErrorInvalidRequest", f"The property '{name}' of a {kind} can't be updated.")
        changes[name] = _convert(kind, name, value)
    if "displayName" in changes:
        recipient["DisplayName"] = changes.pop("displayName")
    if changes:
        metadata = _metadata(req, create=True)
        guid = str(recipient["Guid"]).lower()
        merged = dict(metadata.get(guid) or {})
        merged.update(changes)
        metadata[guid] = merged
    return GraphResult(200, _entity(req, recipient, kind, None))
