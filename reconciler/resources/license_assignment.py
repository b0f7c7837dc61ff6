"""`license_assignment`: which licenses the service account keeps (guide steps 4-6).

The spec lists SKU part numbers (e.g. ENTERPRISEPACK); the tenant's subscribedSkus map them to
skuIds. The assignment is exactly that set: `[]` removes every license (guide step 6).
Removing it from the spec stops managing the licenses; it never strips them.

Read:  GET /users/{upn}?$select=assignedLicenses (shared with `user`), GET /subscribedSkus (once per run)
Write: POST /users/{upn}/assignLicense with addLicenses / removeLicenses
https://learn.microsoft.com/en-us/graph/api/user-assignlicense
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

from reconciler.clients.graph import required_permission
from reconciler.errors import SpecError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    READ,
    Attributes,
    Backend,
    Context,
    Desired,
    Observed,
    Permission,
    Query,
    ResourceKind,
    Unsupported,
    graph_permission,
)
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target

if TYPE_CHECKING:
    from reconciler.engine.plan import Change
    from reconciler.resources.lookups import Lookups


class LicenseAttrs(Attributes):
    """The service account (user principal name) and the SKU part numbers it keeps."""

    user: str
    skus: list[str]


class Online(Backend[LicenseAttrs]):
    """Microsoft Graph: the user's assignedLicenses, subscribedSkus, assignLicense."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        wanted = [(d.address, d.attributes.get("user")) for d in query.desired]
        wanted += [(r.address, r.attributes.get("user")) for r in query.records]
        found: dict[str, Observed] = {}
        for address, upn in wanted:
            if not upn or address in found:
                continue
            user = ctx.lookups.user(str(upn))
            if user is None:
                continue
            by_id = {str(s.get("skuId")).lower(): s.get("skuPartNumber") for s in ctx.lookups.subscribed_skus()}
            assigned = [str(a["skuId"]) for a in user.get("assignedLicenses") or [] if a.get("skuId")]
            skus = sorted(str(by_id.get(sku.lower()) or sku) for sku in assigned)
            found[address] = Observed(address, str(upn), {"user": str(upn), "skus": skus})
        return list(found.values())

    def create(self, ctx: Context, change: Change) -> Observed:
        return self.update(ctx, change)

    def update(self, ctx: Context, change: Change) -> Observed:
        """assignLicense with exactly the difference between the plan's `before` and `after`."""
        after = self.parse(change.after)
        had = set((change.before or {}).get("skus") or [])
        ids: Mapping[str, str] = ctx.inputs(LicenseAssignmentKind.kind).get("sku_ids", {})
        add = [_sku_id(ids, p) for p in sorted(set(after.skus) - had)]
        remove = [_sku_id(ids, p) for p in sorted(had - set(after.skus))]
        if add or remove:
            ctx.clients.graph.assign_license(after.user, add, remove)
            ctx.lookups.forget_user(after.user)
        return Observed(change.address, after.user, after.to_json())


def _sku_id(ids: Mapping[str, str], part: str) -> UUID:
    """A part number's skuId as resolve recorded it (an id the tenant showed without a part number stays an id)."""
    return UUID(ids.get(part, part))


class LicenseAssignmentKind(ResourceKind):
    kind = "license_assignment"
    deletable = False
    online = Online(LicenseAttrs)
    server = Unsupported(LicenseAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def resolve(self, loaded: LoadedSpec, lookups: Lookups) -> dict[str, Any]:
        """The tenant's subscribed SKUs by part number; a part number the tenant lacks is a spec error."""
        account = loaded.spec.service_account
        if account is None or loaded.spec.target is Target.EXCHANGE_SERVER:
            return {}
        by_part = {str(s["skuPartNumber"]): str(s["skuId"]) for s in lookups.subscribed_skus() if s.get("skuId")}
        unknown = [p for p in account.licenses if p not in by_part]
        if unknown:
            raise SpecError(
                f"license {', '.join(unknown)} is not a subscription of this tenant",
                f"subscribed SKU part numbers: {', '.join(sorted(p for p in by_part if p)) or 'none'}",
                loaded.locate("service_account", "licenses"),
            )
        return {"sku_ids": dict(sorted(by_part.items()))}

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        account = loaded.spec.service_account
        if account is None or loaded.spec.target is Target.EXCHANGE_SERVER:
            return []  # on-premises the account lives in Active Directory; `verify` checks it over EWS
        return [
            Desired(
                kind=self.kind,
                name="service_account",
                attributes=LicenseAttrs(user=account.user_principal_name, skus=sorted(account.licenses)).to_json(),
                depends_on=("user.service_account",),
                location=loaded.locate("service_account", "licenses"),
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

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        skus = attributes.get("skus")
        user = attributes.get("user")
        return {**attributes, "skus": sorted(skus or []), "user": user.lower() if isinstance(user, str) else user}

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        upn = attributes.get("user")
        return [("the service account", str(upn) if upn else None)]

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
