"""The simulated Exchange organization: one data model behind the admin API, Graph and EWS views.

Tenant JSON key ``"exchange"``::

    {"organization": {"Name", "EwsEnabled": null|bool, "EwsAllowedAppIDs": null|"guid,guid"},
     "acceptedDomains": [{"Name", "DomainName", "DomainType", "Default"}],
     "recipients": [{"Guid", "Identity", "Name", "Alias", "DisplayName", "PrimarySmtpAddress",
                     "DistinguishedName", "RecipientTypeDetails", "ExternalDirectoryObjectId",
                     "Members": [<recipient Guid>] (groups only)}],
     "folderPermissions": {"<mailbox Guid>": [{"User": "Default"|"Anonymous"|<recipient Guid>,
                                               "AccessRights": [...], "SharingPermissionFlags": null|[...]}]},
     "managementScopes": [...], "roleAssignments": [...], "servicePrincipals": [...],
     "applicationAccessPolicies": [...],
     "roleGroups": [{"Guid", "Identity", "Name", "DisplayName", "Description", "DistinguishedName", "ManagedBy",
                     "Members": [<recipient Guid>], "Roles": [...], "RoleAssignments": [<assignment Name>]}],
     "adPasswords": {"<recipient Guid>": "sha256$<salt>$<digest>"}   # exchange_server only
    }

Every function takes the whole tenant dict (``store.data``) and never saves; callers hold the
store lock and save. Identities compare case-insensitively, as Exchange does.
RBAC for Applications: https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac
Application access policies: https://learn.microsoft.com/en-us/graph/auth-limit-mailbox-access
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

JsonObject = dict[str, Any]
Predicate = Callable[[JsonObject], bool]

MAILBOX_TYPES = frozenset({"UserMailbox", "RoomMailbox", "EquipmentMailbox", "SharedMailbox"})
RESOURCE_TYPES = frozenset({"RoomMailbox", "EquipmentMailbox"})
GROUP_TYPES = frozenset({"MailUniversalDistributionGroup", "MailUniversalSecurityGroup", "RoomList"})
DEFAULT_USER = "Default"
ANONYMOUS_USER = "Anonymous"
SPECIAL_USERS = (DEFAULT_USER, ANONYMOUS_USER)
IMPERSONATION_ROLE = "ApplicationImpersonation"
ONLINE_DN_SUFFIX = "OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=PROD,DC=OUTLOOK,DC=COM"
SERVER_DN_SUFFIX = "OU=Users,DC=contoso,DC=com"

# RBAC for Applications roles -> the permissions they grant (application-rbac, "Supported Application Roles").
APP_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "Application Calendars.ReadWrite": frozenset({"Calendars.ReadWrite", "Calendars.Read"}),
    "Application Calendars.Read": frozenset({"Calendars.Read"}),
    "Application Mail.ReadWrite": frozenset({"Mail.ReadWrite", "Mail.Read"}),
    "Application Mail.Read": frozenset({"Mail.Read"}),
    "Application Mail.Send": frozenset({"Mail.Send"}),
    "Application Contacts.ReadWrite": frozenset({"Contacts.ReadWrite", "Contacts.Read"}),
    "Application Contacts.Read": frozenset({"Contacts.Read"}),
    "Application MailboxSettings.ReadWrite": frozenset({"MailboxSettings.ReadWrite", "MailboxSettings.Read"}),
    "Application MailboxSettings.Read": frozenset({"MailboxSettings.Read"}),
    "Application EWS.AccessAsApp": frozenset({"EWS.AccessAsApp"}),
}

# Graph calendarPermission role <-> (AccessRights, SharingPermissionFlags)
# https://learn.microsoft.com/en-us/graph/api/resources/calendarpermission
ROLE_RIGHTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "none": ("None", ()),
    "freeBusyRead": ("AvailabilityOnly", ()),
    "limitedRead": ("LimitedDetails", ()),
    "read": ("Reviewer", ()),
    "write": ("Editor", ()),
    "delegateWithoutPrivateEventAccess": ("Editor", ("Delegate",)),
    "delegateWithPrivateEventAccess": ("Editor", ("Delegate", "CanViewPrivateItems")),
}


class FilterError(ValueError):
    """A recipient filter Exchange would refuse (syntax error or unknown property)."""


# --- the section -----------------------------------------------------------------------------


_LISTS = (
    "acceptedDomains",
    "recipients",
    "managementScopes",
    "roleAssignments",
    "servicePrincipals",
    "applicationAccessPolicies",
    "roleGroups",
)
_SECTION_KEYS = frozenset({"organization", *_LISTS, "folderPermissions"})


def exchange(data: JsonObject) -> JsonObject:
    """The tenant's ``exchange`` section, created with empty collections when missing."""
    found = data.get("exchange")
    if isinstance(found, dict) and found.keys() >= _SECTION_KEYS:
        return found  # every request asks for it, often many times: the common case looks, and writes nothing
    section: JsonObject = data.setdefault("exchange", {})
    section.setdefault("organization", {"Name": "", "EwsEnabled": None, "EwsAllowedAppIDs": None})
    for key in _LISTS:
        section.setdefault(key, [])
    section.setdefault("folderPermissions", {})
    return section


