"""Exchange cmdlets over :mod:`exchange_model`: recipients, mailbox folder permissions, distribution groups.

Each cmdlet takes a :class:`Ctx` and :class:`Params` and returns the objects PowerShell would write to the
pipeline (``[]`` for Set-/Remove- cmdlets). Parameter names follow the cmdlet reference pages cited at
each function; RBAC/app cmdlets live in :mod:`exchange_rbac`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.simulator import exchange_model as xm
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
COMMON_PARAMETERS = frozenset({"confirm", "whatif", "erroraction", "domaincontroller", "verbose", "warningaction"})
FOLDER_RIGHTS = frozenset(
    {
        "None", "CreateItems", "CreateSubfolders", "DeleteAllItems", "DeleteOwnedItems", "EditAllItems",
        "EditOwnedItems", "FolderContact", "FolderOwner", "FolderVisible", "ReadItems", "Author", "Contributor",
        "Editor", "NonEditingAuthor", "Owner", "PublishingAuthor", "PublishingEditor", "Reviewer",
        "AvailabilityOnly", "LimitedDetails",
    }
)  # fmt: skip
SHARING_FLAGS = ("Delegate", "CanViewPrivateItems")


@dataclass
class Ctx:
    """The tenant a cmdlet runs against."""

    data: JsonObject

    @property
    def online(self) -> bool:
        return xm.flavor(self.data) == "exchange_online"

    @property
    def server(self) -> str:
        return ONLINE_DC if self.online else SERVER_DC

    @property
    def tenant_domain(self) -> str:
        return str(self.data.get("tenant", {}).get("initialDomain", "contoso.onmicrosoft.com"))


class Params:
    """Cmdlet parameters, case-insensitive, checked against the cmdlet's parameter set."""

    def __init__(self, cmdlet: str, raw: Mapping[str, Any], allowed: Iterable[str]) -> None:
        self.cmdlet = cmdlet
        names = {a.lower() for a in allowed} | COMMON_PARAMETERS
        for key in raw:
            if key.lower() not in names:
                raise unknown_parameter(key)
        self.values = {k.lower(): v for k, v in raw.items()}

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


