"""The state lock: one apply at a time per state file.

The lock itself is an OS file lock (filelock), released by the OS if the holder dies. Beside it
a small JSON file says who holds it (user, host, pid, operation, since), so a refused run can
name the holder.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from reconciler.errors import StateLockError


def _info_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock.info")


@contextmanager
def state_lock(state_path: Path, operation: str, timeout_s: float = 0) -> Iterator[None]:
    """Hold the lock of `state_path` for the block, or raise StateLockError naming the holder."""
    state_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state_path.with_name(state_path.name + ".lock")), timeout=timeout_s)
    try:
        lock.acquire()
    except Timeout:
        raise StateLockError(
            f"state {state_path} is locked by {_holder(state_path)}",
            "another apply is running against this state; wait for it to finish "
            "(the lock is released when that process ends)",
        ) from None
    info = _info_path(state_path)
    try:
        info.write_text(json.dumps(_lock_info(operation)), encoding="utf-8")
        yield
    finally:
        info.unlink(missing_ok=True)
        lock.release()


def _lock_info(operation: str) -> dict[str, object]:
    return {
        "who": f"{getpass.getuser()}@{socket.gethostname()}",
        "pid": os.getpid(),
        "operation": operation,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _holder(state_path: Path) -> str:
    try:
        info = json.loads(_info_path(state_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "another process"
    return f"{info['who']} (pid {info['pid']}, {info['operation']} since {info['since']})"
