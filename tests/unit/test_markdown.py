"""Markdown drift reports and plans for CI job summaries and pull-request comments.

The drift is seeded as the demo does it (scripts/demo.sh): apply the example spec, then an admin gives the
service account a license and downgrades a calendar permission behind reconciler's back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.render.markdown import drift_markdown, plan_markdown
from reconciler.resources import KINDS
from tests.conftest import E3, PASSWORD, REPO, SVC, Tenant
from tests.unit.test_powershell import assert_documented

EXPECTED = REPO / "tests/expected/drift_example.md"
SPEC = "specs/example.yaml"


def seeded_drift(tenant: Tenant) -> dict[str, Any]:
    spec = tenant.spec_file("example")
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    license = {"addLicenses": [{"disabledPlans": [], "skuId": E3}], "removeLicenses": []}
    assert tenant.graph("POST", f"/users/{SVC}/assignLicense", license).exit_code == 0
    alice = "'alice@contoso.com:\\Calendar'"
    downgrade = f"Set-MailboxFolderPermission -Identity {alice} -User {SVC} -AccessRights AvailabilityOnly"
    assert tenant.cli("sim", "ems", str(tenant.tenant), downgrade).exit_code == 0
    drift = tenant.cli("drift", spec, "--json")
    assert drift.exit_code == 2, drift.output
    report: dict[str, Any] = json.loads(drift.stdout)
    return report


def powershell_block(markdown: str) -> str:
    found = re.search(r"```powershell\n(.*?)\n```", markdown, re.S)
    assert found, markdown
    return found.group(1)


def test_drift_report_matches_the_expected_markdown(tenant: Tenant) -> None:
    markdown = drift_markdown(seeded_drift(tenant), KINDS, SPEC)
    assert markdown == EXPECTED.read_text("utf-8"), markdown
    assert str(tenant.root) not in markdown and PASSWORD not in markdown
    commands = {cmdlet for cmdlet, _ in assert_documented(powershell_block(markdown))}
    assert commands == {"Get-MgSubscribedSku", "Set-MgUserLicense", "Set-MailboxFolderPermission"}


def test_no_drift(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    report = json.loads(tenant.cli("drift", spec, "--json").stdout)
    markdown = drift_markdown(report, KINDS, SPEC)
    assert markdown.splitlines()[2] == f"**No drift:** the tenant matches `{SPEC}` (9 objects checked)."
    assert "How to fix" not in markdown


def test_missing_objects_and_table_escaping() -> None:
    report = {
        "format_version": "1.0",
        "tenant": "contoso.onmicrosoft.com",
        "drifted": True,
        "checked": 3,
        "entries": [
            {
                "address": "room_list.Rooms | East",
                "kind": "room_list",
                "status": "missing",
                "message": "was created by reconciler and has been deleted outside it",
                "attributes": [],
            },
            {
                "address": "user.service_account",
                "kind": "user",
                "status": "changed",
                "message": "does not match the spec (spec changed since apply?)",
                "attributes": [
                    {
                        "name": "display_name",
                        "expected": "Svc | `Cronofy`",
                        "actual": "Svc",
                        "recorded": "Svc",
                        "changed_outside": False,
                    }
                ],
            },
        ],
    }
    markdown = drift_markdown(report, KINDS, "specs/x.yaml")
    assert "**2 of 3 objects drifted** from `specs/x.yaml`." in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `room_list.Rooms \\| East` | missing from the tenant |")
    assert "expected `` Svc \\| `Cronofy` ``, actual `Svc`" in rows[1]
    assert "spec edited since the last apply" in rows[1]
    assert all(len(re.split(r"(?<!\\)\|", row)) == 6 for row in rows)  # four cells each, `|` escaped
    script = powershell_block(markdown)
    assert "New-DistributionGroup -Name 'Rooms | East' -RoomList" in script
    assert "Update-MgUser -UserId $ServiceAccountUpn -DisplayName 'Svc | `Cronofy`'" in script
    assert "./fix.ps1 -ServiceAccountUpn" in markdown
    assert_documented(script)


def test_plan_markdown(tenant: Tenant) -> None:
    result = tenant.cli("plan", tenant.spec_file("example"), "--json")
    plan = json.loads(result.stdout)
    markdown = plan_markdown(plan, KINDS, SPEC)
    assert markdown.startswith("## reconciler plan: tenant `6972eeb0-1bf6-5393-8f32-08076f624a10`\n")
    assert f"**Plan: 9 to add, 0 to change, 0 to destroy.** (`{SPEC}`)" in markdown
    assert "| `+` | `user.service_account` | create | " in markdown
    assert "`password` = `(sensitive)`" in markdown
    assert f"Apply with `reconciler apply {SPEC}`." in markdown
    assert str(tenant.root) not in markdown and PASSWORD not in markdown
    assert markdown == plan_markdown(plan, KINDS, SPEC)
    assert_documented(powershell_block(markdown))
