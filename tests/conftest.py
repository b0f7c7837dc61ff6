"""Shared fixtures: a simulated tenant file per test, specs pointing at it, and the CLI runner.

End-to-end tests go through the CLI (typer's runner, or a real subprocess where a terminal or a
second process matters) and the real msgraph-sdk client against the simulator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.simulator import init_tenant

pytest_plugins = ["tests.azurite"]
REPO = Path(__file__).resolve().parents[1]
PASSWORD = "Sim-Secret-Pa55word-7731"
APP_SECRET = "app-secret-value-123"  # the integration's client secret in tests (test_exchange)
SECRETS = (PASSWORD, APP_SECRET)
SVC = "cronofy-svc@contoso.onmicrosoft.com"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"

SPEC_TEMPLATE = """\
version: 1
tenant:
  id: {tenant_id}
  domain: contoso.onmicrosoft.com
  simulator: {simulator}
service_account:
  user_principal_name: {upn}
  display_name: {display_name}
  given_name: Cronofy
  surname: Service Account
  mail_nickname: cronofy-svc
  account_enabled: true
  password: ${{env:CRONOFY_SVC_PASSWORD}}
  force_change_password_next_sign_in: false
  usage_location: US
  licenses: {licenses}
"""


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Workspace:
    """A folder with a simulated tenant, a spec for it, and the state file location."""

    root: Path
    tenant: Path
    tenant_id: str

    @property
    def spec(self) -> Path:
        return self.root / "spec.yaml"

    @property
    def state(self) -> Path:
        return self.root / "state" / "spec.json"

    def write_spec(
        self,
        *,
        display_name: str = "Cronofy Service Account",
        licenses: str = "[]",
        upn: str = SVC,
        text: str | None = None,
    ) -> Path:
        body = (
            text
            if text is not None
            else SPEC_TEMPLATE.format(
                tenant_id=self.tenant_id,
                simulator=self.tenant.name,
                upn=upn,
                display_name=display_name,
                licenses=licenses,
            )
        )
        self.spec.write_text(body, encoding="utf-8")
        return self.spec

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """Run `reconciler ARGS` in-process in this folder (state/ is relative to it)."""
        runner = CliRunner()
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            result = runner.invoke(app, list(args), env={"CRONOFY_SVC_PASSWORD": PASSWORD, **(env or {})})
        finally:
            os.chdir(cwd)
        for secret in SECRETS:  # no command may ever print a secret
            assert secret not in result.stdout + result.stderr, f"a secret was printed by {args}"
        return Result(result.exit_code, result.stdout, result.stderr)

    def assert_no_secret_on_disk(self) -> None:
        """Every file the test left behind (state, backups, plans, tenant, lock info) is free of secrets."""
        for path in self.root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for secret in SECRETS:
                    assert secret.encode() not in data, f"a secret was written to {path}"

    def process(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start `reconciler ARGS` as a real process in this folder."""
        full_env = {**os.environ, "CRONOFY_SVC_PASSWORD": PASSWORD, **(env or {})}
        return subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args],
            cwd=self.root,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def graph(self, method: str, path: str, body: dict[str, Any] | None = None) -> Result:
        """A change (or read) made behind reconciler's back, through the simulator's Graph endpoint."""
        args = ["sim", "request", str(self.tenant), method, f"/v1.0{path}"]
        if body is not None:
            args += ["--body", json.dumps(body)]
        return self.cli(*args)

    def graph_json(self, path: str) -> Any:
        result = self.graph("GET", path)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout.split("\n", 1)[1])

    def tenant_data(self) -> Any:
        return json.loads(self.tenant.read_text(encoding="utf-8"))

    def set_tenant(self, update: Callable[[dict[str, Any]], None]) -> None:
        data = self.tenant_data()
        update(data)
        self.tenant.write_text(json.dumps(data), encoding="utf-8")

    def state_data(self) -> Any:
        return json.loads(self.state.read_text(encoding="utf-8"))


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    tenant = tmp_path / "tenant.json"
    data = init_tenant(tenant)
    workspace = Workspace(tmp_path, tenant, data["tenant"]["id"])
    workspace.write_spec()
    yield workspace
    workspace.assert_no_secret_on_disk()


