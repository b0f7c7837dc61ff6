"""The azure_blob state backend against a real Azurite (tests/azurite.py), each test in its own container."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from reconciler.errors import StateError, StateLockError
from reconciler.state.azure_blob import LOCK_METADATA_KEY, AzureBlobBackend
from reconciler.state.backend import LockInfo, StateConflictError, render_state
from reconciler.state.model import ResourceRecord, State
from tests.azurite import ACCOUNT_KEY, connection_string

KEY = "prod.tfstate.json"


class Backends(Protocol):
    """Makes an AzureBlobBackend on this test's container; a keyword argument overrides that default."""

    def __call__(
        self, *, container: str = ..., key: str = ..., workspace: str | None = ..., lease_seconds: int = ...
    ) -> AzureBlobBackend: ...


@pytest.fixture
def backend(azurite: str, azure_container: str, tmp_path: Path) -> Iterator[Backends]:
    """Makes backends on this test's container (closed at the end); keyword arguments override the defaults."""
    made: list[AzureBlobBackend] = []

    def make(
        *, container: str = azure_container, key: str = KEY, workspace: str | None = None, lease_seconds: int = 60
    ) -> AzureBlobBackend:
        instance = AzureBlobBackend(
            container=container,
            key=key,
            workspace=workspace,
            connection_string=azurite,
            lease_seconds=lease_seconds,
            local_dir=tmp_path / "local",
        )
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()


@pytest.fixture
def container(azurite: str, azure_container: str) -> Iterator[ContainerClient]:
    with BlobServiceClient.from_connection_string(azurite) as service:
        yield service.get_container_client(azure_container)


def a_state(*names: str, tenant: str = "contoso.onmicrosoft.com") -> State:
    state = State(tenant=tenant)
    for name in names:
        state.put(ResourceRecord(address=f"mailbox.{name}", kind="mailbox", id=f"id-{name}", attributes={"n": name}))
    return state


def no_secrets(text: str, connection_string: str) -> None:
    assert ACCOUNT_KEY not in text
    assert connection_string not in text
    assert "AccountKey" not in text


# -- reading and writing -----------------------------------------------------------------------------


def test_write_read_round_trip_keeps_serial_and_lineage(
    backend: Backends, container: ContainerClient, azurite: str
) -> None:
    first = backend()
    assert not first.exists()
    empty = first.read()
    assert (empty.serial, empty.resources) == (0, [])

    state = a_state("alice", "bob")
    written = first.write(state)
    assert written.serial == 1
    assert written.lineage == state.lineage
    assert first.exists()

    again = backend().read()
    assert again == written
    assert again.model_dump() == state.model_copy(update={"serial": 1}).model_dump()

    # a write that changes nothing keeps the serial and stores nothing new
    assert first.write(again).serial == 1
    changed = again.model_copy(deep=True)
    changed.remove("mailbox.bob")
    assert first.write(changed).serial == 2
    assert backend().read().get("mailbox.bob") is None

    raw = container.get_blob_client(KEY).download_blob().readall().decode()
    assert json.loads(raw)["serial"] == 2
    assert raw == render_state(backend().read())
    no_secrets(raw, azurite)
    assert first.location == f"azure_blob://{container.container_name}/{KEY}"
    no_secrets(first.location, azurite)


def test_exact_write_keeps_the_given_serial(backend: Backends) -> None:
    store = backend()
    store.write(a_state("alice"))
    pushed = a_state("alice", "bob").model_copy(update={"serial": 7})
    assert store.write(pushed, exact=True).serial == 7
    assert backend().read().serial == 7
    assert store.write(pushed, exact=True).serial == 7  # the same again: nothing to store
    assert store.write(pushed.model_copy(update={"serial": 9}), exact=True).serial == 9


