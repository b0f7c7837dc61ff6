"""Removing things from the spec: reconciler deletes only what state says it created."""

from __future__ import annotations

import json

from tests.conftest import SVC, Workspace

ADOPTED = "existing-svc@contoso.onmicrosoft.com"


def _without_service_account(ws: Workspace) -> None:
    text = ws.spec.read_text(encoding="utf-8")
    ws.write_spec(text=text.split("service_account:")[0])


def test_removed_from_spec_and_created_by_reconciler_is_destroyed(ws: Workspace) -> None:
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    _without_service_account(ws)
    plan = json.loads(ws.cli("plan", str(ws.spec), "--json").stdout)
    actions = {c["address"]: c["action"] for c in plan["changes"]}
    assert actions == {"user.service_account": "delete", "license_assignment.service_account": "forget"}
    assert plan["summary"] == {
        "add": 0,
        "change": 0,
        "destroy": 1,
        "forget": 1,
        "manual": 0,
        "widen": 0,
        "adopt": 0,
        "wider": 0,
    }
    # licenses go before the user is destroyed: removals run in reverse dependency order
    assert plan["changes"][0]["address"] == "license_assignment.service_account"

    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    assert ws.graph("GET", f"/users/{SVC}").exit_code == 1
    assert ws.state_data()["resources"] == []


def test_object_reconciler_did_not_create_is_never_deleted(ws: Workspace) -> None:
    body = {
        "accountEnabled": True,
        "displayName": "Made by hand",
        "mailNickname": "existing-svc",
        "userPrincipalName": ADOPTED,
        "passwordProfile": {"password": "Hand-made-Pw-123!", "forceChangePasswordNextSignIn": False},
    }
    assert ws.graph("POST", "/users", body).exit_code == 0
    ws.write_spec(upn=ADOPTED)
    plan = ws.cli("plan", str(ws.spec))
    assert '~ user "service_account"' in plan.stdout  # existing user: updated, not created
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    records = {r["address"]: r for r in ws.state_data()["resources"]}
    assert records["user.service_account"]["created_by_reconciler"] is False

    _without_service_account(ws)
    plan = json.loads(ws.cli("plan", str(ws.spec), "--json").stdout)
    user = next(c for c in plan["changes"] if c["address"] == "user.service_account")
    assert user["action"] == "forget" and "did not create it" in user["reason"]
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    assert ws.graph("GET", f"/users/{ADOPTED}").exit_code == 0


def test_state_list_and_show(ws: Workspace) -> None:
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    listed = ws.cli("state", "list")
    assert listed.exit_code == 0
    assert listed.stdout.split() == ["license_assignment.service_account", "user.service_account"]
    shown = ws.cli("show", "--json")
    assert json.loads(shown.stdout)["resources"][1]["attributes"]["user_principal_name"] == SVC


def test_plan_json_contract(ws: Workspace) -> None:
    plan = json.loads(ws.cli("plan", str(ws.spec), "--json").stdout)
    assert plan["format_version"] == "1.3"
    assert set(plan) >= {"format_version", "tenant", "spec", "state", "changes", "summary", "resolved", "digest"}
    assert plan["wider_access"] == [] and len(plan["digest"]) == 64
    user = plan["changes"][0]
    assert set(user) >= {"address", "kind", "action", "before", "after"}
    assert user["action"] == "create" and user["before"] is None
    assert user["after"]["password"] == "(sensitive)"
    assert plan["summary"] == {
        "add": 2,
        "change": 0,
        "destroy": 0,
        "forget": 0,
        "manual": 0,
        "widen": 0,
        "adopt": 0,
        "wider": 0,
    }


def test_prevent_destroy_is_remembered_until_lifted(ws: Workspace) -> None:
    guarded = ws.spec.read_text(encoding="utf-8") + "lifecycle:\n  prevent_destroy: [user.*]\n"
    ws.write_spec(text=guarded)
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    records = {r["address"]: r for r in ws.state_data()["resources"]}
    assert records["user.service_account"]["prevent_destroy"] is True

    head = guarded.split("service_account:")[0]
    for text in (head + "lifecycle:\n  prevent_destroy: [user.*]\n", head):  # guard kept, then guard dropped
        ws.write_spec(text=text)
        refused = ws.cli("plan", str(ws.spec))
        assert refused.exit_code == 1
        assert "would destroy user.service_account, which lifecycle.prevent_destroy protects" in refused.stderr

    ws.write_spec()  # the object back, without the guard: apply once to lift it
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    _without_service_account(ws)
    plan = ws.cli("plan", str(ws.spec))
    assert plan.exit_code == 0 and "user.service_account will be destroyed" in plan.stdout


def test_adopted_account_that_must_change_its_password_is_not_a_match(ws: Workspace) -> None:
    """passwordProfile is read on $select: an adopted account set to change its password at next sign-in differs
    from a spec saying false, and apply sets it (with the spec's password, as Graph updates passwordProfile)."""
    body = {
        "accountEnabled": True,
        "displayName": "Cronofy Service Account",
        "givenName": "Cronofy",
        "surname": "Service Account",
        "mailNickname": "cronofy-svc",
        "usageLocation": "US",
        "userPrincipalName": ADOPTED,
        "passwordProfile": {"password": "Hand-made-Pw-123!", "forceChangePasswordNextSignIn": True},
    }
    assert ws.graph("POST", "/users", body).exit_code == 0
    ws.write_spec(upn=ADOPTED)
    plan = json.loads(ws.cli("plan", str(ws.spec), "--json").stdout)
    user = next(c for c in plan["changes"] if c["address"] == "user.service_account")
    assert (user["action"], user["changed"]) == ("update", ["force_change_password_next_sign_in"])
    assert user["before"]["force_change_password_next_sign_in"] is True
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    seen = ws.graph_json(f"/users/{ADOPTED}?$select=passwordProfile")
    assert seen["passwordProfile"]["forceChangePasswordNextSignIn"] is False
    assert seen["passwordProfile"]["password"] is None
    again = ws.cli("plan", str(ws.spec), "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.stdout, again.output
