"""Diff: pure `(resolved desired, observed, state) -> changes`, each with complete `before` and `after`.

`before` is the object as the tenant shows it; `after` is the whole object as it will be, which is
exactly what apply writes. Objects of the integration's principals that the spec does not ask for are
findings (access wider than the spec); the spec that owns that access gets them removed.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.plan import SENSITIVE, Action, Change, Finding
from reconciler.resources.base import Desired, Item, Observed, ResourceKind
from reconciler.spec.loader import LoadedSpec
from reconciler.state.model import ResourceRecord


def diff(item: Item) -> Change:
    kind, desired, observed, record = item.kind, item.desired, item.observed, item.record
    base: dict[str, Any] = {"address": item.address, "kind": kind.kind, "id": observed.id if observed else None}
    if desired is None:
        return _removed(kind, observed, record, base)
    base["depends_on"] = list(desired.depends_on)
    if observed is None:
        reason = "recorded in state but no longer in the tenant; it will be made again" if record else None
        return Change(
            **base, action=Action.CREATE, after=_shown(kind, desired), sensitive=_sensitive(kind), reason=reason
        )
    comparison = kind.compare(desired, observed)
    before = dict(observed.attributes)
    if record is None:
        base["import_id"] = observed.id or desired.name
    if not comparison.changed:
        return Change(
            **base, action=Action.NOOP, before=before, after={**comparison.after, **_write_only(kind, desired)}
        )
    if set(comparison.changed) & kind.create_only:
        after = _shown(kind, desired)
        action = Action.REPLACE
    else:
        after = {**comparison.after, **_write_only(kind, desired)}
        action = Action.UPDATE
    change = Change(
        **base,
        action=action,
        before=before,
        after=after,
        changed=comparison.changed,
        sensitive=_sensitive(kind),
        reason=kind.cause(comparison.changed, before, after),
    )
    widens = kind.widens(before, after)
    return change.model_copy(update={"widens": widens}) if widens else change


def _removed(
    kind: ResourceKind, observed: Observed | None, record: ResourceRecord | None, base: dict[str, Any]
) -> Change:
    before = observed.attributes if observed else record.attributes if record else None
    base["depends_on"] = list(record.depends_on) if record else []
    if observed is None:
        return Change(**base, action=Action.FORGET, before=before, reason="no longer in the spec and already gone")
    if record is not None and record.created_by_reconciler and kind.deletable:
        change = Change(**base, action=Action.DELETE, before=before, reason="no longer in the spec")
        widens = kind.widens(before, None)
        return change.model_copy(update={"widens": widens}) if widens else change
    why = (
        "no longer in the spec; reconciler did not create it, so it stays in the tenant"
        if not (record and record.created_by_reconciler)
        else "no longer in the spec; reconciler stops managing it and leaves it as it is"
    )
    return Change(**base, action=Action.FORGET, before=before, reason=why)


def wider(kind: ResourceKind, observed: Observed, loaded: LoadedSpec) -> tuple[Finding, Change | None] | None:
    """An unclaimed object that opens access beyond the spec: the finding, and its removal if the spec owns it."""
    message = kind.wider(observed, loaded)
    if message is None:
        return None
    owned = kind.owns_wider(loaded)
    held = kind.held(observed, loaded)
    if held is not None:  # not removed now, and not to be removed by hand before the reason is gone
        message, owned = f"{message}; kept for now: {held}", False
    removal = Change(
        address=observed.address,
        kind=kind.kind,
        action=Action.DELETE,
        id=observed.id,
        before=dict(observed.attributes),
        reason="access wider than the spec; the spec owns this access (access.exclusive, or "
        "access.remove_access_policies for an access policy), so it is removed",
    )
    fix = kind.powershell(removal.model_dump(mode="json"))
    fix = [f"# not before: {held}", *fix] if held is not None else fix
    finding = Finding(
        address=observed.address,
        kind=kind.kind,
        id=observed.id,
        message=message,
        attributes=dict(observed.attributes),
        removed=owned,
        fix=fix,
    )
    return finding, (removal if owned else None)


def _write_only(kind: ResourceKind, desired: Desired) -> dict[str, Any]:
    """Write-only values the plan shows (what apply sends); secrets hidden."""
    return {
        name: SENSITIVE if name in kind.sensitive else value
        for name, value in desired.write_only.items()
        if value is not None
    }


def _shown(kind: ResourceKind, desired: Desired) -> dict[str, Any]:
    """What a plan shows for the desired object: attributes plus write-only values, secrets hidden."""
    return {**desired.attributes, **_write_only(kind, desired)}


def _sensitive(kind: ResourceKind) -> list[str]:
    return sorted(kind.sensitive)
