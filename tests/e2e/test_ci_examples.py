"""The CI examples in examples/ci: the structure that matters, and their shell steps run against the simulator.

Each workflow is loaded with ruamel.yaml. The shell steps that call `reconciler` (and the fleet's listing and
summary steps) are run with bash, exactly as written, in a folder laid out like a checkout: the repository's
specs, a simulated tenant, and the state in a blob container of a real Azurite (tests/azurite.py), as the
examples tell a real setup to keep it. Steps that `uses:` an action (checkout, setup-python, azure/login,
upload/download-artifact) are not run, nor the `pip install .` step: the test runs the reconciler installed in
this virtualenv (the console script next to sys.executable), i.e. the code of this checkout. The simulated
tenant needs no sign-in, so nothing stands in for azure/login. The steps get no CRONOFY_SVC_PASSWORD: a drift
check needs no secret (the password is only for creating the account, which apply does).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.azurite import ACCOUNT_KEY
from tests.conftest import PASSWORD, REPO, Tenant

EXAMPLES = REPO / "examples" / "ci"
VENV_BIN = Path(sys.executable).parent
SVC = "cronofy-svc@contoso.onmicrosoft.com"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
LICENSE = json.dumps({"addLicenses": [{"disabledPlans": [], "skuId": E3}], "removeLicenses": []})
TENANT_ID = "6972eeb0-1bf6-5393-8f32-08076f624a10"  # specs/example.yaml's, and every simulated tenant's
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # GitHub's `shell: bash`
STORAGE_ENV = "AZURE_STORAGE_CONNECTION_STRING"
# The examples use `account_url` (signed in with azure-identity); Azurite serves plain http, which the
# backend refuses for account_url, so the test's specs reach the same kind of blob with a connection string.
BACKEND = """
backend:
  type: azure_blob
  container: {container}
  key: {key}
  connection_string: ${{env:AZURE_STORAGE_CONNECTION_STRING}}
"""


def _load(name: str) -> Any:
    return YAML(typ="safe").load((EXAMPLES / name).read_text(encoding="utf-8"))


def _text(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def _calls_reconciler(script: str) -> bool:
    return any(
        re.search(r"\breconciler\s+\w", line) for line in script.splitlines() if not line.strip().startswith("#")
    )


def _reconciler_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The job's shell steps that run reconciler (not the `uses:` steps, not `pip install .`)."""
    steps = []
    for step in job["steps"]:
        script = step.get("run")
        if "uses" in step or script is None or "pip install" in script:
            continue
        if _calls_reconciler(script):
            steps.append(step)
    return steps


def _step(job: dict[str, Any], *, uses: str | None = None, containing: str | None = None) -> dict[str, Any]:
    found = [
        s
        for s in job["steps"]
        if (uses is not None and str(s.get("uses", "")).startswith(uses))
        or (containing is not None and containing in str(s.get("run", "")))
    ]
    assert len(found) == 1, (uses, containing, found)
    step: dict[str, Any] = found[0]
    return step


def _github_env(
    workflow: dict[str, Any], job: dict[str, Any], step: dict[str, Any], given: dict[str, str]
) -> dict[str, str]:
    """The env a step sees: workflow, job and step `env:`, literal values as written; every value that is a
    GitHub expression must be given by the test (it cannot evaluate them)."""
    env: dict[str, str] = {}
    for scope in (workflow, job, step):
        for key, value in (scope.get("env") or {}).items():
            if "${{" in str(value):
                assert key in given, f"the test must give {key} (the workflow sets it to {value})"
            else:
                env[key] = str(value)
    return {**env, **given}


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str
    summary: str
    outputs: dict[str, str]