def recipients(data: JsonObject) -> list[JsonObject]:
    result: list[JsonObject] = exchange(data)["recipients"]
    return result


def new_guid(data: JsonObject, name: str) -> str:
    """A fresh object Guid (``name`` is only a hint for readers of the code)."""
    del data, name
    return str(uuid.uuid4())


def flavor(data: JsonObject) -> str:
    return str(data.get("tenant", {}).get("flavor", "exchange_online"))


def _same(a: object, b: str) -> bool:
    return isinstance(a, str) and a.lower() == b


# --- recipients ------------------------------------------------------------------------------

_RECIPIENT_KEYS = (
    "Guid",
    "Identity",
    "Name",
    "Alias",
    "DisplayName",
    "PrimarySmtpAddress",
    "DistinguishedName",
    "ExternalDirectoryObjectId",
)


# Lookup indexes, so a tenant of 10,000 mailboxes answers in constant time per lookup. An index is
# rebuilt when its list changes length, or dropped by renamed() when an identity property changes; a hit is
# re-checked, and Graph users (whose UPN can be PATCHed) fall back to a scan on a miss.
_INDEXES: dict[tuple[int, str], tuple[list[JsonObject], int, dict[str, JsonObject]]] = {}
_USER_KEYS = ("id", "userPrincipalName")


def renamed() -> None:
    """Forget the lookup indexes: a recipient's identity property changed (Set-DistributionGroup -Name, ...)."""
    _INDEXES.clear()


def _index(rows: list[JsonObject], keys: tuple[str, ...], tag: str) -> dict[str, JsonObject]:
    cached = _INDEXES.get((id(rows), tag))
    if cached is not None and cached[0] is rows and cached[1] == len(rows):
        return cached[2]
    index: dict[str, JsonObject] = {}
    for row in rows:
        for key in keys:
            value = row.get(key)
            if isinstance(value, str):
                index.setdefault(value.lower(), row)
    _INDEXES[(id(rows), tag)] = (rows, len(rows), index)
    return index


def _lookup(rows: list[JsonObject], keys: tuple[str, ...], tag: str, lowered: str) -> JsonObject | None:
    hit = _index(rows, keys, tag).get(lowered)
    if hit is not None and any(_same(hit.get(key), lowered) for key in keys):
        return hit
    return None


def find_graph_user(data: JsonObject, key: str) -> JsonObject | None:
    """A Graph (Entra) user by object id or userPrincipalName."""
    lowered = key.lower()
    users: list[JsonObject] = data.get("users", [])
    found = _lookup(users, _USER_KEYS, "users", lowered)
    if found is not None:
        return found
    return next((u for u in users if any(_same(u.get(k), lowered) for k in _USER_KEYS)), None)


def pseudo_recipient(user: JsonObject) -> JsonObject:
    """An Entra user without a recipient, seen as Exchange's ``User`` recipient type."""
    upn = str(user["userPrincipalName"])
    return {
        "Guid": user["id"],
        "Identity": upn,
        "Name": user.get("displayName") or upn,
        "Alias": user.get("mailNickname") or upn.split("@")[0],
        "DisplayName": user.get("displayName") or upn,
        "PrimarySmtpAddress": user.get("mail") or upn,
        "DistinguishedName": None,
        "RecipientTypeDetails": "User",
        "ExternalDirectoryObjectId": user["id"],
    }


# Service plans that give a user an Exchange Online mailbox (EXCHANGE_S_FOUNDATION does not)
MAILBOX_PLANS = ("EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_STANDARD", "EXCHANGE_S_DESKLESS")


