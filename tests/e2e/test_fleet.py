"""`drift SPEC SPEC SPEC`: several tenants in one run, one summary; exit 2 if any drifted, 1 if any unreadable."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.simulator import init_tenant
from tests.conftest import REPO, Tenant

TENANTS = ("contoso", "fabrikam", "tailspin")
SVC = "cronofy-svc@contoso.onmicrosoft.com"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"


def _fleet(root: Path) -> Tenant:
    """One folder, three simulated tenants, one spec each (the example, pointed at its own tenant)."""
    shutil.copytree(REPO / "specs", root / "specs")
    example = (root / "specs" / "example.yaml").read_text(encoding="utf-8")
    for name in TENANTS:
        init_tenant(root / "state" / f"{name}-tenant.json")
        spec = example.replace("../state/simulated-tenant.json", f"../state/{name}-tenant.json")
        (root / "specs" / f"{name}.yaml").write_text(spec, encoding="utf-8")
    first = root / "state" / "contoso-tenant.json"
    return Tenant(root, first, json.loads(first.read_text(encoding="utf-8"))["tenant"]["id"])


def _specs(fleet: Tenant) -> list[str]:
    return [fleet.spec_file(name) for name in TENANTS]


def _tamper(fleet: Tenant, name: str) -> None:
    license = {"addLicenses": [{"disabledPlans": [], "skuId": E3}], "removeLicenses": []}
    body = json.dumps(license)
    tenant = str(fleet.root / "state" / f"{name}-tenant.json")
    result = fleet.cli("sim", "request", tenant, "POST", f"/v1.0/users/{SVC}/assignLicense", "--body", body)
    assert result.exit_code == 0, result.output


def test_one_drifted_tenant_of_three(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path)
    for spec in _specs(fleet):
        assert fleet.cli("apply", spec, "--auto-approve").exit_code == 0
    assert fleet.cli("drift", *_specs(fleet)).exit_code == 0

    _tamper(fleet, "fabrikam")
    result = fleet.cli("drift", *_specs(fleet), "--parallelism", "3")
    assert result.exit_code == 2, result.output
    assert "3 tenants: 1 drifted, 0 could not be read, 2 in sync" in result.stdout
    assert "fabrikam.yaml: DRIFTED" in result.stdout
    assert "contoso.yaml: in sync" in result.stdout and "tailspin.yaml: in sync" in result.stdout
    assert "license_assignment.service_account" in result.stdout

    data = json.loads(fleet.cli("drift", *_specs(fleet), "--format", "json").stdout)
    assert data["drifted"] == [fleet.spec_file("fabrikam")] and data["failed"] == []
    assert [t["status"] for t in data["tenants"]] == ["in_sync", "drifted", "in_sync"]

    markdown = fleet.cli("drift", *_specs(fleet), "--format", "markdown").stdout
    assert "## reconciler drift: 3 tenants" in markdown and "### reconciler drift: tenant" in markdown
    assert markdown.count("**drifted**") == 1


def test_an_unreadable_tenant_is_an_error_and_the_others_are_still_reported(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path)
    for spec in _specs(fleet):
        assert fleet.cli("apply", spec, "--auto-approve").exit_code == 0
    _tamper(fleet, "fabrikam")
    tailspin = fleet.root / "state" / "tailspin-tenant.json"
    data = json.loads(tailspin.read_text(encoding="utf-8"))
    data["faults"] = [{"method": "GET", "path": "^/v1.0/users", "status": 500}]
    tailspin.write_text(json.dumps(data), encoding="utf-8")

    result = fleet.cli("drift", *_specs(fleet))
    assert result.exit_code == 1, result.output
    assert "1 drifted, 1 could not be read, 1 in sync" in result.stdout
    assert "tailspin.yaml: ERROR" in result.stdout and "failed" in result.stdout
    assert "fabrikam.yaml: DRIFTED" in result.stdout and "contoso.yaml: in sync" in result.stdout


@pytest.fixture(autouse=True)
def _no_secret_left(tmp_path: Path) -> Iterator[None]:
    """Every file these tests leave (states, backups, plans, tenants) is free of secrets, as for `tenant`."""
    yield
    Tenant(tmp_path, tmp_path, "").assert_no_secret_on_disk()