class Runner:
    """Runs a step's script with bash in a folder, as a runner would: the venv's reconciler on PATH, a fresh
    GITHUB_STEP_SUMMARY and GITHUB_OUTPUT per step, the Azurite connection string for the state blob."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.azurite: str | None = None  # the state blob's connection string, for the tests that use one
        self.fake_bin = tmp / "fake-bin"
        self.fake_bin.mkdir(exist_ok=True)
        assert (VENV_BIN / "reconciler").exists(), f"no reconciler console script in {VENV_BIN}"
        self.count = 0

    def base_env(self) -> dict[str, str]:
        drop = ("GITHUB_", "RUNNER_", "ACTIONS_", "AZURE_", "SYSTEM_", "BUILD_", "CRONOFY_", "RECONCILER_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        env["PATH"] = os.pathsep.join([str(self.fake_bin), str(VENV_BIN), os.environ.get("PATH", "")])
        if self.azurite is not None:
            env[STORAGE_ENV] = self.azurite
        return env

    def run(self, script: str, cwd: Path, env: dict[str, str], shell: list[str] = GITHUB_BASH) -> Ran:
        self.count += 1
        temp = self.tmp / f"runner-temp-{self.count}"
        temp.mkdir()
        file = temp / "step.sh"
        file.write_text(script, encoding="utf-8")
        summary, output = temp / "step_summary.md", temp / "output"
        summary.touch()
        output.touch()
        full = {**self.base_env(), "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output), **env}
        assert "CRONOFY_SVC_PASSWORD" not in full
        done = subprocess.run(
            [*shell, str(file)], cwd=cwd, env=full, capture_output=True, text=True, timeout=300, check=False
        )
        outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line)
        ran = Ran(done.returncode, done.stdout, done.stderr, summary.read_text(encoding="utf-8"), outputs)
        for secret in (ACCOUNT_KEY, self.azurite or ACCOUNT_KEY, PASSWORD):
            assert secret not in ran.stdout + ran.stderr + ran.summary, "a step printed a secret"
        return ran


def _contoso(tenant: Tenant, container: str | None) -> str:
    """specs/contoso.yaml: the example (its simulator: ../state/simulated-tenant.json still right, since it
    stays in specs/), with its state in the blob container when one is given."""
    text = (tenant.root / "specs" / "example.yaml").read_text(encoding="utf-8")
    if container is not None:
        text += BACKEND.format(container=container, key="contoso.json")
    (tenant.root / "specs" / "contoso.yaml").write_text(text, encoding="utf-8")
    return "specs/contoso.yaml"


def _apply(tenant: Tenant, azurite: str, spec: str) -> None:
    """What an operator does once, from wherever they run apply (the state goes to the blob)."""
    result = tenant.cli("apply", spec, "--auto-approve", env={STORAGE_ENV: azurite})
    assert result.exit_code == 0, result.output


def _tamper(tenant: Tenant, tenant_file: Path) -> None:
    """An admin assigns the service account a license behind reconciler's back."""
    args = ["sim", "request", str(tenant_file), "POST", f"/v1.0/users/{SVC}/assignLicense", "--body", LICENSE]
    result = tenant.cli(*args)
    assert result.exit_code == 0, result.output


# -- structure ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["github-drift.yml", "github-fleet.yml", "azure-pipelines-drift.yml"])
def test_no_stored_secret_anywhere(name: str) -> None:
    text = _text(name)
    assert not re.search(r"\bsecrets\.", text, re.IGNORECASE), "credentials come from workload identity only"
    for stored in ("client-secret", "client_secret", "clientSecret", "AZURE_CLIENT_SECRET", "creds:", "password"):
        assert stored not in text, stored
    assert "CRONOFY_SVC_PASSWORD" not in text  # drift never needs the service account's password


@pytest.mark.parametrize("name", ["github-drift.yml", "github-fleet.yml"])
def test_github_workflows_are_scheduled_and_federated(name: str) -> None:
    workflow = _load(name)
    triggers = workflow["on"]  # YAML 1.2: `on` is a key, not true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    permissions = workflow["permissions"]
    assert permissions["id-token"] == "write" and permissions["contents"] == "read"
    assert set(permissions) <= {"id-token", "contents", "issues"}
    assert workflow["defaults"]["run"]["shell"] == "bash"
    drift_job = workflow["jobs"]["drift"]
    login = _step(drift_job, uses="azure/login@v2")["with"]
    assert login["client-id"] == "${{ vars.AZURE_CLIENT_ID }}"
    assert login["tenant-id"].startswith("${{") and "secrets" not in login["tenant-id"]
    assert login["allow-no-subscriptions"] is True
    assert set(login) == {"client-id", "tenant-id", "allow-no-subscriptions"}  # no secret, no creds
    steps = drift_job["steps"]
    (check,) = _reconciler_steps(drift_job)
    assert steps.index(check) == steps.index(_step(drift_job, uses="azure/login@v2")) + 1  # token lives ~5 min
    assert 'reconciler drift "$SPEC" --format markdown --lock=false > drift.md' in check["run"]
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in str(step.get("run", "")), "expressions go through env:, never into a script"


