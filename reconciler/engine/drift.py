"""Drift: refresh only, then say where the tenant differs from the spec and from what was applied.

`missing`: a spec object does not exist in the tenant.
`changed`: it exists but attributes differ from the spec; `recorded` (the last applied value)
tells whether it was changed outside reconciler or the spec was edited since.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from reconciler.engine.diff import changed_attributes
from reconciler.engine.refresh import Item, refresh
from reconciler.resources.base import Context
from reconciler.state.model import State

DRIFT_FORMAT_VERSION = "1.1"  # 1.1: entries carry id and expected (additive)


class AttributeDrift(BaseModel):
    name: str
    expected: Any
    actual: Any
    recorded: Any = None
    changed_outside: bool


class DriftEntry(BaseModel):
    address: str
    kind: str
    status: Literal["missing", "changed"]
    message: str
    attributes: list[AttributeDrift] = []
    id: str | None = None  # the object's id in the tenant (None when missing)
    expected: dict[str, Any] = {}  # every attribute the spec sets (no secrets), so a fix can name the object


class DriftReport(BaseModel):
    format_version: str = DRIFT_FORMAT_VERSION
    tenant: str
    drifted: bool
    entries: list[DriftEntry]
    checked: int

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def detect_drift(ctx: Context, state: State) -> DriftReport:
    items = [item for item in refresh(ctx, state) if item.desired is not None]
    entries = [entry for item in items if (entry := _entry(item)) is not None]
    return DriftReport(tenant=ctx.spec.spec.tenant.name, drifted=bool(entries), entries=entries, checked=len(items))


def _entry(item: Item) -> DriftEntry | None:
    assert item.desired is not None
    if item.observed is None:
        why = (
            "was created by reconciler and has been deleted outside it"
            if item.record
            else "does not exist in the tenant (never applied?)"
        )
        return DriftEntry(
            address=item.address,
            kind=item.kind.kind,
            status="missing",
            message=why,
            expected=dict(item.desired.attributes),
        )
    names = changed_attributes(item.kind, item.desired.attributes, item.observed.attributes)
    if not names:
        return None
    attributes = [_attribute(item, name) for name in names]
    outside = any(a.changed_outside for a in attributes)
    if item.record is None:  # nothing applied was recorded here: who changed what cannot be told
        message = "does not match the spec (not in this state, so whether by hand or by a spec edit is unknown)"
    else:
        message = "changed outside reconciler" if outside else "does not match the spec (spec changed since apply?)"
    return DriftEntry(
        address=item.address,
        kind=item.kind.kind,
        status="changed",
        message=message,
        attributes=attributes,
        id=item.observed.id,
        expected=dict(item.desired.attributes),
    )


def _attribute(item: Item, name: str) -> AttributeDrift:
    assert item.desired is not None and item.observed is not None
    recorded = item.record.attributes.get(name) if item.record else None
    actual = item.observed.attributes.get(name)
    outside = item.record is not None and bool(changed_attributes(item.kind, {name: recorded}, {name: actual}))
    return AttributeDrift(
        name=name, expected=item.desired.attributes[name], actual=actual, recorded=recorded, changed_outside=outside
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
