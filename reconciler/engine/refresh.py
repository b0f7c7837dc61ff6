"""Refresh: a snapshot of what the tenant shows for every kind, not filtered by what the spec wants.

Each kind's backend reads every object of its own that concerns the spec's principals (all role
assignments of the integration's app, all members of a room list, the whole EWS allow list, every entry
of the spec's grantees on the spec's mailboxes); the kind then says which observed object is which spec
or state object. What nothing claims is kept apart (`extras`): access reconciler does not manage.

A failed read raises ClientError; it is never taken to mean "absent".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from reconciler.engine.order import dependency_order, removal_order
from reconciler.engine.resolve import Failed, Resolved, Stage, each_kind
from reconciler.resources import KINDS
from reconciler.resources.base import Context, Desired, Item, Observed, Query, ReadCount, ResourceKind
from reconciler.state.model import State


@dataclass(frozen=True)
class Snapshot:
    """The tenant as refresh saw it: one item per spec or state address, and the unclaimed objects per kind."""

    items: list[Item]
    extras: list[tuple[ResourceKind, Observed]]


@dataclass(frozen=True)
class _Read:
    """One kind's part: its resolved inputs, what the spec asks of it, and what the tenant shows of it."""

    inputs: dict[str, Any]
    desired: tuple[Desired, ...]
    items: list[Item]
    extras: list[Observed]


def resolve_and_refresh(ctx: Context, state: State) -> tuple[Resolved, Snapshot]:
    """Resolve, then refresh: for each kind, its resolved inputs -> its desired objects -> its read, each kind on a
    thread of its own (a kind's read needs only its own inputs, so the single reads no longer wait for a paged
    look-up of another kind, nor for the `$batch` of calendar permissions). Each stage stays a function of the one
    before; the result, the order of the items and the error raised are those of every kind resolved and then every
    kind read one after another (engine/resolve.each_kind). A failed read raises ClientError; it is never taken to
    mean "absent"."""
    loaded = ctx.spec
    records = [r for r in state.resources if r.kind in KINDS]
    count = ReadCount(ctx.on_read)

    def run(name: str, failed: threading.Event) -> _Read:
        kind = KINDS[name]
        try:
            inputs = kind.resolve(loaded, ctx.lookups)
            mine = tuple(kind.desired(loaded, inputs))
        except Exception as exc:
            raise Failed(Stage.RESOLVE, exc) from None
        recorded = tuple(r for r in records if r.kind == name)
        wanted = {d.address for d in mine}
        count.expect(len(mine) + sum(1 for r in recorded if r.address not in wanted))
        if failed.is_set() or (not mine and not recorded and not kind.concerned(loaded)):
            return _Read(inputs, mine, [], [])
        view = replace(ctx, resolved={name: inputs}, reading=(count, name))
        try:
            observed = kind.backend(ctx.target).read(view, Query(mine, recorded))
        except Exception as exc:
            raise Failed(Stage.READ, exc) from None
        items, unclaimed = kind.match(mine, observed, recorded)
        count.finish(name, len(items))
        return _Read(inputs, mine, items, unclaimed)

    try:
        reads = each_kind(run)
    finally:
        count.stop()  # an interrupt leaves the kinds' threads reading: their progress no longer shows
    resolved = {name: reads[name].inputs for name in KINDS if reads[name].inputs}
    desired = dependency_order([d for name in KINDS for d in reads[name].desired])  # = desired_resources()
    by_address = {item.address: item for read in reads.values() for item in read.items}
    extras = [(KINDS[name], o) for name in KINDS for o in reads[name].extras]
    wanted = {d.address for d in desired}
    gone = removal_order([r for r in records if r.address not in wanted])
    ordered = [by_address[d.address] for d in desired] + [by_address[r.address] for r in gone]
    return resolved, Snapshot(ordered, extras)
