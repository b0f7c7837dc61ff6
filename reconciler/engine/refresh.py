"""Refresh: read the observed state of everything the spec asks for or the state records, in one snapshot.

A failed read raises ClientError; it is never taken to mean "absent".
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.engine.order import dependency_order, removal_order
from reconciler.resources import KINDS
from reconciler.resources.base import Context, Desired, Observed, ResourceKind
from reconciler.state.model import ResourceRecord, State


@dataclass(frozen=True)
class Item:
    """One address as seen in the spec, the tenant and the state."""

    kind: ResourceKind
    desired: Desired | None
    observed: Observed | None
    record: ResourceRecord | None

    @property
    def address(self) -> str:
        return self.desired.address if self.desired else self.record.address if self.record else "?"


def desired_resources(ctx: Context) -> list[Desired]:
    """Every object the spec asks for, in dependency order."""
    return dependency_order([d for kind in KINDS.values() for d in kind.desired(ctx)])


def refresh(ctx: Context, state: State) -> list[Item]:
    desired = desired_resources(ctx)
    wanted = {d.address for d in desired}
    items = [_read(ctx, KINDS[d.kind], d, state.get(d.address)) for d in desired]
    for record in removal_order([r for r in state.resources if r.address not in wanted]):
        if record.kind in KINDS:
            items.append(_read(ctx, KINDS[record.kind], None, record))
    return items


def _read(ctx: Context, kind: ResourceKind, desired: Desired | None, record: ResourceRecord | None) -> Item:
    return Item(kind, desired, kind.read(ctx, desired, record), record)