def test_github_drift_structure() -> None:
    workflow = _load("github-drift.yml")
    assert workflow["env"]["SPEC"] == "specs/contoso.yaml"
    assert workflow["permissions"]["issues"] == "write"  # only for the optional comment step
    comment = _step(workflow["jobs"]["drift"], containing="gh issue comment")
    assert "steps.drift.outputs.result == 'drifted'" in comment["if"] and "vars.DRIFT_ISSUE" in comment["if"]
    assert comment["env"]["GH_TOKEN"] == "${{ github.token }}"


def test_github_fleet_structure() -> None:
    workflow = _load("github-fleet.yml")
    assert "issues" not in workflow["permissions"]
    strategy = workflow["jobs"]["drift"]["strategy"]
    assert strategy["fail-fast"] is False and isinstance(strategy["max-parallel"], int)
    assert strategy["matrix"]["spec"] == "${{ fromJSON(needs.tenants.outputs.specs) }}"
    assert workflow["jobs"]["drift"]["needs"] == "tenants"
    summary = workflow["jobs"]["summary"]
    assert "drift" in summary["needs"] and summary["if"] == "always()"
    assert "reconciler drift tenants/*.yaml --parallelism 8 --format markdown" in _text("github-fleet.yml")


def test_azure_pipelines_structure() -> None:
    pipeline = _load("azure-pipelines-drift.yml")
    (schedule,) = pipeline["schedules"]
    assert schedule["cron"] and schedule["always"] is True
    assert pipeline["trigger"] == "none" and pipeline["variables"]["SPEC"] == "specs/contoso.yaml"
    task = _azure_cli_task(pipeline)
    inputs = task["inputs"]
    assert inputs["azureSubscription"] and inputs["scriptType"] == "bash"
    assert "$(" not in inputs["inlineScript"], "the script reads environment variables, not $(...) macros"
    assert "##vso[task.uploadsummary]" in inputs["inlineScript"]


def _azure_cli_task(pipeline: dict[str, Any]) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = [s for s in pipeline["steps"] if s.get("task") == "AzureCLI@2"]
    assert len(tasks) == 1
    return tasks[0]


# -- running the steps ------------------------------------------------------------------------------


@pytest.fixture
def local_runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return Runner(tmp_path_factory.mktemp("runner"))


@pytest.fixture
def runner(local_runner: Runner, azurite: str) -> Runner:
    """A runner whose steps reach the state container (Azurite) through AZURE_STORAGE_CONNECTION_STRING."""
    local_runner.azurite = azurite
    return local_runner


