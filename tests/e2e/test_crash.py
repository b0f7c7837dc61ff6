"""An apply killed (SIGKILL) after any action leaves a valid state, and the next apply converges with no
duplicates: objects made but not yet recorded are found again by their natural key, and recorded as made by
reconciler (state kept the intent written before their write). Graceful interrupts: test_interrupt.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from reconciler.resources import KINDS
from tests.conftest import PASSWORD, Tenant

ACTIONS = 9  # the example spec makes 9 objects


def _apply_until(tenant: Tenant, spec: str, done: int) -> None:
    env = {**os.environ, "CRONOFY_SVC_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", spec, "--auto-approve"],
        cwd=tenant.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    finished = 0
    for line in process.stdout:
        if line.rstrip().endswith(": created"):
            finished += 1
            if finished == done:
                process.send_signal(signal.SIGKILL)
                break
    process.wait(60)


@pytest.mark.parametrize("done", range(1, ACTIONS))
def test_killed_apply_converges_without_duplicates(tenant: Tenant, done: int) -> None:
    spec = tenant.spec_file("example")
    _apply_until(tenant, spec, done)
    state = tenant.root / "state" / "specs" / "example.json"
    recorded = json.loads(state.read_text(encoding="utf-8"))["resources"] if state.exists() else []
    assert len(recorded) >= done  # state is written before an action is reported done

    again = tenant.cli("apply", spec, "--auto-approve")
    assert again.exit_code == 0, again.output
    assert "No changes." in tenant.cli("plan", spec).stdout
    assignments = tenant.exchange("Get-ManagementRoleAssignment", {"Role": "Application Calendars.ReadWrite"})
    assert len(assignments) == 1
    assert len(tenant.exchange("Get-ServicePrincipal", {})) == 1  # the app's pointer, registered once
    assert len(tenant.exchange("Get-DistributionGroup", {"Identity": "Meeting Rooms"})) == 1
    assert len(tenant.exchange("Get-ManagementScope", {"Identity": "CronofyImpersonationScope"})) == 1
    rows = tenant.exchange("Get-MailboxFolderPermission", {"Identity": "alice@contoso.com:\\Calendar"})
    assert len([r for r in rows if r["User"] not in ("Default", "Anonymous")]) == 1
    users = [u for u in tenant.tenant_data()["users"] if u["userPrincipalName"].startswith("cronofy-svc@")]
    assert len(users) == 1
    records = tenant.state_data_of("example")["resources"]
    assert all(r["created_by_reconciler"] for r in records if KINDS[r["kind"]].deletable), records
