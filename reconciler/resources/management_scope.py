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
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    EXCHANGE_ONLINE_ROLE,
    EXCHANGE_SERVER_ROLE,
    READ,
    ROLE_MANAGEMENT,
    SHELL_ADMIN,
    VIEW_ONLY_CONFIGURATION,
    VIEW_ONLY_RECIPIENTS,
    Attributes,
    Backend,
    Comparison,
    Context,
    Desired,
    Observed,
    Permission,
    Query,
    ResourceKind,
    record_name,
)
from reconciler.resources.impersonation import IMPERSONATION_REFUSED, confirmed
from reconciler.resources.lookups import read_permission
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target
from reconciler.spec.presets import scopes
from reconciler.syntax import opath_equals

if TYPE_CHECKING:
    from reconciler.engine.plan import Change
    from reconciler.resources.lookups import Lookups


def normalize_filter(text: str) -> str:
    """Exchange's stored form and the guide's form compare equal: no outer parentheses, one space, any case."""
    value = re.sub(r"\s+", " ", text.strip())
    while value.startswith("(") and value.endswith(")") and balanced(value[1:-1]):
        value = value[1:-1].strip()
    return value.lower()


def balanced(text: str) -> bool:
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


# The filter for a DN the admin's shell looked up: its quotes doubled, as Microsoft's recipient-filters page escapes
# a variable's value (https://learn.microsoft.com/powershell/exchange/recipient-filters, `-replace "'","''"`)
DN_FILTER = '"MemberOfGroup -eq \'$($DistGroupDN -replace "\'","\'\'")\'"'


class ScopeAttrs(Attributes):
    """A management scope: its name and recipient filter (`MemberOfGroup -eq '<DN>'`), and which group the filter was
    written for: the group's ExternalDirectoryObjectId (else its Guid) as Get-DistributionGroup showed it then."""

    name: str
    recipient_filter: str
    group_id: str | None = None


def group_id(group: Mapping[str, Any]) -> str | None:
    """A group's identity as Exchange Online shows it: ExternalDirectoryObjectId (its Entra id), else its Guid."""
    value = group.get("ExternalDirectoryObjectId") or group.get("Guid")
    return str(value).lower() if value else None


def member_of(dn: str) -> str:
    """The guide's filter for a group's members; the DN is an OPATH text value (syntax.opath_equals)."""
    return opath_equals("MemberOfGroup", dn)


def filter_group(text: str) -> str:
    """The group of a member_of() filter, read back: the OPATH text value after the first quote, without its closing
    quote, each doubled quote single again ('' if the filter holds no quoted value); for Exchange Server's
    `<DN of GROUP>` the group as the spec names it."""
    quoted = text.split("'", 1)[1] if "'" in text else ""
    value = (quoted[:-1] if quoted.endswith("'") else quoted).replace("''", "'")
    shell = SHELL_DN.match(value)
    return shell.group(1) if shell else value


# Exchange Server: no interface this tool reads (EWS) exposes a group's distinguished name, so the filter is
# recorded with the DN the admin's shell looks up (`Get-DistributionGroup ... .DistinguishedName`) named, not guessed
SHELL_DN = re.compile(r"^<DN of (.+)>$", re.DOTALL)


def shell_dn(group: str) -> str:
    """Exchange Server's stand-in for a group's DN in a recorded filter: `<DN of siq-scope@contoso.com>`."""
    return f"<DN of {group}>"


# A distinguished name (Exchange Online's filters hold the group's DN; Exchange Server's `<DN of GROUP>`)
DISTINGUISHED_NAME = re.compile(r"^CN=", re.IGNORECASE)


