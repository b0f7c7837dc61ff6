"""What each command does, step by step, between parsing (cli.py) and the engine.

The tenant connection is passed in (`Connect`), so the CLI decides whether a real tenant or the
simulated one is used and nothing here knows the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from reconciler.engine.apply import Progress, apply_plan, check_current, check_sealed, check_tenant
from reconciler.engine.drift import DriftReport, FleetReport, TenantDrift, detect_drift
from reconciler.engine.interrupt import Interrupts
from reconciler.engine.plan import Plan
from reconciler.engine.planner import make_plan
from reconciler.engine.verify import VerifyReport
from reconciler.engine.verify import verify as run_verify
from reconciler.errors import PlanError, ReconcilerError, StateError
from reconciler.resources.base import Context
from reconciler.spec.loader import LoadedSpec, load_spec
from reconciler.state.backend import StateBackend
from reconciler.state.model import Owner, State
from reconciler.state.select import StateChoice, left_behind, open_backend, owner_for

if TYPE_CHECKING:
    from reconciler.engine.permissions import PermissionReport

Connect = Callable[[LoadedSpec], AbstractContextManager[Context]]
Confirm = Callable[[Plan], bool]


class Cancelled(ReconcilerError):
    """The user did not approve the plan."""


def read_checked_state(backend: StateBackend, loaded: LoadedSpec, choice: StateChoice) -> State:
    """The stored state, refused when it is of another tenant or owned by another spec (unless --take-over-state)."""
    state = backend.read()
    tenant = loaded.spec.tenant.name
    if state.tenant and state.tenant != tenant:
        raise StateError(
            f"state {backend.location} belongs to tenant {state.tenant}, but the spec is for {tenant}",
            "use --state or --workspace to pick the state of this tenant",
        )
    owner = owner_for(loaded, choice.workspace)
    if state.owner is not None and not _same_owner(state.owner, owner, choice) and not choice.take_over:
        raise StateError(
            f"state {backend.location} belongs to the spec {state.owner.describe()}, not to {owner.describe()}",
            _other_owner_fix(loaded.path, choice),
        )
    return state


def _other_owner_fix(spec_path: Path, choice: StateChoice) -> str:
    """How to go on when the state is another spec's: nothing was read from or written to the tenant."""
    options = f" --state {choice.state}" if choice.state else ""
    options += f" --workspace {choice.workspace}" if choice.workspace else ""
    return (
        "nothing was changed. If this spec is that one moved or renamed, make the state its own with "
        f"`reconciler state migrate --spec {spec_path}{options}`; to take it over on purpose (this spec then "
        "manages, and may destroy, what the other spec made), plan and apply with --take-over-state; "
        "otherwise give this spec a state of its own (--workspace NAME, or --state PATH)"
    )


def _same_owner(recorded: Owner, owner: Owner, choice: StateChoice) -> bool:
    """The same spec and tenant, and workspace unless the run gave --state without one (e.g. `apply PLANFILE`,
    which takes the state file the plan was made against and keeps the workspace recorded in it)."""
    if choice.state is not None and choice.workspace is None:
        return (recorded.spec, recorded.tenant) == (owner.spec, owner.tenant)
    return recorded == owner


def claim(state: State, loaded: LoadedSpec, choice: StateChoice) -> bool:
    """Record this spec as the state's owner (kept by the run's next write); whether that changes the state."""
    owner = owner_for(loaded, choice.workspace)
    if state.owner is not None and _same_owner(state.owner, owner, choice):
        return False
    state.owner = owner
    return True


def plan(
    spec_path: Path,
    choice: StateChoice,
    connect: Connect,
    targets: tuple[str, ...] = (),
    lock: bool = True,
    seal: bool = True,
) -> Plan:
    """The plan, sealed with its digest unless `seal` is False (a plan only shown to a person)."""
    loaded = load_spec(spec_path)
    backend = open_backend(spec_path, choice, loaded)
    with _locked(backend, "plan", lock):
        state = read_checked_state(backend, loaded, choice)
        with connect(loaded) as ctx:
            return _with_moved_hints(make_plan(ctx, state, backend, targets, seal), loaded, backend, choice)


def _with_moved_hints(plan: Plan, loaded: LoadedSpec, backend: StateBackend, choice: StateChoice) -> Plan:
    """A spec starting a new default state is told of states left behind by moved or renamed specs of its tenant."""
    if backend.exists() or choice.state is not None or choice.workspace is not None:
        return plan
    hints = [
        f"{path} is the state of {owner.spec}, which is gone; if this spec is that one moved or renamed, "
        f"take its state along with `reconciler state migrate --spec {loaded.path} --from {path}` before applying"
        for path, owner in left_behind(loaded)
    ]
    return plan.model_copy(update={"warnings": [*plan.warnings, *hints]}) if hints else plan


def _locked(backend: StateBackend, operation: str, lock: bool) -> AbstractContextManager[object]:
    """The state lock for a read-only command, unless the user said --lock=false."""
    return backend.lock(operation) if lock else nullcontext()


def load_plan(path: Path) -> Plan:
    """A saved plan, refused when it was edited since it was made (its digest) or is not a plan."""
    try:
        plan = Plan.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise PlanError(
            f"{path} is not a saved plan: {exc}", "make one with `reconciler plan SPEC --out FILE`"
        ) from None
    check_sealed(plan)
    return plan


