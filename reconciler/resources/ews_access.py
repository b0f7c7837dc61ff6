"""`ews_access`: let the integration's app through Exchange Online's EWS switch-off.

Since 1 October 2026 EWS in Exchange Online is blocked unless the organization has EwsEnabled = True
and the calling app id is on EwsAllowedAppIDs; on 1 April 2027 EWS in Exchange Online is gone for
good. Managed only when the spec says the integration still uses EWS (`integration.uses_ews`).
Other apps already on the allow list are kept.

Read:  Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy (v2.0 OrganizationConfig)
Write: Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs "<id>,<id>" (InvokeCommand)
"""

from __future__ import annotations

from typing import Any

from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    EXCHANGE_ONLINE_ROLE,
    ORGANIZATION_CONFIGURATION,
    READ,
    VIEW_ONLY_CONFIGURATION,
    Context,
    Desired,
    Observed,
    Permission,
    ResourceKind,
)
from reconciler.spec.models import Spec, Target
from reconciler.state.model import ResourceRecord

SHUTDOWN = (
    "EWS in Exchange Online is permanently disabled on 1 April 2027: move the integration to Microsoft Graph "
    "(Cronofy's Graph connection) before then"
)
# Exchange roles: Microsoft365DSC's EXOOrganizationConfig (read View-Only Configuration, update Organization
# Configuration)
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.121.1/Content/"
    "DSCResources%5CMSFT_EXOOrganizationConfig%5Csettings.json"
)


class EwsAccessKind(ResourceKind):
    kind = "ews_access"
    deletable = False  # leaving the spec stops managing the allow list; it never removes the app

    def desired(self, ctx: Context) -> list[Desired]:
        spec = ctx.spec.spec
        if spec.target is not Target.EXCHANGE_ONLINE or spec.integration is None or not spec.integration.uses_ews:
            return []
        app_id = spec.integration.app_id
        return [
            Desired(
                kind=self.kind,
                name="organization",
                attributes={"ews_enabled": True, "allowed_app_ids": [app_id]},
                location=ctx.spec.locate("integration", "uses_ews"),
            )
        ]

    def permissions(self, spec: Spec) -> list[Permission]:
        if spec.target is not Target.EXCHANGE_ONLINE or spec.integration is None or not spec.integration.uses_ews:
            return []
        return [
            Permission(
                EXCHANGE_ONLINE_ROLE,
                VIEW_ONLY_CONFIGURATION,
                READ,
                ("Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy",),
                ROLES_DOC,
                self.kind,
            ),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                ORGANIZATION_CONFIGURATION,
                APPLY,
                ("Set-OrganizationConfig -EwsEnabled -EwsAllowedAppIDs",),
                ROLES_DOC,
                self.kind,
            ),
        ]

    def warnings(self, ctx: Context) -> list[str]:
        return [SHUTDOWN] if self.desired(ctx) else []

    def read(self, ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None:
        config = _config(ctx)
        listed = _app_ids(config.get("EwsAllowedAppIDs"))
        wanted = set(desired.attributes["allowed_app_ids"]) if desired else set()
        attributes = {
            "ews_enabled": config.get("EwsEnabled"),
            "allowed_app_ids": sorted(a for a in listed if a in wanted),
        }
        return Observed("organization", attributes)

    def create(self, ctx: Context, desired: Desired) -> Observed:
        return self.update(ctx, desired, "organization", [])

    def update(self, ctx: Context, desired: Desired, remote_id: str | None, changed: list[str]) -> Observed:
        listed = _app_ids(_config(ctx).get("EwsAllowedAppIDs"))
        merged = listed + [a for a in desired.attributes["allowed_app_ids"] if a not in listed]
        ctx.clients.exchange.run(
            "Set-OrganizationConfig",
            {"EwsEnabled": True, "EwsAllowedAppIDs": ",".join(merged)},
            what="EWS allow list",
        )
        return Observed("organization", dict(desired.attributes))

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        ids = attributes.get("allowed_app_ids") or []
        return {**attributes, "allowed_app_ids": sorted(str(a).lower() for a in ids)}

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs, keeping the apps already on the list."""
        # https://learn.microsoft.com/powershell/module/exchangepowershell/set-organizationconfig
        keep = [ps.comment(f"{change['address']}: the allow list is kept; reconciler never removes the app")]
        return ps.by_action(change, create=self._ps_allow, update=self._ps_allow, delete=lambda _: keep)

    def _ps_allow(self, change: dict[str, Any]) -> list[str]:
        ids = [str(i) for i in ps.after(change).get("allowed_app_ids") or []]
        if not ids:
            return ["Set-OrganizationConfig -EwsEnabled $true"]
        others = " -and ".join(f"$_ -ne {ps.quote(i)}" for i in ids)
        listed = "(Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy).EwsAllowedAppIDs"
        return [
            f"$EwsAllowedAppIDs = @({listed} -split '\\s*,\\s*').Where({{ $_ -and {others} }})",
            "Set-OrganizationConfig -EwsEnabled $true "
            f"-EwsAllowedAppIDs ((@($EwsAllowedAppIDs) + {ps.strings(ids)}) -join ',')",
        ]


def _config(ctx: Context) -> dict[str, Any]:
    rows = ctx.clients.exchange.run(
        "Get-OrganizationConfig", {"RetrieveEwsOperationAccessPolicy": True}, what="organization"
    )
    return rows[0] if rows else {}


def _app_ids(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(i).strip().lower() for i in items if str(i).strip()]
