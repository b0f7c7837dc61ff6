"""Diff: pure `(desired, observed, record) -> Change`, attribute differences found by deepdiff."""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff

from reconciler.engine.plan import SENSITIVE, Action, Change
from reconciler.resources.base import Desired, Observed, ResourceKind
from reconciler.state.model import ResourceRecord


def changed_attributes(kind: ResourceKind, want: dict[str, Any], have: dict[str, Any]) -> list[str]:
    """Top-level attributes of `want` whose value differs in `have` (only attributes the spec sets)."""
    want_n = kind.normalize(want)
    have_n = kind.normalize({k: have.get(k) for k in want})
    if want_n == have_n:
        return []  # the common case, without deepdiff's cost (thousands of objects per plan)
    diff = DeepDiff(have_n, want_n, ignore_order=True, view="tree")
    names = {level.path(output_format="list")[0] for levels in diff.values() for level in levels}
    return sorted(str(n) for n in names if n in want)


def diff(
    kind: ResourceKind, desired: Desired | None, observed: Observed | None, record: ResourceRecord | None
) -> Change:
    address = desired.address if desired else record.address if record else "?"
    base: dict[str, Any] = {"address": address, "kind": kind.kind, "id": observed.id if observed else None}
    if desired is None:
        return _removed(kind, observed, record, base)
    after = _shown(kind, desired)
    if observed is None:
        reason = "recorded in state but no longer in the tenant; it will be made again" if record else None
        return Change(**base, action=Action.CREATE, after=after, sensitive=_sensitive(kind), reason=reason)
    changed = changed_attributes(kind, desired.attributes, observed.attributes)
    before = {k: observed.attributes.get(k) for k in desired.attributes}
    if not changed:
        return Change(**base, action=Action.NOOP, before=before, after=before)
    action = Action.REPLACE if set(changed) & kind.create_only else Action.UPDATE
    return Change(**base, action=action, before=before, after=dict(desired.attributes), changed=changed)


def _removed(
    kind: ResourceKind, observed: Observed | None, record: ResourceRecord | None, base: dict[str, Any]
) -> Change:
    before = observed.attributes if observed else record.attributes if record else None
    if observed is None:
        return Change(**base, action=Action.FORGET, before=before, reason="no longer in the spec and already gone")
    if record is not None and record.created_by_reconciler and kind.deletable:
        return Change(**base, action=Action.DELETE, before=before, reason="no longer in the spec")
    why = (
        "no longer in the spec; reconciler did not create it, so it stays in the tenant"
        if not (record and record.created_by_reconciler)
        else "no longer in the spec; reconciler stops managing it and leaves it as it is"
    )
    return Change(**base, action=Action.FORGET, before=before, reason=why)


def _shown(kind: ResourceKind, desired: Desired) -> dict[str, Any]:
    """What a plan shows for the desired object: attributes plus write-only values, secrets hidden."""
    shown = dict(desired.attributes)
    for name, value in desired.write_only.items():
        if value is not None:
            shown[name] = SENSITIVE if name in kind.sensitive else value
    return shown


def _sensitive(kind: ResourceKind) -> list[str]:
    return sorted(kind.sensitive)
