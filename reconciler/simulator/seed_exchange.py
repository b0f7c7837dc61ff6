"""Seed the tenant's ``exchange`` section (see :mod:`exchange_model`) and the Graph ``servicePrincipals``.

Default: a mailbox for every seeded Graph user; rooms "Board room", "Conference room A/B"; user mailboxes
alice, bob, carol and dave (dave outside every group); the distribution group "Cronofy Rooms and Users"
and the mail-enabled security group "Cronofy Access" (same members); no room list. ``exchange_server``
adds the on-premises accounts ``cronofy-svc`` and ``reconciler-admin`` (organization-wide
ApplicationImpersonation), whose simulated AD passwords are kept only as salted hashes in
``exchange.adPasswords`` (recipient Guid -> hash).
"""

from __future__ import annotations

from typing import Any

from reconciler.simulator import exchange_model as xm
from reconciler.simulator.directory import hash_password, stable_id

JsonObject = dict[str, Any]

CUSTOM_DOMAIN = "contoso.com"
DEFAULT_AD_PASSWORD = "Simulated-Pa55!"
CRONOFY_APPS = (
    ("10bb7e5b-b80b-4e6e-a209-f78581dbc79e", "Cronofy Enterprise Connect"),
    ("9437e0a7-15ef-46bd-9106-da9b1477234d", "Cronofy Free Busy"),
)
ROOMS = (("Board room", "boardroom"), ("Conference room A", "confrooma"), ("Conference room B", "confroomb"))
PEOPLE = ("alice", "bob", "carol", "dave")
SERVER_ACCOUNTS = (("cronofy-svc", "Cronofy service"), ("reconciler-admin", "Reconciler admin"))


def _dn(name: str, online: bool, initial_domain: str) -> str:
    if online:
        return f"CN={name},OU={initial_domain},{xm.ONLINE_DN_SUFFIX}"
    return f"CN={name},{xm.SERVER_DN_SUFFIX}"


class _Builder:
    def __init__(self, online: bool, initial_domain: str) -> None:
        self.online = online
        self.initial_domain = initial_domain
        self.recipients: list[JsonObject] = []

    def add(self, name: str, alias: str, address: str, kind: str, **extra: Any) -> JsonObject:
        recipient: JsonObject = {
            "Guid": extra.pop("guid", None) or stable_id("recipient", address),
            "Identity": name,
            "Name": name,
            "Alias": alias,
            "DisplayName": extra.pop("display", None) or name,
            "PrimarySmtpAddress": address,
            "DistinguishedName": _dn(name, self.online, self.initial_domain),
            "RecipientTypeDetails": kind,
            "ExternalDirectoryObjectId": extra.pop("external", None),
        }
        recipient.update(extra)
        self.recipients.append(recipient)
        return recipient


def _user_mailboxes(builder: _Builder, users: list[JsonObject]) -> None:
    for user in users:
        upn = str(user["userPrincipalName"])
        alias = str(user.get("mailNickname") or upn.split("@")[0])
        builder.add(alias, alias, upn, "UserMailbox", display=user["displayName"], external=user["id"])


def _scoped(builder: _Builder, rooms: list[JsonObject]) -> list[str]:
    """Rooms and people that belong in the Cronofy groups; returns their Guids."""
    members = []
    for name, alias in ROOMS:
        members.append(builder.add(name, alias, f"{alias}@{CUSTOM_DOMAIN}", "RoomMailbox")["Guid"])
    for room in rooms:
        address, alias = str(room["emailAddress"]), str(room["alias"])
        recipient = builder.add(str(room["displayName"]), alias, address, "RoomMailbox", guid=room["id"])
        members.append(recipient["Guid"])
    for alias in PEOPLE:
        recipient = builder.add(alias, alias, f"{alias}@{CUSTOM_DOMAIN}", "UserMailbox", display=alias.title())
        if alias != "dave":
            members.append(recipient["Guid"])
    return members


def _server_accounts(builder: _Builder, password: str) -> tuple[dict[str, str], list[JsonObject]]:
    hashes: dict[str, str] = {}
    for alias, display in SERVER_ACCOUNTS:
        address = f"{alias}@{CUSTOM_DOMAIN}"
        recipient = builder.add(alias, alias, address, "UserMailbox", display=display)
        hashes[str(recipient["Guid"])] = hash_password(password, stable_id("ad-salt", address).replace("-", ""))
    assignment = {
        "Guid": stable_id("role-assignment", "reconciler-admin-impersonation"),
        "Identity": "ApplicationImpersonation-reconciler-admin",
        "Name": "ApplicationImpersonation-reconciler-admin",
        "Role": xm.IMPERSONATION_ROLE,
        "RoleAssignee": "reconciler-admin",
        "RoleAssigneeName": "reconciler-admin",
        "RoleAssigneeType": "User",
        "CustomRecipientWriteScope": None,
        "CustomResourceScope": None,
        "RecipientWriteScope": "Organization",
        "Enabled": True,
    }
    return hashes, [assignment]


def build_exchange(
    users: list[JsonObject], rooms: list[JsonObject], *, flavor: str, initial_domain: str, ad_password: str | None
) -> JsonObject:
    """The ``exchange`` section for the seeded Graph ``users`` and ``rooms``."""
    online = flavor == "exchange_online"
    builder = _Builder(online, initial_domain)
    _user_mailboxes(builder, users)
    members = _scoped(builder, rooms)
    hashes, assignments = ({}, []) if online else _server_accounts(builder, ad_password or DEFAULT_AD_PASSWORD)
    groups = (
        ("Cronofy Rooms and Users", "cronofy-scope", "MailUniversalDistributionGroup"),
        ("Cronofy Access", "cronofy-access", "MailUniversalSecurityGroup"),
    )
    for name, alias, kind in groups:
        builder.add(name, alias, f"{alias}@{CUSTOM_DOMAIN}", kind, Members=list(members))
    section: JsonObject = {
        "organization": {
            "Name": initial_domain if online else "Contoso",
            "EwsEnabled": None,
            "EwsAllowedAppIDs": None,
        },
        "recipients": builder.recipients,
        "folderPermissions": {},
        "managementScopes": [],
        "roleAssignments": assignments,
        "servicePrincipals": [],
        "applicationAccessPolicies": [],
    }
    if not online:
        section["adPasswords"] = hashes
    return section


def graph_service_principals() -> list[JsonObject]:
    """Entra enterprise apps (Graph ``servicePrincipal`` subset) for Cronofy's multi-tenant apps, with the
    application permissions an admin consented (``appRoleAssignments``): none, as RBAC for Applications grants access
    without them (scenarios with Entra ID consent add it)."""
    return [
        {"id": stable_id("service-principal", app_id), "appId": app_id, "displayName": name, "appRoleAssignments": []}
        for app_id, name in CRONOFY_APPS
    ]
