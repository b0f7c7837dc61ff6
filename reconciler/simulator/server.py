"""The loopback HTTP server that plays the tenant.

``http.server.ThreadingHTTPServer`` on 127.0.0.1, HTTP/1.1 with Content-Length on every
response (so clients keep connections alive). Requests are dispatched by path prefix to a
protocol module; add the Exchange admin REST (``/adminapi``) and EWS SOAP
(``/EWS/Exchange.asmx``) handlers as sibling modules by adding entries to
:data:`PROTOCOL_HANDLERS`. ``GET /_simulator/stats`` reports ``requests_served`` and ``operations`` (the
request log by operation, :mod:`reconciler.simulator.tally`; not itself counted) for tests and benchmarks that
run the simulator out of process, and ``latency_rounds`` (rounds of latency served: one per request, more for a
``$batch`` under ``--outlook-batch-concurrency``, :mod:`reconciler.simulator.outlook`); a simulator serving several
tenants (:class:`Simulator`'s ``more_tenants``) reports each one's under ``tenants``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from reconciler.simulator import ews, exchange_admin, graph, login, outlook
from reconciler.simulator.faults import JsonObject, take_fault
from reconciler.simulator.store import TenantStore
from reconciler.simulator.tally import operations
from reconciler.simulator.tokens import token_tenant
from reconciler.simulator.wire import HttpRequest, HttpResponse, ProtocolHandler, SimContext

HOST = "127.0.0.1"
STATS_PATH = "/_simulator/stats"
# https://learn.microsoft.com/en-us/exchange/reference/admin-api-get-started: POST /adminapi/<version>/<tenantId>/...
ADMIN_TENANT = re.compile(r"^/adminapi/[^/]+/([^/]+)/")

# Path prefix -> protocol module entry point. Later: "/adminapi": adminapi.handle_http,
# "/EWS/Exchange.asmx": ews.handle_http.
PROTOCOL_HANDLERS: dict[str, ProtocolHandler] = {
    graph.PREFIX: graph.handle_http,
    exchange_admin.PREFIX: exchange_admin.handle_http,
    ews.PREFIX: ews.handle_http,
}


def _json_response(status: int, body: dict[str, object]) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


def _internal_error() -> HttpResponse:
    traceback.print_exc(file=sys.stderr)
    request_id = str(uuid.uuid4())
    error = {
        "code": "InternalServerError",
        "message": "The tenant simulator failed to process the request.",
        "innerError": {"request-id": request_id, "client-request-id": request_id},
    }
    return _json_response(500, {"error": error})


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__((HOST, port), _RequestHandler)

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        """A client that went away (killed, interrupted) mid-request is not the tenant's failure: nothing is
        printed for it (a tenant does not log its callers' disconnects to their terminal); anything else as usual."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK hold the body back ~40 ms on every keep-alive response.
    disable_nagle_algorithm = True
    server: _HttpServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests and benchmarks run thousands of requests."""

    def _read_request(self) -> HttpRequest:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        headers = {key.lower(): value for key, value in self.headers.items()}
        return HttpRequest(self.command.upper(), parts.path, parts.query, headers, body)

    def _dispatch(self) -> None:
        request = self._read_request()
        fault = self.server.simulator.transport_fault(request)
        if fault is not None and fault.get("drop") and not fault.get("after"):
            self._drop()
            return
        try:
            response = self.server.simulator.handle(request)
        except Exception:
            response = _internal_error()
        if fault is not None and fault.get("drop"):  # the request ran; its answer is lost
            self._drop()
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)

    def _drop(self) -> None:
        """Close the connection without an answer (the client sees "server disconnected")."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class TenantClash(ValueError):
    """Two tenant files of one serving process hold the same tenant id."""


@dataclass
class _Tally:
    """What one tenant was asked: requests (a ``$batch`` is one), operations, and rounds of latency served."""

    served: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    rounds: int = 0

    def stats(self) -> dict[str, object]:
        return {"requests_served": self.served, "operations": dict(self.operations), "latency_rounds": self.rounds}


class Simulator:
    """The tenant simulator: serves the tenant file on 127.0.0.1 from a daemon thread.

    ``more_tenants``: further tenant files served by the same process. As Microsoft's shared endpoints do, a request
    is for the tenant its bearer token names (the ``tid`` claim), the admin API's path names, or the discovery
    document's path names (id or a domain only that tenant has); anything else (no token, an unknown tenant, EWS with
    Basic auth) goes to the first tenant, whose own checks answer it. Tenant ids must differ (``sim init --tenant-id``).
    ``outlook_batch_concurrency``: :mod:`reconciler.simulator.outlook` (0: off).
    """

    def __init__(
        self,
        tenant_file: Path,
        *,
        port: int = 0,
        latency_ms: int = 0,
        faults: list[JsonObject] | None = None,
        more_tenants: Sequence[Path] = (),
        outlook_batch_concurrency: int = 0,
    ) -> None:
        self.tenant_file = Path(tenant_file)
        self.store = TenantStore(self.tenant_file)
        self.store.runtime_faults = list(faults or [])
        self.tenant_id: str = str(self.store.tenant["id"])
        self.stores: dict[str, TenantStore] = {self.tenant_id.lower(): self.store}  # by tenant id, lower case
        for extra in more_tenants:
            store = TenantStore(Path(extra))
            key = str(store.tenant["id"]).lower()
            if key in self.stores:
                raise TenantClash(
                    f"{extra} holds tenant {store.tenant['id']}, which {self.stores[key].path} holds too: "
                    "one process serves each tenant id once (give each its own: `reconciler sim init FILE "
                    "--tenant-id GUID`)"
                )
            store.runtime_faults = copy.deepcopy(list(faults or []))  # each tenant's rules fire on its own
            self.stores[key] = store
        self._domains: dict[str, str | None] = {}  # domain -> the one tenant id that has it (None: several)
        for key, store in self.stores.items():
            for domain in store.tenant.get("domains", []):
                name = str(domain).lower()
                self._domains[name] = key if name not in self._domains else None
        self.base_url: str = ""
        self._port = port
        self._latency_ms = latency_ms
        self.outlook_batch_concurrency = outlook_batch_concurrency
        self._tallies: dict[str, _Tally] = {key: _Tally() for key in self.stores}
        self._count_lock = threading.Lock()
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests_served(self) -> int:
        """HTTP requests served so far, every tenant's (a ``$batch`` is one; stats requests are not counted)."""
        return sum(tally.served for tally in self._tallies.values())

    @property
    def operations(self) -> Counter[str]:
        """The request log: requests by operation (tally.operations), every tenant's."""
        total: Counter[str] = Counter()
        for tally in self._tallies.values():
            total.update(tally.operations)
        return total

    @property
    def latency_ms(self) -> int:
        """Per-request delay: the constructor's value when > 0, else the (first) tenant's settings."""
        return self._latency_of(self.store)

    def _latency_of(self, store: TenantStore) -> int:
        if self._latency_ms > 0:
            return self._latency_ms
        return int(store.data.get("settings", {}).get("latency_ms", 0) or 0)

    def stats(self) -> dict[str, object]:
        """``GET /_simulator/stats``: the totals, and with several tenants each one's under ``tenants``."""
        with self._count_lock:
            total = _Tally(self.requests_served, self.operations, sum(t.rounds for t in self._tallies.values()))
            body = total.stats()
            if len(self._tallies) > 1:
                body["tenants"] = {key: tally.stats() for key, tally in self._tallies.items()}
        return body

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _HttpServer(self._port, self)
        port = self._server.server_address[1]
        self.base_url = f"http://{HOST}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="tenant-simulator",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        for store in self.stores.values():
            store.close()  # fold the journal into the tenant file

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def tenant_of(self, request: HttpRequest) -> str:
        """The (lower-case) id of the tenant a request is for; the first tenant's when it names none it serves."""
        if len(self.stores) == 1:
            return next(iter(self.stores))
        named = token_tenant(request.headers.get("authorization", ""))
        if named is None:
            found = ADMIN_TENANT.match(request.path) or login.DISCOVERY.match(request.path)
            named = found.group(1) if found else None
            if named is not None and named.lower() not in self.stores:
                named = self._domains.get(named.lower())
        if named is not None and named.lower() in self.stores:
            return named.lower()
        return self.tenant_id.lower()

    def transport_fault(self, request: HttpRequest) -> JsonObject | None:
        """An injected transport fault for this request: a delay is served here, a drop is returned."""
        store = self.stores[self.tenant_of(request)]
        if request.path == STATS_PATH or not (store.faults or store.runtime_faults):
            return None  # the common case needs no lock
        with store.lock:
            rules = [*store.faults, *store.runtime_faults]
            ops = tuple(operations(request)) if any("operation" in rule for rule in rules) else ()  # parsed if asked
            fault = take_fault(store, request.method, request.path, layer="transport", operations=ops)
        if fault is not None and fault.get("delay_ms"):
            time.sleep(int(fault["delay_ms"]) / 1000)
        return fault

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Route one request by path prefix (called from the server's worker threads)."""
        if request.path == STATS_PATH and request.method == "GET":
            return _json_response(200, self.stats())
        key = self.tenant_of(request)
        store = self.stores[key]
        rounds = outlook.rounds(request, self.outlook_batch_concurrency)
        with self._count_lock:
            tally = self._tallies[key]
            tally.served += 1
            tally.operations.update(operations(request))
            tally.rounds += rounds
        latency = self._latency_of(store)
        if latency > 0:
            time.sleep(rounds * latency / 1000)
        ctx = SimContext(store, self.base_url)
        if login.matches(request):
            return login.openid_configuration(ctx, request)
        for prefix, handler in PROTOCOL_HANDLERS.items():
            if request.path == prefix or request.path.startswith(prefix + "/"):
                return handler(ctx, request)
        message = f"No simulated service at '{request.path}'."
        return _json_response(404, {"error": {"code": "NotFound", "message": message}})
