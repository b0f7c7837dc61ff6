"""Plan: refresh, diff every item, check that every create can succeed, return a frozen Plan."""

from __future__ import annotations

import fnmatch

from reconciler.engine.diff import diff
from reconciler.engine.plan import Action, Change, Plan, SpecRef, StateRef, summarize
from reconciler.engine.refresh import Item, refresh
from reconciler.errors import PlanError
from reconciler.resources import KINDS
from reconciler.resources.base import Context
from reconciler.state.backend import StateBackend
from reconciler.state.model import State


def make_plan(ctx: Context, state: State, backend: StateBackend, targets: tuple[str, ...] = ()) -> Plan:
    items = _targeted(refresh(ctx, state), targets) if targets else refresh(ctx, state)
    warnings = [w for kind in KINDS.values() for w in kind.warnings(ctx)]
    changes = [_change(ctx, item) for item in items]
    creates_and_updates = [c for c in changes if c.action not in (Action.DELETE, Action.FORGET)]
    removals = [c for c in changes if c.action in (Action.DELETE, Action.FORGET)]
    ordered = creates_and_updates + removals  # refresh lists removals in reverse dependency order
    _guard_destroy(ctx, items, ordered)
    return Plan(
        tenant=ctx.spec.spec.tenant.name,
        target=ctx.spec.spec.target.value,
        spec=SpecRef(path=str(ctx.spec.path), sha256=ctx.spec.sha256),
        state=StateRef(path=backend.location, lineage=state.lineage if backend.exists() else None, serial=state.serial),
        changes=ordered,
        summary=summarize(ordered),
        warnings=warnings,
        targets=list(targets),
    )


def _targeted(items: list[Item], targets: tuple[str, ...]) -> list[Item]:
    """Only the items matching a --target (fnmatch) and everything they depend on."""
    by_address = {item.address: item for item in items}
    chosen = [a for a in by_address if any(fnmatch.fnmatchcase(a, t) for t in targets)]
    unmatched = [t for t in targets if not any(fnmatch.fnmatchcase(a, t) for a in by_address)]
    if unmatched:
        raise PlanError(
            f"--target {unmatched[0]} matches no resource of this spec or state",
            "addresses: " + ", ".join(sorted(by_address)),
        )
    keep: set[str] = set()
    while chosen:
        address = chosen.pop()
        if address in keep or address not in by_address:
            continue
        keep.add(address)
        item = by_address[address]
        chosen += list(item.desired.depends_on if item.desired else item.record.depends_on if item.record else [])
    return [item for item in items if item.address in keep]


def _change(ctx: Context, item: Item) -> Change:
    change = diff(item.kind, item.desired, item.observed, item.record)
    if item.record is None and item.observed is not None and item.desired is not None:
        change = change.model_copy(update={"import_id": item.observed.id or item.desired.name})
    if change.action in (Action.UPDATE, Action.REPLACE, Action.DELETE):
        widens = item.kind.widens(change.before, change.after)
        if widens:
            change = change.model_copy(update={"widens": widens})
    if change.action in (Action.CREATE, Action.REPLACE) and item.desired is not None:
        item.kind.check_create(ctx, item.desired)
    if change.action in (Action.CREATE, Action.REPLACE, Action.UPDATE) and item.desired is not None:
        manual = item.kind.manual(ctx, item.desired, change.action.value)
        automated = item.kind.automated(ctx)
        if manual or not automated:
            return change.model_copy(update={"manual": manual, "automated": automated})
    return change


def _guard_destroy(ctx: Context, items: list[Item], changes: list[Change]) -> None:
    """A plan that would destroy or replace a protected object fails (lifecycle.prevent_destroy)."""
    records = {item.address: item.record for item in items}
    lifecycle = ctx.spec.spec.lifecycle
    protected = [
        c.address
        for c in changes
        if c.action in (Action.DELETE, Action.REPLACE)
        and (lifecycle.protects(c.address) or bool((record := records.get(c.address)) and record.prevent_destroy))
    ]
    if protected:
        raise PlanError(
            f"the plan would destroy {', '.join(protected)}, which lifecycle.prevent_destroy protects",
            "if it really must go, remove it from lifecycle.prevent_destroy and apply once, then plan again",
            ctx.spec.locate("lifecycle", "prevent_destroy"),
        )
