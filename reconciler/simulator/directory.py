"""Directory facts shared by the seeder and the Graph handlers: ids, passwords, the SKU catalog.

SKU ids, part numbers and service plan ids are Microsoft's published values, from
https://learn.microsoft.com/en-us/entra/identity/users/licensing-service-plan-reference
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

JsonObject = dict[str, Any]

# Fixed namespace so every id the seeder derives (uuid5) is reproducible.
NAMESPACE = uuid.UUID("6c0d1a52-3f0e-4c8e-9b1e-2f6a4e1f7d10")
TENANT_ID = str(uuid.uuid5(NAMESPACE, "tenant/contoso"))


def stable_id(kind: str, name: str) -> str:
    """A deterministic GUID for ``kind``/``name`` (e.g. ``user``/``admin@contoso.onmicrosoft.com``)."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{name.lower()}"))


def hash_password(password: str, salt: str) -> str:
    """Salted SHA-256, stored as ``sha256$<salt>$<hex digest>``; the clear text is never kept."""
    digest = hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()
    return f"sha256${salt}${digest}"


def password_complex_enough(password: str) -> bool:
    """Microsoft Entra's cloud password rule: 8-256 characters and 3 of the 4 character classes.

    https://learn.microsoft.com/en-us/entra/identity/authentication/concept-sspr-policy
    """
    if not 8 <= len(password) <= 256:
        return False
    classes = (
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    return sum(classes) >= 3


# skuPartNumber -> (skuId, [(servicePlanName, servicePlanId), ...])
SKU_CATALOG: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "ENTERPRISEPACK": (  # Office 365 E3
        "6fd2c87f-b296-42f0-b197-1e91e994b900",
        [
            ("EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0"),
            ("SHAREPOINTENTERPRISE", "5dbe027f-2339-4123-9542-606e4d348a72"),
            ("MCOSTANDARD", "0feaeb32-d00e-4d66-bd5a-43b5b83db82c"),
            ("TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929"),
            ("OFFICESUBSCRIPTION", "43de0ff5-c92c-492b-9116-175376d08c38"),
        ],
    ),
    "EXCHANGESTANDARD": (  # Exchange Online (Plan 1)
        "4b9405b0-7788-4568-add1-99614e613b69",
        [("EXCHANGE_S_STANDARD", "9aaf7827-d63c-4b61-89c3-182f06f82e5c")],
    ),
    "FLOW_FREE": (  # Microsoft Power Automate Free
        "f30db892-07e9-47e9-837c-80727f46fd3d",
        [
            ("DYN365_CDS_VIRAL", "17ab22cd-a0b3-4536-910a-cb6eb12696c0"),
            ("EXCHANGE_S_FOUNDATION", "113feb6c-3fe4-4440-bddc-54d774bf0318"),
            ("FLOW_P2_VIRAL", "50e68c76-46c6-4674-81f9-75456511b170"),
        ],
    ),
}


def subscribed_sku(tenant_id: str, part_number: str, enabled_units: int) -> JsonObject:
    """A Graph subscribedSku object for a catalog SKU, with no units consumed yet.

    https://learn.microsoft.com/en-us/graph/api/resources/subscribedsku?view=graph-rest-1.0
    """
    sku_id, plans = SKU_CATALOG[part_number]
    return {
        "accountId": tenant_id,
        "accountName": "Contoso",
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": 0,
        "id": f"{tenant_id}_{sku_id}",
        "prepaidUnits": {"enabled": enabled_units, "lockedOut": 0, "suspended": 0, "warning": 0},
        "servicePlans": [
            {
                "servicePlanId": pid,
                "servicePlanName": name,
                "provisioningStatus": "Success",
                "appliesTo": "User",
            }
            for name, pid in plans
        ],
        "skuId": sku_id,
        "skuPartNumber": part_number,
        "subscriptionIds": [stable_id("subscription", part_number)],
    }


def new_user(
    user_id: str,
    upn: str,
    *,
    display_name: str,
    mail_nickname: str,
    password_hash: str,
    created: str,
) -> JsonObject:
    """A stored user with every default-set property present (null when unknown)."""
    return {
        "id": user_id,
        "accountEnabled": True,
        "businessPhones": [],
        "displayName": display_name,
        "givenName": None,
        "jobTitle": None,
        "mail": None,
        "mailNickname": mail_nickname,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": None,
        "usageLocation": None,
        "userPrincipalName": upn,
        "createdDateTime": created,
        "assignedLicenses": [],
        "passwordHash": password_hash,
    }


def consented_roles(data: JsonObject, app_id: str, roles_by_id: dict[str, str]) -> frozenset[str] | None:
    """The application permissions of `roles_by_id` (app role id -> name) an admin consented for the app: its
    enterprise app's appRoleAssignments; None when the directory records none for it (the token's roles then stand).
    https://learn.microsoft.com/en-us/graph/api/resources/approleassignment"""
    sp = next(
        (s for s in data.get("servicePrincipals") or [] if str(s.get("appId", "")).lower() == app_id.lower()), None
    )
    if sp is None or "appRoleAssignments" not in sp:
        return None
    return frozenset(roles_by_id.get(str(a.get("appRoleId")), "") for a in sp["appRoleAssignments"]) - {""}
