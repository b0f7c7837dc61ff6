"""Interrupting apply with real signals (SIGINT, SIGTERM) at many moments of a slow apply.

The first signal lets the writes in flight finish, records them, writes state, releases the lock and exits 130
("Interrupted: N done, M not started"); the next apply finds nothing to adopt and converges, and every object
reconciler made is recorded as made by it. A second signal stops at once, naming the writes that may be
unrecorded; the next plan re-reads them (state kept their intents) and adopts them as made by reconciler.

Moments are chosen by request count, never by sleeping: the simulator's fault rules hold the N-th request
(`delay_ms`, after N - 1 requests pass), and the signal is sent once the rule has fired, so it lands while request N
is in flight. Which requests are reads and which are writes is measured once, on a tenant of its own, with the
same spec.
"""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.resources import KINDS
from reconciler.simulator import Simulator, init_tenant
from reconciler.simulator.store import journal_path
from reconciler.state.model import State
from tests.conftest import PASSWORD, Workspace

ROOMS = 45  # with alice..dave and the rooms of the seed: 51 folder permissions, three `$batch` writes of 20
HOLD_MS = 250  # how long the chosen request is held (in flight) while a signal is sent
PARALLELISM = ("--parallelism", "1")  # one `$batch` at a time, so a signal can land between two of them
SPEC = """\
version: 1
tenant:
  id: {tenant_id}
  domain: contoso.onmicrosoft.com
  simulator: {url}
target: exchange_online
service_account:
  user_principal_name: cronofy-svc@contoso.onmicrosoft.com
  display_name: Cronofy Service Account
  password: ${{env:CRONOFY_SVC_PASSWORD}}
  usage_location: US
  licenses: [EXCHANGESTANDARD]
integration:
  app_id: 10bb7e5b-b80b-4e6e-a209-f78581dbc79e
access:
  level: free_busy
  scope_group: cronofy-scope@contoso.com
  mailboxes:
    group: cronofy-scope@contoso.com
room_lists:
  - name: Meeting Rooms
    rooms: [Board room]
"""
SUMMARY = re.compile(r"Interrupted: (\d+) done, (\d+) not started")


class Served(Workspace):
    """A tenant served over HTTP (as `reconciler sim serve` does) and a spec pointing at it."""

    sim: Simulator

    def hold(self, request: int, ms: int = HOLD_MS) -> dict[str, Any]:
        """Fault rules (served only, never saved) that hold the `request`-th request from now for `ms`: the
        rule that holds it, whose `fired` is set as it arrives."""
        passing = {"method": "*", "path": "", "delay_ms": 1, "times": request - 1}
        held: dict[str, Any] = {"method": "*", "path": "", "delay_ms": ms, "times": 1}
        self.sim.store.runtime_faults[:] = [passing, held] if request > 1 else [held]
        return held

    def apply_process(self, *args: str) -> subprocess.Popen[str]:
        env = {"PYTHONUNBUFFERED": "1"}
        return self.process("apply", str(self.spec), "--auto-approve", *PARALLELISM, *args, env=env)

    def requests(self) -> int:
        return self.sim.requests_served

    def records(self) -> list[dict[str, Any]]:
        if not self.state.exists():
            return []
        records: list[dict[str, Any]] = self.state_data()["resources"]
        return records

    def assert_state_valid_and_unlocked(self) -> State:
        state = State.model_validate_json(self.state.read_text(encoding="utf-8")) if self.state.exists() else State()
        assert not self.state.with_name(self.state.name + ".lock.info").exists(), "the lock was not released"
        return state


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from _served(tmp_path)


def _served(root: Path) -> Iterator[Served]:
    tenant = root / "tenant.json"
    data = init_tenant(tenant, rooms=ROOMS)
    with Simulator(tenant) as sim:
        workspace = Served(root, tenant, data["tenant"]["id"])
        workspace.sim = sim
        workspace.write_spec(text=SPEC.format(tenant_id=workspace.tenant_id, url=sim.base_url))
        yield workspace
        workspace.assert_no_secret_on_disk()


@dataclass(frozen=True)
class Calibration:
    """What one uninterrupted apply of SPEC does: its reads come first, then its writes."""

    reads: int  # requests of the refresh (what `plan` sends)
    writes: int  # requests apply sends after them
    objects: int  # records in state afterwards
    batches: int  # the folder permissions' `$batch` writes (the last writes)
    permissions: int  # folder permissions made


