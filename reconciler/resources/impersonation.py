"""Exchange Server: whether the service account can impersonate a mailbox in scope, over EWS.

Role assignments and management scopes cannot be read over EWS. The plan gives the Exchange
Management Shell commands; this check (the guide's Remote Connectivity Analyzer test) confirms them:
act as a mailbox in scope and open its Calendar folder.
"""

from __future__ import annotations

from reconciler.resources.base import Context, Observed, Query

IMPERSONATION_REFUSED = (
    "EWS shows only whether the service account can impersonate a mailbox in scope, and it cannot: the role "
    "assignment or its management scope is missing (or the mailbox left the scope group); Exchange Server has no "
    "API that tells which, so check both with Get-ManagementRoleAssignment and Get-ManagementScope"
)


def sample_mailbox(ctx: Context) -> str | None:
    """A mailbox the service account should reach: the first member of the scope group, or of any mailbox source."""
    access = ctx.spec.spec.access
    if access is None:
        return None
    candidates = ctx.lookups.ews_members(access.scope_group) if access.scope_group else []
    candidates = candidates or list(access.mailboxes.addresses)
    return candidates[0] if candidates else None


def impersonation_works(ctx: Context) -> tuple[bool, str]:
    """Whether the service account can open a mailbox in scope (checked once per run)."""
    mailbox = sample_mailbox(ctx)
    if mailbox is None:
        return False, "no mailbox in scope to test with"
    return ctx.lookups.impersonation(mailbox)


def confirmed(ctx: Context, query: Query) -> list[Observed]:
    """The spec's objects observed as desired when impersonation of a mailbox in scope works (absent otherwise);
    recorded objects no longer in the spec as last recorded (EWS cannot tell)."""
    wanted = {d.address for d in query.desired}
    result = [Observed(r.address, r.id, dict(r.attributes)) for r in query.records if r.address not in wanted]
    if query.desired and impersonation_works(ctx)[0]:
        ids = {r.address: r.id for r in query.records}
        result += [Observed(d.address, ids.get(d.address) or d.name, dict(d.attributes)) for d in query.desired]
    return result
