"""Core story end to end: CLI -> engine -> msgraph-sdk -> simulated tenant -> state."""

from __future__ import annotations

import json
import signal
import time

from tests.conftest import E3, PASSWORD, SVC, Workspace


def test_create_from_nothing(ws: Workspace) -> None:
    plan = ws.cli("plan", str(ws.spec))
    assert plan.exit_code == 0, plan.output
    assert '+ user "service_account"' in plan.stdout
    assert "password" in plan.stdout and "(sensitive)" in plan.stdout
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan.stdout

    applied = ws.cli("apply", str(ws.spec), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "user.service_account: created" in applied.stdout
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in applied.stdout

    user = ws.graph_json(f"/users/{SVC}?$select=id,displayName,accountEnabled,usageLocation")
    assert user["displayName"] == "Cronofy Service Account"
    assert user["accountEnabled"] is True and user["usageLocation"] == "US"
    assert ws.graph_json(f"/users/{SVC}/licenseDetails")["value"] == []

    state = ws.state_data()
    assert state["version"] == 1 and state["serial"] >= 1
    assert ws.state.stat().st_mode & 0o777 == 0o600
    records = {r["address"]: r for r in state["resources"]}
    assert records["user.service_account"]["id"] == user["id"]
    assert records["user.service_account"]["created_by_reconciler"] is True
    assert records["license_assignment.service_account"]["attributes"]["skus"] == []


def test_second_apply_is_a_no_op(ws: Workspace) -> None:
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    serial = ws.state_data()["serial"]
    lineage = ws.state_data()["lineage"]

    again = ws.cli("apply", str(ws.spec), "--auto-approve")
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout
    assert "0 added, 0 changed, 0 destroyed" in again.stdout
    assert ws.state_data()["serial"] == serial
    assert ws.state_data()["lineage"] == lineage

    plan = ws.cli("plan", str(ws.spec), "--detailed-exitcode")
    assert plan.exit_code == 0 and "No changes." in plan.stdout


def test_update_in_place(ws: Workspace) -> None:
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    user_id = ws.state_data()["resources"][-1]["id"] or ws.graph_json(f"/users/{SVC}")["id"]
    ws.write_spec(display_name="Cronofy Calendar Sync")

    plan = ws.cli("plan", str(ws.spec), "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert '~ user "service_account"' in plan.stdout
    assert "~ display_name" in plan.stdout
    assert '"Cronofy Service Account" -> "Cronofy Calendar Sync"' in plan.stdout
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in plan.stdout

    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    user = ws.graph_json(f"/users/{SVC}?$select=id,displayName")
    assert user["displayName"] == "Cronofy Calendar Sync"
    assert user["id"] == user_id or user_id is None  # same object, changed in place
    assert "No changes." in ws.cli("plan", str(ws.spec)).stdout


def test_license_removal(ws: Workspace) -> None:
    ws.write_spec(licenses="[ENTERPRISEPACK]")
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    skus = [d["skuPartNumber"] for d in ws.graph_json(f"/users/{SVC}/licenseDetails")["value"]]
    assert skus == ["ENTERPRISEPACK"]

    ws.write_spec(licenses="[]")  # guide step 6: deselect the assigned license
    plan = ws.cli("plan", str(ws.spec))
    assert "~ skus" in plan.stdout and '["ENTERPRISEPACK"] -> []' in plan.stdout, plan.stdout
    applied = ws.cli("apply", str(ws.spec), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert ws.graph_json(f"/users/{SVC}/licenseDetails")["value"] == []


def test_drift_after_out_of_band_change(ws: Workspace) -> None:
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    assert ws.cli("drift", str(ws.spec)).exit_code == 0

    assert ws.graph("PATCH", f"/users/{SVC}", {"displayName": "Renamed by someone"}).exit_code == 0
    license = {"addLicenses": [{"disabledPlans": [], "skuId": E3}], "removeLicenses": []}
    assert ws.graph("POST", f"/users/{SVC}/assignLicense", license).exit_code == 0

    drift = ws.cli("drift", str(ws.spec))
    assert drift.exit_code == 2, drift.output
    assert "user.service_account: changed outside reconciler" in drift.stdout
    assert 'display_name: spec says "Cronofy Service Account", tenant has "Renamed by someone"' in drift.stdout
    assert "license_assignment.service_account" in drift.stdout

    report = json.loads(ws.cli("drift", str(ws.spec), "--json").stdout)
    assert report["drifted"] is True
    by_address = {e["address"]: e for e in report["entries"]}
    skus = by_address["license_assignment.service_account"]["attributes"][0]
    assert skus["name"] == "skus" and skus["actual"] == ["ENTERPRISEPACK"] and skus["expected"] == []
    assert skus["changed_outside"] is True

    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    assert ws.cli("drift", str(ws.spec)).exit_code == 0


def test_object_deleted_outside_is_missing_then_recreated(ws: Workspace) -> None:
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    assert ws.graph("DELETE", f"/users/{SVC}").exit_code == 0
    drift = ws.cli("drift", str(ws.spec))
    assert drift.exit_code == 2
    assert "user.service_account: was created by reconciler and has been deleted outside it" in drift.stdout
    plan = ws.cli("plan", str(ws.spec))
    assert "will be made again" in plan.stdout
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    assert ws.cli("drift", str(ws.spec)).exit_code == 0


def test_saved_plan_applies_and_stale_plan_is_refused(ws: Workspace) -> None:
    planfile = ws.root / "first.plan"
    planned = ws.cli("plan", str(ws.spec), "--out", str(planfile))
    assert planned.exit_code == 0, planned.output
    saved = f"Saved the plan to {planfile}. Apply it with: reconciler apply {planfile}"
    assert planned.stdout.rstrip().endswith(saved), planned.stdout
    shown = ws.cli("show", str(planfile))
    assert shown.exit_code == 0 and not shown.stderr, shown.output
    # `show PLANFILE` prints the saved plan exactly as `plan` printed it, without the line about saving it
    assert shown.stdout.startswith("reconciler will perform the following actions:\n"), shown.stdout
    assert planned.stdout == shown.stdout + "\n" + saved + "\n"
    assert "# user.service_account will be created" in shown.stdout
    assert "# license_assignment.service_account will be created" in shown.stdout
    assert "password                           = (sensitive)" in shown.stdout
    assert shown.stdout.endswith("Plan: 2 to add, 0 to change, 0 to destroy.\n")

    stale_by_spec = ws.root / "second.plan"
    assert ws.cli("plan", str(ws.spec), "--out", str(stale_by_spec)).exit_code == 0

    applied = ws.cli("apply", str(planfile), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    serial = ws.state_data()["serial"]

    refused = ws.cli("apply", str(stale_by_spec), "--auto-approve")
    assert refused.exit_code == 1
    assert "stale plan: state" in refused.stderr
    assert ws.state_data()["serial"] == serial

    third = ws.root / "third.plan"
    assert ws.cli("plan", str(ws.spec), "--out", str(third)).exit_code == 0
    ws.write_spec(display_name="Edited after planning")
    refused = ws.cli("apply", str(third), "--auto-approve")
    assert refused.exit_code == 1
    assert "stale plan: the spec" in refused.stderr
    assert ws.graph_json(f"/users/{SVC}?$select=displayName")["displayName"] == "Cronofy Service Account"


def test_concurrent_apply_is_refused_by_the_lock(ws: Workspace) -> None:
    ws.set_tenant(lambda t: t.setdefault("settings", {}).update({"latency_ms": 400}))
    first = ws.process("apply", str(ws.spec), "--auto-approve")
    lock_info = ws.state.with_name("spec.json.lock.info")
    deadline = time.monotonic() + 30
    while not lock_info.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_info.exists(), "first apply never took the lock"

    first.send_signal(signal.SIGSTOP)  # holds the lock, alive, for as long as the second takes to start
    try:
        second = ws.process("apply", str(ws.spec), "--auto-approve")
        _, err = second.communicate(timeout=60)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 1
    assert "is locked by" in err and "pid" in err and "apply since" in err

    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    assert "Apply complete!" in out


def test_apply_refuses_without_terminal_or_auto_approve(ws: Workspace) -> None:
    proc = ws.process("apply", str(ws.spec))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "standard input is not a terminal" in err and "--auto-approve" in err
    assert not ws.state.exists()
    assert ws.graph("GET", f"/users/{SVC}").exit_code == 1  # nothing was created


def test_password_never_persisted_or_printed(ws: Workspace) -> None:
    planfile = ws.root / "saved.plan"
    outputs = [
        ws.cli("plan", str(ws.spec), "--out", str(planfile)),
        ws.cli("plan", str(ws.spec), "--json"),
        ws.cli("apply", str(planfile), "--auto-approve"),
        ws.cli("drift", str(ws.spec), "--json"),
        ws.cli("show"),
        ws.cli("show", str(planfile), "--json"),
    ]
    assert all(r.exit_code == 0 for r in outputs), [r.output for r in outputs]
    for result in outputs:
        assert PASSWORD not in result.output
    for path in [planfile, ws.state, ws.state.with_name("spec.json.backup"), ws.tenant]:
        if path.exists():
            assert PASSWORD not in path.read_text(encoding="utf-8"), path
