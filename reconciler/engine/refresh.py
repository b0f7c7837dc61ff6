"""Refresh: a snapshot of what the tenant shows for every kind, not filtered by what the spec wants.

Each kind's backend reads every object of its own that concerns the spec's principals (all role
assignments of the integration's app, all members of a room list, the whole EWS allow list, every entry
of the spec's grantees on the spec's mailboxes); the kind then says which observed object is which spec
or state object. What nothing claims is kept apart (`extras`): access reconciler does not manage.

A failed read raises ClientError; it is never taken to mean "absent".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.engine.order import removal_order
from reconciler.resources import KINDS
from reconciler.resources.base import Context, Desired, Item, Observed, Query, ResourceKind
from reconciler.state.model import State


@dataclass(frozen=True)
class Snapshot:
    """The tenant as refresh saw it: one item per spec or state address, and the unclaimed objects per kind."""

    items: list[Item]
    extras: list[tuple[ResourceKind, Observed]]


def refresh(ctx: Context, desired: Sequence[Desired], state: State) -> Snapshot:
    wanted = {d.address for d in desired}
    records = [r for r in state.resources if r.kind in KINDS]
    total = len(desired) + sum(1 for r in records if r.address not in wanted)
    by_address: dict[str, Item] = {}
    extras: list[tuple[ResourceKind, Observed]] = []
    done = 0
    for name, kind in KINDS.items():
        mine = tuple(d for d in desired if d.kind == name)
        recorded = tuple(r for r in records if r.kind == name)
        if not mine and not recorded and not kind.concerned(ctx.spec):
            continue
        ctx.reading = (done, total, name)
        observed = kind.backend(ctx.target).read(ctx, Query(mine, recorded))
        items, unclaimed = kind.match(mine, observed, recorded)
        by_address.update((item.address, item) for item in items)
        extras += [(kind, o) for o in unclaimed]
        done += len(items)
        if ctx.on_read is not None:
            ctx.on_read(done, total, name)
    gone = removal_order([r for r in records if r.address not in wanted])
    ordered = [by_address[d.address] for d in desired] + [by_address[r.address] for r in gone]
    return Snapshot(ordered, extras)
