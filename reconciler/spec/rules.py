"""Rules a spec must satisfy beyond its schema: what can never apply is refused here, with the reason and the fix.

Each rule returns SpecErrors located at the offending field; load_spec reports them all at once.
Rules that need the tenant (a scope group that does not exist, a non-room in a room list) are
checked by the resource kinds when they resolve names, with the same kind of error.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.errors import SpecError
from reconciler.spec import limits
from reconciler.spec.models import AccessLevel, Spec, Target

CRONOFY_APP = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"
Locate = Callable[..., object]


def check(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    problems: list[SpecError] = []
    for rule in (
        _nickname_from_upn_is_an_alias,
        _no_impersonation_online,
        _unlicensed_mailbox_owner,
        _online_access_needs_app,
        _server_needs_ews,
        _permissions_need_grantee,
        _organization_wide_is_explicit,
        _no_sharing_flags_on_server,
        _full_names_no_mailboxes,
        _folder_permissions_need_a_mailbox,
        _mailboxes_need_folder_permissions,
    ):
        problems += rule(spec, locate)
    return problems


def preset_grants_folder_permissions(spec: Spec) -> bool:
    """Whether the access preset grants the service account Calendar-folder permissions."""
    access = spec.access
    return (
        access is not None
        and access.level is not AccessLevel.FULL
        and access.folder_permissions
        and spec.service_account is not None
    )


def _error(locate: Callable[..., object], summary: str, detail: str, *field: str | int) -> SpecError:
    return SpecError(summary, detail, locate(*field))  # type: ignore[arg-type]


def _nickname_from_upn_is_an_alias(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    """Without mail_nickname, the UPN's part before the @ becomes the account's Exchange alias (Entra ID's
    mailNickname), which has its own rules (spec/limits.py: each period between other characters)."""
    account = spec.service_account
    if account is None or account.mail_nickname is not None:
        return []
    try:
        limits.alias(account.nickname)
    except ValueError as exc:
        return [
            _error(
                locate,
                f"the part before the @ becomes the account's mail nickname, and {exc}",
                "set service_account.mail_nickname to a valid alias, or change the user principal name",
                "service_account",
                "user_principal_name",
            )
        ]
    return []


def _no_impersonation_online(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    if spec.target is not Target.EXCHANGE_ONLINE:
        return []
    return [
        _error(
            locate,
            "ApplicationImpersonation no longer exists in Exchange Online (removed February 2025)",
            "give the integration's own Entra app access instead: integration.app_id with access.level "
            "(RBAC for Applications, role 'Application Calendars.ReadWrite' scoped by a management scope), "
            "or integration.restriction: application_access_policy; on-premises, set target: exchange_server",
            "role_assignments",
            i,
            "role",
        )
        for i, r in enumerate(spec.role_assignments)
        if r.role.lower() == "applicationimpersonation"
    ]


def _unlicensed_mailbox_owner(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    account = spec.service_account
    if account is None or not account.mailbox or account.licenses or spec.target is not Target.EXCHANGE_ONLINE:
        return []
    return [
        _error(
            locate,
            "the service account must own a mailbox (service_account.mailbox: true), but licenses: [] removes "
            "every license",
            "in Exchange Online an unlicensed user's mailbox is disabled after the 30-day grace period, so the "
            "guide's 'the Service Account must have a mailbox to list resources' and its step 6 conflict. Keep an "
            "Exchange license (e.g. licenses: [EXCHANGESTANDARD]), or let the integration list rooms through "
            "Graph with its own app and set mailbox: false",
            "service_account",
            "licenses",
        )
    ]


def _online_access_needs_app(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    access = spec.access
    if access is None or spec.target is not Target.EXCHANGE_ONLINE or spec.integration is not None:
        return []
    if access.level is AccessLevel.FREE_BUSY:
        return []
    return [
        _error(
            locate,
            f"access level '{access.level.value}' on Exchange Online needs the integration's Entra app",
            "Exchange Online grants mailbox access to the integrator's app (ApplicationImpersonation is gone): "
            f"add integration.app_id (Cronofy Enterprise Connect: {CRONOFY_APP})",
            "access",
            "level",
        )
    ]


def _server_needs_ews(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    if spec.target is not Target.EXCHANGE_SERVER or spec.exchange_server is not None:
        return []
    return [
        _error(
            locate,
            "target exchange_server needs an exchange_server section",
            "Exchange Server has no admin REST API or Graph: give exchange_server.ews_url, username and "
            "password (${env:...}) of an account that may impersonate mailboxes",
            "target",
        )
    ]


def _permissions_need_grantee(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    access = spec.access
    if access is None or access.level is AccessLevel.FULL or spec.service_account is not None:
        return []
    return [
        _error(
            locate,
            f"access level '{access.level.value}' grants calendar permissions to the service account, "
            "but the spec has no service_account",
            "add a service_account section (the grantee of the folder permissions)",
            "access",
            "level",
        )
    ]


def _no_sharing_flags_on_server(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    """-SharingPermissionFlags "is available only in the cloud-based service" (Add-/Set-MailboxFolderPermission)."""
    if spec.target is not Target.EXCHANGE_SERVER:
        return []
    return [
        _error(
            locate,
            "sharing_permission_flags (Delegate, CanViewPrivateItems) exist only in Exchange Online",
            "on Exchange Server grant Editor without flags; make the account a delegate in Outlook if it must be one",
            "calendar_permissions",
            i,
            "sharing_permission_flags",
        )
        for i, p in enumerate(spec.calendar_permissions)
        if p.sharing_permission_flags
    ]


def _organization_wide_is_explicit(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    """Access to every mailbox in the organization is never granted by accident."""
    access = spec.access
    if access is not None and access.allow_organization_wide:
        return []
    problems = []
    if access is not None and access.level is AccessLevel.FULL:
        problems.append(
            _error(
                locate,
                "access level 'full' gives the integration every mailbox in the organization",
                "confirm it with access.allow_organization_wide: true, or use level: restricted with a scope_group",
                "access",
                "level",
            )
        )
    elif access is not None and access.scope_group is None and spec.integration is not None:
        problems.append(
            _error(
                locate,
                f"access level '{access.level.value}' without scope_group gives the integration's app every mailbox "
                "in the organization (Application Calendars.Read reads every event, not only free/busy)",
                "name the mailboxes' group in access.scope_group, or confirm with access.allow_organization_wide: true",
                "access",
                "level",
            )
        )
    problems += [
        _error(
            locate,
            f"role assignment '{r.name}' has no scope: it covers every mailbox in the organization",
            "give it a management scope (scope:), or confirm with access.allow_organization_wide: true",
            "role_assignments",
            i,
        )
        for i, r in enumerate(spec.role_assignments)
        if r.scope is None
    ]
    return problems


def _full_names_no_mailboxes(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    """Level full grants every mailbox through the app's role and no folder permissions: mailboxes would be ignored."""
    access = spec.access
    if access is None or access.level is not AccessLevel.FULL or access.mailboxes.empty:
        return []
    return [
        _error(
            locate,
            "access level 'full' grants no folder permissions, so access.mailboxes would be ignored",
            "remove access.mailboxes, or use level: restricted (or free_busy) with a scope_group to grant "
            "folder permissions on those mailboxes",
            "access",
            "mailboxes",
        )
    ]


