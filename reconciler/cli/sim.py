"""`reconciler sim ...`: the loopback simulated tenant (demos and tests; never a real tenant)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.base import (
    err,
    out,
    sim_app,
)
from reconciler.exitcodes import ExitCode


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
) -> None:
    """Write a seeded simulated tenant; with no options, one on which specs/example.yaml applies."""
    from reconciler.simulator import init_tenant

    file.parent.mkdir(parents=True, exist_ok=True)
    data = init_tenant(file, users=users, rooms=rooms, flavor=flavor.value, ad_password=ad_password)
    tenant = data.get("tenant", {})
    out.print(f"Wrote simulated tenant {file} ({flavor.value}, {users} extra users, {rooms} rooms).")
    out.print(f"Tenant id {tenant.get('id')}, domain {tenant.get('initialDomain') or tenant.get('domain')}.")


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
        list[str] | None,
        typer.Option(metavar="REGEX", help="Answer 403 to every request whose path matches this regex (repeatable)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random faults (same seed, same faults).")] = 0,
) -> None:
    """Serve a simulated tenant on 127.0.0.1 until interrupted, optionally with injected faults."""
    import signal
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
    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops like Ctrl-C: the journal is folded into the file on the way out

    signal.signal(signal.SIGTERM, _terminate)
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
