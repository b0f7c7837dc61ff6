"""`management_scope`: the recipients a role assignment may touch, built from a distribution group.

The spec names a group; the scope's RecipientRestrictionFilter is `MemberOfGroup -eq '<the group's DN>'`,
as the guide writes it. Exchange normalises a filter when it stores it (parentheses, case), so filters
are compared after normalising both sides, never as raw strings.

Read:   Get-ManagementScope -Identity <name>
Write:  New-ManagementScope -Name -RecipientRestrictionFilter, Set-ManagementScope, Remove-ManagementScope
https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-managementscope
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.render import powershell as ps
from reconciler.resources import exchange_lookup as lookup
from reconciler.resources.base import (
    APPLY,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    READ,
    ROLE_MANAGEMENT,
    SHELL_ADMIN,
    VIEW_ONLY_CONFIGURATION,
    VIEW_ONLY_RECIPIENTS,
    Context,
    Desired,
    Observed,
    Permission,
    ResourceKind,
)
from reconciler.resources.impersonation import confirmed
from reconciler.spec.models import Spec, Target
from reconciler.spec.presets import scopes
from reconciler.state.model import ResourceRecord


def normalize_filter(text: str) -> str:
    """Exchange's stored form and the guide's form compare equal: no outer parentheses, one space, any case."""
    value = re.sub(r"\s+", " ", text.strip())
    while value.startswith("(") and value.endswith(")") and _balanced(value[1:-1]):
        value = value[1:-1].strip()
    return value.lower()


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


# Exchange roles per cmdlet (Microsoft365DSC's EXOManagementScope: read View-Only Configuration, update Role Management)
ROLES_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.211.1/Content/"
    "DSCResources%5CMSFT_EXOManagementScope%5Csettings.json"
)
SERVER_DOC = "https://learn.microsoft.com/en-us/exchange/understanding-management-role-scopes-exchange-2013-help"


class ManagementScopeKind(ResourceKind):
    kind = "management_scope"
    manual_on_exchange_server = True

    def desired(self, ctx: Context) -> list[Desired]:
        result = []
        for want in scopes(ctx.spec.spec):
            location = ctx.spec.locate(*want.field)
            dn = self._group_dn(ctx, want.group, location)
            result.append(
                Desired(
                    kind=self.kind,
                    name=want.name,
                    attributes={"name": want.name, "recipient_filter": f"MemberOfGroup -eq '{dn}'"},
                    location=location,
                )
            )
        return result

    def permissions(self, spec: Spec) -> list[Permission]:
        if not scopes(spec):
            return []
        if spec.target is Target.EXCHANGE_SERVER:  # scopes are confirmed over EWS (impersonation.py), made by hand
            return [
                Permission(
                    EXCHANGE_SERVER_ROLE,
                    VIEW_ONLY_RECIPIENTS,
                    APPLY,
                    ("Get-DistributionGroup (the scope group's DN)",),
                    SERVER_DOC,
                    self.kind,
                    SHELL_ADMIN,
                ),
                Permission(
                    EXCHANGE_SERVER_ROLE,
                    ROLE_MANAGEMENT,
                    APPLY,
                    ("New-ManagementScope", "Set-ManagementScope"),
                    SERVER_DOC,
                    self.kind,
                    SHELL_ADMIN,
                ),
            ]
        return [
            lookup.read_permission(self.kind, ("Get-DistributionGroup (the scope group's DN)",)),
            Permission(
                EXCHANGE_ONLINE_ROLE, VIEW_ONLY_CONFIGURATION, READ, ("Get-ManagementScope",), ROLES_DOC, self.kind
            ),
            Permission(
                EXCHANGE_ONLINE_ROLE,
                ROLE_MANAGEMENT,
                APPLY,
                ("New-ManagementScope", "Set-ManagementScope", "Remove-ManagementScope"),
                ROLES_DOC,
                self.kind,
            ),
        ]

    def _group_dn(self, ctx: Context, group: str, location: Any) -> str:
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            return group  # on-premises the admin runs the command; the DN is looked up there (see manual)
        return str(lookup.group(ctx, group, location, "scope group")["DistinguishedName"])

    def read(self, ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None:
        if ctx.spec.spec.target is Target.EXCHANGE_SERVER:
            return confirmed(ctx, desired, record)  # scopes cannot be read over EWS: impersonation confirms them
        name = desired.name if desired else record.attributes.get("name", "") if record else ""
        row = ctx.clients.exchange.get("Get-ManagementScope", {"Identity": name}, what=name)
        if row is None:
            return None
        attributes = {"name": row.get("Name"), "recipient_filter": row.get("RecipientFilter")}
        return Observed(str(row.get("Guid") or row.get("Identity") or name), attributes)

    def create(self, ctx: Context, desired: Desired) -> Observed:
        attrs = desired.attributes
        rows = ctx.clients.exchange.run(
            "New-ManagementScope",
            {"Name": attrs["name"], "RecipientRestrictionFilter": attrs["recipient_filter"]},
            what=attrs["name"],
        )
        return Observed(str(rows[0].get("Guid") if rows else attrs["name"]), dict(attrs))

    def update(self, ctx: Context, desired: Desired, remote_id: str | None, changed: list[str]) -> Observed:
        attrs = desired.attributes
        ctx.clients.exchange.run(
            "Set-ManagementScope",
            {"Identity": attrs["name"], "RecipientRestrictionFilter": attrs["recipient_filter"]},
            what=attrs["name"],
        )
        return Observed(remote_id, dict(attrs))

    def delete(self, ctx: Context, record: ResourceRecord) -> None:
        name = record.attributes.get("name", record.address.split(".", 1)[1])
        ctx.clients.exchange.run("Remove-ManagementScope", {"Identity": name, "Confirm": False}, what=name)

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        value = attributes.get("recipient_filter")
        name = attributes.get("name")
        return {
            **attributes,
            "recipient_filter": normalize_filter(value) if isinstance(value, str) else value,
            "name": name.lower() if isinstance(name, str) else name,
        }

    def manual(self, ctx: Context, desired: Desired, action: str) -> list[str]:
        if ctx.spec.spec.target is not Target.EXCHANGE_SERVER:
            return []
        group = desired.attributes["recipient_filter"].split("'", 1)[1].rstrip("'")
        verb = "New" if action == "create" else "Set"
        identity = "-Name" if verb == "New" else "-Identity"
        return [
            f"$DistGroupDN = (Get-DistributionGroup -Identity {ps.quote(group)}).DistinguishedName",
            f"{verb}-ManagementScope {identity} {ps.quote(desired.attributes['name'])} "
            "-RecipientRestrictionFilter \"MemberOfGroup -eq '$DistGroupDN'\"",
        ]

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """New-/Set-ManagementScope -RecipientRestrictionFilter, Remove-ManagementScope (Exchange Server: `manual`)."""
        # https://learn.microsoft.com/powershell/module/exchangepowershell/new-managementscope
        if not change.get("automated", True):
            return super().powershell(change)
        return ps.by_action(change, create=self._ps_new, update=self._ps_set, delete=self._ps_remove)

    def _ps_new(self, change: dict[str, Any]) -> list[str]:
        return self._ps_write(change, "New-ManagementScope -Name")

    def _ps_set(self, change: dict[str, Any]) -> list[str]:
        return self._ps_write(change, "Set-ManagementScope -Identity")

    def _ps_write(self, change: dict[str, Any], command: str) -> list[str]:
        attrs = ps.after(change)
        name = ps.quote(attrs.get("name") or ps.name_of(change))
        text = attrs.get("recipient_filter")
        if not isinstance(text, str):
            return ps.lacking(change, {}, "recipient_filter")
        group = text.split("'", 1)[1].rstrip("'") if "'" in text else ""
        if group and "=" not in group:  # the group's address, not its DN (Exchange Server): look the DN up
            return [
                f"$DistGroupDN = (Get-DistributionGroup -Identity {ps.quote(group)}).DistinguishedName",
                f"{command} {name} -RecipientRestrictionFilter \"MemberOfGroup -eq '$DistGroupDN'\"",
            ]
        return [f"{command} {name} -RecipientRestrictionFilter {ps.quote(text)}"]

    def _ps_remove(self, change: dict[str, Any]) -> list[str]:
        name = ps.before(change).get("name") or ps.name_of(change)
        return [f"Remove-ManagementScope -Identity {ps.quote(name)} -Confirm:$false"]
