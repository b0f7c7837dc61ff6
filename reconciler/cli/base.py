"""The CLI's shared parts: the Typer apps, consoles, option types, error handling and the tenant connection.

Heavy modules (the engine, msgraph-sdk, azure-identity, exchangelib) are imported inside the
commands that need them, so `reconciler --help` stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from reconciler.cli import help as plain_help
from reconciler.errors import ReconcilerError, SpecError
from reconciler.exitcodes import ExitCode
from reconciler.render.progress import Reporter

if TYPE_CHECKING:
    from reconciler.clients.recorder import Recorder
    from reconciler.clients.session import Clients
    from reconciler.render.human import Paint
    from reconciler.resources.base import Context
    from reconciler.spec.loader import LoadedSpec

# Plain help (click's): flags show no type, choices are listed, and no rich rendering is imported for --help.
PLAIN_HELP = None
plain_help.install()
app = typer.Typer(
    name="reconciler",
    help="Declare the Microsoft 365 / Exchange configuration a calendar integration needs; plan, apply, detect drift.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=PLAIN_HELP,
)
state_app = typer.Typer(
    help="The state: list, show, rm (forget), pull, push, unlock, migrate.",
    no_args_is_help=True,
    rich_markup_mode=PLAIN_HELP,
)
sim_app = typer.Typer(
    help="The loopback simulated tenant (for demos and tests; never a real tenant).",
    no_args_is_help=True,
    rich_markup_mode=PLAIN_HELP,
)
app.add_typer(state_app, name="state")
app.add_typer(sim_app, name="sim")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
REPORTER = Reporter(out, err)


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"reconciler {version('reconciler')}")
        except PackageNotFoundError:  # run from a checkout without installing
            print("reconciler (not installed)")
        raise typer.Exit()


@app.callback()
def _options(
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain text, no colour (also: NO_COLOR=1).")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print reconciler's version and exit."),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only results and errors: no progress, no per-change lines.")
    ] = False,
) -> None:
    """Declare the Microsoft 365 / Exchange configuration a calendar integration needs; plan, apply, detect drift."""
    out.no_color = err.no_color = no_color or out.no_color
    REPORTER.quiet = quiet
    REPORTER.bars = out.is_terminal and not quiet


SpecArg = Annotated[Path, typer.Argument(help="The spec file (YAML).", show_default=False)]
StateOpt = Annotated[
    Path | None, typer.Option("--state", help="State file (default: state/<the spec's path>.json, or the workspace's).")
]
WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", help="Workspace name: state/NAME.json (default: the spec's own state).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
TakeOverOpt = Annotated[
    bool,
    typer.Option(
        "--take-over-state",
        help="Use a state another spec owns; apply makes it this spec's (which then manages what that spec made).",
    ),
]


class PlanFormat(StrEnum):
    human = "human"
    json = "json"
    powershell = "powershell"
    markdown = "markdown"


class DriftFormat(StrEnum):
    human = "human"
    json = "json"
    markdown = "markdown"


class Switch(StrEnum):
    true = "true"
    false = "false"


LockOpt = Annotated[
    Switch,
    typer.Option(
        "--lock", help="Hold the state lock while reading (as apply always does); --lock=false for read-only CI."
    ),
]
PlanFormatOpt = Annotated[
    PlanFormat,
    typer.Option(
        "--format", help="human, json (= --json), powershell (the commands, for review or by hand), markdown."
    ),
]
DriftFormatOpt = Annotated[
    DriftFormat, typer.Option("--format", help="human, json (= --json), markdown (for a CI job summary or PR comment).")
]
# Batches in flight at once. Each batch holds 20 different mailboxes, so a mailbox sees one request at a
# time, well within Outlook's limit of 4 concurrent requests per mailbox.
DEFAULT_PARALLELISM = 8
ParallelismOpt = Annotated[
    int, typer.Option("--parallelism", help="Batches in flight at once (each mailbox sees at most one).")
]
TargetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        metavar="ADDRESS",
        help="Only this address (pattern, e.g. 'room_list.*') and its dependencies; repeatable.",
    ),
]
NoBatchOpt = Annotated[
    bool, typer.Option("--no-batch", hidden=True, help="One request per object (benchmark baseline, troubleshooting).")
]


def print_lines(lines: list[str], console: Console = out) -> None:
    from reconciler.redact import redact

    for line in lines:
        console.print(redact(line))


def print_plan(plan: dict[str, Any], console: Console = out) -> None:
    """A plan for people: its head and tail through rich, its changes streamed as plain lines in chunks (styled as
    rich would style them on a terminal), so a 10,000-change plan prints in a fraction of a second. Every change
    is printed, as Terraform does."""
    from reconciler.render.human import change_lines, change_text, painter, plan_text

    text = plan_text(plan)
    print_lines(text.head, console)
    paint = painter(console.color_system, console.no_color)
    chunk: list[str] = []
    for change in text.changes:
        block = change_text(change, paint)
        if "\t" in block:  # rich expands tabs by column: such a (rare) change is left to it
            _write(console, chunk)
            print_lines([*change_lines(change), ""], console)
        else:
            chunk.append(block)
            if len(chunk) >= PRINT_CHUNK:
                _write(console, chunk)
    _write(console, chunk)
    print_lines(text.tail, console)


def print_painted(render: Callable[[Paint], list[str]], console: Console = out) -> None:
    """Lines a renderer paints (`render/human.py` Paint): written at once, as rich would print their markup (drift
    reports and fleets of thousands of lines); a text with a tab is left to rich, which expands it by column."""
    from rich.control import strip_control_codes

    from reconciler.render.human import MARKUP, painter

    text = strip_control_codes("\n".join(render(painter(console.color_system, console.no_color))))
    if "\t" in text:
        print_lines(render(MARKUP), console)
    else:
        _write(console, [text + "\n"])


def _write(console: Console, blocks: list[str]) -> None:
    """Plain text straight to the console's file (secrets redacted); `blocks` is emptied."""
    from reconciler.redact import redact

    if blocks:
        console.file.write(redact("".join(blocks)))
        console.file.flush()
        blocks.clear()


