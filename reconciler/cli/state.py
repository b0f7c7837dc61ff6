"""`reconciler state ...`: Terraform's state commands, on every backend."""

from __future__ import annotations

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
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.state.backend import StateBackend

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
    spec: Annotated[Path, typer.Option("--spec", help="The spec whose newly configured backend receives the state.")],
    source: Annotated[
        Path | None, typer.Option("--from", help="The local state file (default: state/<workspace>.json).")
    ] = None,
    workspace: WorkspaceOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a state already in the backend.")] = False,
) -> None:
    """Move a local state file into the backend the spec now configures, keeping serial and lineage."""
    from reconciler.state import commands
    from reconciler.state.select import state_path_for

    with errors():
        local = source or state_path_for(spec, None, workspace)
        backend = backend_for(spec, None, workspace)
        if backend.location == str(local):
            raise ReconcilerError(
                f"the spec keeps its state in {local} already", "configure `backend:` in the spec first (README: State)"
            )
        written = commands.migrate(local, backend, force)
    out.print(f"Migrated {local} to {backend.location} (serial {written.serial}, lineage {written.lineage}).")
    out.print(f"Keep {local} until you have checked the new backend (`reconciler state list --spec {spec}`).")
