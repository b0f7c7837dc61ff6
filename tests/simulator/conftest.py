"""Fixtures for the tenant simulator tests: a fresh seeded tenant per test, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.simulator import Simulator, init_tenant, make_token


@pytest.fixture
def tenant_file(tmp_path: Path) -> Path:
    path = tmp_path / "tenant.json"
    init_tenant(path, users=5)
    return path


@pytest.fixture
def sim(tenant_file: Path) -> Iterator[Simulator]:
    with Simulator(tenant_file) as simulator:
        yield simulator


@pytest.fixture
def token(sim: Simulator) -> str:
    return make_token(sim.tenant_id, "11111111-2222-3333-4444-555555555555", ["User.ReadWrite.All"])


@pytest.fixture
def graph(sim: Simulator, token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{sim.base_url}/v1.0", headers=headers, timeout=10) as client:
        yield client
