"""`reconciler state list|show|rm|pull|push|unlock` on the local backend (Azure Blob: tests/state)."""

from __future__ import annotations

import json

from tests.conftest import Tenant

ROOM_LIST = "room_list.Meeting Rooms"


def _applied(tenant: Tenant) -> str:
    spec = tenant.spec_file("example")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    return spec


def test_rm_forgets_without_touching_the_tenant_and_plan_offers_to_adopt(tenant: Tenant) -> None:
    spec = _applied(tenant)
    before = tenant.tenant.read_bytes()
    removed = tenant.cli("state", "rm", ROOM_LIST, "--spec", spec)
    assert removed.exit_code == 0, removed.output
    assert tenant.tenant.read_bytes() == before
    assert ROOM_LIST not in tenant.cli("state", "list", "--spec", spec).stdout
    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    change = next(c for c in plan["changes"] if c["address"] == ROOM_LIST)
    assert change["action"] == "no-op" and change["import_id"]
    missing = tenant.cli("state", "rm", ROOM_LIST, "--spec", spec)
    assert missing.exit_code == 1 and "not in state" in missing.stderr


def test_show_and_pull(tenant: Tenant) -> None:
    spec = _applied(tenant)
    shown = json.loads(tenant.cli("state", "show", ROOM_LIST, "--spec", spec).stdout)
    assert shown["address"] == ROOM_LIST and shown["created_by_reconciler"] is True
    pulled = json.loads(tenant.cli("state", "pull", "--spec", spec).stdout)
    assert pulled == tenant.state_data_of("example")


def test_push_refuses_an_older_serial_or_another_lineage_without_force(tenant: Tenant) -> None:
    spec = _applied(tenant)
    old = tenant.state_data_of("example")
    assert tenant.cli("state", "rm", ROOM_LIST, "--spec", spec).exit_code == 0
    current = tenant.state_data_of("example")
    assert current["serial"] == old["serial"] + 1

    older = tenant.root / "older.json"
    older.write_text(json.dumps(old), encoding="utf-8")
    refused = tenant.cli("state", "push", str(older), "--spec", spec)
    assert refused.exit_code == 1 and "older than" in refused.stderr
    assert tenant.state_data_of("example") == current

    other = tenant.root / "other.json"
    other.write_text(json.dumps({**current, "lineage": "another", "serial": 99}), encoding="utf-8")
    refused = tenant.cli("state", "push", str(other), "--spec", spec)
    assert refused.exit_code == 1 and "another lineage" in refused.stderr

    forced = tenant.cli("state", "push", str(older), "--spec", spec, "--force")
    assert forced.exit_code == 0, forced.output
    restored = tenant.state_data_of("example")
    assert restored["resources"] == old["resources"] and restored["serial"] > current["serial"]

    newer = tenant.root / "newer.json"
    newer.write_text(json.dumps({**restored, "serial": restored["serial"] + 5}), encoding="utf-8")
    assert tenant.cli("state", "push", str(newer), "--spec", spec).exit_code == 0
    assert tenant.state_data_of("example")["serial"] == restored["serial"] + 5  # pushed as it is


def test_unlock_needs_the_holders_lock_id(tenant: Tenant) -> None:
    spec = _applied(tenant)
    note = tenant.root / "state" / "specs" / "example.json.lock.info"
    note.write_text(
        json.dumps({"id": "abc", "operation": "apply", "who": "ci", "host": "runner", "pid": 1, "created": "x"})
    )
    wrong = tenant.cli("state", "unlock", "nope", "--spec", spec)
    assert wrong.exit_code == 1 and "ci@runner" in wrong.stderr
    assert tenant.cli("state", "unlock", "abc", "--spec", spec).exit_code == 0
    assert not note.exists()
