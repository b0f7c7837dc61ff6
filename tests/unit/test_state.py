"""The state file: version check, serial, lineage, backup, atomic write, lock."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from reconciler.errors import StateError, StateLockError
from reconciler.state import ResourceRecord, State, read_state, state_lock, write_state
from reconciler.state.store import backup_path


def _record(name: str = "a") -> ResourceRecord:
    return ResourceRecord(address=f"user.{name}", kind="user", id="1", attributes={"display_name": name})


def test_serial_rises_only_on_change_and_lineage_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    state = read_state(path)
    assert state.serial == 0
    state.put(_record())
    first = write_state(path, state)
    assert first.serial == 1
    same = write_state(path, first)
    assert same.serial == 1
    first.put(_record("b"))
    second = write_state(path, first)
    assert second.serial == 2 and second.lineage == first.lineage
    assert json.loads(backup_path(path).read_text())["serial"] == 1
    assert not list(tmp_path.glob(".s.json.*")), "temporary files are cleaned up"


def test_other_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": 4, "serial": 1, "lineage": "x", "resources": []}))
    with pytest.raises(StateError, match="format version 4"):
        read_state(path)


def test_corrupt_state_points_at_the_backup(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with pytest.raises(StateError, match="cannot read state file") as info:
        read_state(path)
    assert "s.json.backup" in info.value.detail


def _hold(path: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event) -> None:
    with state_lock(Path(path), "apply"):
        ready.set()
        release.wait(30)


def test_lock_names_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(path), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(StateLockError) as info, state_lock(path, "apply"):
            pass
        assert f"pid {holder.pid}" in info.value.summary and "apply since" in info.value.summary
    finally:
        release.set()
        holder.join(30)
    with state_lock(path, "apply"):
        assert State().serial == 0  # free again once the holder is gone
