"""Types and helpers every Graph handler shares: the request, the result, the error.

Error body shape, from https://learn.microsoft.com/en-us/graph/errors::

    {"error": {"code": "...", "message": "...",
               "innerError": {"date": "...", "request-id": "...", "client-request-id": "..."}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.simulator.store import TenantStore
from reconciler.simulator.tokens import Caller

JsonObject = dict[str, Any]

ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class GraphError(Exception):
    """Raised by handlers; turned into the Graph error body with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[JsonObject] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


@dataclass
class GraphRequest:
    """One Graph call (a top-level request or one inside ``$batch``)."""

    method: str
    path: str  # after /v1.0, e.g. "/users/x"; URL-decoded
    query: dict[str, str]  # keys lower-cased
    headers: dict[str, str]  # keys lower-cased
    body: Any  # parsed JSON, or None when there was no body
    caller: Caller
    store: TenantStore
    base_url: str  # "http://127.0.0.1:<port>"
    request_id: str
    client_request_id: str

    @property
    def service_root(self) -> str:
        return f"{self.base_url}/v1.0"

    def context(self, fragment: str) -> str:
        """An ``@odata.context`` value, e.g. ``context("users/$entity")``."""
        return f"{self.service_root}/$metadata#{fragment}"


@dataclass
class GraphResult:
    """A handler's answer: status, JSON body (None for no body) and extra headers."""

    status: int
    body: JsonObject | None = None
    headers: dict[str, str] = field(default_factory=dict)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error_result(error: GraphError, request_id: str, client_request_id: str) -> GraphResult:
    """The Graph error body for ``error``, plus its extra headers (e.g. Retry-After)."""
    payload: JsonObject = {"code": error.code, "message": error.message}
    if error.details:
        payload["details"] = error.details
    payload["innerError"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id,
    }
    return GraphResult(error.status, {"error": payload}, dict(error.headers))


def result_headers(result: GraphResult) -> dict[str, str]:
    """Content headers a Graph response carries (also used for responses inside ``$batch``)."""
    headers = {"Cache-Control": "no-cache"}
    if result.body is not None:
        is_error = result.status >= 400
        headers["Content-Type"] = "application/json" if is_error else ODATA_JSON
        if not is_error:
            headers["OData-Version"] = "4.0"
    headers.update(result.headers)
    return headers


def encode(body: JsonObject) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def json_object_body(req: GraphRequest) -> JsonObject:
    """The request body as a JSON object, or the 400 Graph answers for an empty payload."""
    if req.body is None:
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    if not isinstance(req.body, dict):
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set "
            "and payload is of valid JSON format.",
        )
    return req.body
