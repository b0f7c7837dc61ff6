"""Plan: resolve -> refresh -> diff, check that every create can succeed, return a sealed, frozen Plan.

Each stage is a function of the one before: `resolve` turns the spec's names into the tenant's (recorded in
the plan), `desired_resources` is pure over the spec and those inputs, `refresh` snapshots the tenant, `diff`
compares. The plan carries a digest over all of it: what a person reviewed is what apply runs.
"""

from __future__ import annotations

import fnmatch

from reconciler.engine.diff import diff, wider
from reconciler.engine.plan import Action, Change, Finding, Plan, SpecRef, StateRef, summarize
from reconciler.engine.refresh import resolve_and_refresh
from reconciler.errors import PlanError
from reconciler.resources import KINDS
from reconciler.resources.base import Context, Item
from reconciler.state.backend import StateBackend
from reconciler.state.model import State


def make_plan(
    ctx: Context, state: State, backend: StateBackend, targets: tuple[str, ...] = (), seal: bool = True
) -> Plan:
    """The plan; sealed with its digest unless `seal` is False (drift, apply's own plan, a plan only shown to a
    person: the digest of 10,000 changes is a sorted JSON dump of them all, and only a saved or printed plan needs
    it)."""
    loaded = ctx.spec
    resolved, snapshot = resolve_and_refresh(ctx, state)
    ctx.resolved = resolved
    items = _targeted(snapshot.items, targets) if targets else snapshot.items
    findings: list[Finding] = []
    removals: list[Change] = []
    for kind, observed in snapshot.extras:
        found = wider(kind, observed, loaded)
        if found is not None and (not targets or any(fnmatch.fnmatchcase(observed.address, t) for t in targets)):
            findings.append(found[0])
            removals += [found[1]] if found[1] is not None else []
    changes = _interrupted([_with_backend(ctx, item, diff(item)) for item in items], state)
    ordered = [c for c in changes if c.action not in (Action.DELETE, Action.FORGET)]
    ordered += removals + [c for c in changes if c.action in (Action.DELETE, Action.FORGET)]
    _guard_destroy(ctx, items, ordered)
    plan = Plan(
        tenant=loaded.spec.tenant.name,
        target=loaded.spec.target.value,
        spec=SpecRef(path=str(loaded.path), sha256=loaded.sha256),
        state=StateRef(path=backend.location, lineage=state.lineage if backend.exists() else None, serial=state.serial),
        changes=ordered,
        summary=summarize(ordered, len(findings)),
        warnings=[
            *loaded.notes,
            *(w for kind in KINDS.values() for w in kind.warnings(loaded)),
            *([] if targets else _unplanned_intents(state, ordered)),
            *(f"{c.address} is kept for now: {c.reason}" for c in ordered if c.action is Action.NOOP and c.reason),
        ],
        targets=list(targets),
        resolved=resolved,
        wider_access=findings,
    )
    return plan.sealed() if seal else plan


def _interrupted(changes: list[Change], state: State) -> list[Change]:
    """An intent found without a result: an earlier apply was writing the object when it was interrupted (or lost the
    answer). Refresh has re-read it: one that exists is adopted as created by reconciler (removing it from the spec
    later deletes it, as for any object reconciler made); one that does not is simply planned again."""
    made = {i.address for i in state.intents if i.action in (Action.CREATE, Action.REPLACE)}
    return [
        c.model_copy(update={"interrupted": True})
        if c.address in made and c.before is not None and c.action not in (Action.DELETE, Action.FORGET)
        else c
        for c in changes
    ]


def _unplanned_intents(state: State, changes: list[Change]) -> list[str]:
    """Intents of objects no longer in the spec nor in state, said in one warning (the next apply clears them)."""
    planned = {c.address for c in changes}
    left = [
        i.address for i in state.intents if i.address not in planned and i.action in (Action.CREATE, Action.REPLACE)
    ]
    if not left:
        return []
    shown = ", ".join(left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
    return [
        f"{len(left)} object(s) were being made when an earlier apply was interrupted and are no longer in the spec "
        f"({shown}): if they exist in the tenant, reconciler does not manage them (remove them by hand); the next "
        "apply stops tracking them"
    ]


def _with_backend(ctx: Context, item: Item, change: Change) -> Change:
    """Checks that a create can succeed, keeps what must stay for now (`held`), and the manual steps of a target
    without an API for the kind."""
    if change.action is Action.DELETE and item.observed is not None:
        held = item.kind.held(item.observed, ctx.spec)
        if held is not None:
            kept = {"action": Action.NOOP, "after": change.before, "reason": held, "widens": None}
            return change.model_copy(update=kept)
    if change.action in (Action.CREATE, Action.REPLACE) and item.desired is not None:
        item.kind.check_create(ctx.spec, item.desired)
    if change.action is Action.UPDATE and item.desired is not None:
        item.kind.check_update(ctx.spec, item.desired, change.changed)
    backend = item.kind.backend(ctx.target)
    if change.action in (Action.CREATE, Action.REPLACE, Action.UPDATE) and not backend.automated:
        return change.model_copy(update={"manual": backend.manual(change), "automated": False})
    return change


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
