"""Apply: carry out a plan's changes in order, recording each in state as soon as it is done.

A saved plan is applied only while it is current: same spec (sha256) and same state
(lineage and serial) as when it was made.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reconciler.engine.plan import Action, Change, Plan
from reconciler.engine.refresh import desired_resources
from reconciler.errors import PlanError, ReconcilerError
from reconciler.resources import KINDS
from reconciler.resources.base import Context, Desired, Observed, Write
from reconciler.state.model import ResourceRecord, State
from reconciler.state.store import write_state

Progress = Callable[[Change, str], None]


def check_current(plan: Plan, spec_sha256: str, state: State, state_path: Path) -> None:
    """Raise PlanError when a saved plan no longer matches the spec or the state."""
    if plan.spec.sha256 != spec_sha256:
        raise PlanError(
            f"stale plan: the spec {plan.spec.path} changed since the plan was made",
            "run `reconciler plan --out FILE` again and review the new plan",
        )
    exists = state_path.exists()
    made_on = (plan.state.lineage, plan.state.serial)
    now = (state.lineage if exists else None, state.serial if exists else 0)
    if made_on != now:
        raise PlanError(
            f"stale plan: state {state_path} changed since the plan was made "
            f"(plan: serial {plan.state.serial}, state now: serial {now[1]})",
            "another apply ran in between; run `reconciler plan --out FILE` again",
        )


BULK_CHUNK = 500  # changes handed to one write_many call; state is written after each chunk


def apply_plan(ctx: Context, plan: Plan, state: State, state_path: Path, progress: Progress) -> State:
    """Apply every change, writing state after each change (or chunk of bulk changes): an interrupted
    apply loses nothing that was done."""
    desired = {d.address: d for d in desired_resources(ctx)}
    state.tenant = plan.tenant
    for group in _groups(plan.changes):
        if len(group) > 1:
            state = _apply_bulk(ctx, group, desired, state, state_path, progress)
        else:
            state = _apply_single(ctx, group[0], desired, state, state_path, progress)
    return state


def _groups(changes: list[Change]) -> list[list[Change]]:
    """Consecutive creates/updates of one bulk kind go together (up to BULK_CHUNK); the rest one by one."""
    groups: list[list[Change]] = []
    for change in changes:
        last = groups[-1] if groups else None
        if _bulk(change) and last and _bulk(last[0]) and last[0].kind == change.kind and len(last) < BULK_CHUNK:
            last.append(change)
        else:
            groups.append([change])
    return groups


def _bulk(change: Change) -> bool:
    return KINDS[change.kind].bulk and change.automated and change.action in (Action.CREATE, Action.UPDATE)


def _apply_single(
    ctx: Context, change: Change, desired: dict[str, Desired], state: State, state_path: Path, progress: Progress
) -> State:
    if not change.automated:
        progress(change, "manual")  # recorded once the next plan confirms it in the tenant
        return state
    progress(change, "start")
    try:
        _apply_one(ctx, change, desired.get(change.address), state)
    except ReconcilerError:
        progress(change, "failed")
        write_state(state_path, state)
        raise
    state = write_state(state_path, state)
    progress(change, "done")
    if change.manual:
        progress(change, "manual")
    return state


def _apply_bulk(
    ctx: Context, group: list[Change], desired: dict[str, Desired], state: State, state_path: Path, progress: Progress
) -> State:
    kind = KINDS[group[0].kind]
    writes = [Write(c.action.value, _wanted(c, desired), c.id, tuple(c.changed)) for c in group]
    for change in group:
        progress(change, "start")
    results = kind.write_many(ctx, writes)
    failures: list[tuple[Change, ReconcilerError]] = []
    for change, write, result in zip(group, writes, results, strict=True):
        if isinstance(result, ReconcilerError):
            failures.append((change, result))
            continue
        record = state.get(change.address)
        created = change.action is Action.CREATE or bool(record and record.created_by_reconciler)
        state.put(_record(change, result, created, write.desired))
    state = write_state(state_path, state)
    for change, result in zip(group, results, strict=True):
        progress(change, "failed" if isinstance(result, ReconcilerError) else "done")
    if failures:
        first = failures[0][1]
        more = f" (and {len(failures) - 1} more like it)" if len(failures) > 1 else ""
        first.summary += more
        raise first
    return state


def _wanted(change: Change, desired: dict[str, Desired]) -> Desired:
    found = desired.get(change.address)
    if found is None:
        raise PlanError(f"{change.address} is in the plan but not in the spec", "make the plan again")
    return found


def _apply_one(ctx: Context, change: Change, desired: Desired | None, state: State) -> None:
    kind = KINDS[change.kind]
    record = state.get(change.address)
    if change.action in (Action.DELETE, Action.FORGET):
        if change.action is Action.DELETE and record is not None:
            kind.delete(ctx, record)
        state.remove(change.address)
        return
    if desired is None:
        raise PlanError(f"{change.address} is in the plan but not in the spec", "make the plan again")
    created = record.created_by_reconciler if record else False
    if change.action is Action.REPLACE and record is not None:
        kind.delete(ctx, record)
    if change.action in (Action.CREATE, Action.REPLACE):
        observed, created = kind.create(ctx, desired), True
    elif change.action is Action.UPDATE:
        observed = kind.update(ctx, desired, change.id, change.changed)
    else:
        observed = Observed(change.id, dict(desired.attributes))
    state.put(_record(change, observed, created, desired))


def _record(change: Change, observed: Observed, created: bool, desired: Desired) -> ResourceRecord:
    return ResourceRecord(
        address=change.address,
        kind=change.kind,
        id=observed.id,
        created_by_reconciler=created,
        depends_on=list(desired.depends_on),
        attributes=dict(desired.attributes),
    )