class Online(Backend[ScopeAttrs]):
    """The Exchange admin API: Get-/New-/Set-/Remove-ManagementScope."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        """Each scope as Exchange shows it. Its filter names the group by DN, which a group deleted and made again
        under the same name keeps; so the group it was written for is the recorded one while the filter is the one
        recorded (`group_id`), and unknown (None: not compared) when nothing was recorded or the filter changed."""
        names = {d.address: d.attributes["name"] for d in query.desired}
        names.update({r.address: r.attributes.get("name", record_name(r)) for r in query.records})
        records = {r.address: r for r in query.records}
        found = []
        for address, name in names.items():
            row = ctx.clients.exchange.get("Get-ManagementScope", {"Identity": name}, what=name)
            if row is not None:
                text = row.get("RecipientFilter")
                record = records.get(address)
                recorded = record.attributes if record is not None else {}
                same = isinstance(text, str) and normalize_filter(str(recorded.get("recipient_filter") or "")) == (
                    normalize_filter(text)
                )
                attributes = {
                    "name": row.get("Name"),
                    "recipient_filter": text,
                    "group_id": recorded.get("group_id") if same else None,
                }
                found.append(Observed(address, str(row.get("Guid") or row.get("Identity") or name), attributes))
        return found

    def create(self, ctx: Context, change: Change) -> Observed:
        attrs = self.parse(change.after)
        rows = ctx.clients.exchange.run(
            "New-ManagementScope",
            {"Name": attrs.name, "RecipientRestrictionFilter": attrs.recipient_filter},
            what=attrs.name,
        )
        return Observed(change.address, str(rows[0].get("Guid") if rows else attrs.name), attrs.to_json())

    def update(self, ctx: Context, change: Change) -> Observed:
        attrs = self.parse(change.after)
        ctx.clients.exchange.run(
            "Set-ManagementScope",
            {"Identity": attrs.name, "RecipientRestrictionFilter": attrs.recipient_filter},
            what=attrs.name,
        )
        return Observed(change.address, change.id, attrs.to_json())

    def delete(self, ctx: Context, change: Change) -> None:
        name = (change.before or {}).get("name") or change.address.split(".", 1)[1]
        ctx.clients.exchange.run("Remove-ManagementScope", {"Identity": name, "Confirm": False}, what=name)


class Server(Backend[ScopeAttrs]):
    """Exchange Server: no API; the plan prints the Exchange Management Shell commands, impersonation confirms."""

    automated = False

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        return confirmed(ctx, query)

    def unseen(self) -> str | None:
        return IMPERSONATION_REFUSED  # scopes cannot be read over EWS: impersonation confirms them

    def manual(self, change: Change) -> list[str]:
        attrs = self.parse(change.after)
        return [ensure_scope(attrs.name, filter_group(attrs.recipient_filter))]


def ensure_scope(name: str, group: str) -> str:
    """Exchange Server: one self-contained line that leaves the scope `name` filtering on `group`'s members, whatever
    it found (no scope, or one left with another filter by a half-run block): EWS cannot read a scope, so the command
    converges instead of assuming. `-ErrorAction Stop`: an unknown group ends the line before anything is written."""
    scope = ps.quote(name)
    lookup = f"$DistGroupDN = (Get-DistributionGroup -Identity {ps.quote(group)} -ErrorAction Stop).DistinguishedName"
    return (
        f"{lookup}; if (Get-ManagementScope -Identity {scope} -ErrorAction SilentlyContinue) "
        f"{{ Set-ManagementScope -Identity {scope} -RecipientRestrictionFilter {DN_FILTER} }} "
        f"else {{ New-ManagementScope -Name {scope} -RecipientRestrictionFilter {DN_FILTER} }}"
    )


class ManagementScopeKind(ResourceKind):
    kind = "management_scope"
    online = Online(ScopeAttrs)
    server = Server(ScopeAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def resolve(self, loaded: LoadedSpec, lookups: Lookups) -> dict[str, Any]:
        """Each scope group's distinguished name (Exchange Online; on-premises the admin's shell looks it up)."""
        if loaded.spec.target is Target.EXCHANGE_SERVER:
            return {}
        dns, ids = {}, {}
        for want in scopes(loaded.spec):
            group = lookups.existing_group(want.group, loaded.locate(*want.field), "scope group")
            dns[want.group] = str(group["DistinguishedName"])
            ids[want.group] = group_id(group)
        return {"group_dn": dns, "group_id": ids} if dns else {}

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        dns: Mapping[str, str] = resolved.get("group_dn", {})
        ids: Mapping[str, str | None] = resolved.get("group_id", {})
        return [
            Desired(
                kind=self.kind,
                name=want.name,
                attributes=ScopeAttrs(
                    name=want.name,
                    recipient_filter=member_of(dns.get(want.group) or shell_dn(want.group)),
                    group_id=ids.get(want.group),
                ).to_json(),
                location=loaded.locate(*want.field),
            )
            for want in scopes(loaded.spec)
        ]

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
            read_permission(self.kind, ("Get-DistributionGroup (the scope group's DN)",)),
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

    def compare(self, desired: Desired, observed: Observed) -> Comparison:
        """Name and filter; and the group the filter was written for, when both sides know it (a group replaced by
        hand under the same name: Set-ManagementScope writes the filter again for the group there is now)."""
        want = dict(desired.attributes)
        if want.get("group_id") is None or observed.attributes.get("group_id") is None:
            want.pop("group_id", None)
        return Comparison(self.changed(want, observed.attributes), {**observed.attributes, **desired.attributes})

    def cause(self, changed: Sequence[str], before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
        if "group_id" not in changed:
            return None
        group = filter_group(str(after.get("recipient_filter") or ""))
        return (
            f"its scope group ({group}) was deleted and made again since the scope was written (group id "
            f"{before.get('group_id')}, now {after.get('group_id')}): the scope is written again for the group there is"
        )

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        value = attributes.get("recipient_filter")
        name = attributes.get("name")
        return {
            **attributes,
            "recipient_filter": normalize_filter(value) if isinstance(value, str) else value,
            "name": name.lower() if isinstance(name, str) else name,
        }

    def identity(self, name: str) -> dict[str, Any]:
        return {"name": name}

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        return [("mailboxes in scope", name)]

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
        group = filter_group(text)
        if group and not DISTINGUISHED_NAME.match(group):  # the group by name or address (Exchange Server): find its DN
            return [ensure_scope(attrs.get("name") or ps.name_of(change), group)]
        return [f"{command} {name} -RecipientRestrictionFilter {ps.quote(text)}"]

    def _ps_remove(self, change: dict[str, Any]) -> list[str]:
        name = ps.before(change).get("name") or ps.name_of(change)
        return [f"Remove-ManagementScope -Identity {ps.quote(name)} -Confirm:$false"]
