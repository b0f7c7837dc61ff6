"""Rehearse on a twin: a tenant served by `sim serve` stands in for the real one; `sim snapshot` copies what a plan
reads into a twin tenant file, a copy of the spec pointed at the twin (one line) plans the same changes, an apply
there and then on the "real" tenant converge, and `sim compare` reports answers of another shape (exit 2).
Request counts from the served tenant's request log (`/_simulator/stats`) show snapshot and compare never write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from bench.serve import serve
from reconciler.simulator import make_token
from reconciler.simulator.tally import writes
from tests.conftest import PASSWORD, Result, Tenant

ADMIN_ENV = {"EXCHANGE_ADMIN_PASSWORD": PASSWORD}


def since(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {op: n - before.get(op, 0) for op, n in after.items() if n - before.get(op, 0)}


def pointed(tenant: Tenant, spec: str, name: str, simulator: str) -> str:
    """A copy of `spec` whose `tenant.simulator:` line names `simulator` (the one-line change the README shows)."""
    text = Path(spec).read_text(encoding="utf-8")
    lines = [f"  simulator: {simulator}" if line.startswith("  simulator:") else line for line in text.splitlines()]
    path = tenant.root / "specs" / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def changes(result: Result) -> list[tuple[str, str, Any]]:
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    return [(c["address"], c["action"], c["after"]) for c in plan["changes"]]


def test_exchange_online_twin_plans_the_same_and_converges(tenant: Tenant) -> None:
    twin = tenant.root / "twin.json"
    with serve([tenant.tenant]) as process:
        url = process.url
        real = pointed(tenant, tenant.spec_file("example"), "real", url)
        assert tenant.cli("apply", real, "--auto-approve").exit_code == 0
        token = make_token(tenant.tenant_id, "00000000-0000-0000-0000-0000000000ad", ["Directory.ReadWrite.All"])
        changed = httpx.patch(  # an admin changes the tenant by hand: the plan has something to do
            f"{url}/v1.0/users/cronofy-svc@contoso.onmicrosoft.com",
            json={"displayName": "Renamed by hand"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert changed.status_code == 204
        before = process.operations()
        snap = tenant.cli("sim", "snapshot", real, "--out", str(twin))
        assert snap.exit_code == 0, snap.output
        read = since(before, process.operations())
        assert read and not writes(read), read  # snapshot only read
        assert read.get("graph GET") and read.get("exchange Get-DistributionGroupMember")
        listed = json.loads(tenant.cli("permissions", real, "--json").stdout)["read"]  # the read-only set
        cmdlets = {call.split()[0] for p in listed for call in p["calls"]}
        assert {op.split()[1] for op in read if op.startswith("exchange ")} <= cmdlets
        assert {op for op in read if op.startswith("graph ")} == {"graph GET"}

        rehearsal = pointed(tenant, real, "rehearsal", "../twin.json")
        on_real = changes(tenant.cli("plan", real, "--json"))
        assert on_real == changes(tenant.cli("plan", rehearsal, "--json"))
        assert [(a, x) for a, x, _ in on_real if x != "no-op"] == [("user.service_account", "update")]

        before = process.operations()
        compared = tenant.cli("sim", "compare", real, str(twin))
        assert compared.exit_code == 0, compared.output
        assert "same shape" in compared.stdout
        assert not writes(since(before, process.operations()))  # compare only read

        assert tenant.cli("apply", rehearsal, "--auto-approve").exit_code == 0  # first on the twin
        assert "No changes" in tenant.cli("plan", rehearsal).stdout
        assert tenant.cli("apply", real, "--auto-approve").exit_code == 0  # then the same plan on the real one
        assert "No changes" in tenant.cli("plan", real).stdout
    tenant.assert_no_secret_on_disk()


def test_twin_keeps_the_apps_entra_consent(tenant: Tenant) -> None:
    """An Entra ID consent of the integration (wider than an RBAC for Applications spec) is read by the plan, so the
    twin holds it and its plan reports the same finding."""
    app = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"

    def consent(data: dict[str, Any]) -> None:
        sp = next(s for s in data["servicePrincipals"] if s["appId"] == app)
        sp["appRoleAssignments"] = [
            {"id": "grant-1", "appRoleId": "ef54d2bf-783f-4e0f-bca1-3210c0444d99", "principalId": sp["id"]}
        ]

    tenant.set_tenant(consent)
    twin = tenant.root / "twin.json"
    with serve([tenant.tenant]) as process:
        url = process.url
        real = pointed(tenant, tenant.spec_file("example"), "real", url)
        assert tenant.cli("sim", "snapshot", real, "--out", str(twin)).exit_code == 0
        rehearsal = pointed(tenant, real, "rehearsal", "../twin.json")
        found = [json.loads(tenant.cli("plan", spec, "--json").stdout)["wider_access"] for spec in (real, rehearsal)]
    assert [f["address"] for f in found[0]] == [f"entra_consent.{app}/Calendars.ReadWrite"]
    assert [(f["address"], f["id"]) for f in found[0]] == [(f["address"], f["id"]) for f in found[1]]


def test_compare_reports_answers_of_another_shape(tenant: Tenant) -> None:
    twin = tenant.root / "twin.json"
    with serve([tenant.tenant]) as process:
        url = process.url
        real = pointed(tenant, tenant.spec_file("example"), "real", url)
        assert tenant.cli("apply", real, "--auto-approve").exit_code == 0
        assert tenant.cli("sim", "snapshot", real, "--out", str(twin)).exit_code == 0
        data = json.loads(twin.read_text(encoding="utf-8"))
        for recipient in data["exchange"]["recipients"]:  # the twin's simulator answers a date as a number
            recipient["WhenChanged"] = 20240101
        twin.write_text(json.dumps(data), encoding="utf-8")
        before = process.operations()
        compared = tenant.cli("sim", "compare", real, str(twin))
        assert not writes(since(before, process.operations()))
    assert compared.exit_code == 2, compared.output
    assert compared.stdout.startswith("# The twin answers differently")
    assert "| `exchange` | `Get-DistributionGroup` |" in compared.stdout
    assert "`$.value[].WhenChanged type` | `string` | `number` |" in compared.stdout


def test_compare_reports_an_error_the_twin_gives_and_the_tenant_does_not(tenant: Tenant) -> None:
    twin = tenant.root / "twin.json"
    with serve([tenant.tenant]) as process:
        url = process.url
        real = pointed(tenant, tenant.spec_file("example"), "real", url)
        assert tenant.cli("sim", "snapshot", real, "--out", str(twin)).exit_code == 0
        data = json.loads(twin.read_text(encoding="utf-8"))
        data["faults"] = [{"method": "GET", "path": "calendarPermissions", "status": 403}]  # the fault hooks
        twin.write_text(json.dumps(data), encoding="utf-8")
        compared = tenant.cli("sim", "compare", real, str(twin))
    assert compared.exit_code == 2, compared.output
    rows = [line for line in compared.stdout.splitlines() if "calendarPermissions" in line]
    assert any("`(status)` | `HTTP 200` | `HTTP 403` |" in row for row in rows), rows
    assert any("`$ properties` | `@odata.context, value` | `error` |" in row for row in rows)  # the error's shape
    assert "| `plan` | `plan` |  | `(plan)` | `completed` | `failed: " in compared.stdout


def test_redacted_snapshot_replaces_names_and_addresses_consistently(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    twin = tenant.root / "twin.json"
    assert tenant.cli("sim", "snapshot", spec, "--out", str(twin), "--redact").exit_code == 0
    text = twin.read_text(encoding="utf-8")
    for name in ("alice", "boardroom", "Board room", "cronofy-svc", "Cronofy Service Account", "Meeting Rooms"):
        assert name not in text, name
    data = json.loads(text)
    assert data["tenant"]["id"] == tenant.tenant_id and "contoso.onmicrosoft.com" in data["tenant"]["domains"]
    users = {u["userPrincipalName"] for u in data["users"]}
    assert len(users) == 1 and next(iter(users)).endswith("@contoso.onmicrosoft.com")  # a pseudonym, same domain
    alias = next(iter(users)).split("@")[0]
    assert alias.startswith("user") and text.count(alias) > 1  # the same pseudonym wherever the account appears
    rehearsal = pointed(tenant, spec, "rehearsal", "../twin.json")  # for a bug report, not for rehearsing:
    result = tenant.cli("plan", rehearsal)  # the spec's names are not in it
    assert result.exit_code == 1 and "does not exist in the tenant" in result.output


def test_exchange_server_twin_reads_what_ews_shows(server: Tenant) -> None:
    twin = server.root / "twin.json"
    with serve([server.tenant]) as process:
        url = process.url
        real = pointed(server, server.spec_file("exchange-server"), "real", url)
        before = process.operations()
        snap = server.cli("sim", "snapshot", real, "--out", str(twin), env=ADMIN_ENV)
        assert snap.exit_code == 0, snap.output
        read = since(before, process.operations())
        assert read.get("ews GetFolder") and read.get("ews ExpandDL") and not writes(read), read

        rehearsal = pointed(server, real, "rehearsal", "../twin.json")
        on_real = changes(server.cli("plan", real, "--json", env=ADMIN_ENV))
        assert on_real and on_real == changes(server.cli("plan", rehearsal, "--json", env=ADMIN_ENV))

        before = process.operations()
        compared = server.cli("sim", "compare", real, str(twin), env=ADMIN_ENV)
        assert compared.exit_code == 0, compared.output
        assert not writes(since(before, process.operations()))

        assert server.cli("apply", rehearsal, "--auto-approve", env=ADMIN_ENV).exit_code == 0
        assert server.cli("apply", real, "--auto-approve", env=ADMIN_ENV).exit_code == 0
        after = changes(server.cli("plan", real, "--json", env=ADMIN_ENV))
        assert after == changes(server.cli("plan", rehearsal, "--json", env=ADMIN_ENV))  # both wait on the same steps


def test_exchange_server_twin_reproduces_the_impersonation_ews_proved(server: Tenant) -> None:
    spec = server.spec_file("exchange-server")
    plan = json.loads(server.cli("plan", spec, "--json", env=ADMIN_ENV).stdout)
    assert server.cli("apply", spec, "--auto-approve", env=ADMIN_ENV).exit_code == 0
    for change in plan["changes"]:  # an admin runs the manual steps: the service account may now impersonate
        if change["manual"]:
            assert server.cli("sim", "ems", str(server.tenant), *change["manual"]).exit_code == 0
    assert "No changes" in server.cli("plan", spec, env=ADMIN_ENV).stdout
    twin = server.root / "twin.json"
    with serve([server.tenant]) as process:
        url = process.url
        real = pointed(server, spec, "real", url)
        assert server.cli("sim", "snapshot", real, "--out", str(twin), env=ADMIN_ENV).exit_code == 0
        rehearsal = pointed(server, real, "rehearsal", "../twin.json")
        on_twin = server.cli("plan", rehearsal, "--json", env=ADMIN_ENV)
        assert changes(on_twin) == changes(server.cli("plan", real, "--json", env=ADMIN_ENV))
        assert {c["action"] for c in json.loads(on_twin.stdout)["changes"]} == {"no-op"}
        compared = server.cli("sim", "compare", real, str(twin), env=ADMIN_ENV)
        assert compared.exit_code == 0, compared.stdout
    scopes = json.loads(twin.read_text(encoding="utf-8"))["exchange"]["managementScopes"]
    assert [s["RecipientFilter"] for s in scopes] == ["PrimarySmtpAddress -eq 'alice@contoso.com'"]  # what EWS showed


def test_exchange_server_compare_reports_an_ews_answer_the_twin_gives_differently(server: Tenant) -> None:
    twin = server.root / "twin.json"
    with serve([server.tenant]) as process:
        url = process.url
        real = pointed(server, server.spec_file("exchange-server"), "real", url)
        assert server.cli("sim", "snapshot", real, "--out", str(twin), env=ADMIN_ENV).exit_code == 0
        data = json.loads(twin.read_text(encoding="utf-8"))
        data["faults"] = [{"method": "POST", "path": "^/EWS/", "status": 500}]  # the twin's EWS fails where EWS did not
        twin.write_text(json.dumps(data), encoding="utf-8")
        before = process.operations()
        compared = server.cli("sim", "compare", real, str(twin), env=ADMIN_ENV)
        assert not writes(since(before, process.operations()))
    assert compared.exit_code == 2, compared.output
    rows = [line for line in compared.stdout.splitlines() if line.startswith("| `ews` |")]
    assert rows and any("`HTTP 200` | `HTTP 500` |" in row for row in rows), compared.stdout


def test_exchange_server_twin_keeps_the_rooms_automate_processing_ews_read(server: Tenant) -> None:
    """room_booking on Exchange Server reads each room's calendar options (GetUserConfiguration): the twin answers
    them with the AutomateProcessing the server showed, so the rehearsal plans the same room steps."""
    path = Path(server.spec_file("exchange-server"))
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "rooms: [boardroom@contoso.com]", "rooms: [boardroom@contoso.com, confrooma@contoso.com]"
        )
        + "room_booking:\n  - room_list: Meeting Rooms\n    automate_processing: AutoAccept\n",
        encoding="utf-8",
    )
    ran = server.cli(
        "sim", "ems", str(server.tenant), "Set-CalendarProcessing confrooma -AutomateProcessing AutoAccept"
    )
    assert ran.exit_code == 0, ran.output
    twin = server.root / "twin.json"
    with serve([server.tenant]) as process:
        url = process.url
        real = pointed(server, str(path), "real", url)
        before = process.operations()
        assert server.cli("sim", "snapshot", real, "--out", str(twin), env=ADMIN_ENV).exit_code == 0
        assert since(before, process.operations()).get("ews GetUserConfiguration") == 2
        rehearsal = pointed(server, real, "rehearsal", "../twin.json")
        on_real = changes(server.cli("plan", real, "--json", env=ADMIN_ENV))
        bookings = {a: (action, after) for a, action, after in on_real if a.startswith("room_booking.")}
        assert bookings["room_booking.confrooma@contoso.com"][0] == "no-op"  # AutoAccept, read over EWS
        assert bookings["room_booking.boardroom@contoso.com"][0] == "update"
        assert on_real == changes(server.cli("plan", rehearsal, "--json", env=ADMIN_ENV))
        compared = server.cli("sim", "compare", real, str(twin), env=ADMIN_ENV)
        assert compared.exit_code == 0, compared.output
