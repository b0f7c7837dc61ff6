"""Name resolution shared by the Exchange kinds: recipients, groups and their members, cached for one run.

A name the spec gives that the tenant does not know is a SpecError at the spec's field, never drift.
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import Location, SpecError
from reconciler.resources.base import EXCHANGE_ONLINE_ROLE, READ, VIEW_ONLY_RECIPIENTS, Context, Permission

ROOM_TYPES = {"RoomMailbox", "EquipmentMailbox"}
INDEX_ABOVE = 20  # more names than this are resolved from one listing of every mailbox
GROUP_TYPES = {"MailUniversalDistributionGroup", "MailUniversalSecurityGroup", "RoomList"}
# The Exchange roles of the recipient cmdlets: Microsoft365DSC's EXODistributionGroup (read View-Only Recipients,
# update Distribution Groups; Recipient Management is the role group with both)
RECIPIENTS_DOC = (
    "https://www.powershellgallery.com/packages/Microsoft365DSC/1.26.128.1/Content/"
    "DSCResources%5CMSFT_EXODistributionGroup%5Csettings.json"
)


def read_permission(owner: str, cmdlets: tuple[str, ...], doc: str = RECIPIENTS_DOC) -> Permission:
    """View-Only Recipients: the Exchange Online role for the lookups here (Get-Recipient, Get-DistributionGroup,
    Get-DistributionGroupMember, Get-Mailbox) and other recipient reads (Get-MailboxFolderPermission)."""
    return Permission(EXCHANGE_ONLINE_ROLE, VIEW_ONLY_RECIPIENTS, READ, cmdlets, doc, owner)


def recipient(ctx: Context, identity: str) -> dict[str, Any] | None:
    """Get-Recipient -Identity: any mail-enabled object (mailbox, room, group), or None."""
    key = f"recipient:{identity.lower()}"
    return ctx.cached(key, lambda: ctx.clients.exchange.get("Get-Recipient", {"Identity": identity}, what=identity))


def group(ctx: Context, identity: str, location: Location | None, purpose: str) -> dict[str, Any]:
    """Get-DistributionGroup -Identity, or a SpecError saying the group does not exist."""
    key = f"group:{identity.lower()}"
    found = ctx.cached(
        key, lambda: ctx.clients.exchange.get("Get-DistributionGroup", {"Identity": identity}, what=identity)
    )
    if found is None:
        raise SpecError(
            f"{purpose} '{identity}' does not exist in the tenant",
            "create the distribution group first (New-DistributionGroup), or correct the name; "
            "reconciler does not guess which group was meant",
            location,
        )
    return found


def members(ctx: Context, identity: str) -> list[dict[str, Any]]:
    """Get-DistributionGroupMember -Identity: every member, one paged call per group."""
    key = f"members:{identity.lower()}"
    return ctx.cached(
        key,
        lambda: ctx.clients.exchange.run(
            "Get-DistributionGroupMember", {"Identity": identity, "ResultSize": "Unlimited"}, what=identity
        ),
    )


def smtp(row: dict[str, Any]) -> str:
    return str(row.get("PrimarySmtpAddress") or row.get("Name") or "").lower()


def mailbox_index(ctx: Context) -> dict[str, dict[str, Any]]:
    """Every mailbox by alias, name, display name and address: one paged Get-Mailbox for the tenant."""

    def load() -> dict[str, dict[str, Any]]:
        rows = ctx.clients.exchange.run("Get-Mailbox", {"ResultSize": "Unlimited"}, what="mailboxes")
        index: dict[str, dict[str, Any]] = {}
        for row in rows:
            for key in ("Alias", "Name", "DisplayName", "PrimarySmtpAddress"):
                if row.get(key):
                    index.setdefault(str(row[key]).lower(), row)
        return index

    return ctx.cached("mailbox-index", load)


def mailbox_addresses(ctx: Context, identities: list[str], location: Location | None) -> list[str]:
    """Primary SMTP addresses of many mailboxes: one lookup each for a few, the tenant's index for many."""
    if len(identities) <= INDEX_ABOVE:
        return sorted({mailbox_address(ctx, i, location) for i in identities})
    index = mailbox_index(ctx)
    missing = [i for i in identities if i.lower() not in index]
    if missing:
        raise SpecError(
            f"mailbox '{missing[0]}' does not exist in the tenant"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            "check the aliases or addresses (the guide's CSV lists aliases)",
            location,
        )
    return sorted({smtp(index[i.lower()]) for i in identities})


def mailbox_address(ctx: Context, identity: str, location: Location | None) -> str:
    """A mailbox's primary SMTP address from an alias, name or address; SpecError when unknown."""
    found = recipient(ctx, identity)
    if found is None:
        raise SpecError(
            f"mailbox '{identity}' does not exist in the tenant",
            "check the alias or address (the guide's CSV lists aliases)",
            location,
        )
    return smtp(found)