def test_mutating_what_read_returned_still_writes(backend: Backends) -> None:
    store = backend()
    store.write(a_state("alice"))
    state = store.read()
    state.put(ResourceRecord(address="mailbox.carol", kind="mailbox"))
    assert store.write(state).serial == 2
    assert backend().read().get("mailbox.carol") is not None


def test_write_over_changed_state_is_refused_and_kept_locally(
    backend: Backends, container: ContainerClient, azurite: str, tmp_path: Path
) -> None:
    ours, theirs = backend(), backend()
    ours.write(a_state("alice"))
    base = ours.read()
    theirs.read()
    their_write = theirs.write(a_state("alice", "bob"))
    assert their_write.serial == 2

    mine = base.model_copy(deep=True)
    mine.put(ResourceRecord(address="mailbox.carol", kind="mailbox"))
    with pytest.raises(StateConflictError) as caught:
        ours.write(mine)
    error = caught.value
    assert "serial 2" in error.summary and "serial 1" in error.summary
    assert "nothing was overwritten" in error.detail

    # the other write is intact
    stored = backend().read()
    assert stored == their_write
    assert stored.get("mailbox.carol") is None

    # what we meant to write is kept, owner-only, and the error says how to push it
    kept = tmp_path / "local" / f"{KEY}.errored.json"
    assert kept.exists()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text())["resources"][1]["address"] == "mailbox.carol"
    assert f"the state was kept in {kept}; push it with `reconciler state push {kept}`" in error.detail
    no_secrets(str(error), azurite)


def test_every_earlier_version_is_a_snapshot(backend: Backends, container: ContainerClient) -> None:
    store = backend()
    for names in (("alice",), ("alice", "bob"), ("alice", "bob", "carol")):
        store.write(a_state(*names))

    listed = container.list_blobs(name_starts_with=KEY, include=["snapshots", "metadata"])
    versions = [b for b in listed if b.name == KEY]
    snapshots = sorted((b for b in versions if b.snapshot), key=lambda b: str(b.snapshot))
    assert len(snapshots) == 2
    serials = [
        json.loads(container.get_blob_client(KEY, snapshot=b.snapshot).download_blob().readall())["serial"]
        for b in snapshots
    ]
    assert serials == [1, 2]
    assert [b.metadata["reconcilerserial"] for b in snapshots] == ["1", "2"]
    assert backend().read().serial == 3


def test_unreadable_and_other_version_state_blobs_are_named(backend: Backends, container: ContainerClient) -> None:
    blob = container.get_blob_client(KEY)
    blob.upload_blob(b"{not json", overwrite=True)
    with pytest.raises(StateError) as caught:
        backend().read()
    assert f"azure_blob://{container.container_name}/{KEY}" in caught.value.summary
    assert "snapshots" in caught.value.detail

    blob.upload_blob(json.dumps({"version": 2, "serial": 4}).encode(), overwrite=True)
    with pytest.raises(StateError) as caught:
        backend().read()
    assert "format version 2" in caught.value.summary
    assert "use the reconciler release that wrote it" in caught.value.detail


def test_workspaces_use_their_own_blob(backend: Backends, container: ContainerClient) -> None:
    default, eu, named_default = backend(), backend(workspace="eu"), backend(workspace="default")
    assert eu.location.endswith(f"/{KEY}env:eu")
    assert named_default.location == default.location
    default.write(a_state("alice"))
    eu.write(a_state("bob", tenant="fabrikam.onmicrosoft.com"))

    assert {b.name for b in container.list_blobs()} == {KEY, f"{KEY}env:eu"}
    assert backend().read().tenant == "contoso.onmicrosoft.com"
    assert backend(workspace="eu").read().tenant == "fabrikam.onmicrosoft.com"
    assert backend(workspace="eu").read().lineage != backend().read().lineage