def test_github_drift_in_sync_then_drifted_then_unreadable(
    tenant: Tenant, azurite: str, azure_container: str, runner: Runner
) -> None:
    workflow = _load("github-drift.yml")
    job = workflow["jobs"]["drift"]
    (check,) = _reconciler_steps(job)
    spec = _contoso(tenant, azure_container)
    assert workflow["env"]["SPEC"] == spec
    _apply(tenant, azurite, spec)
    env = _github_env(workflow, job, check, {})

    ran = runner.run(check["run"], tenant.root, env)
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert ran.outputs == {"result": "in_sync"}
    assert f"## reconciler drift: tenant `{TENANT_ID}`" in ran.summary
    assert "**No drift:** the tenant matches `specs/contoso.yaml` (9 objects checked)." in ran.summary
    assert "::error" not in ran.stdout
    assert sorted(p.name for p in (tenant.root / "state").iterdir()) == ["simulated-tenant.json"]  # nothing local

    _tamper(tenant, tenant.tenant)
    ran = runner.run(check["run"], tenant.root, env)
    assert ran.exit_code == 2, ran.stdout + ran.stderr
    assert ran.outputs == {"result": "drifted"}
    assert "**1 of 9 objects drifted** from `specs/contoso.yaml`." in ran.summary
    assert "`license_assignment.service_account`" in ran.summary
    # only the state in the blob tells an admin's change from an edited spec
    assert "changed outside reconciler" in ran.summary
    assert "reconciler apply specs/contoso.yaml" in ran.summary  # how to fix
    assert "::error title=Drift::specs/contoso.yaml: the tenant no longer matches the spec (exit 2)" in ran.stdout
    assert (tenant.root / "drift.md").read_text(encoding="utf-8") in ran.summary

    # the optional issue comment, with a stand-in for gh that records what it was asked to post
    comment = _step(job, containing="gh issue comment")
    log = runner.tmp / "gh.log"
    gh = runner.fake_bin / "gh"
    gh.write_text(
        f'#!/bin/sh\necho "$*" > {log}\n'
        f'while [ $# -gt 0 ]; do [ "$1" = --body-file ] && cat "$2" >> {log}; shift; done\nexit 0\n',
        encoding="utf-8",
    )
    gh.chmod(0o755)
    given = {"GH_TOKEN": "not-a-real-token", "DRIFT_ISSUE": "42", "GITHUB_REPOSITORY": "contoso/m365-config"}
    posted = runner.run(comment["run"], tenant.root, _github_env(workflow, job, comment, given))
    assert posted.exit_code == 0, posted.stderr
    args, body = log.read_text(encoding="utf-8").split("\n", 1)
    assert args == "issue comment 42 --repo contoso/m365-config --body-file comment.md"
    assert "**1 of 9 objects drifted**" in body and "changed outside reconciler" in body

    # a tenant that cannot be read is an error (exit 1) with its own message, never drift
    tenant.set_tenant(lambda t: t.update(faults=[{"method": "GET", "path": "^/v1.0/users", "status": 500}]))
    ran = runner.run(check["run"], tenant.root, env)
    assert ran.exit_code == 1, ran.stdout + ran.stderr
    assert ran.outputs == {"result": "error"}
    assert "## reconciler drift: could not check `specs/contoso.yaml`" in ran.summary
    assert "Error:" in ran.summary and "drifted" not in ran.summary
    assert "::error title=Drift check failed::specs/contoso.yaml: reconciler could not check the tenant (exit 1)" in (
        ran.stdout
    )
    assert "::error title=Drift::" not in ran.stdout


def test_github_drift_report_too_large_for_the_summary(
    tenant: Tenant, azurite: str, azure_container: str, runner: Runner
) -> None:
    workflow = _load("github-drift.yml")
    job = workflow["jobs"]["drift"]
    (check,) = _reconciler_steps(job)
    spec = _contoso(tenant, azure_container)
    _apply(tenant, azurite, spec)
    _tamper(tenant, tenant.tenant)
    ran = runner.run(check["run"], tenant.root, {**_github_env(workflow, job, check, {}), "SUMMARY_LIMIT_BYTES": "200"})
    assert ran.exit_code == 2
    assert "**1 of 9 objects drifted**" in ran.summary and "see the drift-report artifact" in ran.summary
    assert "license_assignment.service_account" not in ran.summary  # the table stayed in drift.md
    assert "license_assignment.service_account" in (tenant.root / "drift.md").read_text(encoding="utf-8")


def test_without_the_blob_backend_a_fresh_runner_cannot_see_who_changed_it(
    tenant: Tenant, local_runner: Runner
) -> None:
    """Why the examples insist on a backend: with local state, the runner starts without state/specs/contoso.json."""
    workflow = _load("github-drift.yml")
    job = workflow["jobs"]["drift"]
    (check,) = _reconciler_steps(job)
    spec = _contoso(tenant, None)
    assert tenant.cli("apply", spec, "--auto-approve").exit_code == 0
    _tamper(tenant, tenant.tenant)
    (tenant.root / "state" / "specs" / "contoso.json").unlink()  # a new runner: the last apply's state is not there
    (tenant.root / "state" / "specs" / "contoso.json.backup").unlink(missing_ok=True)
    ran = local_runner.run(check["run"], tenant.root, _github_env(workflow, job, check, {}))
    assert ran.exit_code == 2  # the drift is still found ...
    assert "license_assignment.service_account" in ran.summary
    assert "changed outside reconciler" not in ran.summary  # ... but not who made it


