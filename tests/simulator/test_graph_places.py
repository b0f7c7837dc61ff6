"""Graph places of the tenant simulator: rooms and room lists as listed, read and updated
(https://learn.microsoft.com/en-us/graph/api/place-list, place-get, place-update)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.simulator import Simulator, compact_tenant, init_tenant, make_token, read_tenant, run_shell_lines

ADMIN_APP = "00000000-0000-0000-0000-0000000000ad"
ROOM_LIST = "meetingrooms@contoso.com"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Simulator, Path]]:
    path = tmp_path / "tenant.json"
    init_tenant(path, rooms=150)
    members = ",".join(["boardroom@contoso.com", "room001@contoso.com", "room002@contoso.com"])
    run_shell_lines(path, [f"New-DistributionGroup -Name 'Meeting Rooms' -RoomList -Members {members}"])
    compact_tenant(path)
    with Simulator(path) as sim:
        yield sim, path


def client(sim: Simulator, *, roles: list[str] | None = None, scopes: list[str] | None = None) -> httpx.Client:
    token = make_token(sim.tenant_id, ADMIN_APP, roles, scopes=scopes)
    return httpx.Client(base_url=f"{sim.base_url}/v1.0", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_room_nobody_described_reads_as_graph_shows_it(served: tuple[Simulator, Path]) -> None:
    sim, _ = served
    with client(sim, roles=["Place.Read.All"]) as graph:
        [room] = [
            r for r in graph.get("/places/microsoft.graph.room").json()["value"] if r["displayName"] == "Board room"
        ]
    assert room == {
        "id": room["id"],
        "displayName": "Board room",
        "address": None,
        "geoCoordinates": None,
        "phone": "",
        "isWheelChairAccessible": False,
        "label": None,
        "tags": [],
        "placeId": None,
        "parentId": None,
        "emailAddress": "boardroom@contoso.com",
        "nickname": "Board room",
        "building": None,
        "floorNumber": None,
        "floorLabel": None,
        "capacity": None,
        "bookingType": "standard",
        "audioDeviceName": None,
        "videoDeviceName": None,
        "displayDeviceName": None,
        "teamsEnabledState": "unknown",
    }


def test_places_page_with_top_and_skip_not_next_links(served: tuple[Simulator, Path]) -> None:
    sim, _ = served
    with client(sim, roles=["Place.Read.All"]) as graph:
        first = graph.get("/places/microsoft.graph.room").json()
        assert len(first["value"]) == 100 and "@odata.nextLink" not in first
        rest = graph.get("/places/microsoft.graph.room", params={"$skip": "100", "$top": "999"}).json()["value"]
        assert len(rest) == 153 - 100  # 150 seeded rooms and the three of the default tenant
        assert {r["id"] for r in first["value"]}.isdisjoint(r["id"] for r in rest)
        counted = graph.get("/places/microsoft.graph.room", params={"$count": "true", "$top": "1"}).json()
        assert counted["@odata.count"] == 153 and len(counted["value"]) == 1
        found = graph.get("/places/microsoft.graph.room", params={"$filter": "emailAddress eq 'room007@contoso.com'"})
        assert [r["displayName"] for r in found.json()["value"]] == ["Room 007"]
        assert graph.get("/places/microsoft.graph.room", params={"$top": "x"}).status_code == 400


def test_rooms_of_a_room_list_and_one_place(served: tuple[Simulator, Path]) -> None:
    sim, _ = served
    with client(sim, roles=["Place.Read.All"]) as graph:
        body = graph.get(f"/places/{ROOM_LIST}/microsoft.graph.roomlist/rooms").json()
        assert body["@odata.context"].endswith(
            "$metadata#places('meetingrooms%40contoso.com')/microsoft.graph.roomList/rooms"
        )
        assert sorted(r["emailAddress"] for r in body["value"]) == [
            "boardroom@contoso.com",
            "room001@contoso.com",
            "room002@contoso.com",
        ]
        room = body["value"][0]
        one = graph.get(f"/places/{room['id']}").json()
        assert one["@odata.type"] == "#microsoft.graph.room" and one["id"] == room["id"]
        assert one["@odata.context"].endswith("$metadata#places/$entity")
        listed = graph.get(f"/places/{ROOM_LIST}").json()
        assert listed["@odata.type"] == "#microsoft.graph.roomList" and listed["emailAddress"].lower() == ROOM_LIST
        assert graph.get("/places/nothing@contoso.com").status_code == 404
        assert graph.get("/places/alice@contoso.com").status_code == 404  # a user mailbox is not a place


def test_update_a_room_and_a_room_list(served: tuple[Simulator, Path]) -> None:
    sim, path = served
    with client(sim, scopes=["Place.ReadWrite.All"]) as graph:
        update = {
            "@odata.type": "microsoft.graph.room",
            "capacity": 12,
            "building": "1",
            "floorNumber": 3,
            "floorLabel": "3F",
            "label": "100",
            "isWheelChairAccessible": True,
            "tags": ["bean bags"],
            "bookingType": "Reserved",
            "address": {"street": "4567 Main Street", "city": "Buffalo"},
            "geoCoordinates": {"latitude": 47.0, "longitude": -122.0},
        }
        answer = graph.patch("/places/boardroom@contoso.com", json=update)
        assert answer.status_code == 200, answer.text
        room = answer.json()
        assert (
            room["@odata.context"].endswith("$metadata#places/$entity")
            and room["@odata.type"] == "#microsoft.graph.room"
        )
        assert (room["capacity"], room["building"], room["floorNumber"], room["tags"]) == (12, "1", 3, ["bean bags"])
        assert room["bookingType"] == "reserved" and room["isWheelChairAccessible"] is True
        assert room["address"] == {
            "city": "Buffalo",
            "countryOrRegion": None,
            "postalCode": None,
            "state": None,
            "street": "4567 Main Street",
        }
        assert (
            graph.patch(
                f"/places/{room['id']}", json={"@odata.type": "#microsoft.graph.room", "capacity": None}
            ).json()["capacity"]
            is None
        )
        renamed = graph.patch(
            f"/places/{ROOM_LIST}",
            json={"@odata.type": "microsoft.graph.roomList", "displayName": "Rooms", "phone": "555-0100"},
        )
        assert renamed.status_code == 200 and renamed.json()["displayName"] == "Rooms"
    stored = read_tenant(path)  # journaled: the file as any reader sees it now
    guid = room["id"].lower()
    assert stored["places"][guid]["building"] == "1" and stored["places"][guid]["capacity"] is None
    group = next(r for r in stored["exchange"]["recipients"] if r["PrimarySmtpAddress"].lower() == ROOM_LIST)
    assert group["DisplayName"] == "Rooms"  # the room list's name is the group's


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"capacity": 5}, 400, "ErrorInvalidRequest"),  # no @odata.type
        ({"@odata.type": "microsoft.graph.roomList", "phone": "1"}, 400, "ErrorInvalidRequest"),  # not a room list
        ({"@odata.type": "microsoft.graph.room", "seats": 5}, 400, "RequestBodyRead"),
        ({"@odata.type": "microsoft.graph.room", "capacity": "five"}, 400, "RequestBodyRead"),
        ({"@odata.type": "microsoft.graph.room", "tags": None}, 400, "RequestBodyRead"),
        ({"@odata.type": "microsoft.graph.room", "address": {"town": "x"}}, 400, "RequestBodyRead"),
        ({"@odata.type": "microsoft.graph.room", "emailAddress": "x@contoso.com"}, 400, "ErrorInvalidRequest"),
        ({"@odata.type": "microsoft.graph.room", "bookingType": "sometimes"}, 400, "RequestBodyRead"),
    ],
)
def test_bad_updates_are_refused(
    served: tuple[Simulator, Path], body: dict[str, object], status: int, code: str
) -> None:
    sim, _ = served
    with client(sim, scopes=["Place.ReadWrite.All"]) as graph:
        answer = graph.patch("/places/boardroom@contoso.com", json=body)
    assert answer.status_code == status and answer.json()["error"]["code"] == code, answer.text


def test_update_needs_a_delegated_place_readwrite_token(served: tuple[Simulator, Path]) -> None:
    sim, _ = served
    body = {"@odata.type": "microsoft.graph.room", "capacity": 5}
    for graph in (client(sim, roles=["Place.ReadWrite.All"]), client(sim, scopes=["Place.Read.All"])):
        with graph:
            answer = graph.patch("/places/boardroom@contoso.com", json=body)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "ErrorAccessDenied"
        assert "Required permissions: Place.ReadWrite.All" in answer.json()["error"]["message"]