class Tenant(Workspace):
    """The repository's specs copied next to a fresh simulated tenant (their `simulator:` path unchanged)."""

    def spec_file(self, name: str) -> str:
        return str(self.root / "specs" / f"{name}.yaml")

    def state_data_of(self, name: str) -> Any:
        """The state of specs/<name>.yaml (its own path under state/: state/specs/<name>.json)."""
        return json.loads((self.root / "state" / "specs" / f"{name}.json").read_text(encoding="utf-8"))

    def exchange(self, cmdlet: str, parameters: dict[str, Any]) -> Any:
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}
        result = self.cli(
            "sim",
            "request",
            str(self.tenant),
            "POST",
            f"/adminapi/beta/{self.tenant_id}/InvokeCommand",
            "--body",
            json.dumps(body),
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout.split("\n", 1)[1]).get("value", [])


# A licensed service account with the integration's app and the restricted preset (tests append more `access:`)
ACCESS_SPEC = """\
version: 1
tenant:
  id: {tenant_id}
  domain: contoso.onmicrosoft.com
  simulator: ../state/simulated-tenant.json
target: exchange_online
service_account:
  user_principal_name: cronofy-svc@contoso.onmicrosoft.com
  display_name: Cronofy Service Account
  password: ${{env:CRONOFY_SVC_PASSWORD}}
  usage_location: US
  licenses: [ENTERPRISEPACK]
integration:
  app_id: 10bb7e5b-b80b-4e6e-a209-f78581dbc79e
  display_name: Cronofy Enterprise Connect
access:
  level: {level}
  scope_group: cronofy-scope@contoso.com
"""


def write_access_spec(tenant: Tenant, name: str, tail: str = "", level: str = "restricted") -> str:
    """specs/<name>.yaml next to `tenant`: ACCESS_SPEC plus `tail`; its path."""
    path = tenant.root / "specs" / f"{name}.yaml"
    path.write_text(ACCESS_SPEC.format(tenant_id=tenant.tenant_id, level=level) + tail, encoding="utf-8")
    return str(path)


def granted(tenant: Tenant, mailbox: str, grantee: str = SVC) -> bool:
    """Whether `grantee` has an entry on `mailbox`'s Calendar (read through Graph, as any admin could)."""
    entries = tenant.graph_json(f"/users/{mailbox}/calendar/calendarPermissions")["value"]
    return grantee in {str(e.get("emailAddress", {}).get("address", "")).lower() for e in entries}


def make_tenant(root: Path, file: str = "simulated-tenant.json", **seed: Any) -> Tenant:
    """The repository's specs copied into `root`, next to a fresh simulated tenant at state/`file`
    (the specs' `simulator:` paths unchanged); `seed` goes to init_tenant (flavor, ad_password, ...)."""
    shutil.copytree(REPO / "specs", root / "specs")
    path = root / "state" / file
    path.parent.mkdir(parents=True)
    data = init_tenant(path, **seed)
    return Tenant(root, path, data["tenant"]["id"])


@pytest.fixture
def tenant(tmp_path: Path) -> Iterator[Tenant]:
    tenant = make_tenant(tmp_path)
    yield tenant
    tenant.assert_no_secret_on_disk()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Tenant]:
    """An on-premises Exchange Server tenant for specs/exchange-server.yaml (AD password: PASSWORD)."""
    tenant = make_tenant(tmp_path, "simulated-exchange-server.json", flavor="exchange_server", ad_password=PASSWORD)
    yield tenant
    tenant.assert_no_secret_on_disk()  # the simulated AD keeps only a hash of the password


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the size of the bad-input corpus (tests/e2e/test_bad_input.py)."""
    try:
        from tests.e2e.test_bad_input import CORPUS_SIZE
    except ImportError:
        return
    terminalreporter.write_line(f"bad-input corpus: {CORPUS_SIZE} broken inputs")
