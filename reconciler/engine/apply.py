"""Apply: carry out a plan's changes in order, recording each in state as soon as it is done.

A saved plan is applied only while it is current: same spec (sha256) and same state
(lineage and serial) as when it was made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.engine.plan import Action, Change, Plan
from reconciler.engine.refresh import desired_resources
from reconciler.errors import PlanError, ReconcilerError
from reconciler.resources import KINDS
from reconciler.resources.base import Context, Desired, Observed, Write
from reconciler.state.backend import StateBackend
from reconciler.state.model import ResourceRecord, State

Progress = Callable[[Change, str], None]


def check_current(plan: Plan, spec_sha256: str, state: State, backend: StateBackend) -> None:
    """Raise PlanError when a saved plan no longer matches the spec or the state."""
    if plan.spec.sha256 != spec_sha256:
        raise PlanError(
            f"stale plan: the spec {plan.spec.path} changed since the plan was made",
            "run `reconciler plan --out FILE` again and review the new plan",
        )
    exists = backend.exists()
    made_on = (plan.state.lineage, plan.state.serial)
    now = (state.lineage if exists else None, state.serial if exists else 0)
    if made_on != now:
        raise PlanError(
            f"stale plan: state {backend.location} changed since the plan was made "
            f"(plan: serial {plan.state.serial}, state now: serial {now[1]})",
            "another apply ran in between; run `reconciler plan --out FILE` again",
        )


BULK_CHUNK = 500  # changes handed to one write_many call; state is written after each chunk


class ApplyFailed(ReconcilerError):
    """Some changes failed; every other independent change was applied and recorded."""


@dataclass
class _Run:
    """One apply in progress: what failed, and the state as last written."""

    ctx: Context
    desired: dict[str, Desired]
    state: State
    backend: StateBackend
    progress: Progress
    failed: dict[str, str] = field(default_factory=dict)  # address -> why

    def blocked_by(self, change: Change) -> str | None:
        wanted = self.desired.get(change.address)
        return next((dep for dep in (wanted.depends_on if wanted else ()) if dep in self.failed), None)

    def fail(self, change: Change, why: str) -> None:
        self.failed[change.address] = why
        self.progress(change, "failed")


def apply_plan(ctx: Context, plan: Plan, state: State, backend: StateBackend, progress: Progress) -> State:
    """Apply every change, writing state after each change (or chunk of bulk changes): an interrupted
    apply loses nothing that was done. A change that fails does not stop the changes independent of it;
    those depending on it are skipped. Any failure ends in ApplyFailed listing each address and why."""
    run = _Run(ctx, {d.address: d for d in desired_resources(ctx)}, state, backend, progress)
    run.state.tenant = plan.tenant
    for group in _groups(plan.changes):
        ready = [c for c in group if not _skipped(run, c)]
        if len(ready) > 1:
            _apply_bulk(run, ready)
        elif ready:
            _apply_single(run, ready[0])
    if run.failed:
        lines = [f"{address}: {why}" for address, why in run.failed.items()]
        total = sum(1 for c in plan.changes if c.action is not Action.NOOP)
        raise ApplyFailed(
            f"{len(run.failed)} of {total} changes failed; the others were applied and recorded",
            "\n  ".join(lines),
        )
    return run.state


def _skipped(run: _Run, change: Change) -> bool:
    dependency = run.blocked_by(change)
    if dependency is not None:
        run.fail(change, f"skipped: it depends on {dependency}, which failed")
    return dependency is not None


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


def _apply_single(run: _Run, change: Change) -> None:
    if not change.automated:
        run.progress(change, "manual")  # recorded once the next plan confirms it in the tenant
        return
    run.progress(change, "start")
    try:
        _apply_one(run.ctx, change, run.desired, run.state)
    except ReconcilerError as exc:
        run.fail(change, _why(exc))
        return
    run.state = run.backend.write(run.state)
    run.progress(change, "done")
    if change.manual:
        run.progress(change, "manual")


def _apply_bulk(run: _Run, group: list[Change]) -> None:
    kind = KINDS[group[0].kind]
    writes = [Write(c.action.value, _wanted(c, run.desired), c.id, tuple(c.changed)) for c in group]
    for change in group:
        run.progress(change, "start")
    results = kind.write_many(run.ctx, writes)
    for change, write, result in zip(group, writes, results, strict=True):
        if isinstance(result, ReconcilerError):
            continue
        record = run.state.get(change.address)
        created = change.action is Action.CREATE or bool(record and record.created_by_reconciler)
        run.state.put(_record(run.ctx, change, result, created, write.desired))
    run.state = run.backend.write(run.state)
    for change, result in zip(group, results, strict=True):
        if isinstance(result, ReconcilerError):
            run.fail(change, _why(result))
        else:
            run.progress(change, "done")


def _why(error: ReconcilerError) -> str:
    return f"{error.summary}: {error.detail}" if error.detail else error.summary


def _wanted(change: Change, desired: dict[str, Desired]) -> Desired:
    found = desired.get(change.address)
    if found is None:
        raise PlanError(f"{change.address} is in the plan but not in the spec", "make the plan again")
    return found


def _apply_one(ctx: Context, change: Change, wanted: dict[str, Desired], state: State) -> None:
    kind = KINDS[change.kind]
    record = state.get(change.address)
    if change.action in (Action.DELETE, Action.FORGET):
        if change.action is Action.DELETE and record is not None:
            kind.delete(ctx, record)
        state.remove(change.address)
        return
    desired = _wanted(change, wanted)
    created = record.created_by_reconciler if record else False
    if change.action is Action.REPLACE:  # the object found (recorded or adopted) goes first
        kind.delete(ctx, record or ResourceRecord(address=change.address, kind=change.kind, id=change.id))
    if change.action in (Action.CREATE, Action.REPLACE):
        observed, created = kind.create(ctx, desired), True
    elif change.action is Action.UPDATE:
        observed = kind.update(ctx, desired, change.id, change.changed)
    else:
        observed = Observed(change.id, dict(desired.attributes))
    state.put(_record(ctx, change, observed, created, desired))


def _record(ctx: Context, change: Change, observed: Observed, created: bool, desired: Desired) -> ResourceRecord:
    return ResourceRecord(
        prevent_destroy=ctx.spec.spec.lifecycle.protects(change.address),
        address=change.address,
        kind=change.kind,
        id=observed.id,
        created_by_reconciler=created,
        depends_on=list(desired.depends_on),
        attributes=dict(desired.attributes),
    )
