"""Exchange Server end to end: EWS only; the plan's Exchange Management Shell commands, run by an admin,
are confirmed by the next plan over EWS."""

from __future__ import annotations

import json
from typing import Any

from reconciler.engine.plan import Action, Change
from reconciler.resources import KINDS
from reconciler.spec.models import Target
from tests.conftest import PASSWORD, Result, Tenant

SVC = "cronofy-svc@contoso.com"


def _cli(server: Tenant, *args: str) -> Result:
    return server.cli(*args, env={"EXCHANGE_ADMIN_PASSWORD": PASSWORD})


def _run_manual_steps(server: Tenant, plan: dict[str, Any]) -> None:
    """An admin runs the plan's commands in the Exchange Management Shell, one change at a time."""
    for change in plan["changes"]:
        if change["manual"]:
            result = server.cli("sim", "ems", str(server.tenant), *change["manual"])
            assert result.exit_code == 0, (change["address"], result.output)


def test_exchange_server_restricted_end_to_end(server: Tenant) -> None:
    spec = server.spec_file("exchange-server")
    before = _cli(server, "verify", spec, "--outside", "dave@contoso.com")
    assert before.exit_code == 1 and "FAIL EWS impersonation" in before.stdout

    plan = json.loads(_cli(server, "plan", spec, "--json").stdout)
    kinds = {c["kind"]: c for c in plan["changes"]}
    assert "user" not in kinds  # on-premises the account lives in Active Directory
    assert kinds["role_assignment"]["automated"] is False
    assert kinds["role_assignment"]["manual"] == [
        "if (Get-ManagementRoleAssignment -Identity 'CronofyImpersonationAssignment' -ErrorAction SilentlyContinue) "
        "{ Set-ManagementRoleAssignment -Identity 'CronofyImpersonationAssignment' -CustomRecipientWriteScope "
        "'CronofyImpersonationScope' -Enabled $true } else { New-ManagementRoleAssignment -Name "
        f"'CronofyImpersonationAssignment' -Role ApplicationImpersonation -User '{SVC}' "
        "-CustomRecipientWriteScope 'CronofyImpersonationScope' }"
    ]
    assert any("MemberOfGroup -eq '$($DistGroupDN -replace" in line for line in kinds["management_scope"]["manual"])
    # EWS shows no DN: the recorded filter names the group its DN is looked up from, never the address as a DN
    scope_filter = kinds["management_scope"]["after"]["recipient_filter"]
    assert scope_filter == "MemberOfGroup -eq '<DN of cronofy-scope@contoso.com>'"

    applied = _cli(server, "apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "needs commands run by hand" in applied.stdout
    # what apply did, apart from what it only printed (scope, assignment, room list)
    assert "Resources: 3 added, 0 changed, 0 destroyed. 3 manual steps printed above" in applied.stdout
    assert "calendar_permission.alice@contoso.com/cronofy-svc@contoso.com: created" in applied.stdout

    manual_plan = json.loads(_cli(server, "plan", spec, "--json").stdout)
    _run_manual_steps(server, manual_plan)
    _run_manual_steps(server, manual_plan)  # a second run of the same block fails on nothing and makes nothing twice
    assignments = server.cli(
        "sim", "ems", str(server.tenant), "Get-ManagementRoleAssignment -Role ApplicationImpersonation"
    )
    assert assignments.stdout.count("CronofyImpersonationAssignment") >= 1
    again = _cli(server, "apply", spec, "--auto-approve")
    assert again.exit_code == 0, again.output
    final = _cli(server, "plan", spec)
    assert "No changes." in final.stdout, final.stdout
    state = server.state_data_of("exchange-server")
    [scope] = [r for r in state["resources"] if r["kind"] == "management_scope"]
    assert scope["attributes"]["recipient_filter"] == scope_filter

    after = _cli(server, "verify", spec, "--outside", "dave@contoso.com")
    assert after.exit_code == 0, after.output

    server.cli(
        "sim", "ems", str(server.tenant), "Remove-ManagementRoleAssignment -Identity CronofyImpersonationAssignment"
    )
    drift = _cli(server, "drift", spec)
    assert drift.exit_code == 2
    assert "role_assignment.CronofyImpersonationAssignment" in drift.stdout
    # only the assignment was removed: drift says what EWS can see, and blames neither object falsely
    assert "the role assignment or its management scope is missing" in drift.stdout
    assert "has been deleted outside it" not in drift.stdout
    report = _cli(server, "drift", spec, "--format", "markdown")
    assert "in the Exchange Management Shell on an Exchange server" in report.stdout
    assert "Connect-ExchangeOnline" not in report.stdout
    # the fix is the guarded on-premises command (-User, not Exchange Online's -App $ServicePrincipal)
    assert "if (Get-ManagementRoleAssignment -Identity 'CronofyImpersonationAssignment'" in report.stdout
    assert "$ServicePrincipal" not in report.stdout


def test_busy_ews_is_retried_by_exchangelibs_policy(server: Tenant) -> None:
    """EWS answers 503 with Retry-After to 20% of requests; exchangelib's retry policy backs off and converges."""
    faults = [{"path": "^/EWS/", "status": 503, "rate": 0.2, "seed": 1, "retry_after": 1}]
    server.set_tenant(lambda t: t.update(faults=faults))
    result = _cli(server, "apply", server.spec_file("exchange-server"), "--auto-approve")
    assert result.exit_code == 0, result.output
    served = server.tenant_data()
    server.set_tenant(lambda t: t.update(faults=[]))
    plan = json.loads(_cli(server, "plan", server.spec_file("exchange-server"), "--json").stdout)
    assert [c["address"] for c in plan["changes"] if c["action"] != "no-op" and c["automated"]] == []
    assert served["faults"][0]["fired"] >= 2  # the faults did happen


def test_a_scope_group_whose_dn_holds_a_quote_converges_on_exchange_server(server: Tenant) -> None:
    """The printed Exchange Management Shell lines double the quote of the DN the shell looked up."""
    created = server.cli(
        "sim", "ems", str(server.tenant), 'New-DistributionGroup -Name "O\'Brien Team" -Members alice,boardroom'
    )
    assert created.exit_code == 0, created.output
    path = server.root / "specs" / "exchange-server.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "scope_group: cronofy-scope@contoso.com", 'scope_group: "O\'Brien Team"'
    )
    path.write_text(
        text.replace("  mailboxes:\n    csv: cronofy.csv", "  mailboxes:\n    addresses: [alice]"), encoding="utf-8"
    )
    spec = str(path)
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0
    plan = json.loads(_cli(server, "plan", spec, "--json").stdout)
    _run_manual_steps(server, plan)
    [scope] = server.cli(
        "sim", "ems", str(server.tenant), "Get-ManagementScope CronofyImpersonationScope"
    ).stdout.split("\n", 1)[:1]
    assert "O''Brien Team" in scope
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0  # records what the shell made
    final = _cli(server, "plan", spec, "--detailed-exitcode")
    assert final.exit_code == 0 and "No changes." in final.stdout, final.output


