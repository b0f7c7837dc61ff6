"""The `reconciler` command line: parse arguments, call the workflow, map the result to an exit code.

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

from reconciler.errors import ReconcilerError, SpecError
from reconciler.exitcodes import ExitCode
from reconciler.render.progress import ApplyProgress, Reporter, refresh_reporter

if TYPE_CHECKING:
    from reconciler.clients.session import Clients
    from reconciler.engine import Plan
    from reconciler.resources.base import Context
    from reconciler.spec.loader import LoadedSpec
    from reconciler.state.backend import StateBackend

app = typer.Typer(
    name="reconciler",
    help="Declare the Microsoft 365 / Exchange configuration a calendar integration needs; plan, apply, detect drift.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
state_app = typer.Typer(help="Inspect the state file.", no_args_is_help=True)
sim_app = typer.Typer(
    help="The loopback simulated tenant (for demos and tests; never a real tenant).", no_args_is_help=True
)
app.add_typer(state_app, name="state")
app.add_typer(sim_app, name="sim")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
REPORTER = Reporter(out, err)


@app.callback()
def _options(
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain text, no colour (also: NO_COLOR=1).")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only results and errors: no progress, no per-change lines.")
    ] = False,
) -> None:
    """Declare the Microsoft 365 / Exchange configuration a calendar integration needs; plan, apply, detect drift."""
    out.no_color = err.no_color = no_color or out.no_color
    REPORTER.quiet = quiet
    REPORTER.bars = out.is_terminal and not quiet


SpecArg = Annotated[Path, typer.Argument(help="The spec file (YAML).", show_default=False)]
StateOpt = Annotated[Path | None, typer.Option("--state", help="State file (default: state/<workspace>.json).")]
WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", help="Workspace name (default: the spec file's name).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


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
    typer.Option("--target", help="Only this address (pattern, e.g. 'room_list.*') and its dependencies; repeatable."),
]
NoBatchOpt = Annotated[
    bool, typer.Option("--no-batch", hidden=True, help="One request per object (benchmark baseline, troubleshooting).")
]


def _print(lines: list[str], console: Console = out) -> None:
    from reconciler.redact import redact

    for line in lines:
        console.print(redact(line))


def _print_raw(text: str) -> None:
    """Text exactly as rendered (PowerShell, Markdown): no rich markup, secrets still redacted."""
    from reconciler.redact import redact

    sys.stdout.write(redact(text) if text.endswith("\n") else redact(text) + "\n")


def _print_json(data: Any) -> None:
    """JSON to stdout; pydantic models are serialised by pydantic-core (fast for 10,000-change plans)."""
    from pydantic import BaseModel

    from reconciler.redact import redact

    text = data.model_dump_json(indent=2) if isinstance(data, BaseModel) else json.dumps(data, indent=2)
    sys.stdout.write(redact(text) + "\n")


def _fail(error: ReconcilerError) -> NoReturn:
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
def _errors() -> Iterator[None]:
    """Every failure becomes a clear message and exit 1, never a traceback."""
    try:
        yield
    except ReconcilerError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        err.print("[bold red]Interrupted.[/] State records every action that finished.")
        raise typer.Exit(ExitCode.ERROR) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if os.environ.get("RECONCILER_DEBUG"):
            raise
        from reconciler.redact import redact

        err.print(f"[bold red]Error:[/] internal error: {type(exc).__name__}: {redact(str(exc))}")
        err.print("  set RECONCILER_DEBUG=1 to see where; please report it")
        raise typer.Exit(ExitCode.ERROR) from None


@dataclass(frozen=True)
class Tuning:
    """How hard to drive the tenant: requests in flight, and whether to batch reads and writes."""

    parallelism: int = DEFAULT_PARALLELISM
    batch: bool = True


@contextmanager
def connect(loaded: LoadedSpec, tuning: Tuning = Tuning()) -> Iterator[Context]:
    """Connect to the spec's tenant: the simulated one (started here, in-process) when the spec names it."""
    from reconciler.clients.session import connect as connect_clients

    simulator = loaded.spec.tenant.simulator
    if simulator is None:
        with _context(connect_clients(loaded), loaded, tuning) as ctx:
            yield ctx
        return
    if "://" in simulator:  # one already served by `reconciler sim serve`
        with _context(connect_clients(loaded, simulator.rstrip("/")), loaded, tuning) as ctx:
            yield ctx
        return
    from reconciler.simulator import Simulator

    with (
        Simulator(_simulated_tenant_file(loaded, simulator)) as sim,
        _context(connect_clients(loaded, sim.base_url), loaded, tuning) as ctx,
    ):
        yield ctx


