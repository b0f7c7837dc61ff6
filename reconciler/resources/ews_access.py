"""`ews_access`: let the integration's app through Exchange Online's EWS switch-off.

Since 1 October 2026 EWS in Exchange Online is blocked unless the organization has EwsEnabled = True
and the calling app id is on EwsAllowedAppIDs; on 1 April 2027 EWS in Exchange Online is gone for
good. Managed only when the spec says the integration still uses EWS (`integration.uses_ews`).
Writing EwsAllowedAppIDs replaces the whole list, so the list written is the one read plus the app: other apps
already on it are kept, and so are, exactly as written, the `ExchangeServerApp-*` entries of hybrid tenants (without
them free/busy and MailTips between Exchange Server and Exchange Online break). Changes can take up to 24 hours to
take effect (caching), which every plan says.
https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-control-access-to-ews-in-exchange

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
# "Changes to EwsAllowedAppIDs can take up to 24 hours to take effect because of caching" (Control access to EWS)
DELAY = (
    "a change of EwsEnabled or EwsAllowedAppIDs can take up to 24 hours to take effect (Exchange caches them): until "
    "then EWS calls may still be refused (HTTP 403, X-EWS-Policy-Reason); `reconciler verify` with "
    "integration.client_secret shows the reason"
)
HYBRID_PREFIX = "exchangeserverapp-"  # the hybrid app's entry (ExchangeServerApp-*), kept as written
# Exchange roles: Microsoft365DSC's EXOOrganizationConfig (read View-Only Configuration, update Organization
# Configuration)
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.121.1/Content/"
    "DSCResources%5CMSFT_EXOOrganizationConfig%5Csettings.json"
)


class EwsAttrs(Attributes):
    """The organization's EWS switch and allow list (app ids lower case; other entries as Exchange holds them)."""

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
        listed = list(observed.attributes.get("allowed_app_ids") or [])  # as read: ExchangeServerApp-* entries intact
        missing = [a for a in want["allowed_app_ids"] if a not in have["allowed_app_ids"]]
        changed = [n for n in ("ews_enabled",) if want.get(n) != have.get(n)]
        changed += ["allowed_app_ids"] if missing else []
        after = {**observed.attributes, "ews_enabled": True, "allowed_app_ids": listed + missing}
        return Comparison(sorted(changed), after)

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
        return [SHUTDOWN, DELAY] if self.desired(loaded, {}) else []

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
    """EwsAllowedAppIDs as a list (Exchange shows a list or a comma-separated string): app ids lower case, the hybrid
    app's ExchangeServerApp-* entries exactly as written (the list is written back whole)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    entries = [str(i).strip() for i in items if str(i).strip()]
    return [e if e.lower().startswith(HYBRID_PREFIX) else e.lower() for e in entries]
