"""What a large apply costs, counted (not timed: speed lives in `make bench`): writes go in `$batch`es of 20,
state is written once per chunk of bulk changes (with the next chunk's intents), and the human plan prints every
change. A regression to a write per mailbox, or to a state write per change, fails here."""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import SPEC
from reconciler.engine.apply import MAX_CHUNKS, chunk_size
from reconciler.simulator import Simulator, init_tenant
from reconciler.state.local import LocalBackend
from reconciler.state.model import State
from tests.conftest import Workspace

ROOMS = 700  # with the group's other members, 706 calendar permissions: two chunks of at most 640
FIXED = 12  # user, licenses, SKUs, group, members, scope, service principal, role assignments, ...
ENV = {"BENCH_SVC_PASSWORD": "Scale-test-Pa55word!"}


class Served(Workspace):
    sim: Simulator

    def operations(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.sim.base_url}/_simulator/stats", timeout=30) as answer:  # loopback
            stats: dict[str, Any] = json.loads(answer.read())
        return dict(stats["operations"])


@pytest.fixture
def big(tmp_path: Path) -> Iterator[Served]:
    tenant = tmp_path / "tenant.json"
    data = init_tenant(tenant, rooms=ROOMS)
    with Simulator(tenant) as sim:
        workspace = Served(tmp_path, tenant, data["tenant"]["id"])
        workspace.sim = sim
        workspace.write_spec(text=SPEC.format(tenant_id=workspace.tenant_id, url=sim.base_url))
        yield workspace


def test_chunks_are_whole_rounds_of_batches_and_at_most_twenty() -> None:
    for changes in (1, 499, 706, 10_000, 50_000, 200_000):
        size = chunk_size(changes, 8)
        assert size % (20 * 8) == 0 and size >= 500
        assert math.ceil(changes / size) <= MAX_CHUNKS
    assert chunk_size(10_000, 8) == 640 and chunk_size(50_000, 8) == 2560  # the crash window README states


def test_apply_writes_in_batches_and_state_once_per_chunk(big: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    planned = big.cli("plan", str(big.spec), "--json", env=ENV)
    assert planned.exit_code == 0, planned.output
    changes = [c for c in json.loads(planned.stdout)["changes"] if c["action"] != "no-op"]
    bulk = sum(1 for c in changes if c["kind"] == "calendar_permission")
    assert bulk >= ROOMS
    writes: list[State] = []
    write = LocalBackend.write

    def counted(self: LocalBackend, state: State, exact: bool = False) -> State:
        writes.append(state)
        return write(self, state, exact)

    monkeypatch.setattr(LocalBackend, "write", counted)
    before, served = big.operations(), big.sim.requests_served
    applied = big.cli("apply", str(big.spec), "--auto-approve", env=ENV)
    assert applied.exit_code == 0, applied.output
    requests = big.sim.requests_served - served
    after = big.operations()
    assert after.get("graph POST", 0) - before.get("graph POST", 0) >= bulk  # each permission once, in a $batch
    # reads in batches, writes in batches, and the few single changes with their reads
    assert requests <= 2 * math.ceil(bulk / 20) + 2 * FIXED, requests
    chunks = math.ceil(bulk / chunk_size(bulk, 8))
    singles = len(changes) - bulk
    # one write before each single change or chunk (the last results with the next intents), one at the end, and
    # the claim of an unowned state
    assert len(writes) <= singles + chunks + 2, len(writes)
    assert applied.stdout.count("will be created") == len(changes)  # the human plan prints every change
    again = big.cli("plan", str(big.spec), env=ENV)
    assert "No changes." in again.stdout
    assert big.state_data()["serial"] <= len(writes)
