"""`reconciler state ...`: Terraform's state commands, on every backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.base import (
    StateOpt,
    WorkspaceOpt,
    errors,
    out,
    print_json,
    state_app,
)

if TYPE_CHECKING:
    from reconciler.state.backend import StateBackend
    from reconciler.state.local import LocalBackend
    from reconciler.state.model import Owner, State

StateSpecOpt = Annotated[
    Path | None, typer.Option("--spec", help="The spec whose state (and backend) to use.", show_default=False)
]


def backend_for(spec: Path | None, state: Path | None, workspace: str | None) -> StateBackend:
    from reconciler.state.select import StateChoice, open_backend

    return open_backend(spec, StateChoice(state, workspace))


@state_app.command("list")
def state_list(spec: StateSpecOpt = None, state: StateOpt = None, workspace: WorkspaceOpt = None) -> None:
    """List the addresses recorded in state."""
    with errors():
        recorded = backend_for(spec, state, workspace).read()
    for record in recorded.resources:
        out.print(record.address)


@state_app.command("show")
def state_show(
    address: Annotated[str, typer.Argument(help="An address from `state list`.", show_default=False)],
    spec: StateSpecOpt = None,
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show one recorded object (JSON)."""
    from reconciler.state import commands

    with errors():
        record = commands.show(backend_for(spec, state, workspace), address)
    print_json(record.model_dump(mode="json"))


@state_app.command("rm")
def state_rm(
    addresses: Annotated[
        list[str], typer.Argument(metavar="ADDRESS...", help="Addresses to forget.", show_default=False)
    ],
    spec: StateSpecOpt = None,
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Forget objects without touching the tenant (the next plan offers to adopt or create them again)."""
    from reconciler.state import commands

    with errors():
        written = commands.remove(backend_for(spec, state, workspace), addresses)
    out.print(f"Removed {len(addresses)} object(s) from state (serial {written.serial}); the tenant is unchanged.")


@state_app.command("pull")
def state_pull(spec: StateSpecOpt = None, state: StateOpt = None, workspace: WorkspaceOpt = None) -> None:
    """Print the stored state as JSON (e.g. to keep a copy, or to edit and push back)."""
    with errors():
        recorded = backend_for(spec, state, workspace).read()
    print_json(recorded.model_dump(mode="json"))


@state_app.command("push")
def state_push(
    file: Annotated[Path, typer.Argument(help="A state file (from `state pull` or a kept copy).", show_default=False)],
    spec: StateSpecOpt = None,
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Allow another lineage or a lower serial.")] = False,
) -> None:
    """Replace the stored state with FILE; refuses another lineage or a lower serial without --force."""
    from reconciler.state import commands

    with errors():
        backend = backend_for(spec, state, workspace)
        written = commands.push(backend, commands.load_state_file(file), str(file), force)
    out.print(f"Pushed {file} to {backend.location} (serial {written.serial}).")


@state_app.command("unlock")
def state_unlock(
    lock_id: Annotated[str, typer.Argument(metavar="LOCK_ID", help="The ID a refused run printed.")],
    spec: StateSpecOpt = None,
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Break a lock whose holder died. Only when you are sure no run holds it."""
    with errors():
        backend = backend_for(spec, state, workspace)
        backend.unlock(lock_id)
    out.print(f"Unlocked {backend.location}.")


@state_app.command("migrate")
def state_migrate(
    spec: Annotated[Path, typer.Option("--spec", help="The spec that is to own the state (its backend holds it).")],
    source: Annotated[
        Path | None,
        typer.Option("--from", help="A local state file to take along (default: claim the spec's own state)."),
    ] = None,
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a state already at the destination.")] = False,
) -> None:
    """Make a state this spec's: one left at its old place by a moved or renamed spec, or a local state
    moved into a newly configured backend (serial and lineage kept); without --from, claim its own state."""
    from reconciler.spec.loader import load_spec
    from reconciler.state import commands
    from reconciler.state.local import LocalBackend
    from reconciler.state.select import StateChoice, local_backend, open_backend, owner_for

    with errors():
        loaded = load_spec(spec)
        choice = StateChoice(state, workspace)
        backend = open_backend(spec, choice, loaded)
        owner = owner_for(loaded, workspace)
        local = LocalBackend(source) if source is not None else None
        if local is None and not isinstance(backend, LocalBackend):
            mine = local_backend(spec, choice, loaded)  # a local state into the newly configured backend, if any
            local = mine if mine.exists() else None
        if local is None or _same_file(local, backend):
            _, before = commands.claim(backend, owner)
            out.print(f"State {backend.location} now belongs to {owner.describe()}{_was(before, owner)}.")
            return
        written, before = commands.migrate(local, backend, owner, force)
        _migrated(local, backend, written, f"{owner.describe()}{_was(before, owner)}", spec)


def _migrated(local: LocalBackend, backend: StateBackend, written: State, owner: str, spec: Path) -> None:
    """Say where the state went; a local move keeps the old file only as a `.backup`, which no spec reads."""
    from reconciler.state.local import LocalBackend
    from reconciler.state.store import backup_path

    out.print(f"Migrated {local.location} to {backend.location} (serial {written.serial}, lineage {written.lineage}).")
    out.print(f"It belongs to {owner}.")
    if isinstance(backend, LocalBackend):
        kept = backup_path(local.path)
        os.replace(local.path, kept)
        out.print(f"The old file is kept as {kept}.")
    else:
        out.print(
            f"Keep {local.location} until you have checked the new backend (`reconciler state list --spec {spec}`)."
        )


def _same_file(local: LocalBackend, backend: StateBackend) -> bool:
    """Whether `local` is the state `backend` reads (its file, or the older place it takes the state from)."""
    from reconciler.state.local import LocalBackend

    if not isinstance(backend, LocalBackend):
        return False
    places = [backend.path, *([backend.moved_from] if backend.moved_from is not None else [])]
    return any(local.path.resolve() == place.resolve() for place in places)


def _was(before: Owner | None, owner: Owner) -> str:
    if before is None:
        return " (it had no owner)"
    return "" if before == owner else f" (was {before.describe()})"