def is_saved_plan(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format_version" in data and "changes" in data


@dataclass
class ApplyResult:
    plan: Plan
    state: State


def apply(
    spec_path: Path,
    choice: StateChoice,
    saved: Plan | None,
    connect: Connect,
    confirm: Confirm,
    progress: Progress,
    targets: tuple[str, ...] = (),
    interrupts: Interrupts | None = None,
) -> ApplyResult:
    """Plan (or take the saved plan), confirm, apply, holding the state lock throughout (released however apply
    ends, an interrupt included: engine/interrupt.py)."""
    loaded = load_spec(spec_path)
    backend = open_backend(spec_path, choice, loaded)
    with backend.lock("apply"):
        state = read_checked_state(backend, loaded, choice)
        if saved is not None:
            check_current(saved, loaded.sha256, state, backend)
        claimed = claim(state, loaded, choice)
        with connect(loaded) as ctx:
            # not sealed: apply acts on it in memory (a saved plan carries its own digest, checked when loaded)
            plan = make_plan(ctx, state, backend, tuple(saved.targets) if saved else targets, seal=False)
            plan = _with_moved_hints(plan, loaded, backend, choice)
            if saved is not None:  # the tenant must still be as the saved plan saw it, or nothing is written
                check_tenant(saved, plan)
                plan = saved
            if plan.has_changes and not confirm(plan):
                raise Cancelled("apply cancelled", "nothing was changed")
            state = apply_plan(ctx, plan, state, backend, progress, interrupts)
        if claimed:  # also when the plan wrote nothing: the state is this spec's from now on
            state = backend.write(state)
    return ApplyResult(plan, state)


def verify(spec_path: Path, connect: Connect, inside: str | None, outside: str | None) -> VerifyReport:
    loaded = load_spec(spec_path)
    with connect(loaded) as ctx:
        return run_verify(ctx, inside, outside)


def drift_fleet(spec_paths: list[Path], connect: Connect, parallelism: int, lock: bool = True) -> FleetReport:
    """Drift of several tenants (one spec each, each with its own state), `parallelism` at a time.

    A tenant that cannot be read is reported as an error with why; the others are still reported.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="drift") as pool:
        return FleetReport(tenants=list(pool.map(lambda path: _tenant_drift(path, connect, lock), spec_paths)))


def _tenant_drift(spec_path: Path, connect: Connect, lock: bool) -> TenantDrift:
    from reconciler.redact import redact

    try:
        report = drift(spec_path, StateChoice(), connect, lock)
    except ReconcilerError as exc:
        return TenantDrift(spec=str(spec_path), status="error", error=redact(str(exc)))
    except Exception as exc:  # one tenant's surprise must not hide the others' answers
        return TenantDrift(
            spec=str(spec_path), status="error", error=redact(f"internal error: {type(exc).__name__}: {exc}")
        )
    status: Literal["in_sync", "drifted"] = "drifted" if report.drifted else "in_sync"
    return TenantDrift(spec=str(spec_path), tenant=report.tenant, status=status, report=report)


def drift(spec_path: Path, choice: StateChoice, connect: Connect, lock: bool = True) -> DriftReport:
    loaded = load_spec(spec_path)
    backend = open_backend(spec_path, choice, loaded)
    with _locked(backend, "drift", lock):
        state = read_checked_state(backend, loaded, choice)
        with connect(loaded) as ctx:
            return detect_drift(ctx, state, backend)


def export(spec_path: Path, connect: Connect, out_path: Path) -> str:
    """A spec (YAML text) describing what the tenant named by `spec_path` has now; see engine/export.py."""
    from reconciler.engine.export import export_spec

    loaded = load_spec(spec_path)
    _same_folder_for_relative_paths(loaded, out_path)
    with connect(loaded) as ctx:
        return export_spec(ctx)


def _same_folder_for_relative_paths(loaded: LoadedSpec, out_path: Path) -> None:
    """The export copies the tenant section as written: its relative paths only hold next to the source spec."""
    if loaded.spec.tenant.simulator_file_is_relative and out_path.resolve().parent != loaded.path.resolve().parent:
        raise ReconcilerError(
            f"--out {out_path} is in another folder than {loaded.path}, whose tenant section has relative paths",
            f"write it next to the spec (e.g. --out {loaded.path.parent / out_path.name}), where those paths hold",
        )


def import_object(spec_path: Path, choice: StateChoice, address: str, object_id: str, connect: Connect) -> State:
    """Adopt an existing tenant object into state under the lock; nothing in the tenant changes."""
    from reconciler.engine.adopt import adopt

    loaded = load_spec(spec_path)
    backend = open_backend(spec_path, choice, loaded)
    with backend.lock("import"):
        state = read_checked_state(backend, loaded, choice)
        claim(state, loaded, choice)
        with connect(loaded) as ctx:
            adopt(ctx, state, address, object_id)
        return backend.write(state)


def permissions(spec_path: Path) -> PermissionReport:
    """What reconciler's own app needs for this spec (read-only vs apply); the tenant is not contacted."""
    from reconciler.engine.permissions import required_permissions

    return required_permissions(load_spec(spec_path))