def test_missing_container_says_how_to_create_it(backend: Backends, azurite: str, tmp_path: Path) -> None:
    store = backend(container="no-such-container")
    for attempt in (store.read, store.exists, lambda: store.lock("apply").__enter__()):
        with pytest.raises(StateError) as caught:
            attempt()
        assert "'no-such-container' does not exist" in caught.value.summary
        assert "az storage container create --name no-such-container" in caught.value.detail
        no_secrets(str(caught.value), azurite)

    with pytest.raises(StateError) as caught:
        store.write(a_state("alice"))
    assert "az storage container create" in caught.value.detail
    assert (tmp_path / "local" / f"{KEY}.errored.json").exists()
    assert "reconciler state push" in caught.value.detail


def test_unreachable_account_keeps_the_state_and_leaks_no_key(
    azurite: str, azure_container: str, tmp_path: Path
) -> None:
    dead = connection_string(9)  # the discard port: nothing listens there
    store = AzureBlobBackend(container=azure_container, key=KEY, connection_string=dead, local_dir=tmp_path)
    started = time.monotonic()
    with pytest.raises(StateError) as caught:
        store.write(a_state("alice"))
    elapsed = time.monotonic() - started
    assert "cannot reach storage account devstoreaccount1" in caught.value.summary
    assert "once the storage account is reachable" in caught.value.detail
    no_secrets(str(caught.value), dead)
    assert elapsed < 30, f"gave up only after {elapsed:.0f} s"
    store.close()


# -- locking -----------------------------------------------------------------------------------------


def test_lock_on_a_new_state_leaves_no_state(backend: Backends, container: ContainerClient, azurite: str) -> None:
    store = backend()
    with store.lock("apply") as info:
        assert isinstance(info, LockInfo)
        assert not store.exists()
        assert store.read().serial == 0
        assert store.write(a_state("alice")).serial == 1
        assert store.holder() == info
        no_secrets(json.dumps(container.get_blob_client(KEY).get_blob_properties().metadata), azurite)
    props = container.get_blob_client(KEY).get_blob_properties()
    assert props.lease.status == "unlocked"
    assert LOCK_METADATA_KEY not in props.metadata
    assert backend().read().serial == 1
    assert store.write(a_state("alice", "bob")).serial == 2  # our own lock's metadata changes are no conflict


def test_read_before_lock_then_write_under_it(backend: Backends) -> None:
    backend().write(a_state("alice"))
    store = backend()
    state = store.read()
    with store.lock("apply"):
        state.put(ResourceRecord(address="mailbox.bob", kind="mailbox"))
        assert store.write(state).serial == 2
    assert backend().read().serial == 2


def test_second_lock_is_refused_naming_the_holder(backend: Backends, azurite: str) -> None:
    holder, other = backend(), backend()
    holder.write(a_state("alice"))
    with holder.lock("apply") as info:
        with pytest.raises(StateLockError) as caught:
            other.lock("plan").__enter__()
        error = caught.value
        assert error.summary == f"state {holder.location} is locked by {info.describe()}"
        for part in (info.who, info.host, "apply", info.id, str(info.pid)):
            assert part in error.summary
        assert f"`reconciler state unlock {info.id}`" in error.detail
        assert "frees itself within 60 s" in error.detail
        no_secrets(str(error), azurite)
        assert other.holder() == info

        # nor can another run write while the lock is held
        other.read()
        with pytest.raises(StateLockError):
            other.write(a_state("alice", "mallory"))
    assert backend().read().get("mailbox.mallory") is None
    with other.lock("apply"):
        pass


def test_lock_of_a_killed_holder_frees_itself_when_the_lease_expires(
    backend: Backends, azurite: str, azure_container: str, tmp_path: Path
) -> None:
    child, info = _hold_lock_in_subprocess(azurite, azure_container, tmp_path)
    try:
        with pytest.raises(StateLockError) as caught:
            backend().lock("apply").__enter__()
        assert info.id in caught.value.summary
        assert "frees itself within 15 s" in caught.value.detail
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    killed = time.monotonic()
    assert backend().holder() == info  # killed, but its lease has not expired yet

    waited = _wait_until_lockable(backend(), timeout=30)
    assert waited <= 17, f"the lock freed itself only {waited:.1f} s after its holder died"
    assert time.monotonic() - killed >= 5  # it did not free itself right away: the lease had to expire
    assert backend().holder() is None


