"""Request counts at scale (not timed: speed lives in `make bench`). A regression to one request per
mailbox fails here."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import SPEC
from reconciler.simulator import Simulator, init_tenant
from tests.conftest import Workspace

ROOMS = 200
FIXED = 12  # user, licenses, SKUs, group, members, scope, service principal, role assignments, ...


class Served(Workspace):
    sim: Simulator

    def count(self, *args: str) -> tuple[int, str]:
        before = self.sim.requests_served
        result = self.cli(*args, env={"BENCH_SVC_PASSWORD": "Scale-test-Pa55word!"})
        assert result.exit_code == 0, result.output
        return self.sim.requests_served - before, result.stdout


@pytest.fixture
def big(tmp_path: Path) -> Iterator[Served]:
    tenant = tmp_path / "tenant.json"
    data = init_tenant(tenant, rooms=ROOMS)
    with Simulator(tenant) as sim:
        workspace = Served(tmp_path, tenant, data["tenant"]["id"])
        workspace.sim = sim
        workspace.write_spec(text=SPEC.format(tenant_id=workspace.tenant_id, url=sim.base_url))
        yield workspace


def mailboxes(plan: dict[str, Any]) -> int:
    """The calendar permissions in a `plan --json` document (parsed JSON, hence Any)."""
    return sum(1 for c in plan["changes"] if c["kind"] == "calendar_permission")


def test_plan_reads_mailboxes_in_batches_of_20(big: Served) -> None:
    requests, stdout = big.count("plan", str(big.spec), "--json")
    count = mailboxes(json.loads(stdout))
    assert count >= ROOMS
    assert requests <= math.ceil(count / 20) + FIXED, requests


def test_sequential_baseline_is_one_request_per_mailbox(big: Served) -> None:
    requests, stdout = big.count("plan", str(big.spec), "--json", "--no-batch", "--parallelism", "1")
    assert requests >= mailboxes(json.loads(stdout))


def test_apply_writes_in_batches_and_converges(big: Served) -> None:
    requests, stdout = big.count("apply", str(big.spec), "--auto-approve")
    assert "calendar_permission: 206/206 done" in stdout  # progress, by count when there are many
    count = ROOMS + 6
    # read batches + write batches + the service account, role assignment and their reads
    assert requests <= 2 * math.ceil(count / 20) + 2 * FIXED, requests
    requests, stdout = big.count("plan", str(big.spec))
    assert "No changes." in stdout


def test_throttled_items_in_a_batch_are_retried_alone(big: Served) -> None:
    faults = [
        {
            "method": "GET",
            "path": "^/users/room01[0-9]@contoso.com/calendar",
            "status": 429,
            "times": 5,
            "retry_after": 1,
        }
    ]
    big.sim.store.data["faults"] = faults
    _, stdout = big.count("plan", str(big.spec), "--json")
    assert mailboxes(json.loads(stdout)) >= ROOMS
    assert big.sim.store.data["faults"][0]["times"] == 0


def test_a_failed_item_in_a_batch_is_an_error_naming_it(big: Served) -> None:
    big.sim.store.data["faults"] = [{"method": "GET", "path": "^/users/room042@contoso.com/calendar", "status": 500}]
    result = big.cli("plan", str(big.spec), env={"BENCH_SVC_PASSWORD": "Scale-test-Pa55word!"})
    assert result.exit_code == 1
    assert "GET /users/room042@contoso.com/calendar/calendarPermissions failed (in $batch)" in result.stderr
    assert "will be created" not in result.stdout


def _csv_spec(big: Served, aliases: list[str]) -> None:
    (big.root / "many.csv").write_text("alias\n" + "\n".join(aliases) + "\n", encoding="utf-8")
    text = big.spec.read_text(encoding="utf-8").replace("    group: cronofy-scope@contoso.com", "    csv: many.csv")
    big.write_spec(text=text)


def test_many_csv_aliases_are_resolved_from_one_mailbox_listing(big: Served) -> None:
    _csv_spec(big, [f"room{i:03d}" for i in range(1, 61)])
    requests, stdout = big.count("plan", str(big.spec), "--json")
    assert mailboxes(json.loads(stdout)) == 60
    assert requests <= math.ceil(60 / 20) + FIXED, requests


def test_unknown_aliases_in_a_large_csv_are_each_named_at_their_line(big: Served) -> None:
    aliases = [f"room{i:03d}" for i in range(1, 30)]
    _csv_spec(big, [*aliases[:5], "no-such-room", *aliases[5:], "nobody", "ghost"])
    result = big.cli("plan", str(big.spec), env={"BENCH_SVC_PASSWORD": "Scale-test-Pa55word!"})
    assert result.exit_code == 1
    for line, alias in ((7, "no-such-room"), (32, "nobody"), (33, "ghost")):
        assert f"many.csv:{line}: mailbox '{alias}' does not exist in the tenant" in result.stderr, result.stderr


def test_a_large_room_list_is_resolved_from_one_mailbox_listing(big: Served) -> None:
    """100 rooms by alias: one Get-Mailbox listing, not 100 Get-Recipient calls."""
    rooms = [f"room{i:03d}" for i in range(1, 101)]
    text = SPEC.format(tenant_id=big.tenant_id, url=big.sim.base_url)
    big.write_spec(text=text + "room_lists:\n  - name: All Rooms\n    rooms: [" + ", ".join(rooms) + "]\n")
    requests, stdout = big.count("plan", str(big.spec), "--json")
    room_list = next(c for c in json.loads(stdout)["changes"] if c["kind"] == "room_list")
    assert len(room_list["after"]["rooms"]) == 100
    assert requests <= math.ceil(mailboxes(json.loads(stdout)) / 20) + FIXED + 2, requests
