"""The `local` backend: a state file on this machine (the default), as before backends existed.

Atomic writes with a `.backup` of the previous version (store.py), an OS file lock with a
`.lock.info` naming the holder (lock.py). The version check before a write compares the serial
on disk with the one this run read: another writer in between is refused, as on every backend.

`moved_from`: a state at an older place (select.py) read while `path` has none; the first write puts the
state at `path` and the old file becomes `path`'s `.backup`, so one state is never in two places.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from reconciler.errors import StateLockError
from reconciler.state.backend import LockInfo, StateBackend
from reconciler.state.lock import info_path, read_lock_info, state_lock
from reconciler.state.model import State
from reconciler.state.store import backup_path, read_state_text, write_state_text


class LocalBackend(StateBackend):
    def __init__(self, path: Path, moved_from: Path | None = None) -> None:
        self.path = path
        self.location = str(path)
        self.moved_from = moved_from
        self._serial: int | None = None  # the serial this run last read or wrote; None: nothing read yet
        self._text: str | None = None  # the text this run last read from or wrote to `path`

    def exists(self) -> bool:
        return self.path.exists() or (self.moved_from is not None and self.moved_from.exists())

    def read(self) -> State:
        older = self.moved_from if self.moved_from is not None and not self.path.exists() else None
        state, text = read_state_text(older or self.path)
        self._serial = state.serial if self.path.exists() else None
        self._text = text if older is None else None
        return state

    def write(self, state: State, exact: bool = False) -> State:
        written, self._text = write_state_text(self.path, state, exact, self._serial, self._text)
        self._serial = written.serial
        if self.moved_from is not None:
            if self.moved_from.exists():
                os.replace(self.moved_from, backup_path(self.path))
            self.moved_from = None
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