def _connector(parallelism: int, no_batch: bool) -> Callable[[LoadedSpec], AbstractContextManager[Context]]:
    if parallelism < 1:
        _fail(ReconcilerError("--parallelism must be 1 or more"))
    return functools.partial(connect, tuning=Tuning(parallelism, not no_batch))


@contextmanager
def _context(clients: Clients, loaded: LoadedSpec, tuning: Tuning) -> Iterator[Context]:
    from reconciler.resources.base import Context

    ctx = Context(clients, loaded, parallelism=tuning.parallelism, batch=tuning.batch)
    ctx.on_read = refresh_reporter(REPORTER)
    try:
        yield ctx
    finally:
        for extra in ctx.cache.values():
            if hasattr(extra, "close") and callable(extra.close):
                extra.close()
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


@app.command()
def validate(spec: SpecArg) -> None:
    """Check a spec without contacting the tenant; exit 0 when valid, 1 with every problem otherwise."""
    from reconciler.spec.loader import load_spec

    with _errors():
        loaded = load_spec(spec)
    out.print(f"{spec}: valid (tenant {loaded.spec.tenant.name})")


@app.command()
def plan(
    spec: SpecArg,
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Save the plan for `apply PLANFILE`.")] = None,
    as_json: JsonOpt = False,
    output: PlanFormatOpt = PlanFormat.human,
    lock: LockOpt = Switch.true,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when the plan has changes.")
    ] = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    no_batch: NoBatchOpt = False,
    target: TargetOpt = None,
) -> None:
    """Show what apply would change: + create, ~ update in place, - destroy."""
    from reconciler import workflow
    from reconciler.render.human import plan_lines
    from reconciler.state.select import StateChoice

    with _errors(), REPORTER.live():
        result = workflow.plan(
            spec,
            StateChoice(state, workspace),
            _connector(parallelism, no_batch),
            tuple(target or ()),
            lock=lock is Switch.true,
        )
        if out_file is not None:
            out_file.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    output = PlanFormat.json if as_json else output
    if output is PlanFormat.json:
        _print_json(result)
    elif output is PlanFormat.powershell:
        from reconciler.render.powershell import plan_script
        from reconciler.resources import KINDS

        _print_raw(plan_script(result.to_json(), KINDS))
    elif output is PlanFormat.markdown:
        from reconciler.render.markdown import plan_markdown
        from reconciler.resources import KINDS

        _print_raw(plan_markdown(result.to_json(), KINDS, str(spec)))
    else:
        _print(plan_lines(result.to_json()))
        if out_file is not None:
            out.print(f"\nSaved the plan to {out_file}. Apply it with: reconciler apply {out_file}")
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(ExitCode.CHANGES)


@app.command()
def apply(
    target: Annotated[Path, typer.Argument(help="A spec file, or a plan saved with `plan --out`.", show_default=False)],
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Apply without asking.")] = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    no_batch: NoBatchOpt = False,
    targets: TargetOpt = None,
) -> None:
    """Converge the tenant to the spec (or apply a saved plan exactly)."""
    from reconciler import workflow
    from reconciler.render.human import plan_lines
    from reconciler.state.select import StateChoice

    if not auto_approve and not sys.stdin.isatty():
        _fail(
            ReconcilerError(
                "apply needs approval, and standard input is not a terminal",
                "review `reconciler plan` first, then run apply with --auto-approve",
            )
        )

    progress = ApplyProgress(REPORTER)

    def confirm(planned: Plan) -> bool:
        REPORTER.pause()
        progress.expect(planned)
        _print(plan_lines(planned.to_json()))
        if auto_approve:
            return True
        return typer.confirm("\nApply these changes to the tenant?", default=False)

    with _errors():
        saved = workflow.load_plan(target) if workflow.is_saved_plan(target) else None
        spec_path = Path(saved.spec.path) if saved else target
        if saved is not None and state is None and "://" not in saved.state.path:
            state = Path(saved.state.path)  # the local state the plan was made against
        connector = _connector(parallelism, no_batch)
        choice = StateChoice(state, workspace)
        with REPORTER.live():
            result = workflow.apply(spec_path, choice, saved, connector, confirm, progress, tuple(targets or ()))
    summary = result.plan.summary
    if not result.plan.has_changes:
        out.print("[bold green]No changes.[/] The tenant matches the spec.")
    out.print(
        f"[bold green]Apply complete![/] Resources: {summary.add} added, {summary.change} changed, "
        f"{summary.destroy} destroyed. State serial {result.state.serial}."
    )


