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
    records = {r.address: r for r in state.resources}
    pairs: list[tuple[Desired | None, ResourceRecord | None]] = [(d, records.get(d.address)) for d in desired]
    gone = removal_order([r for r in state.resources if r.address not in wanted and r.kind in KINDS])
    pairs += [(None, r) for r in gone]
    observed = _read_by_kind(ctx, pairs)
    return [Item(KINDS[_kind(d, r)], d, observed[i], r) for i, (d, r) in enumerate(pairs)]


def _kind(desired: Desired | None, record: ResourceRecord | None) -> str:
    return desired.kind if desired else record.kind if record else ""


def _read_by_kind(ctx: Context, pairs: list[tuple[Desired | None, ResourceRecord | None]]) -> list[Observed | None]:
    """Each kind reads all its instances in one call (bulk where the kind can), answers kept in order."""
    observed: list[Observed | None] = [None] * len(pairs)
    done = 0
    for name, kind in KINDS.items():
        positions = [i for i, (d, r) in enumerate(pairs) if _kind(d, r) == name]
        if positions:
            ctx.reading = (done, len(pairs), name)
            for position, result in zip(positions, kind.read_many(ctx, [pairs[i] for i in positions]), strict=True):
                observed[position] = result
            done += len(positions)
            if ctx.on_read is not None:
                ctx.on_read(done, len(pairs), name)
    return observed
