"""`ews_access`: let the integration's app through Exchange Online's EWS switch-off.

Since 1 October 2026 EWS in Exchange Online is blocked unless the organization has EwsEnabled = True
and the calling app id is on EwsAllowedAppIDs; on 1 April 2027 EWS in Exchange Online is gone for
good. Managed only when the spec says the integration still uses EWS (`integration.uses_ews`).
Other apps already on the allow list are kept.

Read:  Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy (v2.0 OrganizationConfig)
Write: Set-OrganizationConfig -EwsEnabled $true -EwsAllowedAppIDs "<id>,<id>" (InvokeCommand)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    EXCHANGE_ONLINE_ROLE,
    ORGANIZATION_CONFIGURATION,
    READ,
    VIEW_ONLY_CONFIGURATION,
    Attributes,
    Backend,
    Comparison,
    Context,
    Desired,
    Observed,
    Permission,
    Query,
    ResourceKind,
    Unsupported,
)
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target

if TYPE_CHECKING:
    from reconciler.engine.plan import Change

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


class EwsAttrs(Attributes):
    """The organization's EWS switch and allow list (app ids, lower case)."""

    ews_enabled: bool | None = None
    allowed_app_ids: list[str] = []


class Online(Backend[EwsAttrs]):
    """The Exchange admin API: Get-/Set-OrganizationConfig (EwsEnabled, EwsAllowedAppIDs)."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        if not query.desired and not query.records:
            return []
        config = organization_config(ctx)
        attributes = {
            "ews_enabled": config.get("EwsEnabled"),
            "allowed_app_ids": app_ids(config.get("EwsAllowedAppIDs")),
        }
        return [Observed(f"{EwsAccessKind.kind}.organization", "organization", attributes)]

    def create(self, ctx: Context, change: Change) -> Observed:
        return self.update(ctx, change)

    def update(self, ctx: Context, change: Change) -> Observed:
        """The whole list as the plan shows it after the change (writing EwsAllowedAppIDs replaces the list)."""
        attrs = self.parse(change.after)
        ctx.clients.exchange.run(
            "Set-OrganizationConfig",
            {"EwsEnabled": True, "EwsAllowedAppIDs": ",".join(attrs.allowed_app_ids)},
            what="EWS allow list",
        )
        return Observed(change.address, "organization", attrs.to_json())


class EwsAccessKind(ResourceKind):
    kind = "ews_access"
    deletable = False  # leaving the spec stops managing the allow list; it never removes the app
    online = Online(EwsAttrs)
    server = Unsupported(EwsAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        spec = loaded.spec
        if spec.target is not Target.EXCHANGE_ONLINE or spec.integration is None or not spec.integration.uses_ews:
            return []
        return [
            Desired(
                kind=self.kind,
                name="organization",
                attributes=EwsAttrs(ews_enabled=True, allowed_app_ids=[spec.integration.app_id.lower()]).to_json(),
                location=loaded.locate("integration", "uses_ews"),
            )
        ]

    def compare(self, desired: Desired, observed: Observed) -> Comparison:
        """The app must be on the list; apps already there are kept (the list after the change is their union)."""
        want, have = self.normalize(desired.attributes), self.normalize(observed.attributes)
        listed = list(have["allowed_app_ids"])
        merged = listed + [a for a in want["allowed_app_ids"] if a not in listed]
        changed = [n for n in ("ews_enabled",) if want.get(n) != have.get(n)]
        changed += ["allowed_app_ids"] if merged != listed else []
        return Comparison(sorted(changed), {**observed.attributes, "ews_enabled": True, "allowed_app_ids": merged})

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

    def warnings(self, loaded: LoadedSpec) -> list[str]:
        return [SHUTDOWN] if self.desired(loaded, {}) else []

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        ids = attributes.get("allowed_app_ids") or []
        return {**attributes, "allowed_app_ids": [str(a).lower() for a in ids]}

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        return [("apps on the organization's EWS allow list", None)]

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


def organization_config(ctx: Context) -> dict[str, Any]:
    """Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy (the EWS switch and allow list)."""
    rows = ctx.clients.exchange.run(
        "Get-OrganizationConfig", {"RetrieveEwsOperationAccessPolicy": True}, what="organization"
    )
    return rows[0] if rows else {}


def app_ids(value: Any) -> list[str]:
    """EwsAllowedAppIDs as a list of lower-case app ids (Exchange shows a list or a comma-separated string)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(i).strip().lower() for i in items if str(i).strip()]