def test_azure_pipelines_drift_task(tenant: Tenant, azurite: str, azure_container: str, runner: Runner) -> None:
    pipeline = _load("azure-pipelines-drift.yml")
    script = _azure_cli_task(pipeline)["inputs"]["inlineScript"]
    variables = {k: str(v) for k, v in pipeline["variables"].items()}  # pipeline variables become env vars
    spec = _contoso(tenant, azure_container)
    assert variables["SPEC"] == spec
    _apply(tenant, azurite, spec)
    summary = tenant.root / "drift-summary.md"

    ran = runner.run(script, tenant.root, variables, shell=["bash"])  # AzureCLI@2 scriptType bash
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert f"##vso[task.uploadsummary]{tenant.root}/drift-summary.md" in ran.stdout
    assert "##vso[task.setvariable variable=result;isOutput=true]in_sync" in ran.stdout
    assert "##vso[task.logissue" not in ran.stdout
    assert "**No drift:** the tenant matches `specs/contoso.yaml`" in summary.read_text(encoding="utf-8")

    _tamper(tenant, tenant.tenant)
    ran = runner.run(script, tenant.root, variables, shell=["bash"])
    assert ran.exit_code == 2, ran.stdout + ran.stderr
    assert "##vso[task.setvariable variable=result;isOutput=true]drifted" in ran.stdout
    assert (
        "##vso[task.logissue type=error]specs/contoso.yaml: the tenant no longer matches the spec (exit 2)"
        in ran.stdout
    )
    text = summary.read_text(encoding="utf-8")
    assert "**1 of 9 objects drifted**" in text and "changed outside reconciler" in text

    tenant.set_tenant(lambda t: t.update(faults=[{"method": "GET", "path": "^/v1.0/users", "status": 500}]))
    ran = runner.run(script, tenant.root, variables, shell=["bash"])
    assert ran.exit_code == 1, ran.stdout + ran.stderr
    assert "##vso[task.logissue type=error]specs/contoso.yaml: reconciler could not check the tenant (exit 1)" in (
        ran.stdout
    )
    assert "could not check `specs/contoso.yaml`" in summary.read_text(encoding="utf-8")


FLEET = ("contoso", "fabrikam", "tailspin")


def _fleet_checkout(tenant: Tenant, azurite: str, container: str) -> None:
    """tenants/<name>.yaml, each the example pointed at its own simulated tenant, all keeping their state in
    one container under their own blob name; applied once each."""
    example = (REPO / "specs" / "example.yaml").read_text(encoding="utf-8")
    (tenant.root / "tenants").mkdir()
    shutil.copy(REPO / "specs" / "cronofy.csv", tenant.root / "tenants" / "cronofy.csv")
    for name in FLEET:
        tenant_file = tenant.root / "state" / f"{name}-tenant.json"
        shutil.copy(tenant.tenant, tenant_file)  # a fresh simulated tenant of its own
        text = example.replace("../state/simulated-tenant.json", f"../state/{name}-tenant.json")
        text += BACKEND.format(container=container, key=f"{name}.json")
        (tenant.root / "tenants" / f"{name}.yaml").write_text(text, encoding="utf-8")
        _apply(tenant, azurite, f"tenants/{name}.yaml")