def mail_enabled(data: JsonObject, recipient: JsonObject) -> bool:
    """Whether a folder-permission grantee is a mail-enabled security principal: "Valid values are mail-enabled
    security principals (mail-enabled accounts or groups that have security identifiers or SIDs...)"
    (https://learn.microsoft.com/powershell/module/exchangepowershell/add-mailboxfolderpermission, -User).
    Stored recipients are mailboxes, mail users and mail-enabled groups; an Entra user without one is mail-enabled
    only while a license with an Exchange Online plan gives it a mailbox (the 30-day grace after removal is not
    modelled)."""
    if recipient.get("RecipientTypeDetails") != "User":
        return True
    user = find_graph_user(data, str(recipient.get("ExternalDirectoryObjectId") or recipient.get("Guid")))
    if user is None:
        return False
    skus = {str(s.get("skuId")).lower(): s for s in data.get("subscribedSkus", [])}
    for assigned in user.get("assignedLicenses") or []:
        sku = skus.get(str(assigned.get("skuId")).lower())
        disabled = {str(p).lower() for p in assigned.get("disabledPlans") or []}
        for plan in (sku or {}).get("servicePlans", []):
            if plan.get("servicePlanName") in MAILBOX_PLANS and str(plan.get("servicePlanId")).lower() not in disabled:
                return True
    return False


def find_exchange_recipient(data: JsonObject, identity: str) -> JsonObject | None:
    """A stored recipient matching ``identity`` on any identity property (no Entra fallback)."""
    lowered = identity.strip().lower()
    if not lowered:
        return None
    return _lookup(recipients(data), _RECIPIENT_KEYS, "recipients", lowered)


def find_recipient(data: JsonObject, identity: str) -> JsonObject | None:
    """Resolve an identity the way Exchange cmdlets do; Entra users fall back to a ``User`` pseudo-recipient."""
    found = find_exchange_recipient(data, identity)
    if found is not None:
        return found
    user = find_graph_user(data, identity.strip())
    if user is None:
        return None
    linked = recipient_by_guid(data, str(user["id"]), external=True)
    return linked if linked is not None else pseudo_recipient(user)


def recipient_by_guid(data: JsonObject, guid: str, *, external: bool = False) -> JsonObject | None:
    """A stored recipient by Guid (or by ExternalDirectoryObjectId when ``external``)."""
    key = "ExternalDirectoryObjectId" if external else "Guid"
    return _lookup(recipients(data), (key,), key, guid.lower())


def grantee(data: JsonObject, key: str) -> JsonObject | None:
    """The recipient a folder-permission row's ``User`` names (a Guid or a Graph user id)."""
    found = recipient_by_guid(data, key)
    if found is not None:
        return found
    user = find_graph_user(data, key)
    return pseudo_recipient(user) if user is not None else None


def is_mailbox(recipient: JsonObject) -> bool:
    return recipient.get("RecipientTypeDetails") in MAILBOX_TYPES


def is_group(recipient: JsonObject) -> bool:
    return recipient.get("RecipientTypeDetails") in GROUP_TYPES


def member_guids(group: JsonObject) -> set[str]:
    return {str(m).lower() for m in group.get("Members") or []}


def group_members(data: JsonObject, group: JsonObject) -> list[JsonObject]:
    """The group's members as recipients, in stored order."""
    wanted = member_guids(group)
    return [r for r in recipients(data) if str(r.get("Guid", "")).lower() in wanted]


def is_member(group: JsonObject, recipient: JsonObject) -> bool:
    return str(recipient.get("Guid", "")).lower() in member_guids(group)


# --- calendar folder permissions -------------------------------------------------------------


def calendar_permissions(data: JsonObject, mailbox_guid: str) -> list[JsonObject]:
    """The Calendar folder's permission rows; Default {AvailabilityOnly} and Anonymous {None} always exist."""
    table: JsonObject = exchange(data)["folderPermissions"]
    rows: list[JsonObject] = table.setdefault(mailbox_guid, [])
    present = {str(row.get("User")) for row in rows}
    defaults = ((DEFAULT_USER, "AvailabilityOnly"), (ANONYMOUS_USER, "None"))
    for position, (user, right) in enumerate(defaults):
        if user not in present:
            rows.insert(position, {"User": user, "AccessRights": [right], "SharingPermissionFlags": None})
    return rows


