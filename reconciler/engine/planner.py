"""Plan: refresh, diff every item, check that every create can succeed, return a frozen Plan."""

from __future__ import annotations

from pathlib import Path

from reconciler.engine.diff import diff
from reconciler.engine.plan import Action, Change, Plan, SpecRef, StateRef, summarize
from reconciler.engine.refresh import Item, refresh
from reconciler.resources import KINDS
from reconciler.resources.base import Context
from reconciler.state.model import State


def make_plan(ctx: Context, state: State, state_path: Path) -> Plan:
    items = refresh(ctx, state)
    warnings = [w for kind in KINDS.values() for w in kind.warnings(ctx)]
    changes = [_change(ctx, item) for item in items]
    creates_and_updates = [c for c in changes if c.action not in (Action.DELETE, Action.FORGET)]
    removals = [c for c in changes if c.action in (Action.DELETE, Action.FORGET)]
    ordered = creates_and_updates + removals  # refresh lists removals in reverse dependency order
    return Plan(
        tenant=ctx.spec.spec.tenant.name,
        spec=SpecRef(path=str(ctx.spec.path), sha256=ctx.spec.sha256),
        state=StateRef(
            path=str(state_path), lineage=state.lineage if state_path.exists() else None, serial=state.serial
        ),
        changes=ordered,
        summary=summarize(ordered),
        warnings=warnings,
    )


def _change(ctx: Context, item: Item) -> Change:
    change = diff(item.kind, item.desired, item.observed, item.record)
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
