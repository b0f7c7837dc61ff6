"""The `reconciler state ...` operations, as Terraform's, on any backend: they touch state, never the tenant.

list / show ADDRESS / pull          read
rm ADDRESS...                       forget objects (they stay in the tenant; plan offers to adopt them)
push FILE [--force]                 replace the stored state (refuses another lineage or a lower serial)
unlock LOCK_ID                      break a lock whose holder died
migrate [--from PATH]               make a state this spec's: take it along from PATH (a moved or renamed spec's
                                    old state, or a local state into a newly configured backend; serial and lineage
                                    kept), or, without --from, claim the state the spec uses already
"""

from __future__ import annotations

from pathlib import Path

from reconciler.errors import StateError
from reconciler.state.backend import StateBackend
from reconciler.state.model import Owner, ResourceRecord, State
from reconciler.state.store import parse_state


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


def migrate(source: StateBackend, backend: StateBackend, owner: Owner, force: bool) -> tuple[State, Owner | None]:
    """Copy the state in `source` into `backend` as `owner`'s, keeping serial, lineage and resources;
    the written state and its owner before."""
    if not source.exists():
        raise StateError(f"no state at {source.location}", "give the state to take along with --from PATH")
    state = source.read()
    _check_tenant(state, source.location, owner)
    before, state.owner = state.owner, owner
    with backend.lock("state migrate"):
        backend.read()
        if backend.exists() and not force:
            raise StateError(
                f"{backend.location} already holds a state",
                "migrate only into an empty place; add --force to replace it (its last version stays recoverable)",
            )
        return backend.write(state, exact=True), before


def claim(backend: StateBackend, owner: Owner) -> tuple[State, Owner | None]:
    """Record `owner` as the owner of the state in `backend` (under the lock); the state and its owner before."""
    with backend.lock("state migrate"):
        state = backend.read()
        if not backend.exists():
            raise StateError(
                f"no state at {backend.location} yet",
                "give the state to take along (e.g. the one of this spec before it moved) with --from PATH",
            )
        _check_tenant(state, backend.location, owner)
        before, state.owner = state.owner, owner
        return backend.write(state), before


def _check_tenant(state: State, location: str, owner: Owner) -> None:
    if state.tenant and state.tenant != owner.tenant:
        raise StateError(
            f"{location} is the state of tenant {state.tenant}, but the spec is for {owner.tenant}",
            "a state moves between specs of one tenant only",
        )
