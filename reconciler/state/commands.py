"""The `reconciler state ...` operations, as Terraform's, on any backend: they touch state, never the tenant.

list / show ADDRESS / pull          read
rm ADDRESS...                       forget objects (they stay in the tenant; plan offers to adopt them)
push FILE [--force]                 replace the stored state (refuses another lineage or a lower serial)
unlock LOCK_ID                      break a lock whose holder died
migrate --from PATH                 copy a local state into a newly configured backend, serial and lineage kept
"""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import StateError
from reconciler.state.backend import StateBackend
from reconciler.state.model import ResourceRecord, State
from reconciler.state.store import parse_state, read_state


def show(backend: StateBackend, address: str) -> ResourceRecord:
    record = backend.read().get(address)
    if record is None:
        raise StateError(f"{address} is not in state {backend.location}", "`reconciler state list` lists what is")
    return record


def remove(backend: StateBackend, addresses: list[str]) -> State:
    """Forget `addresses` (under the lock); the tenant keeps the objects."""
    with backend.lock("state rm"):
        state = backend.read()
        missing = [a for a in addresses if state.get(a) is None]
        if missing:
            raise StateError(
                f"{', '.join(missing)} not in state {backend.location}", "`reconciler state list` lists what is"
            )
        for address in addresses:
            state.remove(address)
        return backend.write(state)


def load_state_file(path: Path) -> State:
    """A state file given on the command line (push), checked like any state."""
    fix = "give a file written by `reconciler state pull`"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read state file {path}: {exc}", fix) from None
    return parse_state(text, f"state file {path}", fix)


def push(backend: StateBackend, pushed: State, source: str, force: bool) -> State:
    """Store `pushed` as the current state; another lineage or a lower serial only with `force`."""
    with backend.lock("state push"):
        stored = backend.read()
        if backend.exists() and not force:
            if stored.lineage != pushed.lineage:
                raise StateError(
                    f"{source} is of another lineage ({pushed.lineage}) than {backend.location} ({stored.lineage})",
                    "it is the state of something else; add --force only if you mean to replace it",
                )
            if pushed.serial < stored.serial:
                raise StateError(
                    f"{source} has serial {pushed.serial}, older than {backend.location} (serial {stored.serial})",
                    "pull the current state and redo your change on it, or add --force to go back to the older one",
                )
        return backend.write(pushed, exact=not backend.exists() or pushed.serial > stored.serial)


def migrate(source: Path, backend: StateBackend, force: bool) -> State:
    """Copy the local state at `source` into `backend`, keeping serial, lineage and resources."""
    if not source.exists():
        raise StateError(f"no local state at {source}", "give the file with --from PATH")
    state = read_state(source)
    with backend.lock("state migrate"):
        backend.read()
        if backend.exists() and not force:
            raise StateError(
                f"{backend.location} already holds a state",
                "migrate only into an empty backend; add --force to replace it (its versions stay recoverable)",
            )
        return backend.write(state, exact=True)
