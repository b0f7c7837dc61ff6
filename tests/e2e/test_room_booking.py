"""Rooms that accept the integration's bookings (kind room_booking), end to end through the CLI and the simulator.

A free_busy spec configures every room of its room list with Cronofy's documented settings; a room changed by hand
is drift (exit 2) naming the setting and the fix; settings the spec does not name are never drift; export -> plan is
no change; on Exchange Server the plan's Exchange Management Shell commands converge the rooms.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.rooms import SPEC as ROOMS_SPEC
from reconciler.simulator import Simulator, init_tenant
from tests.conftest import PASSWORD, REPO, Result, Tenant, Workspace, write_access_spec

ROOMS = ("boardroom@contoso.com", "confrooma@contoso.com", "confroomb@contoso.com")
CRONOFY = {
    "AutomateProcessing": "AutoAccept",
    "AllowConflicts": False,
    "ProcessExternalMeetingMessages": True,
    "AllBookInPolicy": True,
    "AllRequestInPolicy": False,
    "AllRequestOutOfPolicy": False,
}
TAIL = """\
  folder_permissions: false
room_lists:
  - name: Meeting Rooms
    rooms: [boardroom@contoso.com, confrooma@contoso.com, confroomb@contoso.com]
room_booking:
  - room_list: Meeting Rooms
"""


def _processing(tenant: Tenant, room: str) -> dict[str, Any]:
    rows = tenant.exchange("Get-CalendarProcessing", {"Identity": room})
    assert len(rows) == 1
    row: dict[str, Any] = rows[0]
    return row


def test_a_free_busy_spec_makes_every_room_of_its_room_list_accept_the_integration(tenant: Tenant) -> None:
    spec = write_access_spec(tenant, "rooms", TAIL, level="free_busy")
    assert _processing(tenant, ROOMS[0])["ProcessExternalMeetingMessages"] is False  # a new room's default

    plan = tenant.cli("plan", spec)
    assert plan.exit_code == 0, plan.output
    assert "AutomateProcessing AutoAccept, AllowConflicts $false, ProcessExternalMeetingMessages $true" in plan.stdout
    assert "access.level free_busy: Cronofy books a room by inviting it by e-mail" in plan.stdout
    planned = json.loads(tenant.cli("plan", spec, "--json").stdout)
    bookings = {c["address"]: c for c in planned["changes"] if c["kind"] == "room_booking"}
    assert set(bookings) == {f"room_booking.{r}" for r in ROOMS}
    # a new Exchange Online room already auto-accepts: only the external-sender setting differs
    assert {tuple(c["changed"]) for c in bookings.values()} == {("process_external_meeting_messages",)}

    script = tenant.cli("plan", spec, "--format", "powershell")
    assert (
        "Set-CalendarProcessing -Identity 'boardroom@contoso.com' -ProcessExternalMeetingMessages $true"
        in script.stdout
    )

    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    for room in ROOMS:
        row = _processing(tenant, room)
        assert {k: row[k] for k in CRONOFY} == CRONOFY, room
        assert row["DeleteSubject"] is True  # not named by the spec: left as it was
    again = tenant.cli("plan", spec, "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.stdout, again.output

    # changed by hand: drift names the room, the setting and the fix
    tenant.exchange("Set-CalendarProcessing", {"Identity": ROOMS[1], "AutomateProcessing": "AutoUpdate"})
    # a setting the spec does not name, changed by hand, is not drift
    tenant.exchange("Set-CalendarProcessing", {"Identity": ROOMS[0], "DeleteSubject": False})
    drift = tenant.cli("drift", spec)
    assert drift.exit_code == 2, drift.output
    assert f"room_booking.{ROOMS[1]}" in drift.stdout and "automate_processing" in drift.stdout
    assert f"room_booking.{ROOMS[0]}" not in drift.stdout
    report = tenant.cli("drift", spec, "--format", "markdown")
    assert f"Set-CalendarProcessing -Identity '{ROOMS[1]}' -AutomateProcessing AutoAccept" in report.stdout

    fixed = tenant.cli("apply", spec, "--auto-approve")
    assert fixed.exit_code == 0, fixed.output
    assert _processing(tenant, ROOMS[1])["AutomateProcessing"] == "AutoAccept"
    assert _processing(tenant, ROOMS[0])["DeleteSubject"] is False  # still as the admin left it
    final = tenant.cli("plan", spec, "--detailed-exitcode")
    assert final.exit_code == 0 and "No changes." in final.stdout, final.output


def test_settings_the_spec_names_win_over_the_preset_and_bad_values_are_refused(tenant: Tenant) -> None:
    tail = TAIL + "    allow_conflicts: true\n    booking_window_in_days: 365\n"
    spec = write_access_spec(tenant, "rooms", tail, level="free_busy")
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    row = _processing(tenant, ROOMS[2])
    assert row["AllowConflicts"] is True and row["BookingWindowInDays"] == 365
    assert row["ProcessExternalMeetingMessages"] is True

    bad = write_access_spec(tenant, "bad", TAIL + "    booking_window_in_days: 2000\n    automate_processing: Yes\n")
    refused = tenant.cli("plan", bad)
    assert refused.exit_code == 1, refused.output
    assert "booking_window_in_days" in refused.output and "1080" in refused.output
    assert "automate_processing" in refused.output and "AutoAccept" in refused.output
    assert "Traceback" not in refused.output


def test_a_room_that_is_not_a_room_is_refused_before_any_write(tenant: Tenant) -> None:
    spec = write_access_spec(
        tenant, "rooms", "room_booking:\n  - rooms: [alice@contoso.com]\n    automate_processing: AutoAccept\n"
    )
    refused = tenant.cli("plan", spec)
    assert refused.exit_code == 1, refused.output
    assert "'alice@contoso.com' is a UserMailbox, not a room" in refused.output


def test_export_then_plan_shows_no_change(tenant: Tenant) -> None:
    spec = write_access_spec(tenant, "rooms", TAIL, level="free_busy")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    tenant.exchange("Set-CalendarProcessing", {"Identity": ROOMS[2], "BookingWindowInDays": 30})
    exported = tenant.root / "specs" / "exported.yaml"
    result = tenant.cli("export", spec, "--out", str(exported))
    assert result.exit_code == 0, result.output
    text = exported.read_text(encoding="utf-8")
    assert "room_booking:" in text and "booking_window_in_days: 30" in text
    plan = tenant.cli("plan", str(exported))
    assert plan.exit_code == 0 and "No changes. The tenant matches the spec." in plan.stdout, plan.output
    changes = json.loads(tenant.cli("plan", str(exported), "--json").stdout)["changes"]
    bookings = [c for c in changes if c["kind"] == "room_booking"]
    assert len(bookings) == 3 and {c["action"] for c in bookings} == {"no-op"}


SERVER_ROOMS = ("boardroom@contoso.com", "confrooma@contoso.com")
SERVER_TAIL = """\
room_booking:
  - room_list: Meeting Rooms
