"""`reconciler sim ...`: the loopback simulated tenant (demos and tests; never a real tenant)."""

from __future__ import annotations

import dataclasses
import json
from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.base import (
    SpecArg,
    StateOpt,
    WorkspaceOpt,
    err,
    errors,
    fail,
    out,
    print_raw,
    sim_app,
)
from reconciler.errors import ReconcilerError
from reconciler.exitcodes import ExitCode

if TYPE_CHECKING:
    from reconciler.clients.recorder import Recorder
    from reconciler.resources.base import Context
    from reconciler.spec.loader import LoadedSpec


class Flavor(StrEnum):
    exchange_online = "exchange_online"
    exchange_server = "exchange_server"


@sim_app.command("init")
def sim_init(
    file: Annotated[Path, typer.Argument(help="Tenant file to write.")],
    users: Annotated[int, typer.Option(help="Ordinary users to add.")] = 0,
    rooms: Annotated[int, typer.Option(help="Room mailboxes to add.")] = 0,
    flavor: Annotated[
        Flavor, typer.Option(help="Exchange Online (Graph, admin API, EWS) or Exchange Server (EWS only).")
    ] = Flavor.exchange_online,
    ad_password: Annotated[
        str | None,
        typer.Option(
            "--ad-password",
            envvar="RECONCILER_SIM_AD_PASSWORD",
            metavar="PASSWORD",
            help="exchange_server: the simulated AD password of cronofy-svc and reconciler-admin (default "
            "Simulated-Pa55!; only its salted hash is written). Also RECONCILER_SIM_AD_PASSWORD.",
            show_default=False,
        ),
    ] = None,
    tenant_id: Annotated[
        str | None,
        typer.Option(
            "--tenant-id",
            metavar="GUID",
            help="The tenant's id (default: the seeded Contoso tenant's); tenants served by one `sim serve` need "
            "their own.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a seeded simulated tenant; with no options, one on which specs/example.yaml applies."""
    import uuid

    from reconciler.simulator import init_tenant

    extra = {}
    if tenant_id is not None:
        try:
            extra["tenant_id"] = str(uuid.UUID(tenant_id))
        except ValueError:
            err.print(f"Error: --tenant-id {tenant_id!r} is not a GUID (e.g. {uuid.uuid4()})")
            raise typer.Exit(ExitCode.ERROR) from None
    file.parent.mkdir(parents=True, exist_ok=True)
    data = init_tenant(file, users=users, rooms=rooms, flavor=flavor.value, ad_password=ad_password, **extra)
    tenant = data.get("tenant", {})
    out.print(f"Wrote simulated tenant {file} ({flavor.value}, {users} extra users, {rooms} rooms).")
    out.print(f"Tenant id {tenant.get('id')}, domain {tenant.get('initialDomain') or tenant.get('domain')}.")


@sim_app.command("serve")
def sim_serve(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="Tenant file to serve; or several, one process for them all (each tenant its own id: a request is "
            "for the tenant its token names).",
        ),
    ],
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
        list[str] | None,
        typer.Option(metavar="REGEX", help="Answer 403 to every request whose path matches this regex (repeatable)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random faults (same seed, same faults).")] = 0,
    outlook_batch_concurrency: Annotated[
        int,
        typer.Option(
            "--outlook-batch-concurrency",
            metavar="N",
            help="Run at most N requests of one Graph $batch to Outlook at a time, as Graph does with 4 (a batch "
            "then takes ceil(k/N) x --latency-ms); 0 (default): every request takes one latency.",
        ),
    ] = 0,
) -> None:
    """Serve a simulated tenant on 127.0.0.1 until interrupted, optionally with injected faults."""
    import signal
    import time

    from reconciler.simulator import Simulator
    from reconciler.simulator.faults import FaultFileError, load_rules, rules_from_flags
    from reconciler.simulator.server import TenantClash

    if outlook_batch_concurrency < 0:
        err.print("Error: --outlook-batch-concurrency must be 0 (off) or more")
        raise typer.Exit(ExitCode.ERROR)
    try:
        rules = load_rules(faults) if faults else []
        rules += rules_from_flags(
            throttle=throttle, unavailable=unavailable, drop=drop, slow=slow, slow_ms=slow_ms, deny=deny, seed=seed
        )
    except FaultFileError as exc:
        err.print(f"Error: {exc}")
        raise typer.Exit(ExitCode.ERROR) from None

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops like Ctrl-C: the journal is folded into the file on the way out

    signal.signal(signal.SIGTERM, _terminate)
    first, *more = files
    try:
        sim = Simulator(
            first,
            port=port,
            latency_ms=latency_ms,
            faults=rules,
            more_tenants=more,
            outlook_batch_concurrency=outlook_batch_concurrency,
        )
    except TenantClash as exc:
        err.print(f"Error: {exc}")
        raise typer.Exit(ExitCode.ERROR) from None
    except (OSError, ValueError) as exc:
        err.print(f"Error: cannot serve the simulated tenant: {exc}")
        err.print("Fix: give a tenant file written by `reconciler sim init FILE`.")
        raise typer.Exit(ExitCode.ERROR) from None
    with sim:
        if more:
            out.print(f"Simulated tenants ({len(files)}) at {sim.base_url} (Ctrl-C to stop)")
        else:
            out.print(f"Simulated tenant {sim.tenant_id} at {sim.base_url} (Ctrl-C to stop)")
        if outlook_batch_concurrency:
            out.print(f"Outlook runs at most {outlook_batch_concurrency} requests of a $batch at a time.")
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
    lines: Annotated[
        list[str], typer.Argument(metavar="LINE...", help='Cmdlet lines, e.g. "Get-ManagementRoleAssignment -Role X".')
    ],
) -> None:
    """Play an admin at the simulated tenant's Exchange Management Shell (run a plan's manual commands)."""
    from reconciler.simulator import ShellError, compact_tenant, run_shell_lines

    try:
        rows = run_shell_lines(file, lines)
    except ShellError as exc:
        err.print(f"[bold red]Error:[/] {exc}")
        raise typer.Exit(ExitCode.ERROR) from None
    finally:
        compact_tenant(file)  # the shell's changes are journaled; leave the tenant file whole
    for row in rows:
        out.print(json.dumps(row))


