"""Every httpx client of a run shares one TLS context (clients/tls.py): building one loads the CA bundle, 20-40 ms of
CPU each, and a fleet drift builds clients for every tenant."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from reconciler.clients import tls
from reconciler.clients.session import connect
from reconciler.spec.loader import load_spec
from tests.conftest import Workspace


def test_clients_of_many_tenants_build_one_tls_context(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = create(*args, **kwargs)
        built.append(context)
        return context

    monkeypatch.setattr(ssl, "create_default_context", counted)
    tls.tls_context.cache_clear()
    loaded = load_spec(ws.spec)
    for _ in range(3):
        clients = connect(loaded, "http://127.0.0.1:9")  # nothing is sent: the clients are only built
        assert clients.graph.sdk is not None
        clients.close()
    assert len(built) == 1 and built[0] is tls.tls_context()
    assert built[0].verify_mode is ssl.CERT_REQUIRED and built[0].check_hostname


def test_an_absent_sniffio_is_looked_for_once(ws: Workspace) -> None:
    """httpcore imports sniffio for every async lock; when it is not installed, the Graph client records it as absent
    (None in sys.modules), so the next tries fail at once instead of searching sys.path again."""
    import importlib.util
    import sys

    if "sniffio" in sys.modules:  # recorded already (by an earlier client of this process), or imported
        installed = sys.modules["sniffio"] is not None
    else:
        installed = importlib.util.find_spec("sniffio") is not None
    clients = connect(load_spec(ws.spec), "http://127.0.0.1:9")
    assert clients.graph.sdk is not None
    clients.close()
    if installed:
        assert sys.modules["sniffio"] is not None
    else:
        assert "sniffio" in sys.modules and sys.modules["sniffio"] is None
        with pytest.raises(ImportError):
            import sniffio  # noqa: F401