PRINT_CHUNK = 500  # changes written at once


def print_raw(text: str) -> None:
    """Text exactly as rendered (PowerShell, Markdown): no rich markup, secrets still redacted."""
    from reconciler.redact import redact

    sys.stdout.write(redact(text) if text.endswith("\n") else redact(text) + "\n")


def print_json(data: Any) -> None:
    """JSON to stdout; pydantic models are serialised by pydantic-core (fast for 10,000-change plans)."""
    from pydantic import BaseModel

    from reconciler.redact import redact

    text = data.model_dump_json(indent=2) if isinstance(data, BaseModel) else json.dumps(data, indent=2)
    sys.stdout.write(redact(text) + "\n")


def fail(error: ReconcilerError) -> NoReturn:
    from rich.markup import escape

    from reconciler.redact import redact

    problems = error.problems if isinstance(error, SpecError) else [error]
    for problem in problems:
        where = f"{problem.location}: " if problem.location else ""
        err.print(f"[bold red]Error:[/] {escape(redact(where + problem.summary))}")
        if problem.detail:
            err.print(f"  {escape(redact(problem.detail))}")
    raise typer.Exit(ExitCode.ERROR)


@contextmanager
def errors() -> Iterator[None]:
    """Every failure becomes a clear message and exit 1, never a traceback."""
    try:
        yield
    except ReconcilerError as exc:
        fail(exc)
    except KeyboardInterrupt as exc:
        interrupted(exc)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if os.environ.get("RECONCILER_DEBUG"):
            raise
        from reconciler.redact import redact

        outside = _outside_failure(exc)
        if outside is not None:
            fail(ReconcilerError(redact(outside[0]), outside[1]))

        err.print(f"[bold red]Error:[/] internal error: {type(exc).__name__}: {redact(str(exc))}")
        err.print("  set RECONCILER_DEBUG=1 to see where; please report it")
        raise typer.Exit(ExitCode.ERROR) from None


