"""The azure_blob backend end to end through the CLI, on a real Azurite (tests/azurite.py).

Apply writes a state blob (serial, lineage; no password, no connection string); a second apply is refused
naming the holder; an apply killed while holding the lease frees the tenant after `state unlock` or when the
lease runs out; `state push` of an older serial is refused; `state rm` then plan offers to adopt; `state
migrate` keeps serial, lineage and resources."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from tests.azurite import ACCOUNT_KEY
from tests.conftest import PASSWORD, Tenant

ENV = "AZURE_STORAGE_CONNECTION_STRING"
BACKEND = """
backend:
  type: azure_blob
  container: {container}
  key: contoso.json
  connection_string: ${{env:AZURE_STORAGE_CONNECTION_STRING}}
  lease_seconds: 15
"""


def _spec(tenant: Tenant, container: str, latency_ms: int = 0) -> str:
    text = Path(tenant.spec_file("example")).read_text(encoding="utf-8")
    path = Path(tenant.spec_file("blob"))
    path.write_text(text + BACKEND.format(container=container), encoding="utf-8")
    if latency_ms:
        tenant.set_tenant(lambda t: t.update(settings={"latency_ms": latency_ms}))
    return str(path)


def _blob(azurite: str, container: str, name: str = "contoso.json") -> bytes:
    with BlobServiceClient.from_connection_string(azurite) as service:
        return service.get_blob_client(container, name).download_blob().readall()


def _cli(tenant: Tenant, azurite: str, *args: str) -> tuple[int, str]:
    result = tenant.cli(*args, env={ENV: azurite})
    output = result.stdout + result.stderr
    assert ACCOUNT_KEY not in output and azurite not in output
    return result.exit_code, output


def _holding(tenant: Tenant, azurite: str, spec: str) -> subprocess.Popen[str]:
    """An apply in a real process, slowed down, once it holds the lease."""
    process = tenant.process("apply", spec, "--auto-approve", env={ENV: azurite})
    deadline = time.monotonic() + 30
    with BlobServiceClient.from_connection_string(azurite) as service:
        blob = service.get_blob_client(spec_container(spec), "contoso.json")
        while time.monotonic() < deadline and process.poll() is None:
            if blob.exists() and blob.get_blob_properties().lease.state == "leased":
                return process
            time.sleep(0.1)
    raise AssertionError("the first apply never took the lease")


def spec_container(spec: str) -> str:
    match = re.search(r"container: (\S+)", Path(spec).read_text(encoding="utf-8"))
    assert match
    return match.group(1)


def test_apply_writes_a_state_blob_without_secrets(tenant: Tenant, azurite: str, azure_container: str) -> None:
    spec = _spec(tenant, azure_container)
    code, output = _cli(tenant, azurite, "apply", spec, "--auto-approve")
    assert code == 0, output
    blob = _blob(azurite, azure_container)
    state = json.loads(blob)
    assert state["serial"] >= 1 and state["lineage"] and len(state["resources"]) == 9
    for secret in (PASSWORD, ACCOUNT_KEY, "AccountKey"):
        assert secret.encode() not in blob
    assert not (tenant.root / "state" / "specs" / "blob.json").exists()  # nothing local
    code, output = _cli(tenant, azurite, "plan", spec)
    assert code == 0 and "No changes." in output


def test_second_apply_is_refused_and_a_killed_apply_is_unlocked(
    tenant: Tenant, azurite: str, azure_container: str
) -> None:
    spec = _spec(tenant, azure_container, latency_ms=400)
    first = _holding(tenant, azurite, spec)
    code, output = _cli(tenant, azurite, "apply", spec, "--auto-approve")
    assert code == 1 and "is locked by" in output and "apply since" in output, output
    assert "reconciler state unlock" in output

    first.send_signal(signal.SIGKILL)
    first.wait()
    code, output = _cli(tenant, azurite, "plan", spec)
    assert code == 1 and "is locked by" in output
    lock_id = re.search(r"lock ID ([0-9a-f-]{36})", output)
    assert lock_id, output
    code, output = _cli(tenant, azurite, "state", "unlock", lock_id.group(1), "--spec", spec)
    assert code == 0, output
    tenant.set_tenant(lambda t: t.update(settings={"latency_ms": 0}))
    code, output = _cli(tenant, azurite, "apply", spec, "--auto-approve")
    assert code == 0, output
    code, output = _cli(tenant, azurite, "plan", spec)
    assert "No changes." in output


def test_a_killed_apply_frees_the_tenant_when_the_lease_runs_out(
    tenant: Tenant, azurite: str, azure_container: str
) -> None:
    spec = _spec(tenant, azure_container, latency_ms=400)
    first = _holding(tenant, azurite, spec)
    first.send_signal(signal.SIGKILL)
    first.wait()
    tenant.set_tenant(lambda t: t.update(settings={"latency_ms": 0}))
    deadline = time.monotonic() + 25
    while True:
        code, output = _cli(tenant, azurite, "apply", spec, "--auto-approve")
        if code == 0 or time.monotonic() > deadline:
            break
        assert "is locked by" in output, output
        time.sleep(1)
    assert code == 0, output
    recorded = json.loads(_blob(azurite, azure_container))["resources"]
    assert len(recorded) == 9
    users = [u for u in tenant.tenant_data()["users"] if u["userPrincipalName"].startswith("cronofy-svc@")]
    assert len(users) == 1  # made once, adopted by the next apply


def test_push_rm_pull_on_the_blob(tenant: Tenant, azurite: str, azure_container: str) -> None:
    spec = _spec(tenant, azure_container)
    assert _cli(tenant, azurite, "apply", spec, "--auto-approve")[0] == 0
    code, pulled = _cli(tenant, azurite, "state", "pull", "--spec", spec)
    old = tenant.root / "old.json"
    old.write_text(pulled, encoding="utf-8")

    before = tenant.tenant.read_bytes()
    code, output = _cli(tenant, azurite, "state", "rm", "room_list.Meeting Rooms", "--spec", spec)
    assert code == 0, output
    assert tenant.tenant.read_bytes() == before
    code, output = _cli(tenant, azurite, "plan", spec)
    assert "reconciler import --spec" in output and "'room_list.Meeting Rooms'" in output

    code, output = _cli(tenant, azurite, "state", "push", str(old), "--spec", spec)
    assert code == 1 and "older than" in output
    assert "room_list.Meeting Rooms" not in _cli(tenant, azurite, "state", "list", "--spec", spec)[1]


def test_migrate_a_local_state_into_the_blob(tenant: Tenant, azurite: str, azure_container: str) -> None:
    local_spec = tenant.spec_file("example")
    assert tenant.cli("apply", local_spec, "--auto-approve").exit_code == 0
    local = json.loads((tenant.root / "state" / "specs" / "example.json").read_text(encoding="utf-8"))
    spec = _spec(tenant, azure_container)
    code, output = _cli(tenant, azurite, "state", "migrate", "--spec", spec, "--from", "state/specs/example.json")
    assert code == 0, output
    migrated = json.loads(_blob(azurite, azure_container))
    assert (migrated["serial"], migrated["lineage"], migrated["resources"]) == (
        local["serial"],
        local["lineage"],
        local["resources"],
    )
    code, output = _cli(tenant, azurite, "plan", spec)
    assert code == 0 and "No changes." in output
    again = _cli(tenant, azurite, "state", "migrate", "--spec", spec, "--from", "state/specs/example.json")
    assert again[0] == 1 and "already holds a state" in again[1]