def _recorded_plan(
    spec: Path, state: Path | None, workspace: str | None, recorder: Recorder, twin: Path | None = None
) -> None:
    """Plan `spec` without the state lock and without writing anything; every answer goes to `recorder`. With `twin`,
    the same spec and state, but the reads go to that tenant file (as `tenant.simulator: TWIN` would send them)."""
    from reconciler import workflow
    from reconciler.state.select import StateChoice

    def connect(loaded: LoadedSpec) -> AbstractContextManager[Context]:
        from reconciler.cli.base import connect as connect_tenant

        if twin is not None:
            tenant = loaded.spec.tenant.model_copy(update={"simulator": str(twin.resolve())})
            loaded = dataclasses.replace(loaded, spec=loaded.spec.model_copy(update={"tenant": tenant}))
        return connect_tenant(loaded, recorder=recorder)

    workflow.plan(spec, StateChoice(state, workspace), connect, lock=False)


@sim_app.command("snapshot")
def sim_snapshot(
    spec: SpecArg,
    out_file: Annotated[
        Path, typer.Option("--out", metavar="TWIN", help="The twin tenant file to write (as `sim init` writes).")
    ],
    redact: Annotated[
        bool, typer.Option("--redact", help="Replace display names and addresses consistently (for a bug report).")
    ] = False,
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Read the spec's tenant read-only (what a plan reads) and write a simulated twin of it."""
    from reconciler.clients.recorder import Recorder
    from reconciler.engine import twin
    from reconciler.simulator.store import write_tenant
    from reconciler.simulator.twin import build_twin
    from reconciler.spec.loader import load_spec

    if out_file.exists() and not force:
        fail(ReconcilerError(f"{out_file} exists", "choose another --out, or --force to overwrite it"))
    with errors():
        loaded = load_spec(spec)
        recorder = Recorder()
        _recorded_plan(spec, state, workspace, recorder)
        data = twin.snapshot(loaded, loaded.spec.tenant.id or "", recorder.reads)
        if not data["tenant"]["id"]:
            data["tenant"]["id"] = _tenant_id(recorder)
        data = twin.redact(data) if redact else data
        tenant = build_twin(data)
        write_tenant(out_file, tenant)
    out.print(
        f"Wrote twin {out_file}: {len(data['reads'])} answers of {len(recorder.reads)} reads, "
        f"{len(tenant['exchange']['recipients'])} recipients, {len(tenant['users'])} users"
        + (" (names and addresses redacted)." if redact else ".")
    )
    out.print(f"Rehearse on it: a copy of the spec with `tenant.simulator: {out_file.resolve()}`.")


def _tenant_id(recorder: Recorder) -> str:
    """The tenant id the admin API's paths carry, when the spec named only the domain."""
    for read in recorder.reads:
        if read.protocol == "exchange" and isinstance(read.body, dict):
            context = str(read.body.get("@odata.context", ""))
            parts = context.split("/adminapi/")[-1].split("/")
            if len(parts) > 1:
                return parts[1]
    return ""


@sim_app.command("compare")
def sim_compare(
    spec: SpecArg,
    twin_file: Annotated[Path, typer.Argument(metavar="TWIN", help="The twin tenant file (`sim snapshot` writes it).")],
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Run a plan's reads against the spec's tenant and the twin; list each answer that differs in shape.
    Exit 0 when every answer has the same shape, 2 with a Markdown report when not."""
    from reconciler.clients.recorder import Recorder
    from reconciler.engine import twin

    if not twin_file.exists():
        fail(
            ReconcilerError(
                f"twin {twin_file} does not exist", "make it with `reconciler sim snapshot SPEC --out FILE`"
            )
        )
    with errors():
        real, copy = Recorder(), Recorder()
        _recorded_plan(spec, state, workspace, real)
        failed: ReconcilerError | None = None
        try:
            _recorded_plan(spec, state, workspace, copy, twin=twin_file)
        except ReconcilerError as exc:  # a read the twin refuses is a difference to report, not the end
            failed = exc
        differences = twin.compare(real.reads, copy.reads)
        if failed is not None:
            differences.append(twin.plan_failed(failed.summary))
    if not differences:
        out.print(f"The twin answers all {len(real.reads)} reads of the plan in the same shape.")
        return
    print_raw(twin.render_markdown(differences, str(spec), str(twin_file), len(real.reads)))
    raise typer.Exit(ExitCode.CHANGES)
