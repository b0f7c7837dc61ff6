"""Bad input and failed reads: a clear message, exit 1, nothing changed in the tenant or the state."""

from __future__ import annotations

from tests.conftest import PASSWORD, SVC, Workspace


def _users(ws: Workspace) -> list[str]:
    return [u["userPrincipalName"] for u in ws.tenant_data()["users"]]


def test_spec_errors_name_file_line_and_field(ws: Workspace) -> None:
    ws.spec.write_text(
        "version: 1\n"
        "tenant:\n"
        "  id: 6972eeb0-1bf6-5393-8f32-08076f624a10\n"
        "  cloud: moon\n"
        "service_account:\n"
        "  user_principal_name: cronofy-svc@contoso.onmicrosoft.com\n"
        "  display_name: Svc\n"
        "  password: plain-text-here\n"
        "  licences: []\n",
        encoding="utf-8",
    )
    result = ws.cli("validate", str(ws.spec))
    assert result.exit_code == 1
    err = result.stderr
    assert f"{ws.spec}:4:3 (tenant.cloud)" in err and "'global', 'usgov', 'usgovhigh', 'dod' or 'china'" in err
    assert f"{ws.spec}:8:3 (service_account.password)" in err and "${env:" in err
    assert "plain-text-here" not in result.output
    assert f"{ws.spec}:9:3 (service_account.licences): unknown field" in err and "did you mean 'licenses'" in err
    assert "Traceback" not in result.output

    plan = ws.cli("plan", str(ws.spec))
    assert plan.exit_code == 1 and "(tenant.cloud)" in plan.stderr
    assert not ws.state.exists()


def test_yaml_syntax_error_has_a_line(ws: Workspace) -> None:
    ws.spec.write_text("version: 1\ntenant:\n  id: [unclosed\n", encoding="utf-8")
    result = ws.cli("validate", str(ws.spec))
    assert result.exit_code == 1
    assert f"{ws.spec}:" in result.stderr and "not valid YAML" in result.stderr


def test_missing_required_field_and_version(ws: Workspace) -> None:
    ws.spec.write_text("version: 2\ntenant:\n  cloud: global\n", encoding="utf-8")
    result = ws.cli("validate", str(ws.spec))
    assert result.exit_code == 1
    assert f"{ws.spec}:1:1 (version)" in result.stderr and "reads spec version 1" in result.stderr
    assert "name the tenant by id" in result.stderr


def test_valid_spec_validates(ws: Workspace) -> None:
    result = ws.cli("validate", str(ws.spec))
    assert result.exit_code == 0 and "valid" in result.stdout


def test_unknown_license_is_a_spec_error_with_its_line(ws: Workspace) -> None:
    ws.write_spec(licenses="[NOT_A_SKU]")
    result = ws.cli("plan", str(ws.spec))
    assert result.exit_code == 1
    assert "license NOT_A_SKU is not a subscription of this tenant" in result.stderr
    assert "(service_account.licenses)" in result.stderr and "ENTERPRISEPACK" in result.stderr


def test_missing_password_variable_stops_the_plan(ws: Workspace) -> None:
    result = ws.cli("plan", str(ws.spec), env={"CRONOFY_SVC_PASSWORD": ""})
    assert result.exit_code == 1
    assert "environment variable CRONOFY_SVC_PASSWORD is not set" in result.stderr
    assert "(service_account.password)" in result.stderr


def test_graph_rejection_is_reported_and_nothing_recorded(ws: Workspace) -> None:
    result = ws.cli("apply", str(ws.spec), "--auto-approve", env={"CRONOFY_SVC_PASSWORD": "weak"})
    assert result.exit_code == 1
    assert "POST /users (cronofy-svc@contoso.onmicrosoft.com) failed" in result.stderr
    assert "Graph said" in result.stderr and "password" in result.stderr.lower()
    assert SVC not in _users(ws)
    records = ws.state_data()["resources"] if ws.state.exists() else []
    assert records == []


def test_failed_read_is_an_error_never_drift(ws: Workspace) -> None:
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    state_before = ws.state.read_text(encoding="utf-8")
    ws.set_tenant(lambda t: t.update(faults=[{"method": "GET", "path": "^/users/", "status": 500, "times": 10}]))

    for command in ("plan", "drift", "apply"):
        extra = ["--auto-approve"] if command == "apply" else []
        result = ws.cli(command, str(ws.spec), *extra)
        assert result.exit_code == 1, (command, result.output)
        assert "failed" in result.stderr and "Graph said" in result.stderr
        assert "will be created" not in result.stdout and "Drift detected" not in result.stdout
    markdown = ws.cli("drift", str(ws.spec), "--format", "markdown")  # a CI job summary still gets a report
    assert markdown.exit_code == 1
    assert "could not be checked" in markdown.stdout and "Graph said" in markdown.stdout
    assert "never drift" in markdown.stdout and "drifted" not in markdown.stdout
    assert ws.state.read_text(encoding="utf-8") == state_before


def test_throttled_read_is_retried(ws: Workspace) -> None:
    ws.set_tenant(
        lambda t: t.update(
            faults=[{"method": "GET", "path": "^/subscribedSkus", "status": 429, "times": 1, "retry_after": 1}]
        )
    )
    result = ws.cli("plan", str(ws.spec))
    assert result.exit_code == 0, result.output
    assert ws.tenant_data()["faults"][0]["times"] == 0  # the 429 was served, then retried


def test_state_of_another_tenant_is_refused(ws: Workspace) -> None:
    assert ws.cli("apply", str(ws.spec), "--auto-approve").exit_code == 0
    text = ws.spec.read_text(encoding="utf-8").replace(
        "id: 6972eeb0-1bf6-5393-8f32-08076f624a10", "id: 11111111-2222-3333-4444-555555555555"
    )
    ws.write_spec(text=text)
    result = ws.cli("plan", str(ws.spec))
    assert result.exit_code == 1
    assert "belongs to tenant 6972eeb0-1bf6-5393-8f32-08076f624a10" in result.stderr


def test_simulated_tenant_file_missing(ws: Workspace) -> None:
    ws.tenant.unlink()
    result = ws.cli("plan", str(ws.spec))
    assert result.exit_code == 1
    assert "simulated tenant file" in result.stderr and "reconciler sim init" in result.stderr
    assert "(tenant.simulator)" in result.stderr


def test_forbidden_call_names_the_missing_permission(ws: Workspace) -> None:
    ws.set_tenant(lambda t: t.update(faults=[{"method": "GET", "path": "^/subscribedSkus", "status": 403, "times": 5}]))
    result = ws.cli("plan", str(ws.spec))
    assert result.exit_code == 1
    assert "GET /subscribedSkus" in result.stderr
    assert "needs the Microsoft Graph application permission LicenseAssignment.Read.All" in result.stderr


def test_password_from_a_file(ws: Workspace) -> None:
    secret = ws.root / "secrets" / "svc-password"
    ws.write_spec(text=ws.spec.read_text().replace("${env:CRONOFY_SVC_PASSWORD}", "${file:secrets/svc-password}"))
    missing = ws.cli("plan", str(ws.spec))
    assert missing.exit_code == 1 and "cannot read the secret file" in missing.stderr
    assert "(service_account.password)" in missing.stderr
    secret.parent.mkdir()
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    applied = ws.cli("apply", str(ws.spec), "--auto-approve", env={"CRONOFY_SVC_PASSWORD": ""})
    assert applied.exit_code == 0, applied.output
    secret.unlink()  # the only place the password may be on disk is the file the admin made