@app.command()
def drift(
    specs: Annotated[
        list[Path], typer.Argument(help="The spec; or several, one per tenant (each with its own state).")
    ],
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    output: DriftFormatOpt = DriftFormat.human,
    lock: LockOpt = Switch.true,
    parallelism: Annotated[
        int,
        typer.Option(
            "--parallelism", help="Batches in flight; with several specs, tenants refreshed at once (default 8)."
        ),
    ] = DEFAULT_PARALLELISM,
    no_batch: NoBatchOpt = False,
) -> None:
    """Refresh only and report drift: exit 0 none, 2 drift, 1 error (a failed read is an error, never drift)."""
    output = DriftFormat.json if as_json else output
    if len(specs) > 1:
        _drift_fleet(specs, state, workspace, output, parallelism, no_batch, lock is Switch.true)
        return
    from reconciler import workflow
    from reconciler.state.select import StateChoice

    with _errors(), REPORTER.live():
        report = workflow.drift(
            specs[0], StateChoice(state, workspace), _connector(parallelism, no_batch), lock=lock is Switch.true
        )
    _print_drift(report.to_json(), str(specs[0]), output)
    if report.drifted:
        raise typer.Exit(ExitCode.CHANGES)


def _print_drift(report: dict[str, Any], spec: str, output: DriftFormat) -> None:
    if output is DriftFormat.json:
        _print_json(report)
    elif output is DriftFormat.markdown:
        from reconciler.render.markdown import drift_markdown
        from reconciler.resources import KINDS

        _print_raw(drift_markdown(report, KINDS, spec))
    else:
        from reconciler.render.human import drift_lines

        _print(drift_lines(report))


def _drift_fleet(
    specs: list[Path],
    state: Path | None,
    workspace: str | None,
    output: DriftFormat,
    parallelism: int,
    no_batch: bool,
    lock: bool,
) -> None:
    """Several tenants at once: one summary; exit 1 if any could not be read, else 2 if any drifted."""
    from reconciler import workflow

    if state is not None or workspace is not None:
        _fail(ReconcilerError("--state and --workspace name one tenant's state", "give one spec with them, or neither"))
    REPORTER.bars = False  # tenants refresh at once; their bars would interleave
    with _errors():
        fleet = workflow.drift_fleet(specs, _connector(DEFAULT_PARALLELISM, no_batch), parallelism, lock)
    data = fleet.to_json()
    if output is DriftFormat.json:
        _print_json(data)
    elif output is DriftFormat.markdown:
        from reconciler.render.markdown import fleet_markdown
        from reconciler.resources import KINDS

        _print_raw(fleet_markdown(data, KINDS))
    else:
        from reconciler.render.human import fleet_lines

        _print(fleet_lines(data))
    if fleet.failed:
        raise typer.Exit(ExitCode.ERROR)
    if fleet.drifted:
        raise typer.Exit(ExitCode.CHANGES)


@app.command("import")
def import_(
    address: Annotated[
        str, typer.Argument(help="The spec's address, e.g. 'room_list.Meeting Rooms'.", show_default=False)
    ],
    object_id: Annotated[str, typer.Argument(metavar="ID", help="The object's id or natural key in the tenant.")],
    spec: Annotated[Path, typer.Option("--spec", help="The spec the address belongs to.")],
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Adopt an existing tenant object into state, so apply manages it instead of creating a duplicate."""
    from reconciler import workflow
    from reconciler.state.select import StateChoice

    with _errors():
        result = workflow.import_object(spec, StateChoice(state, workspace), address, object_id, connect)
    record = result.get(address)
    out.print(
        f"[bold green]Imported[/] {address} (id {record.id if record else object_id}); state serial {result.serial}."
    )
    out.print("It was not created by reconciler: removing it from the spec later leaves it in the tenant.")


@app.command()
def export(
    spec: Annotated[
        Path, typer.Argument(help="A spec naming the tenant (its `tenant` section is enough).", show_default=False)
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the exported spec (YAML).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Write a spec describing the tenant as it is now; planned against it, it shows no changes."""
    from reconciler import workflow

    with _errors():
        if out_file.exists() and not force:
            raise ReconcilerError(f"{out_file} exists", "choose another --out, or add --force to overwrite it")
        text = workflow.export(spec, connect, out_file)
        out_file.write_text(text, encoding="utf-8")
    out.print(f"Wrote {out_file}. Check it with: reconciler plan {out_file}")


@app.command()
def permissions(spec: SpecArg, as_json: JsonOpt = False) -> None:
    """The Graph application permissions and Exchange roles reconciler's own app needs for SPEC, least first."""
    from reconciler import workflow
    from reconciler.render.human import permission_lines

    with _errors():
        report = workflow.permissions(spec)
    _print_json(report) if as_json else _print(permission_lines(report.to_json()))


@app.command()
def schema(
    out_file: Annotated[Path | None, typer.Option("--out", help="Write it to this file instead of stdout.")] = None,
) -> None:
    """The spec's JSON Schema (for editors: `# yaml-language-server: $schema=./schema.json`)."""
    from reconciler.spec.schema import schema_text

    text = schema_text()
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"Wrote {out_file}.")


