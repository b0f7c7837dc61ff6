"""A twin tenant file from a snapshot: the answers a real tenant gave to a plan's reads, as plain data.

The snapshot (``reconciler sim snapshot``) is ``{"format": 1, "tenant": {"id", "domain", "target"},
"accounts": [logon names], "reads": [{"protocol": "graph" | "exchange" | "ews", "method", "operation", "key",
"page", "status", "body", "request"}]}``: Graph bodies and admin API bodies are their JSON, EWS bodies their XML
text. Each answer goes where this simulator keeps what that endpoint shows (see :mod:`store` and
:mod:`exchange_model`): Graph users, subscribed SKUs and service principals; Exchange recipients (groups with the
members their member reads listed), management scopes, role assignments, service principals, access policies, the
organization's EWS settings, folder permissions (from Graph calendarPermissions, Get-MailboxFolderPermission or
EWS GetFolder). Ids, addresses and domains are kept, so a plan against the twin names the same objects.

The twin knows no password: its settings say ``"twin": true`` and Basic logon on its EWS (Exchange Server) takes
any password for the accounts the snapshot names (``accounts``), as nothing secret was read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from reconciler.simulator import exchange_model as xm
from reconciler.simulator.directory import SKU_CATALOG, new_user, stable_id, subscribed_sku
from reconciler.simulator.ews import (
    AUTOMATE_PROCESSING_CODES,  # AutomateProcessing -> calendar options' code
    LEVEL_TO_RIGHT,  # CalendarPermissionLevel -> AccessRights
)

JsonObject = dict[str, Any]
SNAPSHOT_FORMAT = 1
CREATED = "2024-01-01T00:00:00Z"
T = "{http://schemas.microsoft.com/exchange/services/2006/types}"
# Exchange cmdlet -> the section of ``exchange`` its rows are kept in
SECTIONS = {
    "Get-ManagementScope": "managementScopes",
    "Get-ManagementRoleAssignment": "roleAssignments",
    "Get-ServicePrincipal": "servicePrincipals",
    "Get-ApplicationAccessPolicy": "applicationAccessPolicies",
}
RECIPIENT_READS = frozenset({"Get-Recipient", "Get-DistributionGroup", "Get-Mailbox", "Get-DistributionGroupMember"})
SECTION_KEYS = {  # what each section's stored objects are identified by
    "managementScopes": "Name",
    "roleAssignments": "Name",
    "servicePrincipals": "AppId",
    "applicationAccessPolicies": "Identity",
}
# EWS MailboxType -> RecipientTypeDetails (https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/mailboxtype)
MAILBOX_TYPES = {
    "Mailbox": "UserMailbox",
    "PublicDL": "MailUniversalDistributionGroup",
    "PrivateDL": "MailUniversalDistributionGroup",
}


class SnapshotError(ValueError):
    """The snapshot is not one this simulator can read."""


def build_twin(snapshot: JsonObject) -> JsonObject:
    """The tenant file (a JSON-ready dict) for a snapshot."""
    if snapshot.get("format") != SNAPSHOT_FORMAT or not isinstance(snapshot.get("reads"), list):
        raise SnapshotError(f"not a snapshot of format {SNAPSHOT_FORMAT} (make one with `reconciler sim snapshot`)")
    tenant = snapshot["tenant"]
    online = tenant.get("target", "exchange_online") == "exchange_online"
    data: JsonObject = {
        "tenant": {
            "id": tenant["id"],
            "displayName": tenant["domain"],
            "initialDomain": tenant["domain"],
            "domains": [tenant["domain"]],
            "flavor": "exchange_online" if online else "exchange_server",
        },
        "settings": {"latency_ms": 0, "twin": True},
        "subscribedSkus": [],
        "users": [],
        "rooms": [],
        "servicePrincipals": [],
        "exchange": {},
        "faults": [],
    }
    xm.exchange(data)["organization"] = {"Name": tenant["domain"], "EwsEnabled": None, "EwsAllowedAppIDs": None}
    builder = _Builder(data, online)
    reads = [r for r in snapshot["reads"] if r.get("status", 500) < 400]
    for read in sorted(reads, key=lambda r: _ORDER.get(r.get("protocol", ""), 9)):
        builder.add(read)
    builder.finish([str(a) for a in snapshot.get("accounts", [])])
    data["tenant"]["domains"] = sorted(builder.domains | {tenant["domain"]})
    return data


_ORDER = {"exchange": 0, "graph": 1, "ews": 2}  # recipients first, then what refers to them


class _Builder:
    def __init__(self, data: JsonObject, online: bool) -> None:
        self.data = data
        self.online = online
        self.exchange = xm.exchange(data)
        self.by_guid: dict[str, JsonObject] = {}
        self.by_address: dict[str, JsonObject] = {}
        self.members: dict[str, set[str]] = {}  # group identity (as asked) -> member Guids
        self.domains: set[str] = set()
        self.impersonated: dict[str, set[str]] = {}  # account -> mailboxes it opened by impersonation (EWS)

    # -- one answer ------------------------------------------------------------------------------
    def add(self, read: JsonObject) -> None:
        protocol, body = read.get("protocol"), read.get("body")
        if protocol == "exchange" and isinstance(body, dict):
            self._exchange(read, [_plain(r) for r in body.get("value", []) if isinstance(r, dict)])
        elif protocol == "graph" and isinstance(body, dict):
            self._graph(str(read.get("key", "")), body)
        elif protocol == "ews" and isinstance(body, str):
            request = read.get("request") or {}
            self._ews(str(read.get("operation", "")), str(request.get("soap", "")), body, str(request.get("account")))

    def _exchange(self, read: JsonObject, rows: list[JsonObject]) -> None:
        request = read.get("request") or {}
        cmdlet = str(request.get("cmdlet", read.get("operation", "")))
        parameters = request.get("parameters") or {}
        if cmdlet in RECIPIENT_READS:
            guids = [self.recipient(row)["Guid"] for row in rows]
            if cmdlet == "Get-DistributionGroupMember":
                self.members.setdefault(str(parameters.get("Identity", "")).lower(), set()).update(guids)
        elif cmdlet in SECTIONS:
            self._keep(SECTIONS[cmdlet], rows)
        elif cmdlet == "Get-OrganizationConfig" and rows:
            organization = self.exchange["organization"]
            for key in ("Name", "EwsEnabled", "EwsAllowedAppIDs"):
                organization[key] = rows[0].get(key, organization.get(key))
        elif cmdlet == "Get-MailboxFolderPermission" and rows:
            mailbox = str(parameters.get("Identity", "")).split(":", 1)[0]
            for row in rows:
                user = str(row.get("User", ""))
                who = user if user in xm.SPECIAL_USERS else self._grantee(user)
                self._permission(mailbox, who, list(row.get("AccessRights") or []), row.get("SharingPermissionFlags"))

    def _keep(self, section: str, rows: list[JsonObject]) -> None:
        key = SECTION_KEYS[section]
        kept: list[JsonObject] = self.exchange[section]
        known = {str(r.get(key)).lower() for r in kept}
        kept += [r for r in rows if str(r.get(key)).lower() not in known]

    def _graph(self, key: str, body: JsonObject) -> None:
        path = key.split(" ", 1)[-1].split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        if parts == ["subscribedskus"]:
            self._skus([s for s in body.get("value", []) if isinstance(s, dict)])
        elif parts and parts[0].startswith("serviceprincipals") and body.get("appId"):
            self._graph_service_principal(body)
        elif len(parts) == 3 and parts[0] == "serviceprincipals" and parts[2] == "approleassignments":
            self._consents(parts[1], [a for a in body.get("value", []) if isinstance(a, dict)])
        elif len(parts) == 2 and parts[0] == "users" and body.get("userPrincipalName"):
            self._user(body)
        elif len(parts) == 4 and parts[0] == "users" and parts[3] == "calendarpermissions":
            for entry in body.get("value", []):
                if isinstance(entry, dict):
                    self._calendar_permission(parts[1], entry)

    # -- Graph objects ---------------------------------------------------------------------------
    def _user(self, body: JsonObject) -> None:
        upn = str(body["userPrincipalName"])
        if any(u["userPrincipalName"].lower() == upn.lower() for u in self.data["users"]):
            return
        user = new_user(
            str(body.get("id") or stable_id("user", upn)),
            upn,
            display_name=str(body.get("displayName")),
            mail_nickname=str(body.get("mailNickname") or upn.split("@")[0]),
            password_hash="",
            created=CREATED,
        )
        user.update(_plain(body))  # what the plan selected (Graph never returns a password)
        self.data["users"].append(user)
        self.domains.add(upn.split("@")[-1].lower())

    def _skus(self, skus: list[JsonObject]) -> None:
        for sku in skus:
            part = str(sku.get("skuPartNumber", ""))
            full = subscribed_sku(self.data["tenant"]["id"], part, 10000) if part in SKU_CATALOG else {}
            full.update({"capabilityStatus": "Enabled", "prepaidUnits": {"enabled": 10000}} if not full else {})
            full.update(_plain(sku))
            self.data["subscribedSkus"].append(full)

    def _graph_service_principal(self, body: JsonObject) -> None:
        principals: list[JsonObject] = self.data["servicePrincipals"]
        if not any(p["appId"].lower() == str(body["appId"]).lower() for p in principals):
            principals.append({"id": body.get("id"), "appId": body["appId"], "displayName": body.get("displayName")})

    def _consents(self, object_id: str, assignments: list[JsonObject]) -> None:
        """The app roles the enterprise app was granted, as read (an empty list too: the directory records none)."""
        for principal in self.data["servicePrincipals"]:
            if str(principal.get("id", "")).lower() == object_id.lower():
                principal["appRoleAssignments"] = [_plain(a) for a in assignments]

    def _calendar_permission(self, mailbox: str, entry: JsonObject) -> None:
        address = str((entry.get("emailAddress") or {}).get("address") or "")
        who = xm.DEFAULT_USER if not address else self._grantee(address)
        try:
            rights, flags = xm.rights_for(str(entry.get("role")))
        except KeyError:
            return
        self._permission(mailbox, who, rights, flags)

    # -- recipients ------------------------------------------------------------------------------
    def recipient(self, row: JsonObject) -> JsonObject:
        """The stored recipient for an answer's row (merged with what earlier answers said of it)."""
        address = str(row.get("PrimarySmtpAddress") or "").lower()
        guid = str(row.get("Guid") or "") or stable_id("recipient", address)
        found = self.by_guid.get(guid) or self.by_address.get(address)
        if found is None:
            found = (
                {"Guid": guid, "Members": []}
                if str(row.get("RecipientTypeDetails")) in xm.GROUP_TYPES
                else {"Guid": guid}
            )
            self.exchange["recipients"].append(found)
        for key, value in row.items():
            known = found.get(key)
            if isinstance(value, str) and isinstance(known, str) and value.lower() == known.lower():
                continue  # the same name in another case: the first answer's spelling stays
            if value is not None or key not in found:
                found[key] = value
        self._complete(found)
        self.by_guid[str(found["Guid"])] = found
        if address:
            self.by_address[address] = found
            self.domains.add(address.split("@")[-1])
        return found

    def _complete(self, found: JsonObject) -> None:
        address = str(found.get("PrimarySmtpAddress") or "")
        name = str(found.get("Name") or found.get("DisplayName") or address.split("@")[0])
        found.setdefault("Name", name)
        found.setdefault("Identity", name)
        found.setdefault("Alias", address.split("@")[0] or name)
        found.setdefault("DisplayName", name)
        suffix = (
            f"OU={self.data['tenant']['initialDomain']},{xm.ONLINE_DN_SUFFIX}" if self.online else xm.SERVER_DN_SUFFIX
        )
        found.setdefault("DistinguishedName", f"CN={name},{suffix}")
        found.setdefault("RecipientTypeDetails", "UserMailbox")
        found.setdefault("ExternalDirectoryObjectId", None)
        if found["RecipientTypeDetails"] in xm.GROUP_TYPES:
            found.setdefault("Members", [])

    def _grantee(self, address: str) -> str:
        """A permission row's User for an address: a recipient's Guid, or a Graph user's id."""
        lowered = address.lower()
        if lowered in self.by_address:
            return str(self.by_address[lowered]["Guid"])
        for user in self.data["users"]:
            if lowered in (str(user["userPrincipalName"]).lower(), str(user.get("mail") or "").lower()):
                return str(user["id"])
        return str(self.recipient({"PrimarySmtpAddress": address, "RecipientTypeDetails": "UserMailbox"})["Guid"])

    def _permission(self, mailbox: str, who: str, rights: list[str], flags: Any) -> None:
        owner = self.by_address.get(mailbox.lower()) or self.recipient(
            {"PrimarySmtpAddress": mailbox, "RecipientTypeDetails": "UserMailbox"}
        )
        rows: list[JsonObject] = self.exchange["folderPermissions"].setdefault(str(owner["Guid"]), [])
        if not any(r["User"] == who for r in rows):
            rows.append({"User": who, "AccessRights": rights, "SharingPermissionFlags": flags or None})

    # -- EWS answers -----------------------------------------------------------------------------
    def _ews(self, operation: str, request: str, body: str, account: str) -> None:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return
        acting = _text_in(request, "PrimarySmtpAddress")
        if operation == "GetRoomLists":
            for address in root.iter(f"{T}Address"):
                self._ews_mailbox(address, "RoomList")
        elif operation == "GetRooms":
            room_list = _text_in(request, "EmailAddress")
            group = self.recipient({"PrimarySmtpAddress": room_list, "RecipientTypeDetails": "RoomList"})
            for room in root.iter(f"{T}Id"):
                member = self._ews_mailbox(room, "RoomMailbox")
                if member["Guid"] not in group["Members"]:
                    group["Members"].append(member["Guid"])
        elif operation == "ExpandDL":
            dl = _text_in(request, "EmailAddress")
            group = self.recipient({"PrimarySmtpAddress": dl, "RecipientTypeDetails": "MailUniversalDistributionGroup"})
            for mailbox in root.iter(f"{T}Mailbox"):
                member = self._ews_mailbox(mailbox, None)
                if member["Guid"] not in group["Members"]:
                    group["Members"].append(member["Guid"])
        elif operation == "ResolveNames":
            for mailbox in root.iter(f"{T}Mailbox"):
                self._ews_mailbox(mailbox, None)
        elif operation == "GetFolder" and acting and 'ResponseClass="Success"' in body:
            self.impersonated.setdefault(account, set()).add(acting.lower())
            self._ews_permissions(acting, root)
        elif operation == "GetUserConfiguration" and acting and 'ResponseClass="Success"' in body:
            self.impersonated.setdefault(account, set()).add(acting.lower())
            self._calendar_options(acting, root)

    def _ews_mailbox(self, element: ET.Element, kind: str | None) -> JsonObject:
        address = element.findtext(f"{T}EmailAddress") or ""
        name = element.findtext(f"{T}Name") or address.split("@")[0]
        mailbox_type = element.findtext(f"{T}MailboxType") or ""
        details = kind or MAILBOX_TYPES.get(mailbox_type, "UserMailbox")
        row: JsonObject = {"PrimarySmtpAddress": address, "Name": name, "DisplayName": name}
        found = self.by_address.get(address.lower())
        if found is None or kind is not None:
            row["RecipientTypeDetails"] = details
        return self.recipient(row)

    def _ews_permissions(self, mailbox: str, root: ET.Element) -> None:
        for permission in root.iter(f"{T}CalendarPermission"):
            user = permission.find(f"{T}UserId")
            if user is None:
                continue
            special = user.findtext(f"{T}DistinguishedUser")
            address = user.findtext(f"{T}PrimarySmtpAddress") or ""
            level = permission.findtext(f"{T}CalendarPermissionLevel") or "None"
            who = special if special in xm.SPECIAL_USERS else self._grantee(address) if address else None
            if who is not None and level != "Custom":  # a Custom set has no single AccessRights role
                self._permission(mailbox, who, [LEVEL_TO_RIGHT.get(level, level)], None)

    def _calendar_options(self, mailbox: str, root: ET.Element) -> None:
        """The calendar options' AutomateProcessing ([MS-OXOCFG] 2.2.5.1.1) as the mailbox's calendar processing, the
        data the twin's GetUserConfiguration and Get-CalendarProcessing answer from (the other settings EWS does not
        show: the twin keeps their defaults)."""
        codes = {code: flag for flag, code in AUTOMATE_PROCESSING_CODES.items()}
        for entry in root.iter(f"{T}DictionaryEntry"):
            if entry.findtext(f"{T}DictionaryKey/{T}Value") != "AutomateProcessing":
                continue
            flag = codes.get((entry.findtext(f"{T}DictionaryValue/{T}Value") or "").strip())
            found = self.by_address.get(mailbox.lower())
            if flag is not None and found is not None:
                found.setdefault("CalendarProcessing", {})["AutomateProcessing"] = flag

    # -- after every answer ----------------------------------------------------------------------
    def finish(self, accounts: list[str]) -> None:
        for identity, guids in self.members.items():
            group = self.by_address.get(identity) or next(
                (r for r in self.exchange["recipients"] if identity in _identities(r)), None
            )
            if group is not None:
                group.setdefault("Members", [])
                group["Members"] += [g for g in sorted(guids) if g not in group["Members"]]
        if not self.online:
            self._server_accounts(accounts)

    def _server_accounts(self, accounts: list[str]) -> None:
        """The accounts that signed in exist (any password: settings.twin). EWS shows no RBAC, only what impersonation
        reached: the EWS admin (first account) gets organization-wide ApplicationImpersonation when it opened
        mailboxes that way, any other account ApplicationImpersonation scoped to exactly the mailboxes it opened."""
        for number, account in enumerate(accounts):
            recipient = self.by_address.get(account) or self.recipient(
                {"PrimarySmtpAddress": account, "RecipientTypeDetails": "UserMailbox"}
            )
            opened = sorted(self.impersonated.get(account, ()))
            if not opened:
                continue
            scope = None if number == 0 else f"TwinImpersonationScope-{recipient['Alias']}"
            if scope is not None:
                addresses = " -or ".join(f"PrimarySmtpAddress -eq '{a}'" for a in opened)
                self.exchange["managementScopes"].append(
                    {
                        "Guid": stable_id("management-scope", scope),
                        "Identity": scope,
                        "Name": scope,
                        "RecipientFilter": addresses,
                        "ScopeRestrictionType": "RecipientScope",
                        "Exclusive": False,
                        "RecipientRoot": None,
                    }
                )
            self._impersonation(recipient, scope)

    def _impersonation(self, recipient: JsonObject, scope: str | None) -> None:
        name = f"ApplicationImpersonation-{recipient['Alias']}"
        self.exchange["roleAssignments"].append(
            {
                "Guid": stable_id("role-assignment", name),
                "Identity": name,
                "Name": name,
                "Role": xm.IMPERSONATION_ROLE,
                "RoleAssignee": recipient["Alias"],
                "RoleAssigneeName": recipient["Alias"],
                "RoleAssigneeType": "User",
                "CustomRecipientWriteScope": scope,
                "CustomResourceScope": None,
                "RecipientWriteScope": "CustomRecipientScope" if scope else "Organization",
                "Enabled": True,
            }
        )


def _identities(recipient: JsonObject) -> set[str]:
    keys = ("Name", "Alias", "DisplayName", "PrimarySmtpAddress", "Identity", "DistinguishedName", "Guid")
    return {str(recipient.get(k) or "").lower() for k in keys} - {""}


def _plain(row: JsonObject) -> JsonObject:
    """An answer's object without its OData and type annotations (what the simulator adds when it answers)."""
    return {k: v for k, v in row.items() if "@" not in k}


def _text_in(xml: str, local_name: str) -> str:
    import re

    found = re.search(rf"<(?:\w+:)?{local_name}>([^<]*)<", xml)
    return found.group(1) if found else ""
