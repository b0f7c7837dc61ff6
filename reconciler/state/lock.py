"""The local state lock: one apply at a time per state file.

The lock itself is an OS file lock (filelock), released by the OS if the holder dies. Beside it
a small JSON file (`<state>.lock.info`) says who holds it (LockInfo: lock ID, operation, user,
host, pid, since), so a refused run can name the holder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import ValidationError

from reconciler.errors import StateLockError
from reconciler.state.backend import LockInfo


def info_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock.info")


@contextmanager
def state_lock(state_path: Path, operation: str, timeout_s: float = 0) -> Iterator[LockInfo]:
    """Hold the lock of `state_path` for the block, or raise StateLockError naming the holder."""
    state_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state_path.with_name(state_path.name + ".lock")), timeout=timeout_s)
    try:
        lock.acquire()
    except Timeout:
        holder = read_lock_info(state_path)
        raise StateLockError(
            f"state {state_path} is locked by {holder.describe() if holder else 'another process'}",
            "another run is using this state; wait for it to finish (a local lock is released when its process ends)",
        ) from None
    info = LockInfo(operation=operation)
    note = info_path(state_path)
    try:
        note.write_text(info.model_dump_json(), encoding="utf-8")
        yield info
    finally:
        note.unlink(missing_ok=True)
        lock.release()


def read_lock_info(state_path: Path) -> LockInfo | None:
    try:
        return LockInfo.model_validate_json(info_path(state_path).read_text(encoding="utf-8"))
    except (OSError, ValueError, ValidationError):
        return None
