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
    for noise in ("<bool>", "list[", "<str>", "<path>", "<int>", "{", "...}..."):  # Python types, Typer's braces
        assert noise not in result.stdout, (command, noise, result.stdout)


def test_help_names_values_and_arguments_as_click_does(ws: Workspace) -> None:
    plan = ws.cli("plan", "--help").stdout
    assert "Usage: reconciler plan [OPTIONS] SPEC\n" in plan
    assert "--state PATH" in plan and "--workspace TEXT" in plan and "--parallelism N" in plan
    ems = ws.cli("sim", "ems", "--help").stdout
    assert "Usage: reconciler sim ems [OPTIONS] FILE LINE...\n" in ems and "\n  LINE...  Cmdlet lines" in ems
    assert "Usage: reconciler drift [OPTIONS] SPEC...\n" in ws.cli("drift", "--help").stdout
    missing = ws.cli("plan")
    assert missing.exit_code == 1 and "Missing argument 'SPEC'" in missing.output


@pytest.mark.parametrize("args", [["drift", "x.yaml", "--bogus"], ["plan"], ["plan", "x.yaml", "--format", "xml"]])
def test_a_usage_error_exits_1_never_2_which_means_drift(ws: Workspace, args: list[str]) -> None:
    """A CI job reads 2 as "drift found" / "changes present": a mistyped option must not look like either."""
    process = ws.process(*args)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "for help." in stderr and "Traceback" not in stderr


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
    assert refused.exit_code == 1 and "exchange_online" in refused.output


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
