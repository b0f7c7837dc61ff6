"""Drift: the plan's own comparison, reported: where the tenant differs from the spec and from what was applied.

`missing`: a spec object does not exist in the tenant.
`changed`: it exists but attributes differ from the spec; `recorded` (the last applied value)
tells whether it was changed outside reconciler or the spec was edited since.
`wider`: an object the spec does not ask for gives the integration access beyond the spec (with its fix).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from reconciler.engine.plan import SENSITIVE, Action, Change, Finding
from reconciler.engine.planner import make_plan
from reconciler.resources import KINDS
from reconciler.resources.base import Context, ResourceKind
from reconciler.state.backend import StateBackend
from reconciler.state.model import ResourceRecord, State

# 1.1: entries carry id and expected; 1.2 (additive): statuses "wider" (with fix), "removed_from_spec" and
# "not_in_state", so drift reports exactly what plan would act on
DRIFT_FORMAT_VERSION = "1.2"


class AttributeDrift(BaseModel):
    name: str
    expected: Any
    actual: Any
    recorded: Any = None
    changed_outside: bool


class DriftEntry(BaseModel):
    address: str
    kind: str
    status: Literal["missing", "changed", "wider", "removed_from_spec", "not_in_state"]
    message: str
    attributes: list[AttributeDrift] = []
    id: str | None = None  # the object's id in the tenant (None when missing)
    expected: dict[str, Any] = {}  # every attribute the spec sets (no secrets), so a fix can name the object
    fix: list[str] = []  # status "wider": the PowerShell that removes the access


class DriftReport(BaseModel):
    format_version: str = DRIFT_FORMAT_VERSION
    tenant: str
    target: str | None = None  # exchange_online | exchange_server (1.2, additive)
    drifted: bool
    entries: list[DriftEntry]
    checked: int

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def detect_drift(ctx: Context, state: State, backend: StateBackend) -> DriftReport:
    """The same comparison as `plan`, reported: every spec object the plan would create or change, and every
    object that gives the integration access wider than the spec."""
    plan = make_plan(ctx, state, backend, seal=False)
    wider = {f.address for f in plan.wider_access}
    kept = [c for c in plan.changes if c.address not in wider]
    entries = [entry for change in kept if (entry := _entry(change, state, ctx)) is not None]
    entries += [_wider(f) for f in plan.wider_access]
    checked = sum(1 for c in kept if c.action not in (Action.DELETE, Action.FORGET))
    return DriftReport(tenant=plan.tenant, target=plan.target, drifted=bool(entries), entries=entries, checked=checked)


def _entry(change: Change, state: State, ctx: Context) -> DriftEntry | None:
    record = state.get(change.address)
    shown = {k: v for k, v in (change.after or {}).items() if v != SENSITIVE}
    unseen = KINDS[change.kind].backend(ctx.target).unseen()
    if change.action is Action.CREATE and unseen is not None:
        return DriftEntry(address=change.address, kind=change.kind, status="missing", message=unseen, expected=shown)
    if change.action is Action.CREATE:
        why = (
            "was created by reconciler and has been deleted outside it"
            if record is not None and record.created_by_reconciler
            else "is recorded in state but no longer exists in the tenant"
            if record is not None
            else "does not exist in the tenant (never applied?)"
        )
        return DriftEntry(address=change.address, kind=change.kind, status="missing", message=why, expected=shown)
    if change.action in (Action.DELETE, Action.FORGET):
        outcome = "apply destroys it" if change.action is Action.DELETE else "apply stops managing it (kept)"
        return DriftEntry(
            address=change.address,
            kind=change.kind,
            status="removed_from_spec",
            message=f"recorded in state but no longer in the spec: {outcome}",
            id=change.id,
        )
    if change.action is Action.NOOP:
        if not change.import_id:
            return None
        return DriftEntry(
            address=change.address,
            kind=change.kind,
            status="not_in_state",
            message=f"exists in the tenant as the spec says, but state does not record it: apply adopts it "
            f"(or: reconciler import '{change.address}' '{change.import_id}')",
            id=change.id,
            expected=shown,
        )
    if change.action not in (Action.UPDATE, Action.REPLACE):
        return None
    kind = KINDS[change.kind]
    attributes = [_attribute(kind, change, record, name) for name in change.changed]
    outside = any(a.changed_outside for a in attributes)
    if change.reason:  # the kind can tell why (e.g. a dependency deleted and made again by hand)
        message = change.reason
    elif record is None:  # nothing applied was recorded here: who changed what cannot be told
        message = "does not match the spec (not in this state, so whether by hand or by a spec edit is unknown)"
    else:
        message = "changed outside reconciler" if outside else "does not match the spec (spec changed since apply?)"
    caveat = kind.backend(ctx.target).caveat()
    message = f"{message}; {caveat}" if caveat else message
    return DriftEntry(
        address=change.address,
        kind=change.kind,
        status="changed",
        message=message,
        attributes=attributes,
        id=change.id,
        expected=shown,
    )


def _attribute(kind: ResourceKind, change: Change, record: ResourceRecord | None, name: str) -> AttributeDrift:
    expected = (change.after or {}).get(name)
    actual = (change.before or {}).get(name)
    recorded = record.attributes.get(name) if record else None
    outside = record is not None and bool(kind.changed({name: recorded}, {name: actual}))
    return AttributeDrift(name=name, expected=expected, actual=actual, recorded=recorded, changed_outside=outside)


def _wider(finding: Finding) -> DriftEntry:
    return DriftEntry(
        address=finding.address,
        kind=finding.kind,
        status="wider",
        message="(!) access wider than the spec: " + finding.message,
        id=finding.id,
        expected={},
        fix=finding.fix,
    )


class TenantDrift(BaseModel):
    """One tenant of a fleet drift run: in sync, drifted (with its report), or unreadable (with why)."""

    spec: str
    tenant: str | None = None
    status: Literal["in_sync", "drifted", "error"]
    report: DriftReport | None = None
    error: str | None = None


class FleetReport(BaseModel):
    """`drift SPEC SPEC ...`: one answer for many tenants."""

    format_version: str = DRIFT_FORMAT_VERSION
    tenants: list[TenantDrift]

    @property
    def drifted(self) -> list[TenantDrift]:
        return [t for t in self.tenants if t.status == "drifted"]

    @property
    def failed(self) -> list[TenantDrift]:
        return [t for t in self.tenants if t.status == "error"]

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["drifted"] = [t.spec for t in self.drifted]
        data["failed"] = [t.spec for t in self.failed]
        return data