def test_github_fleet_matrix_and_summary(tenant: Tenant, azurite: str, azure_container: str, runner: Runner) -> None:
    from azure.storage.blob import BlobServiceClient

    workflow = _load("github-fleet.yml")
    _fleet_checkout(tenant, azurite, azure_container)
    with BlobServiceClient.from_connection_string(azurite) as service:
        blobs = {b.name for b in service.get_container_client(azure_container).list_blobs()}
    assert {f"{name}.json" for name in FLEET} <= blobs  # one container, one blob per tenant
    _tamper(tenant, tenant.root / "state" / "fabrikam-tenant.json")

    # job `tenants`: the matrix
    lister = workflow["jobs"]["tenants"]
    list_step = _step(lister, containing="tenants/*.yaml")
    listed = runner.run(list_step["run"], tenant.root, _github_env(workflow, lister, list_step, {}))
    assert listed.exit_code == 0, listed.stderr
    specs = json.loads(listed.outputs["specs"])
    assert specs == [f"tenants/{name}.yaml" for name in FLEET]

    # job `drift`, once per matrix entry, each on a runner of its own (a copy of the checkout)
    job = workflow["jobs"]["drift"]
    which = _step(job, containing="yq -r")
    (check,) = _reconciler_steps(job)
    collected = runner.tmp / "summary-job" / "results"  # what download-artifact merges for the summary job
    collected.mkdir(parents=True)
    codes, summaries = {}, {}
    for spec in specs:
        checkout = runner.tmp / f"job-{Path(spec).stem}"
        shutil.copytree(tenant.root, checkout)
        tenant_out = runner.run(which["run"], checkout, _github_env(workflow, job, which, {"SPEC": spec}))
        assert tenant_out.exit_code == 0, tenant_out.stderr
        assert tenant_out.outputs == {"id": TENANT_ID, "name": Path(spec).stem}  # azure/login's tenant-id
        env = _github_env(workflow, job, check, {"SPEC": spec, "NAME": tenant_out.outputs["name"]})
        ran = runner.run(check["run"], checkout, env)
        codes[spec], summaries[spec] = ran.exit_code, ran.summary
        for produced in (checkout / "drift-result").iterdir():
            shutil.copy(produced, collected / produced.name)

    assert codes == {"tenants/contoso.yaml": 0, "tenants/fabrikam.yaml": 2, "tenants/tailspin.yaml": 0}
    assert "**No drift:** the tenant matches `tenants/contoso.yaml`" in summaries["tenants/contoso.yaml"]
    assert "**No drift:** the tenant matches `tenants/tailspin.yaml`" in summaries["tenants/tailspin.yaml"]
    fabrikam = summaries["tenants/fabrikam.yaml"]
    assert "**1 of 9 objects drifted** from `tenants/fabrikam.yaml`" in fabrikam
    assert "`license_assignment.service_account`" in fabrikam and "changed outside reconciler" in fabrikam
    assert sorted(p.name for p in collected.iterdir()) == sorted(
        f"{name}.{ext}" for name in FLEET for ext in ("md", "result")
    )

    # job `summary`: which tenants drifted
    final = workflow["jobs"]["summary"]
    summary_step = _step(final, containing="SPECS")
    env = _github_env(workflow, final, summary_step, {"SPECS": listed.outputs["specs"]})
    ran = runner.run(summary_step["run"], collected.parent, env)
    assert ran.exit_code == 1, ran.stdout + ran.stderr
    assert "## reconciler drift: 3 tenants" in ran.summary
    assert "**1 drifted, 0 could not be checked, 2 in sync.**" in ran.summary
    assert "| `tenants/fabrikam.yaml` | **drifted** |" in ran.summary
    assert (
        "| `tenants/contoso.yaml` | in sync |" in ran.summary and "| `tenants/tailspin.yaml` | in sync |" in ran.summary
    )
    assert ran.stdout.count("::error") == 1 and "::error title=Drift::tenants/fabrikam.yaml has drifted" in ran.stdout


def test_github_fleet_summary_without_a_tenants_result(local_runner: Runner) -> None:
    """A tenant whose job failed before the check (sign-in, install) has no result: reported, and the job fails."""
    workflow = _load("github-fleet.yml")
    final = workflow["jobs"]["summary"]
    step = _step(final, containing="SPECS")
    folder = local_runner.tmp / "summary-job"
    (folder / "results").mkdir(parents=True)
    (folder / "results" / "contoso.result").write_text("in_sync\n", encoding="utf-8")
    (folder / "results" / "tailspin.result").write_text("error\n", encoding="utf-8")
    specs = json.dumps([f"tenants/{name}.yaml" for name in FLEET])
    ran = local_runner.run(step["run"], folder, _github_env(workflow, final, step, {"SPECS": specs}))
    assert ran.exit_code == 1
    assert "**0 drifted, 2 could not be checked, 1 in sync.**" in ran.summary
    assert "| `tenants/fabrikam.yaml` | **no result** (its job failed before the check) |" in ran.summary
    assert "| `tenants/tailspin.yaml` | **could not be checked** |" in ran.summary
    assert "::error title=No result::tenants/fabrikam.yaml" in ran.stdout
    assert "::error title=Drift check failed::tenants/tailspin.yaml" in ran.stdout

    # and with every tenant in sync, the summary job passes
    for name in FLEET:
        (folder / "results" / f"{name}.result").write_text("in_sync\n", encoding="utf-8")
    ran = local_runner.run(step["run"], folder, _github_env(workflow, final, step, {"SPECS": specs}))
    assert ran.exit_code == 0, ran.stdout
    assert "**0 drifted, 0 could not be checked, 3 in sync.**" in ran.summary and "::error" not in ran.stdout
