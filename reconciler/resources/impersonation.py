"""Exchange Server: whether the service account can impersonate a mailbox in scope, over EWS.

Role assignments and management scopes cannot be read over EWS. The plan gives the Exchange
Management Shell commands; this check (the guide's Remote Connectivity Analyzer test) confirms them:
act as a mailbox in scope and open its Calendar folder.
"""

from __future__ import annotations

from reconciler.clients.ews import EwsClient
from reconciler.errors import SpecError
from reconciler.resources.base import Context, Desired, Observed
from reconciler.state.model import ResourceRecord


def service_account_ews(ctx: Context) -> EwsClient:
    """An EWS client signed in as the service account (its password from the spec's environment reference)."""
    return ctx.cached("ews:service-account", lambda: _service_account_ews(ctx))


def _service_account_ews(ctx: Context) -> EwsClient:
    spec = ctx.spec.spec
    account, server = spec.service_account, spec.exchange_server
    if account is None or account.password is None or server is None:
        raise SpecError(
            "checking impersonation on Exchange Server needs the service account's password",
            "set service_account.password: ${env:CRONOFY_SVC_PASSWORD}",
            ctx.spec.locate("service_account"),
        )
    password = ctx.spec.resolve_env(account.password, "service_account", "password")
    admin = ctx.clients.ews
    auth = "basic" if ctx.clients.simulated else server.auth
    return EwsClient(admin.url, account.user_principal_name, password, auth, fixed_version=ctx.clients.simulated)


def sample_mailbox(ctx: Context) -> str | None:
    """A mailbox the service account should reach: the first member of the scope group, or of any mailbox source."""
    access = ctx.spec.spec.access
    if access is None:
        return None
    candidates = []
    if access.scope_group:
        candidates = ctx.clients.ews.expand_group(access.scope_group)
    candidates = candidates or list(access.mailboxes.addresses)
    return candidates[0] if candidates else None


def impersonation_works(ctx: Context) -> tuple[bool, str]:
    """Whether the service account can open a mailbox in scope (checked once per run)."""
    return ctx.cached("impersonation", lambda: _try_impersonation(ctx))


def _try_impersonation(ctx: Context) -> tuple[bool, str]:
    mailbox = sample_mailbox(ctx)
    if mailbox is None:
        return False, "no mailbox in scope to test with"
    return service_account_ews(ctx).can_impersonate(mailbox)


def confirmed(ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None:
    """Observed as desired when impersonation of a mailbox in scope works; absent otherwise."""
    if desired is None:
        return Observed(record.id, dict(record.attributes)) if record else None
    ok, _ = impersonation_works(ctx)
    return Observed(record.id if record else desired.name, dict(desired.attributes)) if ok else None