def permission_row(rows: list[JsonObject], user_key: str) -> JsonObject | None:
    """The row for ``user_key`` (``Default``, ``Anonymous`` or a Guid), case-insensitive."""
    lowered = user_key.lower()
    return next((row for row in rows if _same(row.get("User"), lowered)), None)


def role_for(access_rights: Iterable[str], flags: Iterable[str] | None) -> str:
    """The Graph calendarPermission role for a row's rights and sharing flags (``custom`` otherwise)."""
    rights = tuple(access_rights)
    flag_set = tuple(sorted(flags or ()))
    for role, (right, role_flags) in ROLE_RIGHTS.items():
        if rights == (right,) and flag_set == tuple(sorted(role_flags)):
            return role
    return "custom"


def rights_for(role: str) -> tuple[list[str], list[str] | None]:
    """(AccessRights, SharingPermissionFlags) for a Graph role; KeyError for ``custom``/unknown."""
    right, flags = ROLE_RIGHTS[role]
    return [right], (list(flags) if flags else None)


# --- recipient filters (OPATH subset) --------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<op>-(?:and|or|not|eq|ne|like|notlike)\b)"
    r"|'(?P<sq>(?:[^']|'')*)'|\"(?P<dq>(?:[^\"]|\"\")*)\"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))",
    re.IGNORECASE,
)
FILTER_PROPERTIES = frozenset(
    {
        "memberofgroup",
        "recipienttypedetails",
        "recipienttype",
        "alias",
        "name",
        "displayname",
        "primarysmtpaddress",
        "distinguishedname",
        "externaldirectoryobjectid",
        "guid",
    }
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"Invalid filter syntax at position {position}: '{text[position:]}'.")
        kind = str(match.lastgroup)
        value = match.group(kind)
        if kind == "sq":
            kind, value = "str", value.replace("''", "'")
        elif kind == "dq":
            kind, value = "str", value.replace('""', '"')
        tokens.append((kind, value.lower() if kind == "op" else value))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: or-expr := and-expr (-or and-expr)*; and-expr := unary (-and unary)*."""

    def __init__(self, data: JsonObject, text: str) -> None:
        self.data = data
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> Predicate:
        if not self.tokens:
            raise FilterError("The filter is empty.")
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise FilterError(f"Unexpected token '{self.tokens[self.pos][1]}' in filter.")
        return predicate

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def _take(self, kind: str) -> str:
        token = self._peek()
        if token[0] != kind:
            raise FilterError(f"Invalid filter syntax near '{token[1] or 'end of filter'}'.")
        self.pos += 1
        return token[1]

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek() == ("op", "-or"):
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._peek() == ("op", "-and"):
            self.pos += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def _unary(self) -> Predicate:
        token = self._peek()
        if token == ("op", "-not"):
            self.pos += 1
            inner = self._unary()
            return lambda r: not inner(r)
        if token[0] == "lp":
            self.pos += 1
            inner = self._or()
            self._take("rp")
            return inner
        return self._comparison()

    def _comparison(self) -> Predicate:
        prop = self._take("word")
        op = self._take("op")
        if op not in ("-eq", "-ne", "-like", "-notlike"):
            raise FilterError(f"Invalid filter operator '{op}'.")
        value = self._take("str")
        if prop.lower() not in FILTER_PROPERTIES:
            raise FilterError(f"'{prop}' is not a recognized filterable property.")
        test = _property_test(self.data, prop.lower(), value, op.endswith("like"))
        return (lambda r: not test(r)) if op in ("-ne", "-notlike") else test


def _matcher(value: str, like: bool) -> Callable[[object], bool]:
    if not like:
        lowered = value.lower()
        return lambda actual: isinstance(actual, str) and actual.lower() == lowered
    pattern = re.compile("^" + ".*".join(re.escape(p) for p in value.split("*")) + "$", re.IGNORECASE)
    return lambda actual: isinstance(actual, str) and pattern.match(actual) is not None


def _property_test(data: JsonObject, prop: str, value: str, like: bool) -> Predicate:
    if prop == "memberofgroup":
        group = find_exchange_recipient(data, value)
        members = member_guids(group) if group is not None and is_group(group) else set()
        return lambda r: str(r.get("Guid", "")).lower() in members
    if prop == "recipienttype":
        match = _matcher(value, like)
        return lambda r: match(recipient_type(r))
    key = next(k for k in (*_RECIPIENT_KEYS, "RecipientTypeDetails") if k.lower() == prop)
    match = _matcher(value, like)
    return lambda r: match(r.get(key))


def recipient_type(recipient: JsonObject) -> str:
    """Exchange's coarse RecipientType for a RecipientTypeDetails value."""
    details = str(recipient.get("RecipientTypeDetails"))
    if details in MAILBOX_TYPES:
        return "UserMailbox"
    if details == "MailUniversalSecurityGroup":
        return "MailUniversalSecurityGroup"
    if details in GROUP_TYPES:
        return "MailUniversalDistributionGroup"
    return "User"