def test_a_held_lock_is_renewed_past_its_lease(backend: Backends) -> None:
    holder = backend(lease_seconds=15)
    with holder.lock("apply") as info:
        time.sleep(17)
        assert backend().holder() == info
        with pytest.raises(StateLockError):
            backend().lock("apply").__enter__()
        assert holder.write(a_state("alice")).serial == 1


def test_unlock_frees_a_lock_at_once_and_refuses_a_wrong_id(
    backend: Backends, azurite: str, azure_container: str, tmp_path: Path
) -> None:
    child, info = _hold_lock_in_subprocess(azurite, azure_container, tmp_path)
    try:
        admin = backend()
        with pytest.raises(StateLockError) as caught:
            admin.unlock("00000000-0000-0000-0000-000000000000")
        assert "does not match" in caught.value.summary
        assert info.describe() in caught.value.detail
        assert backend().holder() == info

        started = time.monotonic()
        admin.unlock(info.id)
        assert backend().holder() is None
        with backend().lock("apply") as mine:
            assert backend().holder() == mine
        assert time.monotonic() - started < 5
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)

    with pytest.raises(StateLockError) as caught:
        backend().unlock(info.id)
    assert "not locked" in caught.value.summary


def test_a_holder_whose_lock_was_broken_is_told_on_release(backend: Backends) -> None:
    holder, admin = backend(), backend()
    held = holder.lock("apply")
    info = held.__enter__()
    admin.unlock(info.id)
    with admin.lock("apply"), pytest.raises(StateLockError) as caught:
        held.__exit__(None, None, None)
    assert "could not release the lock" in caught.value.summary
    assert "lost its lock" in caught.value.summary


def test_invalid_configuration_is_refused(azurite: str) -> None:
    with pytest.raises(StateError, match="exactly one of account_url and connection_string"):
        AzureBlobBackend(container="c", key="k")
    with pytest.raises(StateError, match="exactly one"):
        AzureBlobBackend(container="c", key="k", connection_string=azurite, account_url="https://a.example")
    with pytest.raises(StateError, match="not an https:// URL"):
        AzureBlobBackend(container="c", key="k", account_url="http://127.0.0.1:10000/devstoreaccount1")
    with pytest.raises(StateError, match="lease_seconds 10"):
        AzureBlobBackend(container="c", key="k", connection_string=azurite, lease_seconds=10)


# -- helpers -----------------------------------------------------------------------------------------

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from reconciler.state.azure_blob import AzureBlobBackend

    connection_string, container, key, local_dir = sys.argv[1:5]
    store = AzureBlobBackend(
        container=container, key=key, connection_string=connection_string, lease_seconds=15, local_dir=Path(local_dir)
    )
    with store.lock("apply") as info:
        print(info.model_dump_json(), flush=True)
        time.sleep(3600)
    """
)


def _hold_lock_in_subprocess(
    connection_string: str, container: str, tmp_path: Path
) -> tuple[subprocess.Popen[str], LockInfo]:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, connection_string, container, KEY, str(tmp_path / "child")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.wait(timeout=10)
        pytest.fail(f"the lock holder did not start: {child.stderr.read() if child.stderr else ''}")
    return child, LockInfo.model_validate_json(line)


def _wait_until_lockable(store: AzureBlobBackend, timeout: float) -> float:
    """Seconds until `store` could take the lock; fails the test after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with store.lock("apply"):
                return time.monotonic() - started
        except StateLockError:
            time.sleep(0.5)
    pytest.fail(f"the lock was still held {timeout:.0f} s after its holder was killed")