def test_a_room_named_by_display_name_converges_on_exchange_server(server: Tenant) -> None:
    """The guide names rooms by display name ("Board room"): ResolveNames turns it into the room's address."""
    path = server.root / "specs" / "exchange-server.yaml"
    text = path.read_text(encoding="utf-8").replace("rooms: [boardroom@contoso.com]", "rooms: [Board room]")
    path.write_text(text, encoding="utf-8")
    spec = str(path)
    plan = json.loads(_cli(server, "plan", spec, "--json").stdout)
    [room_list] = [c for c in plan["changes"] if c["kind"] == "room_list"]
    assert room_list["after"]["rooms"] == ["boardroom@contoso.com"]
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0
    steps = json.loads(_cli(server, "plan", spec, "--json").stdout)
    _run_manual_steps(server, steps)
    _run_manual_steps(server, steps)  # idempotent: nothing fails, nothing is added twice
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0
    final = _cli(server, "plan", spec, "--detailed-exitcode")
    assert final.exit_code == 0 and "No changes." in final.stdout, final.output


def test_a_service_account_missing_from_active_directory_is_named_before_any_write(server: Tenant) -> None:
    path = server.root / "specs" / "exchange-server.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(SVC, "nobody-svc@contoso.com"), encoding="utf-8")
    result = _cli(server, "plan", str(path))
    assert result.exit_code == 1, result.output
    assert "the grantee nobody-svc@contoso.com does not exist in Active Directory" in result.output
    assert "New-Mailbox -Name" in result.output and "-UserPrincipalName 'nobody-svc@contoso.com'" in result.output
    assert "(service_account.user_principal_name)" in result.output and "Traceback" not in result.output


