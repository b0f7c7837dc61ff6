"""`reconciler import ADDRESS ID`: adopt an object made by hand, so apply manages it instead of making a second.

The plan names spec objects that exist but are not in state, with the import command for each."""

from __future__ import annotations

import json

from tests.conftest import Tenant

SVC = "cronofy-svc@contoso.onmicrosoft.com"


def _made_by_hand(tenant: Tenant) -> str:
    """The guide's room list, made by an admin in the Exchange Management Shell; its Guid."""
    rows = tenant.exchange("New-DistributionGroup", {"Name": "Meeting Rooms", "RoomList": True})
    tenant.exchange("Add-DistributionGroupMember", {"Identity": "Meeting Rooms", "Member": "boardroom@contoso.com"})
    return str(rows[0]["Guid"])


def test_plan_offers_the_import_and_import_then_plan_has_no_create(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    guid = _made_by_hand(tenant)

    plan = tenant.cli("plan", spec)
    assert plan.exit_code == 0, plan.output
    assert "1 object(s) the spec asks for already exist in the tenant but are not in state" in plan.stdout
    assert f"reconciler import --spec {spec} 'room_list.Meeting Rooms' {guid}" in plan.stdout
    planned = json.loads(tenant.cli("plan", spec, "--json").stdout)
    assert planned["summary"]["adopt"] == 1
    assert [c["import_id"] for c in planned["changes"] if c["import_id"]] == [guid]

    before = tenant.tenant.read_bytes()
    imported = tenant.cli("import", "room_list.Meeting Rooms", guid, "--spec", spec)
    assert imported.exit_code == 0, imported.output
    assert tenant.tenant.read_bytes() == before  # import changes nothing in the tenant
    record = next(r for r in tenant.state_data_of("example")["resources"] if r["address"] == "room_list.Meeting Rooms")
    assert record["id"] == guid and record["created_by_reconciler"] is False

    after = json.loads(tenant.cli("plan", spec, "--json").stdout)
    room_list = next(c for c in after["changes"] if c["address"] == "room_list.Meeting Rooms")
    assert room_list["action"] == "no-op" and room_list["import_id"] is None
    assert after["summary"]["adopt"] == 0

    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    lists = [r for r in tenant.tenant_data()["exchange"]["recipients"] if r["Name"] == "Meeting Rooms"]
    assert len(lists) == 1  # adopted, not made twice


def test_import_by_natural_key_of_a_user(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    assert tenant.cli("apply", spec, "--auto-approve", "--target", "user.service_account").exit_code == 0
    assert tenant.cli("state", "rm", "user.service_account", "--spec", spec).exit_code == 0
    imported = tenant.cli("import", "user.service_account", SVC.upper(), "--spec", spec)
    assert imported.exit_code == 0, imported.output
    plan = json.loads(tenant.cli("plan", spec, "--json").stdout)
    user = next(c for c in plan["changes"] if c["address"] == "user.service_account")
    assert user["action"] == "no-op"


def test_import_refuses_what_it_cannot_adopt(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    guid = _made_by_hand(tenant)
    before = tenant.tenant.read_bytes()

    typo = tenant.cli("import", "room_list.Meeting Roms", guid, "--spec", spec)
    assert typo.exit_code == 1 and "did you mean room_list.Meeting Rooms?" in typo.stderr

    missing = tenant.cli("import", "user.service_account", "nobody@contoso.onmicrosoft.com", "--spec", spec)
    assert missing.exit_code == 1
    assert "is not the object the spec means" in missing.stderr or "no user" in missing.stderr

    wrong = tenant.cli("import", "room_list.Meeting Rooms", "00000000-0000-0000-0000-000000000000", "--spec", spec)
    assert wrong.exit_code == 1 and "is not the object the spec means by room_list.Meeting Rooms" in wrong.stderr

    assert tenant.cli("import", "room_list.Meeting Rooms", guid, "--spec", spec).exit_code == 0
    again = tenant.cli("import", "room_list.Meeting Rooms", guid, "--spec", spec)
    assert again.exit_code == 1 and "already in state" in again.stderr and "state rm" in again.stderr
    for result in (typo, missing, wrong, again):
        assert "Traceback" not in result.output
    assert tenant.tenant.read_bytes() == before