def to_bool(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    lowered = str(value).strip().lower().lstrip("$")
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    if lowered in ("null", ""):
        return None
    raise bad_value(name, f'Cannot convert value "{value}" to type "System.Boolean".')


# --- views -----------------------------------------------------------------------------------

RECIPIENT_VIEW = (
    "Guid",
    "Identity",
    "Name",
    "Alias",
    "DisplayName",
    "PrimarySmtpAddress",
    "DistinguishedName",
    "RecipientTypeDetails",
    "ExternalDirectoryObjectId",
)


def recipient_view(recipient: JsonObject) -> JsonObject:
    view = {key: recipient.get(key) for key in RECIPIENT_VIEW}
    view["RecipientType"] = xm.recipient_type(recipient)
    return view


def resolve(ctx: Ctx, identity: str, kinds: frozenset[str] | None = None) -> JsonObject:
    """A recipient (optionally of ``kinds``) or ManagementObjectNotFoundException."""
    found = xm.find_recipient(ctx.data, identity)
    if found is None or (kinds is not None and found.get("RecipientTypeDetails") not in kinds):
        raise not_found(identity, ctx.server)
    return found


def _type_filter(params: Params) -> Callable[[JsonObject], bool]:
    wanted = {t.lower() for t in params.items("RecipientTypeDetails") or []}
    return lambda r: not wanted or str(r.get("RecipientTypeDetails", "")).lower() in wanted


def _opath_filter(ctx: Ctx, params: Params) -> Callable[[JsonObject], bool]:
    text = params.text("Filter")
    if not text:
        return lambda r: True
    try:
        return xm.compile_filter(ctx.data, text)
    except xm.FilterError as exc:
        raise bad_value("Filter", str(exc)) from exc


def _list_recipients(ctx: Ctx, params: Params, kinds: frozenset[str]) -> list[JsonObject]:
    identity = params.text("Identity")
    if identity:
        return [recipient_view(resolve(ctx, identity, kinds))]
    by_type, by_filter = _type_filter(params), _opath_filter(ctx, params)
    pool = (r for r in xm.recipients(ctx.data) if r.get("RecipientTypeDetails") in kinds)
    return [recipient_view(r) for r in pool if by_type(r) and by_filter(r)]


def get_mailbox(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/get-mailbox
    return _list_recipients(ctx, params, xm.MAILBOX_TYPES)


def get_recipient(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/get-recipient
    return _list_recipients(ctx, params, xm.MAILBOX_TYPES | xm.GROUP_TYPES)


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
    # https://learn.microsoft.com/en-us/exchange/reference/admin-api-endpoints-mailbox-folder-permission
    mailbox = _folder(ctx, params.required("Identity"))
    rows = xm.calendar_permissions(ctx.data, str(mailbox["Guid"]))
    user = params.text("User")
    if user:
        key, name = _user_key(ctx, user)
        rows = [r for r in rows if str(r["User"]).lower() == key.lower()]
        if not rows:
            raise CmdletError(PERMISSION_MISSING_TYPE, f"There is no existing permission entry found for user: {name}.")
    return [permission_view(ctx, mailbox, row) for row in rows]


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
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/add-mailboxfolderpermission
    mailbox = _folder(ctx, params.required("Identity"))
    key, name = _user_key(ctx, params.required("User"))
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
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-mailboxfolderpermission
    _, _, row, _ = _existing_row(ctx, params)
    rights, flags = _rights(ctx, params)
    row.update(AccessRights=rights, SharingPermissionFlags=flags)
    return []


def remove_folder_permission(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/remove-mailboxfolderpermission
    _, rows, row, key = _existing_row(ctx, params)
    if key in xm.SPECIAL_USERS:
        raise CmdletError(SPECIAL_USER_TYPE, f"The special user '{key}' can't be removed from the folder permissions.")
    rows.remove(row)
    return []


# --- distribution groups ---------------------------------------------------------------------


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


def get_distribution_group(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/get-distributiongroup
    return _list_recipients(ctx, params, xm.GROUP_TYPES)


def _group_type(params: Params) -> str:
    if params.flag("RoomList"):
        return "RoomList"
    kind = (params.text("Type") or "Distribution").lower()
    if kind not in ("distribution", "security"):
        raise bad_value("Type", f"'{params.text('Type')}' isn't a valid GroupType value.")
    return "MailUniversalSecurityGroup" if kind == "security" else "MailUniversalDistributionGroup"


def new_distribution_group(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-distributiongroup
    name = params.required("Name")
    alias = params.text("Alias") or "".join(ch for ch in name if ch.isalnum() or ch in "-_.")
    address = params.text("PrimarySmtpAddress") or f"{alias}@{_default_domain(ctx)}"
    dn = _group_dn(ctx, name)
    if xm.find_exchange_recipient(ctx.data, name) or xm.find_exchange_recipient(ctx.data, address):
        raise already_exists(dn, ctx.server)
    members = _member_guids(ctx, params.items("Members") or [])
    group = {
        "Guid": xm.new_guid(ctx.data, f"group/{name}"),
        "Identity": name,
        "Name": name,
        "Alias": alias,
        "DisplayName": params.text("DisplayName") or name,
        "PrimarySmtpAddress": address,
        "DistinguishedName": dn,
        "RecipientTypeDetails": _group_type(params),
        "ExternalDirectoryObjectId": None,
        "Members": members,
    }
    _check_room_list(ctx, group)
    xm.recipients(ctx.data).append(group)
    return [recipient_view(group)]


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
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-distributiongroup
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
    if params.flag("RoomList") and group["RecipientTypeDetails"] != "RoomList":
        candidate = dict(group, RecipientTypeDetails="RoomList")
        _check_room_list(ctx, candidate)
        group["RecipientTypeDetails"] = "RoomList"
    for key in ("DisplayName", "PrimarySmtpAddress", "Alias"):
        value = params.text(key)
        if value:
            group[key] = value
    return []


def remove_distribution_group(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/remove-distributiongroup
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
    xm.recipients(ctx.data).remove(group)
    for other in xm.recipients(ctx.data):
        if group["Guid"] in (other.get("Members") or []):
            other["Members"].remove(group["Guid"])
    return []


def get_group_member(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/exchange/reference/admin-api-endpoints-distribution-group-member
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
    return [recipient_view(m) for m in xm.group_members(ctx.data, group)]


def add_group_member(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/add-distributiongroupmember
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
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
    return []


def remove_group_member(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/remove-distributiongroupmember
    group = resolve(ctx, params.required("Identity"), xm.GROUP_TYPES)
    member = resolve(ctx, params.required("Member"), xm.MAILBOX_TYPES | xm.GROUP_TYPES)
    if not xm.is_member(group, member):
        text = f'The recipient "{member["Name"]}" isn\'t a member of the group "{group["Name"]}".'
        raise CmdletError(MEMBER_MISSING_TYPE, text)
    group["Members"] = [g for g in group["Members"] if str(g).lower() != str(member["Guid"]).lower()]
    return []


def get_accepted_domain(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/exchange/reference/admin-api-endpoints-accepted-domain
    default = _default_domain(ctx)
    domains = [str(d) for d in ctx.data.get("tenant", {}).get("domains", [])]
    return [
        {"Identity": d, "Name": d, "DomainName": d, "DomainType": "Authoritative", "Default": d == default}
        for d in domains
    ]
