"""Where state lives: one small interface, one implementation per place (Terraform's backends).

    local        a file under the spec's state/ folder on this machine (file lock, `.backup` of the last write)
    azure_blob   a blob in an Azure Storage container (blob lease as the lock, ETag-conditional
                 writes, a snapshot of every earlier version)

The engine only reads and writes `State` objects through a backend; it never sees paths or blobs.
A backend remembers the version it last read or wrote, so `write` can refuse to overwrite a
state that someone else changed in between (StateConflictError), never silently losing either.
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from reconciler.errors import StateError
from reconciler.state.model import State


class LockInfo(BaseModel):
    """Who holds a state lock; shown to a refused second run, and the ID `state unlock` takes."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    operation: str
    who: str = Field(default_factory=lambda: getpass.getuser())
    host: str = Field(default_factory=socket.gethostname)
    pid: int = Field(default_factory=os.getpid)
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def describe(self) -> str:
        return f"{self.who}@{self.host} (pid {self.pid}, {self.operation} since {self.created}, lock ID {self.id})"


class StateConflictError(StateError):
    """The stored state changed since this run read it; the write was refused and nothing was lost."""


class StateBackend(ABC):
    """One place where the state of one workspace lives."""

    #: How the state is named in messages and in saved plans: a path, or azure_blob://container/key.
    location: str

    @abstractmethod
    def exists(self) -> bool:
        """Whether a state has been written here yet."""

    @abstractmethod
    def read(self) -> State:
        """The stored state, or a new empty one (serial 0, fresh lineage) when none exists yet.

        Raises StateError naming the place and the fix when it is unreadable or of another version.
        """

    @abstractmethod
    def write(self, state: State, exact: bool = False) -> State:
        """Store `state` if its content differs from the stored one; return it with `serial` advanced
        (`exact`: store it with its own serial, as `state push` and `state migrate` do).

        The write is atomic and conditional on the version last read or written by this backend:
        when the stored state changed in between, raise StateConflictError and store nothing. The
        version it replaces stays recoverable (a `.backup` file, a blob snapshot).
        """

    @abstractmethod
    def lock(self, operation: str) -> AbstractContextManager[LockInfo]:
        """Hold the workspace's lock for a block, or raise StateLockError naming the holder and the
        `reconciler state unlock LOCK_ID` command."""

    @abstractmethod
    def unlock(self, lock_id: str) -> None:
        """Break the lock whose ID is `lock_id` (after its holder died); StateLockError if the ID differs."""

    def holder(self) -> LockInfo | None:
        """Who holds the lock now, if anyone (best effort)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release network handles."""


CONTENT = frozenset({"lineage", "tenant", "owner", "resources", "intents"})


def same_content(a: State, b: State) -> bool:
    """Equal apart from `serial`: writing `b` over `a` would change nothing."""
    return a.model_dump(include=set(CONTENT)) == b.model_dump(include=set(CONTENT))


def render_state(state: State) -> str:
    """The stored JSON text of a state (the same on every backend): pydantic-core renders it in one linear pass.
    A state holding non-ASCII text is rendered by `json` instead, whose \\u escapes earlier releases wrote."""
    text = state.json_text()
    if not text.isascii():
        import json

        text = json.dumps(state.model_dump(mode="json"), indent=2)
    return text + "\n"
