"""Import: adopt an object that already exists in the tenant into state, so apply manages it.

Apply already finds unrecorded objects by their natural key (so nothing is made twice); import
records one now, without applying anything, after checking that the ID names the object the
spec means. The record is marked as not created by reconciler: removing it from the spec later
stops managing it but never deletes it.
"""

from __future__ import annotations

import difflib

from reconciler.engine.resolve import desired_resources, resolve
from reconciler.errors import PlanError, StateError
from reconciler.resources import KINDS
from reconciler.resources.base import Context, Desired, Observed, Query
from reconciler.state.model import ResourceRecord, State


def adopt(ctx: Context, state: State, address: str, object_id: str) -> ResourceRecord:
    """Record the tenant's object `object_id` as the spec's `address` in `state` (and return the record)."""
    if state.get(address) is not None:
        raise StateError(
            f"{address} is already in state",
            f"to adopt another object for it, forget this one first: reconciler state rm '{address}'",
        )
    desired = _desired(ctx, address)
    kind = KINDS[desired.kind]
    probe = ResourceRecord(address=address, kind=desired.kind, id=object_id, attributes=dict(desired.attributes))
    seen = kind.backend(ctx.target).read(ctx, Query((desired,), (probe,)))
    items, _ = kind.match([desired], seen, [probe])
    observed = items[0].observed if items else None
    if observed is None:
        raise PlanError(
            f"no {desired.kind} {object_id} exists in the tenant for {address}",
            "check the ID (`reconciler plan` lists the existing objects it would adopt, with their IDs)",
        )
    _check_same_object(desired, observed, object_id)
    record = ResourceRecord(
        address=address,
        kind=desired.kind,
        id=observed.id,
        created_by_reconciler=False,
        depends_on=list(desired.depends_on),
        prevent_destroy=ctx.spec.spec.lifecycle.protects(address),
        attributes={name: observed.attributes.get(name) for name in desired.attributes},
    )
    state.put(record)
    state.tenant = ctx.spec.spec.tenant.name
    return record


def _desired(ctx: Context, address: str) -> Desired:
    ctx.resolved = resolve(ctx.spec, ctx.lookups)
    wanted = {d.address: d for d in desired_resources(ctx.spec, ctx.resolved)}
    if address in wanted:
        return wanted[address]
    close = difflib.get_close_matches(address, list(wanted), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "addresses: " + ", ".join(sorted(wanted)[:20])
    raise PlanError(f"{address} is not an address of this spec", hint)


def _check_same_object(desired: Desired, observed: Observed, object_id: str) -> None:
    """The ID must name the object the spec means: its remote id, or its natural key."""
    names = {desired.name.lower(), *(str(v).lower() for v in desired.attributes.values() if isinstance(v, str))}
    if observed.id:
        names.add(observed.id.lower())
    if object_id.lower() not in names:
        raise PlanError(
            f"{object_id} is not the object the spec means by {desired.address}",
            f"the spec's object there is {observed.id or desired.name}; import that ID, or change the spec",
        )