def _folder_permissions_need_a_mailbox(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    """Exchange grants folder permissions only to mail-enabled principals: an Exchange Online service account with
    every license removed has no mailbox, so the guide's step 6 and its Editor + Delegate permissions conflict."""
    account = spec.service_account
    if account is None or account.licenses or spec.target is not Target.EXCHANGE_ONLINE:
        return []
    upn = account.user_principal_name.lower()
    named = [i for i, p in enumerate(spec.calendar_permissions) if p.grantee.lower() == upn]
    if not named and not preset_grants_folder_permissions(spec):
        return []
    what = "access." + ("level grants it folder permissions" if not named else "calendar_permissions names it")
    return [
        _error(
            locate,
            f"the service account has every license removed (licenses: []), but {what}: Exchange Online grants "
            "folder permissions only to mail-enabled principals (Add-MailboxFolderPermission -User), and an "
            "unlicensed account has no mailbox",
            "the guide's step 6 (remove the license) and its folder permissions conflict on Exchange Online; choose "
            "one: keep an Exchange license (licenses: [EXCHANGESTANDARD]; Cronofy's EWS setup asks for E3), or let "
            "the integration's Graph app reach the calendars through its scope alone: access.folder_permissions: "
            "false (and no calendar_permissions for the service account)",
            "service_account",
            "licenses",
        )
    ]


def _mailboxes_need_folder_permissions(spec: Spec, locate: Callable[..., object]) -> list[SpecError]:
    access = spec.access
    if access is None or access.folder_permissions or access.mailboxes.empty:
        return []
    return [
        _error(
            locate,
            "access.mailboxes names the mailboxes for folder permissions, but access.folder_permissions is false",
            "remove access.mailboxes (the app's scope is access.scope_group), or set folder_permissions: true",
            "access",
            "mailboxes",
        )
    ]
