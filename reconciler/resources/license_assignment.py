"""`license_assignment`: which licenses the service account keeps (guide steps 4-6).

The spec lists SKU part numbers (e.g. ENTERPRISEPACK); the tenant's subscribedSkus map them to
skuIds. The assignment is exactly that set: `[]` removes every license (guide step 6).
Removing it from the spec stops managing the licenses; it never strips them.

Read:  GET /users/{upn}?$select=assignedLicenses (shared with `user`), GET /subscribedSkus (once per run)
Write: POST /users/{upn}/assignLicense with addLicenses / removeLicenses
https://learn.microsoft.com/en-us/graph/api/user-assignlicense
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from reconciler.clients.graph import required_permission
from reconciler.errors import SpecError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    READ,
    Context,
    Desired,
    Observed,
    Permission,
    ResourceKind,
    graph_permission,
)
from reconciler.spec.models import Spec, Target
from reconciler.state.model import ResourceRecord


class LicenseAssignmentKind(ResourceKind):
    kind = "license_assignment"
    deletable = False

    def desired(self, ctx: Context) -> list[Desired]:
        spec = ctx.spec
        account = spec.spec.service_account
        if account is None or spec.spec.target is Target.EXCHANGE_SERVER:
            return []  # on-premises the account lives in Active Directory; `verify` checks it over EWS
        return [
            Desired(
                kind=self.kind,
                name="service_account",
                attributes={"user": account.user_principal_name, "skus": sorted(account.licenses)},
                depends_on=("user.service_account",),
                location=spec.locate("service_account", "licenses"),
            )
        ]

    def permissions(self, spec: Spec) -> list[Permission]:
        if spec.service_account is None or spec.target is Target.EXCHANGE_SERVER:
            return []
        skus = "GET /subscribedSkus"
        return [
            graph_permission(
                self.kind,
                READ,
                ("GET /users/{upn}?$select=assignedLicenses",),
                "https://learn.microsoft.com/en-us/graph/api/user-get",
            ),
            graph_permission(
                self.kind,
                READ,
                (skus,),
                "https://learn.microsoft.com/en-us/graph/api/subscribedsku-list",
                note="Microsoft now names it least privileged; Organization.Read.All (the former one) works too",
            ),
            graph_permission(
                self.kind,
                APPLY,
                ("POST /users/{upn}/assignLicense",),
                "https://learn.microsoft.com/en-us/graph/api/user-assignlicense",
                replaces=required_permission(skus),
            ),
        ]

    def read(self, ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None:
        upn = (desired.attributes if desired else record.attributes if record else {}).get("user")
        if not upn:
            return None
        if desired is not None:
            self._sku_ids(ctx, desired)  # unknown part numbers are a spec error, found at refresh
        assigned = _assigned(ctx, upn)
        if assigned is None:
            return None
        by_id = {str(s.get("skuId")).lower(): s.get("skuPartNumber") for s in ctx.clients.graph.subscribed_skus()}
        skus = sorted(str(by_id.get(str(sku).lower()) or sku) for sku in assigned)
        return Observed(id=upn, attributes={"user": upn, "skus": skus})

    def create(self, ctx: Context, desired: Desired) -> Observed:
        return self._converge(ctx, desired)

    def update(self, ctx: Context, desired: Desired, remote_id: str | None, changed: list[str]) -> Observed:
        return self._converge(ctx, desired)

    def _converge(self, ctx: Context, desired: Desired) -> Observed:
        upn = desired.attributes["user"]
        wanted = self._sku_ids(ctx, desired)
        current = {UUID(str(sku)) for sku in _assigned(ctx, upn) or []}
        add = sorted(wanted - current, key=str)
        remove = sorted(current - wanted, key=str)
        if add or remove:
            ctx.clients.graph.assign_license(upn, add, remove)
        return Observed(id=upn, attributes=dict(desired.attributes))

    def _sku_ids(self, ctx: Context, desired: Desired) -> set[UUID]:
        by_part = {
            s.get("skuPartNumber"): UUID(s["skuId"]) for s in ctx.clients.graph.subscribed_skus() if s.get("skuId")
        }
        unknown = [p for p in desired.attributes["skus"] if p not in by_part]
        if unknown:
            raise SpecError(
                f"license {', '.join(unknown)} is not a subscription of this tenant",
                f"subscribed SKU part numbers: {', '.join(sorted(p for p in by_part if p)) or 'none'}",
                desired.location,
            )
        return {by_part[p] for p in desired.attributes["skus"]}

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        skus = attributes.get("skus")
        user = attributes.get("user")
        return {**attributes, "skus": sorted(skus or []), "user": user.lower() if isinstance(user, str) else user}

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """Set-MgUserLicense -AddLicenses / -RemoveLicenses, the SKU ids looked up by part number."""
        # https://learn.microsoft.com/powershell/module/microsoft.graph.users.actions/set-mguserlicense
        keep = [ps.comment(f"{change['address']}: licenses are kept; reconciler never strips them")]
        return ps.by_action(change, create=self._ps_assign, update=self._ps_assign, delete=lambda _: keep)

    def _ps_assign(self, change: dict[str, Any]) -> list[str]:
        was, will = ps.before(change), ps.after(change)
        add = sorted(set(will.get("skus") or []) - set(was.get("skus") or []))
        remove = sorted(set(was.get("skus") or []) - set(will.get("skus") or []))
        user = will.get("user") or was.get("user")
        if not add and not remove:
            return [ps.comment(f"{user or change['address']}: no license to add or remove")]
        adds = ", ".join(f"@{{SkuId = $Skus.Where({{ $_.SkuPartNumber -eq {ps.quote(s)} }}).SkuId}}" for s in add)
        removes = f"$Skus.Where({{ $_.SkuPartNumber -in {ps.strings(remove)} }}).SkuId" if remove else ""
        target = ps.quote(user) if user else ps.SERVICE_ACCOUNT
        return [
            "$Skus = Get-MgSubscribedSku -All",
            f"Set-MgUserLicense -UserId {target} -AddLicenses @({adds}) -RemoveLicenses @({removes})",
        ]


def _assigned(ctx: Context, upn: str) -> list[str] | None:
    """The skuIds of the user's assignedLicenses (the user read is shared with the user kind); None: no user."""
    user = ctx.clients.graph.get_user(upn)
    if user is None:
        return None
    return [str(a["skuId"]) for a in user.get("assignedLicenses") or [] if a.get("skuId")]
