"""`application_access_policy`: limit the integration's app to a mail-enabled security group (Exchange Online).

Cronofy's supported method (docs.cronofy.com, "restrict data access"); the spec chooses it with
`integration.restriction: application_access_policy` instead of RBAC for Applications.

Read:  Get-ApplicationAccessPolicy          Write: New-/Remove-ApplicationAccessPolicy
https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-applicationaccesspolicy
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import SpecError
from reconciler.render import powershell as ps
from reconciler.resources import exchange_lookup as lookup
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
    record_name,
)
from reconciler.spec.models import Spec
from reconciler.spec.presets import access_policies
from reconciler.state.model import ResourceRecord

DESCRIPTION = "Managed by reconciler: calendar integration restricted to its scope group"
# Exchange roles: Microsoft365DSC's EXOApplicationAccessPolicy (read View-Only Configuration, update Organization
# Configuration)
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.128.1/Content/"
    "DSCResources%5CMSFT_EXOApplicationAccessPolicy%5Csettings.json"
)


class ApplicationAccessPolicyKind(ResourceKind):
    kind = "application_access_policy"
    create_only = frozenset({"app_id", "scope_group", "access_right"})

    def desired(self, ctx: Context) -> list[Desired]:
        result = []
        for want in access_policies(ctx.spec.spec):
            location = ctx.spec.locate(*want.field)
            group = lookup.group(ctx, want.group, location, "scope group")
            if group.get("RecipientTypeDetails") != "MailUniversalSecurityGroup":
                raise SpecError(
                    f"scope group '{want.group}' is a {group.get('RecipientTypeDetails')}, "
                    "but an application access policy needs a mail-enabled security group",
                    "create one with New-DistributionGroup -Type Security and name it in access.scope_group",
                    location,
                )
            result.append(
                Desired(
                    kind=self.kind,
                    name=want.app_id,
                    attributes={
                        "app_id": want.app_id,
                        "scope_group": lookup.smtp(group),
                        "access_right": "RestrictAccess",
                    },
                    location=location,
                )
            )
        return result

    def permissions(self, spec: Spec) -> list[Permission]:
        if not access_policies(spec):
            return []
        return [
            lookup.read_permission(self.kind, ("Get-DistributionGroup (the scope group)", "Get-Recipient")),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                VIEW_ONLY_CONFIGURATION,
                READ,
                ("Get-ApplicationAccessPolicy",),
                ROLES_DOC,
                self.kind,
            ),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                ORGANIZATION_CONFIGURATION,
                APPLY,
                ("New-ApplicationAccessPolicy", "Remove-ApplicationAccessPolicy"),
                ROLES_DOC,
                self.kind,
            ),
        ]

    def read(self, ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None:
        app_id = desired.name if desired else record_name(record) if record else ""
        rows = ctx.clients.exchange.run("Get-ApplicationAccessPolicy", {}, what=app_id)
        mine = [r for r in rows if str(r.get("AppId", "")).lower() == app_id.lower()]
        if not mine:
            return None
        row = mine[0]
        group = self._group_address(ctx, row)
        attributes = {"app_id": app_id, "scope_group": group, "access_right": row.get("AccessRight")}
        return Observed(str(row.get("Identity")), attributes)

    def _group_address(self, ctx: Context, row: dict[str, Any]) -> str:
        for key in ("ScopeIdentity", "ScopeName"):
            if row.get(key):
                found = lookup.recipient(ctx, str(row[key]))
                if found is not None:
                    return lookup.smtp(found)
        return str(row.get("ScopeName") or "").lower()

    def create(self, ctx: Context, desired: Desired) -> Observed:
        attrs = desired.attributes
        rows = ctx.clients.exchange.run(
            "New-ApplicationAccessPolicy",
            {
                "AppId": attrs["app_id"],
                "PolicyScopeGroupId": attrs["scope_group"],
                "AccessRight": attrs["access_right"],
                "Description": DESCRIPTION,
            },
            what=attrs["app_id"],
        )
        return Observed(str(rows[0].get("Identity")) if rows else None, dict(attrs))

    def update(self, ctx: Context, desired: Desired, remote_id: str | None, changed: list[str]) -> Observed:
        return Observed(remote_id, dict(desired.attributes))  # every compared attribute is create-only

    def delete(self, ctx: Context, record: ResourceRecord) -> None:
        ctx.clients.exchange.run(
            "Remove-ApplicationAccessPolicy", {"Identity": record.id, "Confirm": False}, what=record.id or ""
        )

    def widens(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
        if before and after is None:
            app = before.get("app_id")
            return f"removes the access policy: app {app} may then reach every mailbox it is consented for"
        return None

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        return {k: v.lower() if isinstance(v, str) else v for k, v in attributes.items()}

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """New-ApplicationAccessPolicy -AccessRight RestrictAccess, Remove-ApplicationAccessPolicy."""
        # https://learn.microsoft.com/powershell/module/exchangepowershell/new-applicationaccesspolicy
        same = [ps.comment(f"{change['address']}: every attribute is create-only; nothing to change in place")]
        return ps.by_action(change, create=self._ps_new, update=lambda _: same, delete=self._ps_remove)

    def _ps_new(self, change: dict[str, Any]) -> list[str]:
        attrs = {"app_id": ps.name_of(change), "access_right": "RestrictAccess", **ps.after(change)}
        missing = ps.lacking(change, attrs, "scope_group")
        if missing:
            return missing
        return [
            f"New-ApplicationAccessPolicy -AppId {ps.quote(attrs['app_id'])} "
            f"-PolicyScopeGroupId {ps.quote(attrs['scope_group'])} -AccessRight {ps.word(attrs['access_right'])} "
            f"-Description {ps.quote(DESCRIPTION)}"
        ]

    def _ps_remove(self, change: dict[str, Any]) -> list[str]:
        if change.get("id"):
            return [f"Remove-ApplicationAccessPolicy -Identity {ps.quote(change['id'])} -Confirm:$false"]
        app_id = ps.before(change).get("app_id") or ps.name_of(change)
        return [
            f"(Get-ApplicationAccessPolicy).Where({{ $_.AppId -eq {ps.quote(app_id)} }}) | "
            "Remove-ApplicationAccessPolicy -Confirm:$false"
        ]
