"""The wire answers of one run, as the clients received them: what `sim snapshot` and `sim compare` work from.

A `Recorder` given to `connect()` sees every HTTP answer of the three clients: Graph (an httpx event hook on
msgraph-sdk's client; a `$batch` answer is split into its inner requests), the Exchange admin API (an httpx
event hook) and EWS (a requests response hook on exchangelib's sessions). Each answer is kept as one `Read`:
the request that asked (its `key`, independent of the host, so the same read of two tenants has the same key),
its HTTP status and its parsed body (JSON; EWS answers are XML text). Nothing here changes a request.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

# Query options that only say which page: two tenants page the same read with different tokens
PAGE_OPTIONS = frozenset({"$skiptoken", "$skip", "skiptoken", "$top"})


@dataclass(frozen=True)
class Read:
    """One answer: `protocol` graph | exchange | ews, `operation` (GET /users/{id}, a cmdlet, an EWS operation),
    `key` (the request without host or page token), `page` (0 for the first answer to the key), status, body."""

    protocol: str
    method: str
    operation: str
    key: str
    page: int
    status: int
    body: Any
    request: Any = None  # the parsed request body (cmdlet parameters, the EWS request text), for the snapshot

    def to_json(self) -> dict[str, Any]:
        """The read as JSON-ready data (the bodies as received, not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Recorder:
    reads: list[Read] = field(default_factory=list)
    _pages: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, protocol: str, method: str, operation: str, key: str, status: int, body: Any, request: Any) -> None:
        with self._lock:
            page = self._pages.get(key, -1) + 1
            self._pages[key] = page
            self.reads.append(Read(protocol, method, operation, key, page, status, body, request))

    # -- Graph (httpx.AsyncClient event hook) ----------------------------------------------------
    async def graph_response(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        path = graph_path(str(request.url))
        body = _json(response.content)
        if path == "/$batch" and request.method == "POST":
            self._graph_batch(_json(request.content), body)
            return
        self.add(
            "graph",
            request.method,
            graph_operation(request.method, path),
            _graph_key(request.method, path),
            response.status_code,
            body,
            _json(request.content) if request.content else None,
        )

    def _graph_batch(self, sent: Any, answered: Any) -> None:
        asked = {str(r.get("id")): r for r in (sent or {}).get("requests", []) if isinstance(r, dict)}
        for inner in (answered or {}).get("responses", []) if isinstance(answered, dict) else []:
            request = asked.get(str(inner.get("id")), {})
            method, path = str(request.get("method", "GET")), "/" + str(request.get("url", "")).lstrip("/")
            self.add(
                "graph",
                method,
                graph_operation(method, path),
                _graph_key(method, path),
                int(inner.get("status", 0)),
                inner.get("body"),
                request.get("body"),
            )

    # -- the Exchange admin API (httpx.Client event hook) ------------------------------------------
    def exchange_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        sent = _json(request.content) or {}
        cmdlet_input = sent.get("CmdletInput", {}) if isinstance(sent, dict) else {}
        cmdlet = str(cmdlet_input.get("CmdletName", ""))
        parameters = cmdlet_input.get("Parameters", {})
        query = _without_paging(urlsplit(str(request.url)).query)
        key = f"{cmdlet} {json.dumps(parameters, sort_keys=True)}" + (f" ?{query}" if query else "")
        self.add(
            "exchange",
            request.method,
            cmdlet,
            key,
            response.status_code,
            _json(response.content),
            {"cmdlet": cmdlet, "parameters": parameters},
        )

    # -- EWS (requests response hook on exchangelib's sessions) --------------------------------------
    def ews_hook(self, account: str) -> Callable[..., None]:
        """The response hook of the sessions that sign in as `account` (its logon name, never its password)."""

        def hook(response: Any, *args: Any, **kwargs: Any) -> None:
            sent = response.request.body or b""
            text = sent.decode("utf-8", "replace") if isinstance(sent, bytes) else str(sent)
            self.add(
                "ews",
                str(response.request.method),
                ews_operation(text),
                f"{ews_key(text)} by {account.lower()}",
                int(response.status_code),
                response.content.decode("utf-8", "replace"),
                {"account": account.lower(), "soap": text},
            )

        return hook


def graph_path(url: str) -> str:
    """The path after /v1.0 with its query, as the key of a Graph read."""
    parts = urlsplit(url)
    path = parts.path.split("/v1.0", 1)[-1] or "/"
    return path + (f"?{parts.query}" if parts.query else "")


def graph_operation(method: str, path: str) -> str:
    """GET /users/{id}/calendar/calendarPermissions: the path with object names replaced, for the report."""
    bare = path.split("?", 1)[0]
    segments = [s for s in bare.split("/") if s]
    named = []
    for i, segment in enumerate(segments):
        previous = segments[i - 1] if i else ""
        named.append("{id}" if previous in ("users", "calendarPermissions", "places", "groups") else segment)
    named = [re.sub(r"\(appId='[^']*'\)", "(appId='{appId}')", s) for s in named]
    return f"{method} /" + "/".join(named)


def _graph_key(method: str, path: str) -> str:
    bare, _, query = path.partition("?")
    query = _without_paging(query)
    return f"{method} {bare.lower()}" + (f"?{query}" if query else "")


def _without_paging(query: str) -> str:
    return urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in PAGE_OPTIONS])


def ews_operation(text: str) -> str:
    """The EWS operation of a SOAP request: the first element inside soap:Body (GetFolder, ResolveNames, ...)."""
    found = re.search(r"<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)", text)
    return found.group(1) if found else "?"


def ews_key(text: str) -> str:
    """The request without what differs between two servers: the SOAP header (version) and whitespace."""
    body = re.search(r"<(?:\w+:)?Body[^>]*>(.*)</(?:\w+:)?Body>", text, re.S)
    mailbox = re.search(r"<(?:\w+:)?PrimarySmtpAddress>([^<]*)<", text)
    acting = f" as {mailbox.group(1).lower()}" if mailbox else ""
    return re.sub(r"\s+", " ", body.group(1) if body else text).strip() + acting


def _json(raw: bytes | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
