"""Get-/Set-CalendarProcessing and Get-/Set-Place of the tenant simulator, in process and in the simulated shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.simulator import Simulator, init_tenant, make_token, run_shell_lines
from reconciler.simulator.exchange_admin import run_cmdlet
from reconciler.simulator.exchange_errors import CmdletError
from reconciler.simulator.seed import build_tenant

ROOM = "boardroom@contoso.com"


def _processing(data: dict[str, Any], room: str = ROOM) -> dict[str, Any]:
    [row] = run_cmdlet(data, "Get-CalendarProcessing", {"Identity": room})
    return row


def test_a_new_room_reads_as_the_page_documents_its_defaults_in_each_flavour() -> None:
    online = _processing(build_tenant())
    assert online["AutomateProcessing"] == "AutoAccept"  # Exchange Online rooms made after November 15, 2018
    assert (online["BookingWindowInDays"], online["MaximumDurationInMinutes"]) == (180, 1440)
    assert online["ProcessExternalMeetingMessages"] is False and online["AllBookInPolicy"] is True
    assert online["BookingType"] == "Standard"
    server = _processing(build_tenant(flavor="exchange_server"))
    assert server["AutomateProcessing"] == "AutoUpdate"  # on-premises rooms made in PowerShell
    assert "BookingType" not in server and "EnforceCapacity" not in server  # Exchange Online only
    user = _processing(build_tenant(), "alice@contoso.com")
    assert user["AutomateProcessing"] == "AutoUpdate"


def test_set_changes_only_what_it_names() -> None:
    data = build_tenant()
    run_cmdlet(data, "Set-CalendarProcessing", {"Identity": ROOM, "ProcessExternalMeetingMessages": True})
    row = _processing(data)
    assert row["ProcessExternalMeetingMessages"] is True and row["DeleteSubject"] is True


@pytest.mark.parametrize(
    ("parameters", "text"),
    [
        ({"BookingWindowInDays": 1081}, "The 1081 argument is greater than the maximum allowed range of 1080"),
        ({"ConflictPercentageAllowed": -1}, "The -1 argument is less than the minimum allowed range of 0"),
        ({"BookingWindowInDays": "soon"}, 'Cannot convert value "soon" to type "System.Int32"'),
        ({"AutomateProcessing": "Yes"}, "None, AutoUpdate, AutoAccept"),
        ({"BookingType": "Private"}, "Standard, Reserved"),
    ],
)
def test_values_the_page_rejects_are_refused(parameters: dict[str, Any], text: str) -> None:
    with pytest.raises(CmdletError) as refused:
        run_cmdlet(build_tenant(), "Set-CalendarProcessing", {"Identity": ROOM, **parameters})
    assert text in refused.value.text


def test_a_user_mailbox_and_an_unknown_room_are_refused() -> None:
    data = build_tenant()
    with pytest.raises(CmdletError) as user:
        run_cmdlet(data, "Set-CalendarProcessing", {"Identity": "alice@contoso.com", "AllowConflicts": True})
    assert "isn't a resource mailbox" in user.value.text
    with pytest.raises(CmdletError) as missing:
        run_cmdlet(data, "Get-CalendarProcessing", {"Identity": "nowhere@contoso.com"})
    assert missing.value.status == 404


def test_the_shell_sets_calendar_processing_on_exchange_server(tmp_path: Path) -> None:
    tenant = tmp_path / "server.json"
    init_tenant(tenant, flavor="exchange_server")
    line = f"Set-CalendarProcessing -Identity '{ROOM}' -AutomateProcessing AutoAccept -BookingWindowInDays 365"
    run_shell_lines(tenant, [line])
    [row] = run_shell_lines(tenant, [f"Get-CalendarProcessing {ROOM}"])
    assert (row["AutomateProcessing"], row["BookingWindowInDays"]) == ("AutoAccept", 365)
    with pytest.raises(Exception, match="is not recognized as a name of a cmdlet"):
        run_shell_lines(tenant, [f"Set-Place -Identity '{ROOM}' -Capacity 4"])  # Exchange Online only


def test_set_place_is_what_graph_places_shows(sim: Simulator) -> None:
    token = make_token(sim.tenant_id, "11111111-2222-3333-4444-555555555555", ["Place.Read.All"])
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=10) as client:
        body = {
            "CmdletInput": {
                "CmdletName": "Set-Place",
                "Parameters": {"Identity": "Board room", "Capacity": 12, "Floor": 3, "Tags": ["view"], "City": "Leeds"},
            }
        }
        written = client.post(f"/adminapi/beta/{sim.tenant_id}/InvokeCommand", json=body)
        assert written.status_code == 200, written.text
        listed = {"CmdletInput": {"CmdletName": "Get-Place", "Parameters": {"Type": "Room"}}}
        rows = client.post(f"/adminapi/beta/{sim.tenant_id}/InvokeCommand", json=listed).json()["value"]
        assert {r["PlaceType"] for r in rows} == {"Room"}
        [row] = [r for r in rows if r["Identity"] == "Board room"]
        assert (row["Capacity"], row["Floor"], row["Tags"], row["City"]) == (12, 3, ["view"], "Leeds")
        place = client.get(f"/v1.0/places/{ROOM}")
        assert place.status_code == 200, place.text
        view = place.json()
    assert (view["capacity"], view["floorNumber"], view["tags"], view["address"]["city"]) == (12, 3, ["view"], "Leeds")
