"""The `local` backend: a state file on this machine (the default), as before backends existed.

Atomic writes with a `.backup` of the previous version (store.py), an OS file lock with a
`.lock.info` naming the holder (lock.py). The version check before a write compares the serial
on disk with the one this run read: another writer in between is refused, as on every backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from reconciler.errors import StateLockError
from reconciler.state.backend import LockInfo, StateBackend
from reconciler.state.lock import info_path, read_lock_info, state_lock
from reconciler.state.model import State
from reconciler.state.store import read_state, write_state


class LocalBackend(StateBackend):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._serial: int | None = None  # the serial this run last read or wrote; None: nothing read yet

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> State:
        state = read_state(self.path)
        self._serial = state.serial if self.path.exists() else None
        return state

    def write(self, state: State, exact: bool = False) -> State:
        written = write_state(self.path, state, exact, expect_serial=self._serial)
        self._serial = written.serial
        return written

    @contextmanager
    def _locked(self, operation: str) -> Iterator[LockInfo]:
        with state_lock(self.path, operation) as info:
            yield info

    def lock(self, operation: str) -> AbstractContextManager[LockInfo]:
        return self._locked(operation)

    def unlock(self, lock_id: str) -> None:
        holder = self.holder()
        if holder is None:
            raise StateLockError(f"state {self.path} is not locked", "nothing to unlock")
        if holder.id != lock_id:
            raise StateLockError(
                f"lock ID {lock_id} does not match the lock of {self.path}", f"it is held by {holder.describe()}"
            )
        # The OS lock dies with its holder; what remains after a crash is the holder's note.
        info_path(self.path).unlink(missing_ok=True)

    def holder(self) -> LockInfo | None:
        return read_lock_info(self.path)