def compile_filter(data: JsonObject, filter_text: str) -> Predicate:
    """A reusable predicate for ``filter_text`` (group memberships are resolved once); FilterError if bad."""
    return _Parser(data, filter_text).parse()


def evaluate_filter(data: JsonObject, recipient: JsonObject, filter_text: str) -> bool:
    """Whether ``recipient`` matches the OPATH filter; raises FilterError on syntax/unknown property."""
    return compile_filter(data, filter_text)(recipient)


def normalize_filter(filter_text: str) -> str:
    """The filter as Exchange stores it: wrapped in one pair of parentheses."""
    text = filter_text.strip()
    return text if _wrapped(text) else f"({text})"


def _wrapped(text: str) -> bool:
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and index < len(text) - 1:
            return False
    return True


# --- scopes, RBAC, access policies -----------------------------------------------------------


def find_scope(data: JsonObject, name: str) -> JsonObject | None:
    lowered = name.lower()
    scopes: list[JsonObject] = exchange(data)["managementScopes"]
    return next((s for s in scopes if any(_same(s.get(k), lowered) for k in ("Name", "Identity", "Guid"))), None)


def scope_allows(data: JsonObject, scope_name: str, recipient: JsonObject) -> bool:
    """Whether the named management scope's RecipientFilter includes ``recipient`` (unknown scope → False)."""
    scope = find_scope(data, scope_name)
    if scope is None:
        return False
    return evaluate_filter(data, recipient, str(scope.get("RecipientFilter") or ""))


def find_service_principal(data: JsonObject, identity: str) -> JsonObject | None:
    """An Exchange service principal (New-ServicePrincipal) by AppId, ObjectId, DisplayName or Identity."""
    lowered = identity.lower()
    sps: list[JsonObject] = exchange(data)["servicePrincipals"]
    keys = ("AppId", "ObjectId", "DisplayName", "Identity")
    return next((sp for sp in sps if any(_same(sp.get(k), lowered) for k in keys)), None)


def _resolve(data: JsonObject, mailbox: JsonObject | str) -> JsonObject | None:
    return find_recipient(data, mailbox) if isinstance(mailbox, str) else mailbox


def app_assignments(data: JsonObject, app_id: str, *, enabled_only: bool = True) -> list[JsonObject]:
    """Role assignments (the enabled ones, unless ``enabled_only`` is False) to the app's Exchange service principal."""
    sp = find_service_principal(data, app_id)
    if sp is None:
        return []
    names = {str(sp.get(k, "")).lower() for k in ("ObjectId", "AppId", "Identity", "DisplayName")} - {""}
    result: list[JsonObject] = []
    for assignment in exchange(data)["roleAssignments"]:
        if assignment.get("RoleAssigneeType") != "ServicePrincipal":
            continue
        if enabled_only and assignment.get("Enabled") is False:
            continue
        if str(assignment.get("RoleAssignee", "")).lower() in names:
            result.append(assignment)
    return result


def assignment_in_scope(data: JsonObject, assignment: JsonObject, recipient: JsonObject) -> bool:
    """Whether an assignment's scope (CustomResourceScope or CustomRecipientWriteScope) covers ``recipient``."""
    scope = assignment.get("CustomResourceScope") or assignment.get("CustomRecipientWriteScope")
    if not scope:
        return True
    return scope_allows(data, str(scope), recipient)


def rbac_allows(data: JsonObject, app_id: str, mailbox: JsonObject | str, permission: str) -> bool:
    """RBAC for Applications: some assignment of a role granting ``permission`` covers the mailbox."""
    recipient = _resolve(data, mailbox)
    if recipient is None:
        return False
    for assignment in app_assignments(data, app_id):
        granted = APP_ROLE_PERMISSIONS.get(str(assignment.get("Role")), frozenset())
        if permission in granted and assignment_in_scope(data, assignment, recipient):
            return True
    return False


