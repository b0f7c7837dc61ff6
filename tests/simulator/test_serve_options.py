"""`sim serve` options the bench needs: several tenants in one process (routed as Microsoft's shared endpoints route,
by the token's tenant), `--outlook-batch-concurrency` (rounds of latency a `$batch` costs), and admin API listings
paged from one run of their cmdlet. Request counts and rounds from `/_simulator/stats`, never timings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from bench import SPEC
from bench.serve import serve
from reconciler.cli import app
from reconciler.simulator import Simulator, exchange_admin, init_tenant, make_token, read_tenant
from reconciler.simulator.server import TenantClash

OTHER_ID = "3f6d1e7a-0b1c-4d2e-8f90-123456789abc"
ADMIN_APP = "11111111-2222-3333-4444-555555555555"
SVC = "cronofy-svc@contoso.onmicrosoft.com"
PASSWORD = "Serve-options-Pa55!"


def _client(sim: Simulator, tenant_id: str, roles: list[str]) -> httpx.Client:
    token = make_token(tenant_id, ADMIN_APP, roles)
    return httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _stats(url: str) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(f"{url}/_simulator/stats", timeout=30).json()
    return stats


@pytest.fixture
def two(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "contoso.json", tmp_path / "other.json"
    init_tenant(first, rooms=3)
    init_tenant(second, rooms=5, tenant_id=OTHER_ID)
    return first, second


def test_one_process_serves_each_tenant_its_own_data(two: tuple[Path, Path]) -> None:
    first, second = two
    with Simulator(first, more_tenants=[second]) as sim:
        contoso = _client(sim, sim.tenant_id, ["User.ReadWrite.All", "Exchange.ManageAsAppV2"])
        other = _client(sim, OTHER_ID, ["User.ReadWrite.All", "Exchange.ManageAsAppV2"])
        with contoso, other:
            admin = "admin@contoso.onmicrosoft.com"
            assert other.patch(f"/v1.0/users/{admin}", json={"displayName": "Other admin"}).status_code == 204
            assert contoso.get(f"/v1.0/users/{admin}").json()["displayName"] == "MOD Administrator"
            assert other.get(f"/v1.0/users/{admin}").json()["displayName"] == "Other admin"
            body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"RecipientTypeDetails": "RoomMailbox"}}}
            rooms = other.post(f"/adminapi/beta/{OTHER_ID}/InvokeCommand", json=body).json()["value"]
            assert len(rooms) == 5 + 3  # its 5 rooms and the seeded three
            rooms = contoso.post(f"/adminapi/beta/{sim.tenant_id}/InvokeCommand", json=body).json()["value"]
            assert len(rooms) == 3 + 3
            # the admin API's path names the tenant; a token for another one is refused by that tenant's own check
            denied = contoso.post(f"/adminapi/beta/{OTHER_ID}/InvokeCommand", json=body)
            assert denied.status_code == 401
            found = httpx.get(f"{sim.base_url}/{OTHER_ID}/v2.0/.well-known/openid-configuration").json()
            assert OTHER_ID in found["issuer"]
        stats = _stats(sim.base_url)
        assert stats["requests_served"] == 7 == sim.requests_served
        assert stats["tenants"][OTHER_ID]["requests_served"] == 4  # PATCH, GET, Get-Mailbox, discovery
        assert stats["tenants"][sim.tenant_id]["requests_served"] == 3  # GET, Get-Mailbox, the refused call
        assert stats["tenants"][OTHER_ID]["operations"] == {
            "graph PATCH": 1,
            "graph GET": 1,
            "exchange Get-Mailbox": 1,
            "http GET": 1,
        }
    by_upn = {u["userPrincipalName"]: u for u in read_tenant(second)["users"]}
    assert by_upn["admin@contoso.onmicrosoft.com"]["displayName"] == "Other admin"  # saved to its own file
    by_upn = {u["userPrincipalName"]: u for u in read_tenant(first)["users"]}
    assert by_upn["admin@contoso.onmicrosoft.com"]["displayName"] == "MOD Administrator"


def test_two_files_of_one_tenant_are_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    init_tenant(first)
    init_tenant(second)
    with pytest.raises(TenantClash, match="--tenant-id"):
        Simulator(first, more_tenants=[second])
    result = CliRunner().invoke(app, ["sim", "serve", str(first), str(second), "--port", "0"])
    assert result.exit_code == 1 and "one process serves each tenant id once" in result.output
    result = CliRunner().invoke(app, ["sim", "init", str(tmp_path / "c.json"), "--tenant-id", "not-a-guid"])
    assert result.exit_code == 1 and "is not a GUID" in result.output
    assert not (tmp_path / "c.json").exists()
    result = CliRunner().invoke(app, ["sim", "init", str(tmp_path / "c.json"), "--tenant-id", OTHER_ID.upper()])
    assert result.exit_code == 0 and read_tenant(tmp_path / "c.json")["tenant"]["id"] == OTHER_ID


def _batch(outlook: int, directory: int) -> dict[str, Any]:
    requests = [
        {"id": str(n), "method": "GET", "url": f"/users/room{n:03d}@contoso.com/calendar/calendarPermissions"}
        for n in range(1, outlook + 1)
    ]
    requests += [{"id": f"u{n}", "method": "GET", "url": "/users?$top=1"} for n in range(directory)]
    return {"requests": requests}


@pytest.mark.parametrize(
    ("concurrency", "outlook", "rounds"), [(0, 10, 1), (4, 10, 3), (4, 4, 1), (4, 0, 1), (1, 18, 18)]
)
def test_outlook_batch_concurrency_rounds(tmp_path: Path, concurrency: int, outlook: int, rounds: int) -> None:
    tenant = tmp_path / "tenant.json"
    init_tenant(tenant, rooms=20)
    with Simulator(tenant, outlook_batch_concurrency=concurrency) as sim:
        with _client(sim, sim.tenant_id, ["Calendars.Read", "User.Read.All"]) as graph:
            answer = graph.post("/v1.0/$batch", json=_batch(outlook, 2))
            assert answer.status_code == 200
            assert {r["status"] for r in answer.json()["responses"]} == {200}
            assert graph.get("/v1.0/users/room001@contoso.com/calendar/calendarPermissions").status_code == 200
        stats = _stats(sim.base_url)
    assert stats["requests_served"] == 2
    assert stats["latency_rounds"] == rounds + 1  # the batch's rounds, and one for the request on its own


def test_a_listing_runs_its_cmdlet_once_whatever_its_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = tmp_path / "tenant.json"
    init_tenant(tenant, rooms=10)
    runs: list[str] = []
    real = exchange_admin.invoke

    def counted(data: dict[str, Any], name: str, *args: Any, **kwargs: Any) -> exchange_admin.Result:
        runs.append(name)
        return real(data, name, *args, **kwargs)

    monkeypatch.setattr(exchange_admin, "invoke", counted)
    body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"ResultSize": "Unlimited"}}}
    with Simulator(tenant) as sim, _client(sim, sim.tenant_id, ["Exchange.ManageAsAppV2"]) as exo:
        url = f"/adminapi/v2.0/{sim.tenant_id}/Mailbox"
        whole = [m["Guid"] for m in exo.post(url, json=body).json()["value"]]
        assert len(whole) == 18 and runs == ["Get-Mailbox"]
        seen: list[str] = []
        next_url: str | None = url
        while next_url:
            page = exo.post(next_url, json=body, headers={"Prefer": "odata.maxpagesize=3"}).json()
            seen += [m["Guid"] for m in page["value"]]
            next_url = page.get("@odata.nextLink")
        assert seen == whole and runs == ["Get-Mailbox"] * 2  # 6 pages, one run
        # a cursor no longer kept (or a bare count) runs the cmdlet again and skips as many rows
        stale = exo.post(f"{url}?$skiptoken=gone.15", json=body, headers={"Prefer": "odata.maxpagesize=3"}).json()
        assert [m["Guid"] for m in stale["value"]] == whole[15:] and "@odata.nextLink" not in stale
        assert runs == ["Get-Mailbox"] * 3


def test_fleet_drift_against_one_served_process(two: tuple[Path, Path], tmp_path: Path) -> None:
    """`drift A B` through the CLI, both tenants in one `sim serve`: each tenant answers its own spec's reads."""
    first, second = two
    with serve([first, second]) as process:
        url = process.url
        specs = []
        for name, tenant_id in (("contoso", read_tenant(first)["tenant"]["id"]), ("other", OTHER_ID)):
            folder = tmp_path / name
            folder.mkdir()
            (folder / "spec.yaml").write_text(SPEC.format(tenant_id=tenant_id, url=url), encoding="utf-8")
            specs.append(str(folder / "spec.yaml"))
        result = CliRunner().invoke(
            app, ["drift", *specs, "--format", "json", "--lock=false"], env={"BENCH_SVC_PASSWORD": PASSWORD}
        )
        assert result.exit_code == 2, result.output  # nothing applied yet: each spec's items are unsatisfied
        report = json.loads(result.stdout)
        assert report["failed"] == [] and sorted(report["drifted"]) == sorted(specs)
        stats = _stats(url)
    per = stats["tenants"]
    assert set(per) == {read_tenant(first)["tenant"]["id"], OTHER_ID}
    assert all(t["requests_served"] > 0 for t in per.values())
    assert sum(t["requests_served"] for t in per.values()) == stats["requests_served"]
    assert not any(
        op.split(" ")[1][:3] in ("PAT", "POS", "DEL", "Add", "Set", "New")
        for t in per.values()
        for op in t["operations"]
    )
