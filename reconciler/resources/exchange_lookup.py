"""Name resolution shared by the Exchange kinds: recipients, groups and their members, cached for one run.

A name the spec gives that the tenant does not know is a SpecError at the spec's field, never drift.
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import Location, SpecError
from reconciler.resources.base import Context

ROOM_TYPES = {"RoomMailbox", "EquipmentMailbox"}
GROUP_TYPES = {"MailUniversalDistributionGroup", "MailUniversalSecurityGroup", "RoomList"}


def _cached(ctx: Context, key: str, load: Any) -> Any:
    if key not in ctx.cache:
        ctx.cache[key] = load()
    return ctx.cache[key]


def recipient(ctx: Context, identity: str) -> dict[str, Any] | None:
    """Get-Recipient -Identity: any mail-enabled object (mailbox, room, group), or None."""
    key = f"recipient:{identity.lower()}"
    return _cached(ctx, key, lambda: ctx.clients.exchange.get("Get-Recipient", {"Identity": identity}, what=identity))  # type: ignore[no-any-return]


def group(ctx: Context, identity: str, location: Location | None, purpose: str) -> dict[str, Any]:
    """Get-DistributionGroup -Identity, or a SpecError saying the group does not exist."""
    key = f"group:{identity.lower()}"
    found = _cached(
        ctx, key, lambda: ctx.clients.exchange.get("Get-DistributionGroup", {"Identity": identity}, what=identity)
    )
    if found is None:
        raise SpecError(
            f"{purpose} '{identity}' does not exist in the tenant",
            "create the distribution group first (New-DistributionGroup), or correct the name; "
            "reconciler does not guess which group was meant",
            location,
        )
    return found  # type: ignore[no-any-return]


def members(ctx: Context, identity: str) -> list[dict[str, Any]]:
    """Get-DistributionGroupMember -Identity: every member, one paged call per group."""
    key = f"members:{identity.lower()}"
    return _cached(  # type: ignore[no-any-return]
        ctx,
        key,
        lambda: ctx.clients.exchange.run(
            "Get-DistributionGroupMember", {"Identity": identity, "ResultSize": "Unlimited"}, what=identity
        ),
    )


def smtp(row: dict[str, Any]) -> str:
    return str(row.get("PrimarySmtpAddress") or row.get("Name") or "").lower()


def mailbox_address(ctx: Context, identity: str, location: Location | None) -> str:
    """A mailbox's primary SMTP address from an alias, name or address; SpecError when unknown."""
    if "@" in identity and ctx.clients.simulated is False and ctx.cache.get("trust-addresses"):
        return identity.lower()
    found = recipient(ctx, identity)
    if found is None:
        raise SpecError(
            f"mailbox '{identity}' does not exist in the tenant",
            "check the alias or address (the guide's CSV lists aliases)",
            location,
        )
    return smtp(found)
