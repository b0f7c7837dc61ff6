"""The `reconciler` command line: parse arguments, call the workflow, map the result to an exit code.

base.py       the Typer apps, consoles, option types, error handling, the tenant connection
commands.py   validate, plan, apply, drift, import, export, permissions, schema, verify, show
state.py      state list/show/rm/pull/push/unlock/migrate
sim.py        sim init/serve/request/ems
"""

import gc

from reconciler.cli import commands, sim, state  # noqa: F401  (registers the commands)
from reconciler.cli.base import app


def main() -> None:
    # A run builds a few objects per mailbox and frees few of them before it ends; at CPython's default threshold
    # (a young collection every 700 allocations) the older generations are traversed again and again as they grow:
    # about a tenth of a 10,000-mailbox plan's CPU. Young collections every 50,000 still collect cycles.
    gc.set_threshold(50_000, 20, 100)
    app()


__all__ = ["app", "main"]
