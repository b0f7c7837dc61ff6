"""The CLI's own words: --version, help without type noise and with every choice, sim init's id and AD password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Tenant, Workspace

COMMANDS = [
    [],
    ["validate"],
    ["plan"],
    ["apply"],
    ["drift"],
    ["import"],
    ["export"],
    ["permissions"],
    ["verify"],
    ["show"],
    ["state"],
    ["state", "rm"],
    ["sim"],
    ["sim", "init"],
    ["sim", "serve"],
    ["sim", "ems"],
]


def test_version(ws: Workspace) -> None:
    result = ws.cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("reconciler ")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "reconciler")
def test_help_shows_no_type_noise(ws: Workspace, command: list[str]) -> None:
    result = ws.cli(*command, "--help")
    assert result.exit_code == 0, result.output
    options = result.stdout.split("Options:", 1)[-1].split("Commands:", 1)[0]
    for noise in ("<bool>", "list[str]", "<list"):  # (typer prints an argument's Python type; options are clean)
        assert noise not in options, (command, noise, result.stdout)


def test_help_lists_the_choices_and_describes_state_truly(ws: Workspace) -> None:
    assert "--flavor <exchange_online|exchange_server>" in ws.cli("sim", "init", "--help").stdout
    assert "--format <human|json|powershell|markdown>" in ws.cli("plan", "--help").stdout
    state = ws.cli("--help").stdout
    assert "Inspect the state file" not in state and "unlock" in state


def test_sim_init_prints_the_tenant_id_and_takes_an_ad_password(tmp_path: Path, ws: Workspace) -> None:
    made = ws.cli("sim", "init", str(tmp_path / "t.json"))
    data = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert f"Tenant id {data['tenant']['id']}" in made.stdout
    server = ws.cli(
        "sim", "init", str(tmp_path / "s.json"), "--flavor", "exchange_server", "--ad-password", "Other-Pa55word!"
    )
    assert server.exit_code == 0, server.output
    stored = (tmp_path / "s.json").read_text(encoding="utf-8")
    assert "Other-Pa55word!" not in stored and "adPasswords" in stored
    refused = ws.cli("sim", "init", str(tmp_path / "x.json"), "--flavor", "exchange")
    assert refused.exit_code == 2 and "exchange_online" in refused.output


def test_state_belongs_to_the_spec_not_to_the_current_folder(tenant: Tenant, tmp_path: Path) -> None:
    """Run from another folder, a spec finds its own state (`state/` up from the spec), as it finds its CSV."""
    spec = tenant.spec_file("full")
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    assert (tenant.root / "state" / "specs" / "full.json").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    away = Workspace(elsewhere, tenant.tenant, tenant.tenant_id)
    listed = away.cli("state", "list", "--spec", spec)
    assert listed.exit_code == 0 and "role_assignment.CronofyFullAccess" in listed.stdout, listed.output
    plan = away.cli("plan", spec, "--detailed-exitcode")
    assert plan.exit_code == 0 and "No changes." in plan.stdout, plan.output
    assert not (elsewhere / "state").exists()
