"""Protocol-neutral request/response types shared by the server and the per-protocol handlers.

The server turns each HTTP request into an :class:`HttpRequest`, hands it to the handler
registered for the path prefix (Graph today; the Exchange admin REST and EWS SOAP handlers
later) and writes the returned :class:`HttpResponse` back verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.simulator.store import TenantStore


@dataclass
class HttpRequest:
    """One decoded HTTP request. ``headers`` keys are lower-case; ``path`` has no query string."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpResponse:
    """What a handler wants written back. ``body`` is sent as-is (empty for 204)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class SimContext:
    """Per-server facts a handler needs: the store and the absolute base URL (for nextLinks)."""

    store: TenantStore
    base_url: str


# A sibling module's entry point (``graph.handle_http``; later ``adminapi``/``ews``).
ProtocolHandler = Callable[[SimContext, HttpRequest], HttpResponse]
