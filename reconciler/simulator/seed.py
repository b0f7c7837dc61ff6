"""Seed a tenant file (``reconciler simulator init``): a reproducible Contoso tenant.

Default tenant: verified domains ``contoso.onmicrosoft.com`` (initial) and ``contoso.com``,
an admin ``admin@contoso.onmicrosoft.com`` (usageLocation US, Office 365 E3) and three
subscriptions: ENTERPRISEPACK (25 units, plus one per seeded ordinary user), EXCHANGESTANDARD
(10) and FLOW_FREE (10000). ``users=N`` adds ``user001@contoso.com`` ... (US, E3);
``rooms=N`` adds ``room001@contoso.com`` ... under ``"rooms"`` (and as room mailboxes).
The Exchange organization (``"exchange"``) and Entra ``"servicePrincipals"`` come from
:mod:`reconciler.simulator.seed_exchange`. Every id is a uuid5 from a
fixed namespace, so the same options always produce the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.simulator.directory import (
    TENANT_ID,
    hash_password,
    new_user,
    stable_id,
    subscribed_sku,
)
from reconciler.simulator.seed_exchange import build_exchange, graph_service_principals
from reconciler.simulator.store import write_tenant

JsonObject = dict[str, Any]

INITIAL_DOMAIN = "contoso.onmicrosoft.com"
CUSTOM_DOMAIN = "contoso.com"
SEED_CREATED = "2024-01-01T00:00:00Z"
FLAVORS = ("exchange_online", "exchange_server")


def _seed_user(upn: str, display_name: str, given: str | None, surname: str | None) -> JsonObject:
    user_id = stable_id("user", upn)
    # Seeded accounts get a per-user password nobody knows; only its salted hash is stored.
    salt = stable_id("salt", upn).replace("-", "")
    user = new_user(
        user_id,
        upn,
        display_name=display_name,
        mail_nickname=upn.split("@")[0],
        password_hash=hash_password(stable_id("password", upn), salt),
        created=SEED_CREATED,
    )
    user.update(givenName=given, surname=surname, mail=upn, usageLocation="US")
    return user


def _license(user: JsonObject, sku: JsonObject) -> None:
    user["assignedLicenses"].append({"disabledPlans": [], "skuId": sku["skuId"]})
    sku["consumedUnits"] += 1


def _rooms(count: int) -> list[JsonObject]:
    rooms = []
    for n in range(1, count + 1):
        alias = f"room{n:03d}"
        address = f"{alias}@{CUSTOM_DOMAIN}"
        rooms.append(
            {
                "id": stable_id("room", address),
                "displayName": f"Room {n:03d}",
                "emailAddress": address,
                "alias": alias,
            }
        )
    return rooms


def build_tenant(
    *,
    users: int = 0,
    rooms: int = 0,
    flavor: str = "exchange_online",
    ad_password: str | None = None,
    tenant_id: str = TENANT_ID,
) -> JsonObject:
    """The seeded tenant as a JSON-ready dict (see :mod:`reconciler.simulator.store` for the shape). ``tenant_id``:
    another tenant than the default Contoso one (several tenants served by one process need their own ids)."""
    if flavor not in FLAVORS:
        raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
    if users < 0 or rooms < 0:
        raise ValueError("users and rooms must be >= 0")
    e3 = subscribed_sku(tenant_id, "ENTERPRISEPACK", 25 + users)
    skus = [
        e3,
        subscribed_sku(tenant_id, "EXCHANGESTANDARD", 10),
        subscribed_sku(tenant_id, "FLOW_FREE", 10000),
    ]
    admin = _seed_user(f"admin@{INITIAL_DOMAIN}", "MOD Administrator", None, None)
    _license(admin, e3)
    people = [admin]
    for n in range(1, users + 1):
        number = f"{n:03d}"
        user = _seed_user(f"user{number}@{CUSTOM_DOMAIN}", f"User {number}", "User", number)
        _license(user, e3)
        people.append(user)
    room_list = _rooms(rooms)
    exchange = build_exchange(people, room_list, flavor=flavor, initial_domain=INITIAL_DOMAIN, ad_password=ad_password)
    return {
        "tenant": {
            "id": tenant_id,
            "displayName": "Contoso",
            "initialDomain": INITIAL_DOMAIN,
            "domains": [INITIAL_DOMAIN, CUSTOM_DOMAIN],
            "flavor": flavor,
        },
        "settings": {"latency_ms": 0},
        "subscribedSkus": skus,
        "users": people,
        "rooms": room_list,
        "servicePrincipals": graph_service_principals(),
        "exchange": exchange,
        "faults": [],
    }


def init_tenant(
    path: Path,
    *,
    users: int = 0,
    rooms: int = 0,
    flavor: str = "exchange_online",
    ad_password: str | None = None,
    tenant_id: str = TENANT_ID,
) -> dict[str, Any]:
    """Write a seeded tenant file to ``path`` (atomically) and return its content.

    ``ad_password`` is the simulated AD password of the on-premises accounts (``exchange_server`` only;
    default ``Simulated-Pa55!``); only its salted hash is written.
    """
    data = build_tenant(users=users, rooms=rooms, flavor=flavor, ad_password=ad_password, tenant_id=tenant_id)
    write_tenant(Path(path), data)
    return data
