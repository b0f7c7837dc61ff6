"""The tenant file: the simulator's whole state, loaded at start and saved after every mutation.

Shape (JSON object)::

    {
      "tenant": {"id": "<guid>", "displayName": "Contoso", "initialDomain": "contoso.onmicrosoft.com",
                 "domains": ["contoso.onmicrosoft.com", "contoso.com"],   # verified domain names
                 "flavor": "exchange_online" | "exchange_server"},
      "settings": {"latency_ms": 0},
      "subscribedSkus": [<Graph subscribedSku objects, as GET /subscribedSkus returns them>],
      "users": [<Graph user objects (id, userPrincipalName, assignedLicenses, usageLocation, ...)
                 plus "passwordHash": "sha256$<salt hex>$<digest hex>" (never returned)>],
      "rooms": [{"id", "displayName", "emailAddress", "alias"}],
      "servicePrincipals": [{"id", "appId", "displayName"}],      # Entra enterprise apps (Graph)
      "exchange": {...},                                           # see reconciler.simulator.exchange_model
      "faults": [{"method": "GET", "path": "<regex on the path after /v1.0>",
                  "status": 429 | 500 | 503, "times": N, "retry_after": seconds,
                  "code"?: "...", "message"?: "..."}]       # see reconciler.simulator.faults
    }

Writes are atomic (temp file in the same directory + ``os.replace``). Each top-level list is
written one element per line, which keeps large tenants fast to save and easy to diff.
All access goes through :attr:`TenantStore.lock` (one lock for the whole tenant).
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
from pathlib import Path
from typing import Any

JsonObject = dict[str, Any]


def dump_tenant(data: JsonObject) -> str:
    """Serialize a tenant: top-level keys one per line, list elements one per line."""
    chunks: list[str] = []
    for key, value in data.items():
        name = json.dumps(key)
        if isinstance(value, list) and value:
            items = ",\n  ".join(json.dumps(item, ensure_ascii=False) for item in value)
            chunks.append(f" {name}: [\n  {items}\n ]")
        else:
            chunks.append(f" {name}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(chunks) + "\n}\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class TenantStore:
    """The loaded tenant plus id/UPN indexes over its users."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.data: JsonObject = json.loads(path.read_text(encoding="utf-8"))
        for key, default in (("users", []), ("subscribedSkus", []), ("faults", []), ("settings", {})):
            self.data.setdefault(key, default)
        self.runtime_faults: list[JsonObject] = []  # from `sim serve --faults`; never saved
        self.fault_random: dict[int, random.Random] = {}  # per rule (by id) with a rate: its seeded generator
        self._by_id: dict[str, JsonObject] = {}
        self._by_upn: dict[str, JsonObject] = {}
        for user in self.users:
            self._index(user)

    @property
    def tenant(self) -> JsonObject:
        tenant: JsonObject = self.data["tenant"]
        return tenant

    @property
    def users(self) -> list[JsonObject]:
        users: list[JsonObject] = self.data["users"]
        return users

    @property
    def skus(self) -> list[JsonObject]:
        skus: list[JsonObject] = self.data["subscribedSkus"]
        return skus

    @property
    def faults(self) -> list[JsonObject]:
        faults: list[JsonObject] = self.data["faults"]
        return faults

    def _index(self, user: JsonObject) -> None:
        self._by_id[str(user["id"]).lower()] = user
        self._by_upn[str(user["userPrincipalName"]).lower()] = user

    def find_user(self, key: str) -> JsonObject | None:
        """Look a user up by object id or userPrincipalName (both case-insensitive)."""
        lowered = key.lower()
        return self._by_id.get(lowered) or self._by_upn.get(lowered)

    def add_user(self, user: JsonObject) -> None:
        self.users.append(user)
        self._index(user)

    def remove_user(self, user: JsonObject) -> None:
        self.users.remove(user)
        self._by_id.pop(str(user["id"]).lower(), None)
        self._by_upn.pop(str(user["userPrincipalName"]).lower(), None)

    def rename_user(self, user: JsonObject, new_upn: str) -> None:
        self._by_upn.pop(str(user["userPrincipalName"]).lower(), None)
        user["userPrincipalName"] = new_upn
        self._by_upn[new_upn.lower()] = user

    def save(self) -> None:
        """Persist the tenant atomically. Call with :attr:`lock` held."""
        write_atomic(self.path, dump_tenant(self.data))
