"""The main commands: validate, plan, apply, drift, import, export, permissions, schema, verify, show."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reconciler.cli.base import (
    DEFAULT_PARALLELISM,
    REPORTER,
    DriftFormat,
    DriftFormatOpt,
    JsonOpt,
    LockOpt,
    NoBatchOpt,
    ParallelismOpt,
    PlanFormat,
    PlanFormatOpt,
    SpecArg,
    StateOpt,
    Switch,
    TakeOverOpt,
    TargetOpt,
    WorkspaceOpt,
    app,
    connect,
    connector,
    err,
    errors,
    fail,
    out,
    print_json,
    print_lines,
    print_painted,
    print_plan,
    print_raw,
)
from reconciler.errors import ReconcilerError
from reconciler.exitcodes import ExitCode
from reconciler.render.progress import ApplyProgress

if TYPE_CHECKING:
    from reconciler.engine.plan import Plan


@app.command()
def validate(spec: SpecArg) -> None:
    """Check a spec without contacting the tenant; exit 0 when valid, 1 with every problem otherwise."""
    from rich.markup import escape

    from reconciler.spec.loader import load_spec

    with errors():
        loaded = load_spec(spec)
    out.print(f"{spec}: valid (tenant {loaded.spec.tenant.name})")
    for note in loaded.notes:
        out.print(f"Note: {escape(note)}")


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
        bool,
        typer.Option("--detailed-exitcode", help="Exit 2 when the plan has changes or finds wider access."),
    ] = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    no_batch: NoBatchOpt = False,
    target: TargetOpt = None,
    take_over_state: TakeOverOpt = False,
) -> None:
    """Show what apply would change: + create, ~ update in place, - destroy."""
    from reconciler import workflow
    from reconciler.state.select import StateChoice

    with errors(), REPORTER.live():
        result = workflow.plan(
            spec,
            StateChoice(state, workspace, take_over_state),
            connector(parallelism, no_batch),
            tuple(target or ()),
            lock=lock is Switch.true,
            seal=out_file is not None or as_json or output is not PlanFormat.human,  # only shown: no digest
        )
        if out_file is not None:
            out_file.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    output = PlanFormat.json if as_json else output
    if output is PlanFormat.json:
        print_json(result)
    elif output is PlanFormat.powershell:
        from reconciler.render.powershell import plan_script
        from reconciler.resources import KINDS

        print_raw(plan_script(result.to_json(), KINDS))
    elif output is PlanFormat.markdown:
        from reconciler.render.markdown import plan_markdown
        from reconciler.resources import KINDS

        print_raw(plan_markdown(result.to_json(), KINDS, str(spec)))
    else:
        print_plan(result.shown_json())
        if out_file is not None:
            out.print(f"\nSaved the plan to {out_file}. Apply it with: reconciler apply {out_file}")
    if detailed_exitcode and result.differs:
        raise typer.Exit(ExitCode.CHANGES)


@app.command()
def apply(
    target: Annotated[Path, typer.Argument(help="A spec file, or a plan saved with `plan --out`.", show_default=False)],
    state: StateOpt = None,
    workspace: WorkspaceOpt = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply without asking (a saved plan never asks: it was reviewed).")
    ] = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    no_batch: NoBatchOpt = False,
    targets: TargetOpt = None,
    take_over_state: TakeOverOpt = False,
    interrupt_timeout: Annotated[
        float,
        typer.Option(
            "--interrupt-timeout",
            metavar="SECONDS",
            help="After a first Ctrl-C or SIGTERM, how long the writes in flight may take before apply stops at once.",
        ),
    ] = 60.0,
) -> None:
    """Converge the tenant to the spec (or apply a saved plan exactly)."""
    from rich.markup import escape

    from reconciler import workflow
    from reconciler.engine.interrupt import Interrupted, Interrupts
    from reconciler.state.select import StateChoice

    is_plan = workflow.is_saved_plan(target)
    auto_approve = auto_approve or is_plan  # a saved plan was approved when it was reviewed (as in Terraform)
    if not auto_approve and not sys.stdin.isatty():
        fail(
            ReconcilerError(
                "apply needs approval, and standard input is not a terminal",
                "review `reconciler plan --out FILE`, then `reconciler apply FILE` (or apply with --auto-approve)",
            )
        )

    progress = ApplyProgress(REPORTER)

    def confirm(planned: Plan) -> bool:
        REPORTER.pause()
        progress.expect(planned)
        print_plan(planned.shown_json())
        if auto_approve:
            return True
        return typer.confirm("\nApply these changes to the tenant?", default=False)

    with errors():
        saved = workflow.load_plan(target) if is_plan else None
        spec_path = Path(saved.spec.path) if saved else target
        if saved is not None and state is None and "://" not in saved.state.path:
            state = Path(saved.state.path)  # the local state the plan was made against
        connect_to = connector(parallelism, no_batch)
        choice = StateChoice(state, workspace, take_over_state)
        interrupts = Interrupts(interrupt_timeout, notice=lambda text: err.print(f"[bold yellow]{text}[/]"))
        with REPORTER.live(), interrupts.watching():
            try:
                result = workflow.apply(
                    spec_path, choice, saved, connect_to, confirm, progress, tuple(targets or ()), interrupts
                )
            except Interrupted as exc:
                REPORTER.pause()
                err.print(f"[bold yellow]{escape(exc.summary)}[/]\n  {escape(exc.detail)}")
                raise typer.Exit(ExitCode.INTERRUPTED) from None
    if not result.plan.has_changes:
        from reconciler.render.human import no_changes_line

        out.print(no_changes_line(bool(result.plan.wider_access)))
    out.print(f"[bold green]Apply complete![/] {_applied(result.plan)} State serial {result.state.serial}.")


def _applied(plan: Plan) -> str:
    """What apply did itself, and apart from it the manual steps it only printed (confirmed by the next plan)."""
    from reconciler.engine.plan import Action, summarize

    done = summarize([c for c in plan.changes if c.automated])
    manual = sum(1 for c in plan.changes if not c.automated and c.action is not Action.NOOP)
    text = f"Resources: {done.add} added, {done.change} changed, {done.destroy} destroyed."
    if manual:
        steps = "manual step" if manual == 1 else "manual steps"
        text += (
            f" {manual} {steps} printed above: run them in the Exchange Management Shell; the next plan confirms them."
        )
    return text


@app.command()
def drift(
    specs: Annotated[
        list[Path],
        typer.Argument(metavar="SPEC...", help="The spec; or several, one per tenant (each with its own state)."),
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

    with errors(), REPORTER.live(), _error_report(str(specs[0]), output):
        report = workflow.drift(
            specs[0], StateChoice(state, workspace), connector(parallelism, no_batch), lock=lock is Switch.true
        )
    _print_drift(report.to_json(), str(specs[0]), output)
    if report.drifted:
        raise typer.Exit(ExitCode.CHANGES)


@contextmanager
def _error_report(spec: str, output: DriftFormat) -> Iterator[None]:
    """With --format markdown, a drift check that fails still leaves a report on stdout (for a job summary)."""
    try:
        yield
    except ReconcilerError as exc:
        if output is DriftFormat.markdown:
            from reconciler.redact import redact
            from reconciler.render.markdown import error_markdown

            print_raw(redact(error_markdown(spec, exc.summary, exc.detail)))
        raise


def _print_drift(report: dict[str, Any], spec: str, output: DriftFormat) -> None:
    if output is DriftFormat.json:
        print_json(report)
    elif output is DriftFormat.markdown:
        from reconciler.render.markdown import drift_markdown
        from reconciler.resources import KINDS

        print_raw(drift_markdown(report, KINDS, spec))
    else:
        from reconciler.render.human import drift_lines

        print_painted(lambda paint: drift_lines(report, paint))


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
        fail(ReconcilerError("--state and --workspace name one tenant's state", "give one spec with them, or neither"))
    REPORTER.bars = False  # tenants refresh at once; their bars would interleave
    with errors():
        fleet = workflow.drift_fleet(specs, connector(DEFAULT_PARALLELISM, no_batch), parallelism, lock)
    data = fleet.to_json()
    if output is DriftFormat.json:
        print_json(data)
    elif output is DriftFormat.markdown:
        from reconciler.render.markdown import fleet_markdown
        from reconciler.resources import KINDS

        print_raw(fleet_markdown(data, KINDS))
    else:
        from reconciler.render.human import fleet_lines

        print_painted(lambda paint: fleet_lines(data, paint))
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

    with errors():
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

    with errors():
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

    with errors():
        report = workflow.permissions(spec)
    print_json(report) if as_json else print_lines(permission_lines(report.to_json()))


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

    with errors():
        report = workflow.verify(spec, connect, mailbox, outside)
    print_json(report) if as_json else print_lines(verify_lines(report.to_json()))
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
    from reconciler.render.human import state_lines
    from reconciler.state.select import StateChoice, open_backend

    with errors():
        if planfile is not None:
            saved = workflow.load_plan(planfile)
            data = saved.to_json() if as_json else saved.shown_json()
        else:
            data = open_backend(None, StateChoice(state, workspace)).read().model_dump(mode="json")
    if as_json:
        print_json(data)
    elif planfile is not None:
        print_plan(data)
    else:
        print_lines(state_lines(data))
