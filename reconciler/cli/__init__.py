"""The `reconciler` command line: parse arguments, call the workflow, map the result to an exit code.

base.py       the Typer apps, consoles, option types, error handling, the tenant connection
commands.py   validate, plan, apply, drift, import, export, permissions, schema, verify, show
state.py      state list/show/rm/pull/push/unlock/migrate
sim.py        sim init/serve/request/ems
"""

from reconciler.cli import commands, sim, state  # noqa: F401  (registers the commands)
from reconciler.cli.base import app


def main() -> None:
    app()


__all__ = ["app", "main"]
