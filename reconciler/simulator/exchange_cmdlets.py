"""Exchange cmdlets over :mod:`exchange_model`: recipients, mailbox folder permissions, distribution groups.

Each cmdlet takes a :class:`Ctx` and :class:`Params` (already bound against its documented parameters, see
:mod:`exchange_binding`) and returns the objects PowerShell would write to the pipeline (``[]`` for Set-/Remove-
cmdlets). Each function cites its cmdlet's page; RBAC/app cmdlets live in :mod:`exchange_rbac`, the output
property lists in :mod:`exchange_views`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.simulator import exchange_model as xm
from reconciler.simulator import exchange_views as xv
from reconciler.simulator.exchange_binding import to_bool
from reconciler.simulator.exchange_errors import (
    MEMBER_EXISTS_TYPE,
    MEMBER_MISSING_TYPE,
    ONLINE_DC,
    PERMISSION_EXISTS_TYPE,
    PERMISSION_MISSING_TYPE,
    RECIPIENT_TASK_TYPE,
    SERVER_DC,
    SPECIAL_USER_TYPE,
    TASK_ARGUMENT_TYPE,
    CmdletError,
    already_exists,
    bad_value,
    missing_parameter,
    not_found,
    unknown_parameter,
)

JsonObject = dict[str, Any]
FOLDER_RIGHTS = frozenset(
    {
        "None", "CreateItems", "CreateSubfolders", "DeleteAllItems", "DeleteOwnedItems", "EditAllItems",
        "EditOwnedItems", "FolderContact", "FolderOwner", "FolderVisible", "ReadItems", "Author", "Contributor",
        "Editor", "NonEditingAuthor", "Owner", "PublishingAuthor", "PublishingEditor", "Reviewer",
        "AvailabilityOnly", "LimitedDetails",
    }
)  # fmt: skip
SHARING_FLAGS = ("Delegate", "CanViewPrivateItems")
DEFAULT_RESULT_SIZE = 1000  # Get-Mailbox, Get-Recipient, Get-DistributionGroup...: "The default value is 1000."
RESULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of "
    'items returned. To return all items, specify "-ResultSize Unlimited". Be aware that, depending upon the actual '
    "number of items, returning all items can take a long time and consume a large amount of memory. Also, we don't "
    "recommend storing the results in a variable. Instead, pipe the results to another task or script to perform "
    "batch changes."
)
MORE_RESULTS_WARNING = (
    "There are more results available than are currently displayed. To view them, increase the value for the "
    "ResultSize parameter."
)
RECIPIENT_EXCHANGE_VERSION = "0.20 (15.0.0.0)"  # Get-Mailbox in a live tenant (exchange_views)


@dataclass
class Ctx:
    """The tenant a cmdlet runs against, and the warnings it writes (the admin API's ``@adminapi.warnings``)."""

    data: JsonObject
    warnings: list[str] = field(default_factory=list)

    @property
    def online(self) -> bool:
        return xm.flavor(self.data) == "exchange_online"

    @property
    def server(self) -> str:
        return ONLINE_DC if self.online else SERVER_DC

    @property
    def tenant_domain(self) -> str:
        return str(self.data.get("tenant", {}).get("initialDomain", "contoso.onmicrosoft.com"))

    @property
    def organization_id(self) -> str:
        """OrganizationId as a live tenant prints it (``<forest>/Microsoft Exchange Hosted Organizations/<domain> -
        <forest>/ConfigurationUnits/<domain>/Configuration``); empty on-premises (the first organization)."""
        if not self.online:
            return ""
        forest = "NAMPR01A001.PROD.OUTLOOK.COM"
        domain = self.tenant_domain
        units = f"{forest}/ConfigurationUnits/{domain}/Configuration"
        return f"{forest}/Microsoft Exchange Hosted Organizations/{domain} - {units}"

    @property
    def ou_root(self) -> str:
        return self.tenant_domain if self.online else "contoso.com/Users"


class Params:
    """A cmdlet's bound parameters: documented names (looked up case-insensitively), converted values."""

    def __init__(self, cmdlet: str, values: Mapping[str, Any], parameter_set: str = "Default") -> None:
        self.cmdlet = cmdlet
        self.parameter_set = parameter_set
        self.values = {k.lower(): v for k, v in values.items()}

    def has(self, name: str) -> bool:
        return name.lower() in self.values

    def text(self, name: str) -> str | None:
        value = self.values.get(name.lower())
        if value is None:
            return None
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return str(value)

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None or not value.strip():
            raise missing_parameter(self.cmdlet, name)
        return value.strip()

    def items(self, name: str) -> list[str] | None:
        """An array parameter: a JSON list or a comma-separated string."""
        value = self.values.get(name.lower())
        if value is None:
            return None
        parts = value if isinstance(value, list) else str(value).split(",")
        return [str(p).strip() for p in parts if str(p).strip()]

    def flag(self, name: str) -> bool:
        """A switch (present = true) or a Boolean parameter."""
        if name.lower() not in self.values:
            return False
        return to_bool(self.values[name.lower()], name) is True


def choice(params: Params, name: str, valid: tuple[str, ...]) -> str | None:
    """An enum parameter's value in its canonical spelling (PowerShell's conversion error text otherwise)."""
    value = params.text(name)
    if value is None:
        return None
    match = next((v for v in valid if v.lower() == value.strip().lower()), None)
    if match is None:
        reason = (
            f'Cannot convert value "{value}" to type "{name}". Error: "Unable to match the identifier name {value} '
            f"to a valid enumerator name. Specify one of the following enumerator names and try again: "
            f'{", ".join(valid)}"'
        )
        raise CmdletError(
            "System.Management.Automation.ParameterBindingException",
            f"Cannot process argument transformation on parameter '{name}'. {reason}",
            binding=True,
        )
    return match


# --- views -----------------------------------------------------------------------------------


def directory(ctx: Ctx, obj: JsonObject, *, classes: list[str] | None = None, version: str | None = None) -> JsonObject:
    """The directory-object properties every Exchange object carries (exchange_views.DIRECTORY)."""
    identity = obj.get("Identity") or obj.get("Name")
    return {
        "Identity": identity,
        "Id": identity,
        "IsValid": True,
        "ExchangeVersion": version,
        "DirectoryObjectVersion": None,
        "Name": obj.get("Name"),
        "DistinguishedName": obj.get("DistinguishedName"),
        "ObjectCategory": None,
        "ObjectClass": list(classes or []),
        "WhenChanged": obj.get("WhenChanged"),
        "WhenCreated": obj.get("WhenCreated"),
        "WhenChangedUTC": obj.get("WhenChanged"),
        "WhenCreatedUTC": obj.get("WhenCreated"),
        "ExchangeObjectId": obj.get("Guid"),
        "OrganizationalUnitRoot": ctx.ou_root,
        "OrganizationId": ctx.organization_id,
        "Guid": obj.get("Guid"),
        "OriginatingServer": ctx.server,
        "ObjectState": "Unchanged",
    }


def stamp(obj: JsonObject, *, created: bool = False) -> None:
    """WhenChanged (and WhenCreated) of an object the cmdlet wrote."""
    when = xv.now()
    obj["WhenChanged"] = when
    if created:
        obj["WhenCreated"] = when


_CLASSES = {
    "group": ["top", "group"],
    "mailbox": ["top", "person", "organizationalPerson", "user"],  # Get-Mailbox, live tenant
}


def _recipient_values(ctx: Ctx, recipient: JsonObject) -> JsonObject:
    kind = str(recipient.get("RecipientTypeDetails"))
    address = recipient.get("PrimarySmtpAddress")
    group = kind in xm.GROUP_TYPES
    values: JsonObject = {k: v for k, v in recipient.items() if k != "Members"}
    values.update(
        directory(ctx, recipient, classes=_CLASSES["group" if group else "mailbox"], version=RECIPIENT_EXCHANGE_VERSION)
    )
    values.update(
        RecipientType=xm.recipient_type(recipient),
        EmailAddresses=[f"SMTP:{address}"] if address else [],
        WindowsEmailAddress=address,
        OrganizationalUnit=f"{ctx.ou_root}" if ctx.online else "contoso.com/Users",
    )
    if group:
        values.update(
            GroupType="Universal, SecurityEnabled" if kind == "MailUniversalSecurityGroup" else "Universal",
            ManagedBy=list(recipient.get("ManagedBy") or []),
        )
    elif kind in xm.MAILBOX_TYPES:
        values.update(
            UserPrincipalName=address,
            MicrosoftOnlineServicesID=address if ctx.online else None,
            WindowsLiveID=address if ctx.online else None,
            IsResource=kind in xm.RESOURCE_TYPES,
            IsShared=kind == "SharedMailbox",
            ResourceType={"RoomMailbox": "Room", "EquipmentMailbox": "Equipment"}.get(kind),
            IsMailboxEnabled=True,
        )
    return values


def recipient_view(ctx: Ctx, recipient: JsonObject, names: tuple[str, ...] = xv.RECIPIENT) -> JsonObject:
    return xv.shape(names, _recipient_values(ctx, recipient))


def mailbox_view(ctx: Ctx, recipient: JsonObject) -> JsonObject:
    return recipient_view(ctx, recipient, xv.MAILBOX)


def group_view(ctx: Ctx, group: JsonObject) -> JsonObject:
    return recipient_view(ctx, group, xv.DISTRIBUTION_GROUP)


def resolve(ctx: Ctx, identity: str, kinds: frozenset[str] | None = None) -> JsonObject:
    """A recipient (optionally of ``kinds``) or ManagementObjectNotFoundException."""
    found = xm.find_recipient(ctx.data, identity)
    if found is None or (kinds is not None and found.get("RecipientTypeDetails") not in kinds):
        raise not_found(identity, ctx.server)
    return found


def _type_filter(params: Params, name: str, kind: Callable[[JsonObject], str]) -> Callable[[JsonObject], bool]:
    wanted = {t.lower() for t in params.items(name) or []}
    return lambda r: not wanted or kind(r).lower() in wanted


def _opath_filter(ctx: Ctx, params: Params) -> Callable[[JsonObject], bool]:
    text = params.text("Filter")
    if not text:
        return lambda r: True
    try:
        return xm.compile_filter(ctx.data, text)
    except xm.FilterError as exc:
        raise bad_value("Filter", str(exc)) from exc


def _anr(params: Params) -> Callable[[JsonObject], bool]:
    """ANR: a partial string matched at the start of CN (Name), DisplayName, first/last name or Alias."""
    text = (params.text("Anr") or "").lower()
    keys = ("Name", "DisplayName", "FirstName", "LastName", "Alias")
    return lambda r: not text or any(str(r.get(k) or "").lower().startswith(text) for k in keys)


def result_size(ctx: Ctx, params: Params, rows: list[Any]) -> list[Any]:
    """At most ResultSize rows (default 1000, "Unlimited" for all), with Exchange's warning when cut."""
    raw = params.text("ResultSize")
    if raw is not None and raw.strip().lower() == "unlimited":
        return rows
    try:
        limit = int(raw) if raw is not None else DEFAULT_RESULT_SIZE
    except ValueError:
        raise bad_value("ResultSize", f'Cannot convert value "{raw}" to type "Unlimited".') from None
    if len(rows) > limit:
        ctx.warnings.append(RESULT_SIZE_WARNING if raw is None else MORE_RESULTS_WARNING)
    return rows[:limit]


def _sort(params: Params, rows: list[JsonObject]) -> list[JsonObject]:
    key = params.text("SortBy")
    if not key:
        return rows
    return sorted(rows, key=lambda r: str(r.get(key.lstrip("-")) or "").lower(), reverse=key.startswith("-"))


def list_recipients(
    ctx: Ctx, params: Params, kinds: frozenset[str], view: Callable[[Ctx, JsonObject], JsonObject]
) -> list[JsonObject]:
    """Get-Mailbox / Get-Recipient / Get-DistributionGroup: -Identity, or the filtered, sorted, sized list.

    Every Get- page cautions that ``-Identity $null`` returns every object, as if Identity were not given;
    an identity that names nothing is ManagementObjectNotFoundException (as live tenants answer)."""
    identity = params.text("Identity")
    if identity:
        return [view(ctx, resolve(ctx, identity, kinds))]
    tests = (
        _type_filter(params, "RecipientTypeDetails", lambda r: str(r.get("RecipientTypeDetails"))),
        _type_filter(params, "RecipientType", xm.recipient_type),
        _opath_filter(ctx, params),
        _anr(params),
        _managed_by(ctx, params),
    )
    pool = [r for r in xm.recipients(ctx.data) if r.get("RecipientTypeDetails") in kinds]
    rows = _sort(params, [r for r in pool if all(test(r) for test in tests)])
    return [view(ctx, r) for r in result_size(ctx, params, rows)]


def _managed_by(ctx: Ctx, params: Params) -> Callable[[JsonObject], bool]:
    owner = params.text("ManagedBy")
    if not owner:
        return lambda r: True
    name = str(resolve(ctx, owner).get("Name")).lower()
    return lambda r: name in {str(m).lower() for m in r.get("ManagedBy") or []}


def get_mailbox(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-mailbox
    return list_recipients(ctx, params, xm.MAILBOX_TYPES, mailbox_view)


def get_recipient(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-recipient
    return list_recipients(ctx, params, xm.MAILBOX_TYPES | xm.GROUP_TYPES, recipient_view)


# --- mailbox folder permissions --------------------------------------------------------------


def _folder(ctx: Ctx, identity: str) -> JsonObject:
    """The mailbox named by ``<mailbox>:\\Calendar`` (the only folder simulated)."""
    mailbox_id, sep, folder = identity.partition(":\\")
    if not sep or folder.strip("\\").lower() != "calendar":
        raise not_found(identity, ctx.server)
    return resolve(ctx, mailbox_id, xm.MAILBOX_TYPES)


def _user_key(ctx: Ctx, user: str) -> tuple[str, str]:
    """(row key, display name) for a -User value."""
    for special in xm.SPECIAL_USERS:
        if user.lower() == special.lower():
            return special, special
    grantee = xm.find_recipient(ctx.data, user)
    if grantee is None:
        raise not_found(user, ctx.server)
    return str(grantee["Guid"]), str(grantee.get("DisplayName") or grantee.get("Name"))


def _display(ctx: Ctx, key: str) -> str:
    if key in xm.SPECIAL_USERS:
        return key
    grantee = xm.grantee(ctx.data, key)
    return str(grantee.get("DisplayName") or grantee.get("Name")) if grantee else key


def permission_view(ctx: Ctx, mailbox: JsonObject, row: JsonObject) -> JsonObject:
    flags = row.get("SharingPermissionFlags")
    return {
        "Identity": f"{mailbox['Identity']}:\\Calendar",
        "FolderName": "Calendar",
        "User": _display(ctx, str(row["User"])),
        "AccessRights": list(row.get("AccessRights") or []),
        "SharingPermissionFlags": ", ".join(flags) if flags else None,
    }


def get_folder_permission(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-mailboxfolderpermission
    # (admin API: https://learn.microsoft.com/exchange/reference/admin-api-endpoints-mailbox-folder-permission)
    mailbox = _folder(ctx, params.required("Identity"))
    rows = xm.calendar_permissions(ctx.data, str(mailbox["Guid"]))
    user = params.text("User")
    if user:
        key, name = _user_key(ctx, user)
        rows = [r for r in rows if str(r["User"]).lower() == key.lower()]
        if not rows:
            raise CmdletError(PERMISSION_MISSING_TYPE, f"There is no existing permission entry found for user: {name}.")
    skip = params.text("SkipCount")
    if skip is not None:
        try:
            rows = rows[max(0, int(skip)) :]
        except ValueError:
            raise bad_value("SkipCount", f'Cannot convert value "{skip}" to type "System.Int32".') from None
    return [permission_view(ctx, mailbox, row) for row in result_size(ctx, params, rows)]


def _rights(ctx: Ctx, params: Params) -> tuple[list[str], list[str] | None]:
    """Validated (AccessRights, SharingPermissionFlags) per the Add-MailboxFolderPermission page."""
    rights = params.items("AccessRights")
    if not rights:
        raise missing_parameter(params.cmdlet, "AccessRights")
    canonical = {r.lower(): r for r in FOLDER_RIGHTS}
    unknown = [r for r in rights if r.lower() not in canonical]
    if unknown:
        raise bad_value("AccessRights", f"'{unknown[0]}' isn't a valid MailboxFolderAccessRight value.")
    return [canonical[r.lower()] for r in rights], _flags(ctx, params, [canonical[r.lower()] for r in rights])


def _flags(ctx: Ctx, params: Params, rights: list[str]) -> list[str] | None:
    if not params.has("SharingPermissionFlags"):
        return None
    if not ctx.online:
        raise unknown_parameter("SharingPermissionFlags")
    canonical = {f.lower(): f for f in (*SHARING_FLAGS, "None")}
    given = params.items("SharingPermissionFlags") or []
    bad = [f for f in given if f.lower() not in canonical]
    if bad:
        raise bad_value("SharingPermissionFlags", f"'{bad[0]}' isn't a valid MailboxFolderPermissionFlags value.")
    flags = [f for f in SHARING_FLAGS if f.lower() in {g.lower() for g in given}]
    if not flags:
        return None
    if rights != ["Editor"]:
        text = "SharingPermissionFlags can only be used on calendar folders when the AccessRights value is Editor."
        raise CmdletError(TASK_ARGUMENT_TYPE, text)
    if "CanViewPrivateItems" in flags and "Delegate" not in flags:
        raise CmdletError(TASK_ARGUMENT_TYPE, "The CanViewPrivateItems flag must be used with the Delegate flag.")
    return flags


def add_folder_permission(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/add-mailboxfolderpermission
    mailbox = _folder(ctx, params.required("Identity"))
    key, name = _user_key(ctx, params.required("User"))
    grantee = xm.grantee(ctx.data, key)
    if grantee is not None and not xm.mail_enabled(ctx.data, grantee):
        # the page's rule ("Valid values are mail-enabled security principals"); the wording is ours
        raise CmdletError(
            RECIPIENT_TASK_TYPE,
            f"The user \"{name}\" isn't a mail-enabled security principal (it has no mailbox). "
            "Folder permissions can be granted only to mailboxes, mail users and mail-enabled security groups.",
        )
    rights, flags = _rights(ctx, params)
    rows = xm.calendar_permissions(ctx.data, str(mailbox["Guid"]))
    if xm.permission_row(rows, key) is not None:
        raise CmdletError(PERMISSION_EXISTS_TYPE, f"An existing permission entry was found for user: {name}.")
    row = {"User": key, "AccessRights": rights, "SharingPermissionFlags": flags}
    rows.append(row)
    return [permission_view(ctx, mailbox, row)]


def _existing_row(ctx: Ctx, params: Params) -> tuple[JsonObject, list[JsonObject], JsonObject, str]:
    mailbox = _folder(ctx, params.required("Identity"))
    key, name = _user_key(ctx, params.required("User"))
    rows = xm.calendar_permissions(ctx.data, str(mailbox["Guid"]))
    row = xm.permission_row(rows, key)
    if row is None:
        raise CmdletError(PERMISSION_MISSING_TYPE, f"There is no existing permission entry found for user: {name}.")
    return mailbox, rows, row, key


def set_folder_permission(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-mailboxfolderpermission
    _, _, row, _ = _existing_row(ctx, params)
    rights, flags = _rights(ctx, params)
    row.update(AccessRights=rights, SharingPermissionFlags=flags)
    return []


def remove_folder_permission(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/remove-mailboxfolderpermission
    _, rows, row, key = _existing_row(ctx, params)
    if key in xm.SPECIAL_USERS:
        raise CmdletError(SPECIAL_USER_TYPE, f"The special user '{key}' can't be removed from the folder permissions.")
    rows.remove(row)
    return []


# --- distribution groups ---------------------------------------------------------------------

MEMBER_JOIN = ("Open", "Closed", "ApprovalRequired")
MEMBER_DEPART = ("Open", "Closed")
MODERATION_NOTICES = ("Never", "Internal", "Always")
GROUP_TYPES = ("Distribution", "Security")
# New-/Set-DistributionGroup parameters kept as the group's property of the same name (shown by Get-)
STORED_BOOLEANS = (
    "BccBlocked",
    "BypassNestedModerationEnabled",
    "HiddenFromAddressListsEnabled",
    "HiddenGroupMembershipEnabled",
    "ModerationEnabled",
    "ReportToManagerEnabled",
    "ReportToOriginatorEnabled",
    "RequireSenderAuthenticationEnabled",
    "SendOofMessageToOriginatorEnabled",
)
STORED_TEXT = ("Notes", "MailTip", "SimpleDisplayName", *(f"CustomAttribute{i}" for i in range(1, 16)))
STORED_LISTS = ("Description", "ModeratedBy", *(f"ExtensionCustomAttribute{i}" for i in range(1, 6)))


def _group_dn(ctx: Ctx, name: str) -> str:
    if ctx.online:
        return f"CN={name},OU={ctx.tenant_domain},{xm.ONLINE_DN_SUFFIX}"
    return f"CN={name},OU=Users,DC=contoso,DC=com"


def _not_room_member(member: JsonObject) -> bool:
    return member.get("RecipientTypeDetails") not in ("RoomMailbox", "RoomList")


def _room_list_error(group: str, member: JsonObject) -> CmdletError:
    # Text as listed in Microsoft's hybrid/migration troubleshooting table for room-list conversion.
    text = (
        f'Group "{group}" can\'t be converted to a room list. Room lists can only have room mailboxes or room '
        f'lists as members. "{member.get("Name")}" is not a room mailbox or a room list.'
    )
    return CmdletError(RECIPIENT_TASK_TYPE, text)


def _member_guids(ctx: Ctx, identities: list[str]) -> list[str]:
    return [str(resolve(ctx, i, xm.MAILBOX_TYPES | xm.GROUP_TYPES)["Guid"]) for i in identities]


def _owners(ctx: Ctx, identities: list[str]) -> list[str]:
    """ManagedBy: mailboxes, mail users or mail-enabled security groups (the page), kept by name."""
    owners = []
    for identity in identities:
        owner = resolve(ctx, identity, xm.MAILBOX_TYPES | frozenset({"User", "MailUniversalSecurityGroup"}))
        owners.append(str(owner["Name"]))
    return owners


def get_distribution_group(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-distributiongroup
    return list_recipients(ctx, params, xm.GROUP_TYPES, group_view)


def _group_type(params: Params) -> str:
    if params.flag("RoomList"):
        return "RoomList"
    kind = choice(params, "Type", GROUP_TYPES) or "Distribution"
    return "MailUniversalSecurityGroup" if kind == "Security" else "MailUniversalDistributionGroup"


def _store_settings(ctx: Ctx, group: JsonObject, params: Params) -> None:
    """The group settings New-/Set-DistributionGroup take, validated as their pages list the values."""
    for name in STORED_BOOLEANS:
        if params.has(name):
            group[name] = to_bool(params.values[name.lower()], name)
    for name in STORED_TEXT:
        if params.has(name):
            group[name] = params.text(name)
    for name in STORED_LISTS:
        if params.has(name):
            group[name] = params.items(name) or []
    security = group.get("RecipientTypeDetails") == "MailUniversalSecurityGroup"
    for name, valid in (("MemberJoinRestriction", MEMBER_JOIN), ("MemberDepartRestriction", MEMBER_DEPART)):
        value = choice(params, name, valid)
        if value is None:
            continue
        if value == "Open" and security:  # the page: "You can't use this value on universal security groups."
            text = f"{name} can't be set to Open on a mail-enabled security group."
            raise CmdletError(RECIPIENT_TASK_TYPE, text)
        group[name] = value
    notices = choice(params, "SendModerationNotifications", MODERATION_NOTICES)
    if notices is not None:
        group["SendModerationNotifications"] = notices
    if params.has("ManagedBy"):
        group["ManagedBy"] = _owners(ctx, params.items("ManagedBy") or [])


def new_distribution_group(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/new-distributiongroup
    name = params.required("Name")
    alias = params.text("Alias") or "".join(ch for ch in name if ch.isalnum() or ch in "-_.")
    address = params.text("PrimarySmtpAddress") or f"{alias}@{_default_domain(ctx)}"
    dn = _group_dn(ctx, name)
    if xm.find_exchange_recipient(ctx.data, name) or xm.find_exchange_recipient(ctx.data, address):
        raise already_exists(dn, ctx.server)
    kind = _group_type(params)
    security = kind == "MailUniversalSecurityGroup"
    group: JsonObject = {
        "Guid": xm.new_guid(ctx.data, f"group/{name}"),
        "Identity": name,
        "Name": name,
        "Alias": alias,
        "DisplayName": params.text("DisplayName") or name,
        "PrimarySmtpAddress": address,
        "DistinguishedName": dn,
        "RecipientTypeDetails": kind,
        "ExternalDirectoryObjectId": None,
        "Members": _member_guids(ctx, params.items("Members") or []),
        # the defaults New-DistributionGroup's page gives
        "MemberJoinRestriction": "Closed",
        "MemberDepartRestriction": "Closed" if security else "Open",
        "RequireSenderAuthenticationEnabled": True,
        "ModerationEnabled": False,
        "SendModerationNotifications": "Always",
    }
    _store_settings(ctx, group, params)
    if params.flag("CopyOwnerToMember"):
        owners = [str(resolve(ctx, o)["Guid"]) for o in group.get("ManagedBy") or []]
        group["Members"] += [o for o in owners if o not in group["Members"]]
    _check_room_list(ctx, group)
    stamp(group, created=True)
    xm.recipients(ctx.data).append(group)
    return [group_view(ctx, group)]


def _default_domain(ctx: Ctx) -> str:
    domains = [str(d) for d in ctx.data.get("tenant", {}).get("domains", [])]
    custom = [d for d in domains if not d.endswith(".onmicrosoft.com")]
    return custom[0] if custom else ctx.tenant_domain


def _check_room_list(ctx: Ctx, group: JsonObject) -> None:
    if group.get("RecipientTypeDetails") != "RoomList":
        return
    bad = next((m for m in xm.group_members(ctx.data, group) if _not_room_member(m)), None)
    if bad is not None:
        raise _room_list_error(str(group["Name"]), bad)


def set_distribution_group(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-distributiongroup
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
    if params.flag("RoomList") and group["RecipientTypeDetails"] != "RoomList":
        candidate = dict(group, RecipientTypeDetails="RoomList")
        _check_room_list(ctx, candidate)
        group["RecipientTypeDetails"] = "RoomList"
    for key in ("DisplayName", "PrimarySmtpAddress", "Alias"):
        value = params.text(key)
        if value:
            group[key] = value
            xm.renamed()
    name = params.text("Name")
    if name and name != group["Name"]:
        if xm.find_exchange_recipient(ctx.data, name) is not None:
            raise already_exists(_group_dn(ctx, name), ctx.server)
        group.update(Name=name, Identity=name, DistinguishedName=_group_dn(ctx, name))
        xm.renamed()
    _store_settings(ctx, group, params)
    stamp(group)
    return []


def remove_distribution_group(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/remove-distributiongroup
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
    xm.recipients(ctx.data).remove(group)
    for other in xm.recipients(ctx.data):
        if group["Guid"] in (other.get("Members") or []):
            other["Members"].remove(group["Guid"])
    return []


def get_group_member(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-distributiongroupmember
    # (admin API: https://learn.microsoft.com/exchange/reference/admin-api-endpoints-distribution-group-member)
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
    members = xm.group_members(ctx.data, group)
    return [recipient_view(ctx, m) for m in result_size(ctx, params, members)]


def add_group_member(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/add-distributiongroupmember
    # Member is optional on the page: without it nothing is added.
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
    if params.text("Member") is None:
        return []
    member = resolve(ctx, params.required("Member"), xm.MAILBOX_TYPES | xm.GROUP_TYPES)
    if xm.is_member(group, member):
        text = f'The recipient "{member["Name"]}" is already a member of the group "{group["Name"]}".'
        raise CmdletError(MEMBER_EXISTS_TYPE, text)
    if group["RecipientTypeDetails"] == "RoomList" and _not_room_member(member):
        text = (
            f'Room lists can only have room mailboxes or room lists as members. "{member["Name"]}" is not a room '
            "mailbox or a room list."
        )
        raise CmdletError(RECIPIENT_TASK_TYPE, text)
    group.setdefault("Members", []).append(member["Guid"])
    stamp(group)
    return []


def remove_group_member(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/remove-distributiongroupmember
    # Member is optional on the page: without it nothing is removed.
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
    if params.text("Member") is None:
        return []
    member = resolve(ctx, params.required("Member"), xm.MAILBOX_TYPES | xm.GROUP_TYPES)
    if not xm.is_member(group, member):
        text = f'The recipient "{member["Name"]}" isn\'t a member of the group "{group["Name"]}".'
        raise CmdletError(MEMBER_MISSING_TYPE, text)
    group["Members"] = [g for g in group["Members"] if str(g).lower() != str(member["Guid"]).lower()]
    stamp(group)
    return []


def get_accepted_domain(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-accepteddomain
    # (admin API: https://learn.microsoft.com/exchange/reference/admin-api-endpoints-accepted-domain)
    default = _default_domain(ctx)
    domains = [str(d) for d in ctx.data.get("tenant", {}).get("domains", [])]
    identity = params.text("Identity")
    if identity:
        domains = [d for d in domains if d.lower() == identity.lower()]
        if not domains:
            raise not_found(identity, ctx.server)
    rows = []
    for domain in domains:
        known = {
            "DomainName": domain,
            "DomainType": "Authoritative",
            "Default": domain == default,
            "InitialDomain": domain == ctx.tenant_domain,
            "MatchSubDomains": False,
            "AddressBookEnabled": True,
            **directory(ctx, {"Identity": domain, "Name": domain}),
        }
        rows.append(xv.shape(xv.ACCEPTED_DOMAIN, known))
    return result_size(ctx, params, rows)