"""


def _server(server: Tenant, *args: str) -> Result:
    return server.cli(*args, env={"EXCHANGE_ADMIN_PASSWORD": PASSWORD})


def _server_spec(server: Tenant) -> str:
    """specs/exchange-server.yaml at access.level free_busy, its room list's rooms under room_booking (the preset).

    Its scope group stays: at free_busy on Exchange Server nothing is impersonated (the service account gets
    AvailabilityOnly), so the preset makes no management scope (none could be confirmed) and the plan converges."""
    path = server.root / "specs" / "exchange-server.yaml"
    text = path.read_text(encoding="utf-8").replace("level: restricted", "level: free_busy")
    text = text.replace("rooms: [boardroom@contoso.com]", f"rooms: [{', '.join(SERVER_ROOMS)}]")
    path.write_text(text + SERVER_TAIL, encoding="utf-8")
    return str(path)


def _ems(server: Tenant, *lines: str) -> Result:
    ran = server.cli("sim", "ems", str(server.tenant), *lines)
    assert ran.exit_code == 0, ran.output
    return ran


def _run_printed(server: Tenant, plan: dict[str, Any]) -> None:
    """An admin runs every manual block of the plan in the Exchange Management Shell."""
    for change in plan["changes"]:
        if change["manual"]:
            _ems(server, *change["manual"])


def _bookings(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["address"]: c for c in plan["changes"] if c["kind"] == "room_booking"}


def test_exchange_server_manual_steps_converge_and_a_hand_change_is_drift(server: Tenant) -> None:
    """AutomateProcessing is read over EWS (GetUserConfiguration of the room's calendar options); the settings EWS
    cannot read are recorded when apply prints the commands, and the plan says so."""
    spec = _server_spec(server)
    plan = json.loads(_server(server, "plan", spec, "--json").stdout)
    bookings = _bookings(plan)
    assert set(bookings) == {f"room_booking.{r}" for r in SERVER_ROOMS}
    assert not [c for c in plan["changes"] if c["kind"] in ("management_scope", "role_assignment")]
    board = bookings["room_booking.boardroom@contoso.com"]
    assert board["automated"] is False and board["action"] == "update"
    assert board["before"]["automate_processing"] == "AutoUpdate"  # read over EWS: a room made in PowerShell
    assert board["before"]["process_external_meeting_messages"] is None  # not readable over EWS, nothing recorded
    [command] = board["manual"]
    assert command.startswith("Set-CalendarProcessing -Identity 'boardroom@contoso.com' ")
    for parameter in (
        "-AutomateProcessing AutoAccept",
        "-ProcessExternalMeetingMessages $true",
        "-AllowConflicts $false",
    ):
        assert parameter in command
    human = _server(server, "plan", spec).stdout
    assert "reads AutomateProcessing over EWS" in human
    assert "ProcessExternalMeetingMessages" in human and "not readable over EWS" in human

    applied = _server(server, "apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    recorded = {r["address"]: r for r in server.state_data_of("exchange-server")["resources"]}
    assert recorded["room_booking.boardroom@contoso.com"]["attributes"]["process_external_meeting_messages"] is True
    waiting = json.loads(_server(server, "plan", spec, "--json").stdout)
    # the commands have not run yet: AutomateProcessing, read over EWS, says so; the full block is printed again
    assert {a: c["changed"] for a, c in _bookings(waiting).items()} == {
        f"room_booking.{r}": ["automate_processing"] for r in SERVER_ROOMS
    }
    assert _bookings(waiting)["room_booking.boardroom@contoso.com"]["manual"] == [command]

    before = server.tenant_data()
    _run_printed(server, waiting)
    _run_printed(server, waiting)  # a second run changes nothing and fails on nothing
    shown = _ems(server, "Get-CalendarProcessing -Identity boardroom@contoso.com").stdout
    assert "AutoAccept" in shown and "AutoUpdate" not in shown
    assert before["exchange"] != server.tenant_data()["exchange"]
    after_commands = json.loads(_server(server, "plan", spec, "--json").stdout)
    assert {c["action"] for c in _bookings(after_commands).values()} == {"no-op"}
    assert not any(c["import_id"] for c in _bookings(after_commands).values())  # recorded when apply printed them
    assert _server(server, "apply", spec, "--auto-approve").exit_code == 0  # adopts the scope, assignment, room list
    final = _server(server, "plan", spec, "--detailed-exitcode")
    assert final.exit_code == 0 and "No changes." in final.stdout, final.output

    # AutomateProcessing changed by hand: drift, naming the room, the setting and the fix
    _ems(server, "Set-CalendarProcessing -Identity confrooma@contoso.com -AutomateProcessing AutoUpdate")
    drift = _server(server, "drift", spec)
    assert drift.exit_code == 2, drift.output
    assert "room_booking.confrooma@contoso.com" in drift.stdout and "automate_processing" in drift.stdout
    assert "changed outside reconciler" in drift.stdout and "not readable over EWS" in drift.stdout
    assert "room_booking.boardroom@contoso.com" not in drift.stdout
    report = _server(server, "drift", spec, "--format", "markdown").stdout
    assert "Set-CalendarProcessing -Identity 'confrooma@contoso.com'" in report
    assert "-AutomateProcessing AutoAccept" in report
    fix = json.loads(_server(server, "plan", spec, "--json").stdout)
    assert [c["address"] for c in fix["changes"] if c["action"] != "no-op"] == ["room_booking.confrooma@contoso.com"]
    _run_printed(server, fix)
    again = _server(server, "plan", spec, "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.stdout, again.output

    # a setting EWS cannot read, changed by hand, is not seen: the plan says which settings it takes from state
    _ems(server, "Set-CalendarProcessing -Identity boardroom@contoso.com -ProcessExternalMeetingMessages $false")
    unseen = _server(server, "plan", spec, "--detailed-exitcode")
    assert unseen.exit_code == 0 and "not readable over EWS" in unseen.stdout, unseen.output


def test_exchange_server_export_writes_what_ews_reads_and_plans_no_room_change(server: Tenant) -> None:
    spec = _server_spec(server)
    _ems(
        server,
        "New-DistributionGroup -Name 'Meeting Rooms' -RoomList -Members boardroom,confrooma",
        "Set-CalendarProcessing -Identity confrooma@contoso.com -AutomateProcessing AutoAccept",
    )
    out = server.root / "specs" / "exported.yaml"
    exported = _server(server, "export", spec, "--out", str(out))
    assert exported.exit_code == 0, exported.output
    text = out.read_text(encoding="utf-8")
    assert "only AutomateProcessing is readable over EWS" in text  # the header says what is not exported
    assert "  - rooms:\n      - boardroom@contoso.com\n    preset: none\n    automate_processing: AutoUpdate\n" in text
    assert "  - rooms:\n      - confrooma@contoso.com\n    preset: none\n    automate_processing: AutoAccept\n" in text
    assert "process_external_meeting_messages" not in text
    plan = _server(server, "plan", str(out), "--json")
    assert plan.exit_code == 0, plan.output
    assert {c["action"] for c in _bookings(json.loads(plan.stdout)).values()} == {"no-op"}


def test_exchange_server_room_the_ews_account_cannot_open_is_an_error_not_drift(server: Tenant) -> None:
    spec = _server_spec(server)
    assignments = server.tenant_data()["exchange"]["roleAssignments"]
    admin = [a["Name"] for a in assignments if a.get("Role") == "ApplicationImpersonation"]
    assert admin, assignments
    _ems(server, *(f"Remove-ManagementRoleAssignment -Identity '{name}' -Confirm:$false" for name in admin))
    drift = _server(server, "drift", spec)
    assert drift.exit_code == 1, drift.output
    assert "cannot read room boardroom@contoso.com's AutomateProcessing over EWS" in drift.output
    assert "ApplicationImpersonation" in drift.output and "Traceback" not in drift.output


# -- room metadata (kind room) -----------------------------------------------------------------------------------
ROOM_TAIL = """\
rooms:
  - room: Board room
    capacity: 12
    building: HQ
    floor_number: 3
    tags: [whiteboard, view]
    is_wheel_chair_accessible: true
"""


def test_room_metadata_is_set_with_set_place_and_shows_in_graph_places(tenant: Tenant) -> None:
    spec = write_access_spec(tenant, "rooms", ROOM_TAIL)
    planned = json.loads(tenant.cli("plan", spec, "--json").stdout)
    [room] = [c for c in planned["changes"] if c["kind"] == "room"]
    assert room["address"] == "room.boardroom@contoso.com" and room["action"] == "update"
    assert room["changed"] == ["building", "capacity", "floor_number", "is_wheel_chair_accessible", "tags"]
    script = tenant.cli("plan", spec, "--format", "powershell").stdout
    assert (
        "Set-Place -Identity 'boardroom@contoso.com' -Building 'HQ' -Capacity 12 -Floor 3 "
        "-IsWheelChairAccessible $true -Tags 'whiteboard','view'" in script
    )
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    place = tenant.graph_json("/places/boardroom@contoso.com")
    assert (place["capacity"], place["building"], place["floorNumber"]) == (12, "HQ", 3)
    assert place["tags"] == ["whiteboard", "view"] and place["isWheelChairAccessible"] is True
    assert "No changes." in tenant.cli("plan", spec).stdout

    # a property the spec names, changed by hand, is drift; one it does not name is not
    tenant.exchange("Set-Place", {"Identity": "Board room", "Capacity": 20, "Label": "B-301"})
    drift = tenant.cli("drift", spec)
    assert drift.exit_code == 2, drift.output
    assert "room.boardroom@contoso.com" in drift.stdout and "capacity" in drift.stdout and "label" not in drift.stdout
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert tenant.graph_json("/places/boardroom@contoso.com")["label"] == "B-301"  # left alone

    exported = tenant.root / "specs" / "exported.yaml"
    assert tenant.cli("export", spec, "--out", str(exported)).exit_code == 0
    assert "capacity: 12" in exported.read_text(encoding="utf-8")
    again = tenant.cli("plan", str(exported))
    assert "No changes. The tenant matches the spec." in again.stdout, again.output


def test_room_metadata_is_refused_on_exchange_server(server: Tenant) -> None:
    path = server.root / "specs" / "exchange-server.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "rooms:\n  - room: boardroom@contoso.com\n    capacity: 4\n")
    refused = server.cli("plan", str(path), env={"EXCHANGE_ADMIN_PASSWORD": PASSWORD})
    assert refused.exit_code == 1, refused.output
    assert "rooms (place metadata) exist only in Exchange Online" in refused.output


def test_many_rooms_are_read_one_request_each_and_their_metadata_in_one_listing(tmp_path: Path) -> None:
    """Get-CalendarProcessing takes one mailbox per call: N rooms cost N reads plus a fixed number of listings;
    the rooms' metadata is one Get-Place listing whatever their number."""
    path = tmp_path / "tenant.json"
    data = init_tenant(path, rooms=60)
    rooms = len(data["rooms"]) + 3
    metadata = "rooms:\n" + "".join(f"  - room: {r['emailAddress']}\n    capacity: 6\n" for r in data["rooms"])
    env = {"BENCH_SVC_PASSWORD": "Scale-test-Pa55word!"}
    with Simulator(path) as sim:
        ws = Workspace(tmp_path, path, data["tenant"]["id"])
        ws.write_spec(text=ROOMS_SPEC.format(tenant_id=ws.tenant_id, url=sim.base_url))
        before = sim.requests_served
        plan = ws.cli("plan", str(ws.spec), "--json", env=env)
        assert plan.exit_code == 0, plan.output
        booking_requests = sim.requests_served - before
        assert rooms <= booking_requests <= rooms + 12, booking_requests
        assert json.loads(plan.stdout)["summary"]["change"] == rooms

        ws.write_spec(text=ROOMS_SPEC.format(tenant_id=ws.tenant_id, url=sim.base_url) + metadata)
        before = sim.requests_served
        plan = ws.cli("plan", str(ws.spec), "--json", env=env)
        assert plan.exit_code == 0, plan.output
        assert sim.requests_served - before <= booking_requests + 3  # + one Get-Place and one Get-Mailbox listing
        changes = json.loads(plan.stdout)["changes"]
        assert len([c for c in changes if c["kind"] == "room" and c["action"] == "update"]) == 60


def test_the_demo_spec_of_rooms_plans_and_converges(tenant: Tenant) -> None:
    """examples/rooms.yaml (make demo) against a fresh tenant: every room of its list ends up auto-accepting."""
    spec = tenant.root / "examples" / "rooms.yaml"
    spec.parent.mkdir()
    text = (REPO / "examples" / "rooms.yaml").read_text(encoding="utf-8")
    spec.write_text(text.replace("../state/simulated-rooms.json", "../state/simulated-tenant.json"), encoding="utf-8")
    applied = tenant.cli("apply", str(spec), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert all(_processing(tenant, room)["BookingWindowInDays"] == 365 for room in ROOMS)
    assert "No changes." in tenant.cli("plan", str(spec)).stdout


def test_exchange_server_reads_each_room_once_over_ews(tmp_path: Path) -> None:
    """One GetUserConfiguration per room (the calendar options hold one room's settings), no write, and apply only
    prints: the rooms' settings change when the admin runs the commands."""
    path = tmp_path / "tenant.json"
    data = init_tenant(path, rooms=20, flavor="exchange_server", ad_password=PASSWORD)
    rooms = sorted(r["emailAddress"] for r in data["rooms"])
    with Simulator(path) as sim:
        ws = Workspace(tmp_path, path, data["tenant"]["id"])
        ws.write_spec(
            text=(
                f"version: 1\ntenant:\n  domain: contoso.com\n  simulator: {sim.base_url}\ntarget: exchange_server\n"
                "exchange_server:\n  ews_url: https://mail.contoso.com/EWS/Exchange.asmx\n"
                "  username: reconciler-admin@contoso.com\n  password: ${env:EXCHANGE_ADMIN_PASSWORD}\n  auth: basic\n"
                f"room_booking:\n  - rooms: [{', '.join(rooms)}]\n    automate_processing: AutoAccept\n"
                "    process_external_meeting_messages: true\n"
            )
        )
        env = {"EXCHANGE_ADMIN_PASSWORD": PASSWORD}
        before = dict(sim.operations)
        plan = ws.cli("plan", str(ws.spec), "--json", env=env)
        assert plan.exit_code == 0, plan.output
        read = {op: n - before.get(op, 0) for op, n in sim.operations.items() if n - before.get(op, 0)}
        assert read == {"ews GetUserConfiguration": len(rooms)}, read
        assert json.loads(plan.stdout)["summary"]["manual"] == len(rooms)
        assert ws.cli("apply", str(ws.spec), "--auto-approve", env=env).exit_code == 0
        assert not [op for op in sim.operations if op.startswith("ews Update")]
