"""Tests for the tenant seed (init_tenant) and the tenant file store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.simulator import init_tenant
from reconciler.simulator.store import TenantStore

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"


def test_default_tenant(tmp_path: Path) -> None:
    data = init_tenant(tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text()) == data
    tenant = data["tenant"]
    assert tenant["initialDomain"] == "contoso.onmicrosoft.com"
    assert tenant["domains"] == ["contoso.onmicrosoft.com", "contoso.com"]
    assert tenant["flavor"] == "exchange_online"
    [admin] = data["users"]
    assert admin["userPrincipalName"] == "admin@contoso.onmicrosoft.com"
    assert admin["usageLocation"] == "US"
    assert admin["assignedLicenses"] == [{"disabledPlans": [], "skuId": E3}]
    assert not any(u["userPrincipalName"].startswith("cronofy-svc@") for u in data["users"])
    skus = {s["skuPartNumber"]: s for s in data["subscribedSkus"]}
    assert {p: (s["skuId"], s["prepaidUnits"]["enabled"], s["consumedUnits"]) for p, s in skus.items()} == {
        "ENTERPRISEPACK": (E3, 25, 1),
        "EXCHANGESTANDARD": ("4b9405b0-7788-4568-add1-99614e613b69", 10, 0),
        "FLOW_FREE": ("f30db892-07e9-47e9-837c-80727f46fd3d", 10000, 0),
    }
    assert data["rooms"] == [] and data["faults"] == [] and data["settings"] == {"latency_ms": 0}


def test_users_rooms_flavor_and_determinism(tmp_path: Path) -> None:
    a = init_tenant(tmp_path / "a.json", users=3, rooms=2, flavor="exchange_server")
    init_tenant(tmp_path / "b.json", users=3, rooms=2, flavor="exchange_server")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert a["tenant"]["flavor"] == "exchange_server"
    assert [u["userPrincipalName"] for u in a["users"][1:]] == [f"user00{n}@contoso.com" for n in (1, 2, 3)]
    assert all(u["usageLocation"] == "US" and u["assignedLicenses"][0]["skuId"] == E3 for u in a["users"])
    e3 = next(s for s in a["subscribedSkus"] if s["skuId"] == E3)
    assert e3["consumedUnits"] == 4 and e3["prepaidUnits"]["enabled"] >= 4
    assert a["rooms"][0] == {
        "id": a["rooms"][0]["id"],
        "displayName": "Room 001",
        "emailAddress": "room001@contoso.com",
        "alias": "room001",
    }
    assert len({u["id"] for u in a["users"]}) == 4


def test_no_clear_password_is_stored(tmp_path: Path) -> None:
    data = init_tenant(tmp_path / "t.json", users=1)
    assert all(u["passwordHash"].startswith("sha256$") for u in data["users"])
    assert 'password"' not in (tmp_path / "t.json").read_text()


def test_large_tenant_loads_with_its_index(tmp_path: Path) -> None:
    """A 10,000-user tenant seeds and loads (its speed is measured by `make bench`, not here)."""
    init_tenant(tmp_path / "big.json", users=10000, rooms=100)
    store = TenantStore(tmp_path / "big.json")
    assert len(store.users) == 10001
    assert store.find_user("USER10000@CONTOSO.COM") is not None


def test_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        init_tenant(tmp_path / "t.json", flavor="exchange_2003")
    with pytest.raises(ValueError):
        init_tenant(tmp_path / "t.json", users=-1)


def test_store_save_is_journaled_and_close_folds_it_in(tmp_path: Path) -> None:
    init_tenant(tmp_path / "t.json")
    store = TenantStore(tmp_path / "t.json")
    with store.lock:
        store.tenant["displayName"] = "Changed"
        store.save()
    assert TenantStore(tmp_path / "t.json").tenant["displayName"] == "Changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.json.journal"]
    store.close()
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]
    assert json.loads((tmp_path / "t.json").read_text())["tenant"]["displayName"] == "Changed"