@pytest.fixture(scope="module")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Calibration]:
    for workspace in _served(tmp_path_factory.mktemp("calibration")):
        before = workspace.requests()
        plan = workspace.cli("plan", str(workspace.spec), "--json", *PARALLELISM)
        assert plan.exit_code == 0, plan.output
        reads = workspace.requests() - before
        permissions = sum(1 for c in json.loads(plan.stdout)["changes"] if c["kind"] == "calendar_permission")
        before = workspace.requests()
        applied = workspace.cli("apply", str(workspace.spec), "--auto-approve", *PARALLELISM)
        assert applied.exit_code == 0, applied.output
        writes = workspace.requests() - before - reads
        yield Calibration(reads, writes, len(workspace.records()), math.ceil(permissions / 20), permissions)


def _wait_until(reached: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Poll (every 2 ms) until `reached`; the apply must still be running then."""
    while not reached():
        assert process.poll() is None, "apply ended before the moment was reached"
        time.sleep(0.002)


def _journal(served: Served) -> tuple[Path, int]:
    """The tenant's journal (one line per write the tenant carried out) and its lines now."""
    journal = journal_path(served.tenant)
    return journal, journal.read_text(encoding="utf-8").count("\n")


def _carried_out(journal: Path, lines: int) -> None:
    """Wait until the tenant has carried out the held `$batch` (its delay over): one more journal line."""
    while not journal.exists() or journal.read_text(encoding="utf-8").count("\n") == lines:
        time.sleep(0.01)


def _converges(served: Served, calibration: Calibration) -> None:
    """The next apply adopts nothing as made by an interrupted apply (the interrupted one recorded what it made)
    and converges; every object it did not find in state it made itself, so all are recorded as made by
    reconciler (a license assignment, which exists as soon as its user does and is never deleted, aside)."""
    again = served.cli("apply", str(served.spec), "--auto-approve")
    assert again.exit_code == 0, again.output
    assert "interrupted" not in again.stdout, again.stdout
    assert served.cli("plan", str(served.spec), "--detailed-exitcode").exit_code == 0
    records = served.records()
    assert len(records) == calibration.objects
    assert all(r["created_by_reconciler"] for r in records if KINDS[r["kind"]].deletable), records
    assert "intents" not in served.state_data()


# The moment of the signal: 0 is during the refresh (nothing written yet); n is while the n-th write is in flight
# (the last ones are the folder permissions' `$batch` requests). Odd moments send SIGTERM, even ones SIGINT.
MOMENTS = range(11)


@pytest.mark.parametrize("moment", MOMENTS)
def test_first_signal_finishes_the_writes_in_flight_and_records_them(
    served: Served, calibration: Calibration, moment: int
) -> None:
    assert len(MOMENTS) - 1 <= calibration.writes, f"the spec makes only {calibration.writes} write requests"
    held = served.hold(calibration.reads // 2 if moment == 0 else calibration.reads + moment)
    process = served.apply_process()
    _wait_until(lambda: bool(held.get("fired")), process)
    process.send_signal(signal.SIGTERM if moment % 2 else signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stdout + stderr
    state = served.assert_state_valid_and_unlocked()
    assert not state.intents  # every write in flight finished and was recorded
    if moment == 0:
        assert "Interrupted: stopped at once; nothing was being written" in stderr, stderr
        assert not state.resources
    else:
        assert "Interrupt received: finishing the" in stderr and "up to 60 s;" in stderr, stderr
        summary = SUMMARY.search(stderr)
        assert summary is not None, stderr
        done, left = int(summary[1]), int(summary[2])
        assert done >= 1 and done + left == calibration.objects
        assert len(state.resources) == done
        assert all(r.created_by_reconciler for r in state.resources)  # all made by this apply
    _converges(served, calibration)


def _first_batch(calibration: Calibration) -> int:
    """The request number of the first `$batch` of folder permissions (the last writes)."""
    return calibration.reads + calibration.writes - calibration.batches + 1


def test_second_signal_stops_at_once_and_the_next_plan_adopts_as_made_by_reconciler(
    served: Served, calibration: Calibration, capfd: pytest.CaptureFixture[str]
) -> None:
    held = served.hold(_first_batch(calibration), 3000)  # long enough for two signals while it is in flight
    process = served.apply_process()
    _wait_until(lambda: bool(held.get("fired")), process)
    journal, written = _journal(served)
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    notice = process.stderr.readline()
    assert "Interrupt received: finishing the" in notice and "press Ctrl-C again" in notice, notice
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert "may have been carried out but not recorded" in stderr, stderr
    unrecorded = [line.strip() for line in stderr.splitlines() if line.startswith("  calendar_permission.")]
    assert len(unrecorded) == calibration.permissions, stderr  # the chunk being written: all of them
    assert "offers to adopt those that exist as made by reconciler" in stderr

    _carried_out(journal, written)  # the tenant carries out the held `$batch` once its hold is over
    state = served.assert_state_valid_and_unlocked()
    assert {i.address for i in state.intents} == set(unrecorded)

    plan = served.cli("plan", str(served.spec), "--json")
    adopted = [c for c in json.loads(plan.stdout)["changes"] if c.get("interrupted")]
    assert len(adopted) == 20 and {c["address"] for c in adopted} <= set(unrecorded)
    assert all(c["import_id"] for c in adopted)
    human = served.cli("plan", str(served.spec))
    assert "20 object(s) were written by an apply that was interrupted" in human.stdout, human.stdout

    again = served.cli("apply", str(served.spec), "--auto-approve")
    assert again.exit_code == 0, again.output
    records = {r["address"]: r for r in served.records()}
    assert all(records[c["address"]]["created_by_reconciler"] for c in adopted)
    assert served.cli("plan", str(served.spec), "--detailed-exitcode").exit_code == 0
    assert all(r["created_by_reconciler"] for r in records.values() if KINDS[r["kind"]].deletable)
    assert "intents" not in served.state_data()
    assert "Traceback" not in capfd.readouterr().err  # the tenant says nothing of a client that went away


def test_the_writes_in_flight_are_abandoned_after_the_timeout(served: Served, calibration: Calibration) -> None:
    """`--interrupt-timeout`: writes in flight that outlast it are abandoned as by a second signal."""
    held = served.hold(_first_batch(calibration), 2000)
    process = served.apply_process("--interrupt-timeout", "0.2")
    _wait_until(lambda: bool(held.get("fired")), process)
    journal, written = _journal(served)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert "up to 0.2 s;" in stderr and "did not finish within 0.2 s" in stderr, stderr
    assert "may have been carried out but not recorded" in stderr
    served.assert_state_valid_and_unlocked()
    _carried_out(journal, written)


@pytest.mark.parametrize("request_number", [1, 2, 4, 7])
def test_interrupt_outside_apply_exits_130(served: Served, request_number: int) -> None:
    """A plan interrupted while it resolves (kinds side by side) or refreshes stops at once (nothing is written),
    exit 130, whatever look-ups are in flight in other threads."""
    held = served.hold(request_number)
    process = served.process("plan", str(served.spec), env={"PYTHONUNBUFFERED": "1"})
    _wait_until(lambda: bool(held.get("fired")), process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Interrupted: stopped at once" in stderr, stderr
    assert served.cli("plan", str(served.spec)).exit_code == 0  # nothing left locked


# Exchange Server: the folder permissions are EWS writes (apply runs them; scopes and assignments are printed for the
# Exchange Management Shell). The same two guarantees hold when the write in flight is an EWS request.
SERVER_ROOMS = 8
SERVER_SPEC = """\
version: 1
tenant:
  domain: contoso.com
  simulator: {url}
target: exchange_server
exchange_server:
  ews_url: https://mail.contoso.com/EWS/Exchange.asmx
  username: reconciler-admin@contoso.com
  password: ${{env:EXCHANGE_ADMIN_PASSWORD}}
  auth: basic
service_account:
  user_principal_name: cronofy-svc@contoso.com
  display_name: Cronofy service
  password: ${{env:CRONOFY_SVC_PASSWORD}}
access:
  level: restricted
  scope_group: cronofy-scope@contoso.com
  mailboxes:
    addresses: [{addresses}]
"""
ADMIN = {"EXCHANGE_ADMIN_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def on_premises(tmp_path: Path) -> Iterator[Served]:
    tenant = tmp_path / "tenant.json"
    init_tenant(tenant, rooms=SERVER_ROOMS, flavor="exchange_server", ad_password=PASSWORD)
    with Simulator(tenant) as sim:
        workspace = Served(tmp_path, tenant, "")
        workspace.sim = sim
        rooms = ", ".join(f"room{n:03d}@contoso.com" for n in range(1, SERVER_ROOMS + 1))
        workspace.write_spec(text=SERVER_SPEC.format(url=sim.base_url, addresses=rooms))
        yield workspace
        workspace.assert_no_secret_on_disk()


def _server_reads(served: Served) -> int:
    """The requests of the refresh (a plan's), measured on the tenant itself before anything is written."""
    before = served.requests()
    plan = served.cli("plan", str(served.spec), "--json", *PARALLELISM, env=ADMIN)
    assert plan.exit_code == 0, plan.output
    assert sum(1 for c in json.loads(plan.stdout)["changes"] if c["kind"] == "calendar_permission") == SERVER_ROOMS
    return served.requests() - before


def _permissions_converge(served: Served) -> None:
    again = served.cli("apply", str(served.spec), "--auto-approve", env=ADMIN)
    assert again.exit_code == 0, again.output
    plan = json.loads(served.cli("plan", str(served.spec), "--json", env=ADMIN).stdout)
    assert all(c["action"] == "no-op" for c in plan["changes"] if c["kind"] == "calendar_permission"), plan
    permissions = [r for r in served.records() if r["kind"] == "calendar_permission"]
    assert len(permissions) == SERVER_ROOMS and all(r["created_by_reconciler"] for r in permissions)
    assert "intents" not in served.state_data()


@pytest.mark.parametrize("moment", [1, 4, 9])
def test_exchange_server_first_signal_finishes_the_ews_write_in_flight(on_premises: Served, moment: int) -> None:
    held = on_premises.hold(_server_reads(on_premises) + moment)
    process = on_premises.process("apply", str(on_premises.spec), "--auto-approve", *PARALLELISM, env=ADMIN)
    _wait_until(lambda: bool(held.get("fired")), process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    state = on_premises.assert_state_valid_and_unlocked()
    assert not state.intents
    summary = SUMMARY.search(stderr)
    assert summary is not None, stderr
    assert int(summary[1]) == len(state.resources) >= 1
    assert all(r.created_by_reconciler for r in state.resources)
    _permissions_converge(on_premises)


def test_exchange_server_second_signal_leaves_an_intent_the_next_plan_adopts(on_premises: Served) -> None:
    _server_reads(on_premises)
    held: dict[str, Any] = {"operation": "ews UpdateFolder", "delay_ms": 3000, "times": 1}  # the first EWS write
    on_premises.sim.store.runtime_faults[:] = [held]
    process = on_premises.process("apply", str(on_premises.spec), "--auto-approve", *PARALLELISM, env=ADMIN)
    _wait_until(lambda: bool(held.get("fired")), process)
    journal = journal_path(on_premises.tenant)
    written = journal.read_text(encoding="utf-8").count("\n") if journal.exists() else 0
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    assert "Interrupt received: finishing the" in process.stderr.readline()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "may have been carried out but not recorded" in stderr, stdout + stderr
    unrecorded = {line.strip() for line in stderr.splitlines() if line.startswith("  calendar_permission.")}
    assert len(unrecorded) == SERVER_ROOMS, stderr  # the chunk being written (EWS: one mailbox at a time in it)
    _carried_out(journal, written)  # the held UpdateFolder is carried out once its hold is over
    assert {i.address for i in on_premises.assert_state_valid_and_unlocked().intents} == unrecorded
    plan = json.loads(on_premises.cli("plan", str(on_premises.spec), "--json", env=ADMIN).stdout)
    adopted = {c["address"] for c in plan["changes"] if c.get("interrupted")}
    assert len(adopted) == 1 and adopted <= unrecorded  # the one carried out; the rest are planned again
    _permissions_converge(on_premises)


@pytest.mark.parametrize("request_number", [1, 2])
def test_exchange_server_interrupt_outside_apply_exits_130(on_premises: Served, request_number: int) -> None:
    held = on_premises.hold(request_number)
    process = on_premises.process("plan", str(on_premises.spec), env=ADMIN)
    _wait_until(lambda: bool(held.get("fired")), process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Interrupted: stopped at once" in stderr, stderr
    assert "Traceback" not in stderr