def app_policies(data: JsonObject, app_id: str) -> list[JsonObject]:
    lowered = app_id.lower()
    policies: list[JsonObject] = exchange(data)["applicationAccessPolicies"]
    return [p for p in policies if _same(p.get("AppId"), lowered)]


def _policy_group(data: JsonObject, policy: JsonObject) -> JsonObject | None:
    for key in ("ScopeIdentity", "ScopeName"):
        value = policy.get(key)
        if isinstance(value, str) and value:
            group = find_exchange_recipient(data, value)
            if group is not None:
                return group
    return None


def policy_allows(data: JsonObject, app_id: str, mailbox: JsonObject | str) -> bool:
    """Application access policies: DenyAccess members are denied; with RestrictAccess only members pass."""
    recipient = _resolve(data, mailbox)
    if recipient is None:
        return False
    policies = app_policies(data, app_id)
    restrict = [p for p in policies if p.get("AccessRight") == "RestrictAccess"]
    for policy in policies:
        group = _policy_group(data, policy)
        if policy.get("AccessRight") == "DenyAccess" and group is not None and is_member(group, recipient):
            return False
    if not restrict:
        return True
    return any((g := _policy_group(data, p)) is not None and is_member(g, recipient) for p in restrict)


def app_is_scoped(data: JsonObject, app_id: str) -> bool:
    """Whether Exchange holds RBAC assignments or access policies for the app."""
    return bool(app_assignments(data, app_id) or app_policies(data, app_id))


def _assignee_matches(data: JsonObject, assignment: JsonObject, user: JsonObject) -> bool:
    """Whether the assignment reaches the user: directly, or through a role group or security group it is in."""
    assignee = str(assignment.get("RoleAssignee", ""))
    kind = assignment.get("RoleAssigneeType")
    if kind == "RoleGroup":
        groups: list[JsonObject] = exchange(data)["roleGroups"]
        group = next((g for g in groups if _same(g.get("Name"), assignee.lower())), None)
        return group is not None and is_member(group, user)
    found = find_recipient(data, assignee)
    if found is None:
        return False
    if kind == "SecurityGroup":
        return is_group(found) and is_member(found, user)
    return str(found.get("Guid", "")).lower() == str(user.get("Guid", "")).lower()


def _write_scope_covers(data: JsonObject, assignment: JsonObject, user: JsonObject, recipient: JsonObject) -> bool:
    """The assignment's RecipientWriteScope: the organization (or the GAL), a management scope, or the user itself."""
    write_scope = assignment.get("RecipientWriteScope")
    if write_scope in ("Organization", "MyGAL", None):
        return True
    if write_scope in ("CustomRecipientScope", "ExclusiveRecipientScope"):
        return assignment_in_scope(data, assignment, recipient)
    if write_scope == "Self":
        return str(user.get("Guid", "")).lower() == str(recipient.get("Guid", "")).lower()
    return False  # None, MyDistributionGroups: no mailbox


def user_can_impersonate(data: JsonObject, user_identity: str, mailbox: JsonObject | str) -> bool:
    """An enabled ApplicationImpersonation assignment reaching the user whose write scope covers the mailbox."""
    user = find_recipient(data, user_identity)
    recipient = _resolve(data, mailbox)
    if user is None or recipient is None:
        return False
    for assignment in exchange(data)["roleAssignments"]:
        if str(assignment.get("Role", "")).lower() != IMPERSONATION_ROLE.lower():
            continue
        if assignment.get("Enabled") is False or not _assignee_matches(data, assignment, user):
            continue
        if _write_scope_covers(data, assignment, user, recipient):
            return True
    return False


def check_ad_password(data: JsonObject, identity: str, password: str) -> bool:
    """Whether ``password`` matches the simulated AD password hash of an on-premises account."""
    recipient = find_exchange_recipient(data, identity)
    hashes: dict[str, str] = exchange(data).get("adPasswords") or {}
    stored = hashes.get(str(recipient["Guid"])) if recipient is not None else None
    if not stored:
        return False
    _, salt, digest = stored.split("$", 2)
    return hmac.compare_digest(hashlib.sha256(f"{salt}:{password}".encode()).hexdigest(), digest)