def test_manual_lines_converge_one_session_each_and_mend_what_a_half_run_left(server: Tenant) -> None:
    """EWS cannot read a scope or an assignment, so each printed line converges whatever it finds: lines pasted one at a
    time into separate sessions, a scope left filtering on nothing and a disabled assignment are all mended."""
    ems = ("sim", "ems", str(server.tenant))
    spec = server.spec_file("exchange-server")
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0
    made = server.cli(
        *ems,
        "New-ManagementScope -Name 'CronofyImpersonationScope' -RecipientRestrictionFilter \"MemberOfGroup -eq ''\"",
        "New-ManagementRoleAssignment -Name 'CronofyImpersonationAssignment' -Role ApplicationImpersonation "
        "-User 'cronofy-svc@contoso.com' -CustomRecipientWriteScope 'CronofyImpersonationScope'",
        "Set-ManagementRoleAssignment -Identity 'CronofyImpersonationAssignment' -Enabled $false",
    )
    assert made.exit_code == 0, made.output
    plan = json.loads(_cli(server, "plan", spec, "--json").stdout)
    lines = [line for change in plan["changes"] for line in change["manual"] or []]
    assert lines and all(";" not in line or line.startswith("$DistGroupDN =") for line in lines)
    for line in lines:  # one session per line: nothing a line needs comes from an earlier one
        result = server.cli(*ems, line)
        assert result.exit_code == 0, (line, result.output)
    scope = json.loads(server.cli(*ems, "Get-ManagementScope -Identity 'CronofyImpersonationScope'").stdout)
    assert scope["RecipientFilter"].startswith("(MemberOfGroup -eq 'CN=")
    row = json.loads(server.cli(*ems, "Get-ManagementRoleAssignment -Identity 'CronofyImpersonationAssignment'").stdout)
    assert row["Enabled"] is True
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0  # records what the shell made
    final = _cli(server, "plan", spec, "--detailed-exitcode")
    assert final.exit_code == 0 and "No changes." in final.stdout, final.output


def test_an_unknown_scope_group_stops_the_scope_line_before_it_writes(server: Tenant) -> None:
    """`-ErrorAction Stop` on the group look-up: a group that is not there ends the line; no scope filtering on ''."""
    scope = KINDS["management_scope"].backend(Target.EXCHANGE_SERVER)
    change = Change(
        address="management_scope.S",
        kind="management_scope",
        action=Action.CREATE,
        after={"name": "S", "recipient_filter": "MemberOfGroup -eq '<DN of nobody@contoso.com>'"},
    )
    [line] = scope.manual(change)
    result = server.cli("sim", "ems", str(server.tenant), line)
    assert result.exit_code != 0 and "nobody@contoso.com" in result.output
    assert server.cli("sim", "ems", str(server.tenant), "Get-ManagementScope -Identity 'S'").exit_code != 0


def test_exchange_server_scope_group_replaced_by_hand_is_seen_through_impersonation(server: Tenant) -> None:
    """On-premises, the scope's filter names the group's DN and EWS shows no scope: what a replaced scope group
    changes is all a plan can see. Made again with its members, the scope still covers them (the DN is the same)
    and impersonation works: nothing to do. Made again empty, the spec's mailboxes are outside the scope group: an
    error naming them, not drift."""
    spec = server.spec_file("exchange-server")
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0
    _run_manual_steps(server, json.loads(_cli(server, "plan", spec, "--json").stdout))
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0
    assert _cli(server, "drift", spec).exit_code == 0
    group = next(r for r in server.tenant_data()["exchange"]["recipients"] if r["Alias"] == "cronofy-scope")
    by_guid = {r["Guid"]: r["Alias"] for r in server.tenant_data()["exchange"]["recipients"]}
    aliases = [by_guid[m] for m in group["Members"]]
    make = "New-DistributionGroup -Name 'Cronofy Rooms and Users' -Alias cronofy-scope"
    remove = "Remove-DistributionGroup -Identity cronofy-scope@contoso.com -Confirm:$false"

    with_members = server.cli("sim", "ems", str(server.tenant), remove, f"{make} -Members {','.join(aliases)}")
    assert with_members.exit_code == 0, with_members.output
    drift = _cli(server, "drift", spec)
    assert drift.exit_code == 0, drift.output  # impersonation of a member still works

    empty = server.cli("sim", "ems", str(server.tenant), remove, make)
    assert empty.exit_code == 0, empty.output
    drift = _cli(server, "drift", spec)
    assert drift.exit_code == 1, drift.output
    assert "not members of scope group 'cronofy-scope@contoso.com'" in drift.stderr, drift.stderr


def test_exchange_server_role_assignment_disabled_by_hand_is_seen_and_its_shell_step_enables_it(server: Tenant) -> None:
    """EWS shows no assignment: a disabled one is seen as impersonation failing (drift says what it can tell), and the
    plan's Exchange Management Shell step, run by an admin, enables the existing assignment."""
    spec = server.spec_file("exchange-server")
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0
    _run_manual_steps(server, json.loads(_cli(server, "plan", spec, "--json").stdout))
    assert _cli(server, "apply", spec, "--auto-approve").exit_code == 0
    disable = "Set-ManagementRoleAssignment -Identity CronofyImpersonationAssignment -Enabled $false"
    assert server.cli("sim", "ems", str(server.tenant), disable).exit_code == 0

    drift = _cli(server, "drift", spec)
    assert drift.exit_code == 2, drift.output
    assert "role_assignment.CronofyImpersonationAssignment" in drift.stdout
    assert "the role assignment or its management scope is missing" in drift.stdout
    _run_manual_steps(server, json.loads(_cli(server, "plan", spec, "--json").stdout))
    assert _cli(server, "drift", spec).exit_code == 0
    assert "No changes." in _cli(server, "plan", spec).stdout