def interrupted(exc: KeyboardInterrupt) -> NoReturn:
    """A run stopped at once (Ctrl-C, SIGTERM; for apply a second one or the timeout): what may be unrecorded."""
    from rich.markup import escape

    from reconciler.engine.interrupt import Abandoned

    if not isinstance(exc, Abandoned):
        err.print("[bold red]Interrupted:[/] stopped at once. State records every action that finished.")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    if not exc.addresses:
        err.print("[bold red]Interrupted:[/] stopped at once; nothing was being written.")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    err.print(f"[bold red]Interrupted:[/] {escape(exc.why)}. These writes may have been carried out but not recorded:")
    for address in exc.addresses:
        err.print(f"  {escape(address)}")
    err.print(
        "State keeps their intent: the next plan re-reads them and offers to adopt those that exist "
        "as made by reconciler (the others are planned again)."
    )
    raise typer.Exit(ExitCode.INTERRUPTED) from None


SIGN_IN_ERRORS = {"ClientAuthenticationError", "CredentialUnavailableError", "AuthenticationRequiredError"}
NETWORK_ERRORS = {
    "ServiceRequestError",
    "ServiceResponseError",
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "ReadError",
    "RemoteProtocolError",
}


def _outside_failure(exc: BaseException) -> tuple[str, str] | None:
    """A sign-in or network failure raised by azure-identity or httpx (below our clients), said plainly with the
    host and cause the library gave: (summary, what to check); None for anything else."""
    name, module = type(exc).__name__, type(exc).__module__
    cause = " ".join(str(exc).split())[:400] or name
    if module.startswith("azure.") and name in SIGN_IN_ERRORS:
        return (
            f"sign-in failed: {cause}",
            "check tenant.auth (client id and secret, certificate, or managed/workload identity), tenant.id or "
            "domain, tenant.cloud, and that the login host is reachable from here",
        )
    if module.startswith(("azure.", "httpx", "httpcore")) and name in NETWORK_ERRORS:
        return (
            f"the network failed: {cause}",
            "check that the host is reachable from here (proxy, firewall, DNS, tenant.cloud or tenant.endpoints)",
        )
    return None


@dataclass(frozen=True)
class Tuning:
    """How hard to drive the tenant: requests in flight, and whether to batch reads and writes."""

    parallelism: int = DEFAULT_PARALLELISM
    batch: bool = True


@contextmanager
def connect(loaded: LoadedSpec, tuning: Tuning = Tuning(), recorder: Recorder | None = None) -> Iterator[Context]:
    """Connect to the spec's tenant: the simulated one (started here, in-process) when the spec names it.
    A `recorder` sees every answer the clients receive (`sim snapshot`, `sim compare`)."""
    from reconciler.clients.session import connect as connect_clients

    simulator = loaded.spec.tenant.simulator
    if simulator is None:
        with _context(connect_clients(loaded, None, recorder), loaded, tuning) as ctx:
            yield ctx
        return
    if "://" in simulator:  # one already served by `reconciler sim serve`
        with _context(connect_clients(loaded, simulator.rstrip("/"), recorder), loaded, tuning) as ctx:
            yield ctx
        return
    from reconciler.simulator import Simulator

    with (
        Simulator(_simulated_tenant_file(loaded, simulator)) as sim,
        _context(connect_clients(loaded, sim.base_url, recorder), loaded, tuning) as ctx,
    ):
        yield ctx


def connector(parallelism: int, no_batch: bool) -> Callable[[LoadedSpec], AbstractContextManager[Context]]:
    if parallelism < 1:
        fail(ReconcilerError("--parallelism must be 1 or more"))
    return functools.partial(connect, tuning=Tuning(parallelism, not no_batch))


@contextmanager
def _context(clients: Clients, loaded: LoadedSpec, tuning: Tuning) -> Iterator[Context]:
    from reconciler.clients.session import service_account_ews
    from reconciler.resources.base import Context
    from reconciler.resources.lookups import Lookups

    lookups = Lookups(clients, lambda: service_account_ews(loaded, clients))
    ctx = Context(clients, loaded, lookups, parallelism=tuning.parallelism, batch=tuning.batch)
    ctx.on_read = REPORTER.refreshed
    try:
        yield ctx
    finally:
        lookups.close()
        clients.close()


def _simulated_tenant_file(loaded: LoadedSpec, name: str) -> Path:
    path = loaded.relative(name)
    if not path.exists():
        raise SpecError(
            f"simulated tenant file {path} does not exist",
            f"create it with `reconciler sim init {path}`",
            loaded.locate("tenant", "simulator"),
        )
    return path


# -- commands --------------------------------------------------------------------------------