@app.command()
def verify(
    spec: SpecArg,
    mailbox: Annotated[str | None, typer.Option("--mailbox", help="A mailbox inside the scope to test.")] = None,
    outside: Annotated[str | None, typer.Option("--outside", help="A mailbox outside the scope to test.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The guide's credential test: the integration reaches a mailbox in scope and is refused outside it."""
    from reconciler import workflow
    from reconciler.render.human import verify_lines

    with _errors():
        report = workflow.verify(spec, connect, mailbox, outside)
    _print_json(report) if as_json else _print(verify_lines(report.to_json()))
    if not report.passed:
        raise typer.Exit(ExitCode.ERROR)


@app.command()
def show(
    planfile: Annotated[Path | None, typer.Argument(help="A saved plan; without it, the state.")] = None,
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a saved plan, or the current state."""
    from reconciler import workflow
    from reconciler.render.human import plan_lines, state_lines
    from reconciler.state.select import StateChoice, open_backend

    with _errors():
        if planfile is not None:
            data = workflow.load_plan(planfile).to_json()
            lines = plan_lines(data)
        else:
            data = open_backend(None, StateChoice(state, workspace)).read().model_dump(mode="json")
            lines = state_lines(data)
    _print_json(data) if as_json else _print(lines)


StateSpecOpt = Annotated[
    Path | None, typer.Option("--spec", help="The spec whose state (and backend) to use.", show_default=False)
]


def _backend(spec: Path | None, state: Path | None, workspace: str | None) -> StateBackend:
    from reconciler.state.select import StateChoice, open_backend

    return open_backend(spec, StateChoice(state, workspace))


@state_app.command("list")
def state_list(spec: StateSpecOpt = None, state: StateOpt = None, workspace: WorkspaceOpt = None) -> None:
    """List the addresses recorded in state."""
    with _errors():
        recorded = _backend(spec, state, workspace).read()
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

    with _errors():
        record = commands.show(_backend(spec, state, workspace), address)
    _print_json(record.model_dump(mode="json"))


@state_app.command("rm")
def state_rm(
    addresses: Annotated[list[str], typer.Argument(help="Addresses to forget.", show_default=False)],
    spec: StateSpecOpt = None,
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Forget objects without touching the tenant (the next plan offers to adopt or create them again)."""
    from reconciler.state import commands

    with _errors():
        written = commands.remove(_backend(spec, state, workspace), addresses)
    out.print(f"Removed {len(addresses)} object(s) from state (serial {written.serial}); the tenant is unchanged.")


@state_app.command("pull")
def state_pull(spec: StateSpecOpt = None, state: StateOpt = None, workspace: WorkspaceOpt = None) -> None:
    """Print the stored state as JSON (e.g. to keep a copy, or to edit and push back)."""
    with _errors():
        recorded = _backend(spec, state, workspace).read()
    _print_json(recorded.model_dump(mode="json"))


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

    with _errors():
        backend = _backend(spec, state, workspace)
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
    with _errors():
        backend = _backend(spec, state, workspace)
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

    with _errors():
        local = source or state_path_for(spec, None, workspace)
        backend = _backend(spec, None, workspace)
        if backend.location == str(local):
            raise ReconcilerError(
                f"the spec keeps its state in {local} already", "configure `backend:` in the spec first (README: State)"
            )
        written = commands.migrate(local, backend, force)
    out.print(f"Migrated {local} to {backend.location} (serial {written.serial}, lineage {written.lineage}).")
    out.print(f"Keep {local} until you have checked the new backend (`reconciler state list --spec {spec}`).")


@sim_app.command("init")
def sim_init(
    file: Annotated[Path, typer.Argument(help="Tenant file to write.")],
    users: Annotated[int, typer.Option(help="Ordinary users to add.")] = 0,
    rooms: Annotated[int, typer.Option(help="Room mailboxes to add.")] = 0,
    flavor: Annotated[str, typer.Option(help="exchange_online or exchange_server.")] = "exchange_online",
) -> None:
    """Write a seeded simulated tenant; with no options, one on which specs/example.yaml applies."""
    from reconciler.simulator import init_tenant

    file.parent.mkdir(parents=True, exist_ok=True)
    init_tenant(file, users=users, rooms=rooms, flavor=flavor)
    out.print(f"Wrote simulated tenant {file} ({flavor}, {users} extra users, {rooms} rooms).")


@sim_app.command("serve")
def sim_serve(
    file: Annotated[Path, typer.Argument(help="Tenant file to serve.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8765,
    latency_ms: Annotated[int, typer.Option("--latency-ms", help="Delay added to every request.")] = 0,
    faults: Annotated[
        Path | None, typer.Option("--faults", help="JSON file of fault rules (README: Fault injection).")
    ] = None,
    throttle: Annotated[float, typer.Option(help="Share of requests answered 429 with Retry-After.")] = 0,
    unavailable: Annotated[float, typer.Option(help="Share of requests answered 503 with Retry-After.")] = 0,
    drop: Annotated[float, typer.Option(help="Share of connections closed without an answer.")] = 0,
    slow: Annotated[float, typer.Option(help="Share of requests answered late (--slow-ms).")] = 0,
    slow_ms: Annotated[int, typer.Option("--slow-ms", help="How late a slow answer is.")] = 2000,
    deny: Annotated[
        list[str] | None, typer.Option(help="Answer 403 to every request whose path matches this regex (repeatable).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random faults (same seed, same faults).")] = 0,
) -> None:
    """Serve a simulated tenant on 127.0.0.1 until interrupted, optionally with injected faults."""
    import time

    from reconciler.simulator import Simulator
    from reconciler.simulator.faults import FaultFileError, load_rules, rules_from_flags

    try:
        rules = load_rules(faults) if faults else []
        rules += rules_from_flags(
            throttle=throttle, unavailable=unavailable, drop=drop, slow=slow, slow_ms=slow_ms, deny=deny, seed=seed
        )
    except FaultFileError as exc:
        err.print(f"Error: {exc}")
        raise typer.Exit(ExitCode.ERROR) from None
    with Simulator(file, port=port, latency_ms=latency_ms, faults=rules) as sim:
        out.print(f"Simulated tenant {sim.tenant_id} at {sim.base_url} (Ctrl-C to stop)")
        if rules:
            out.print(f"Injecting {len(rules)} fault rule(s).")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.print(f"Stopped after {sim.requests_served} requests.")


@sim_app.command("request")
def sim_request(
    file: Annotated[Path, typer.Argument(help="Tenant file.")],
    method: Annotated[str, typer.Argument(help="HTTP method, e.g. PATCH.")],
    path: Annotated[str, typer.Argument(help="Path, e.g. /v1.0/users/someone@contoso.com.")],
    body: Annotated[str | None, typer.Option(help="JSON request body.")] = None,
) -> None:
    """Change the simulated tenant behind reconciler's back, as an admin in a portal would."""
    import httpx

    from reconciler.simulator import Simulator, make_token

    with Simulator(file) as sim:
        token = make_token(sim.tenant_id, "00000000-0000-0000-0000-0000000000ad", ["Directory.ReadWrite.All"])
        response = httpx.request(
            method.upper(),
            sim.base_url + path,
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    out.print(f"HTTP {response.status_code}")
    if response.content:
        out.print(response.text)
    if response.status_code >= 400:
        raise typer.Exit(ExitCode.ERROR)


@sim_app.command("ems")
def sim_ems(
    file: Annotated[Path, typer.Argument(help="Tenant file.")],
    lines: Annotated[list[str], typer.Argument(help='Cmdlet lines, e.g. "Get-ManagementRoleAssignment -Role X".')],
) -> None:
    """Play an admin at the simulated tenant's Exchange Management Shell (run a plan's manual commands)."""
    from reconciler.simulator import ShellError, run_shell_lines

    try:
        rows = run_shell_lines(file, lines)
    except ShellError as exc:
        err.print(f"[bold red]Error:[/] {exc}")
        raise typer.Exit(ExitCode.ERROR) from None
    for row in rows:
        out.print(json.dumps(row))


def main() -> None:
    app()
