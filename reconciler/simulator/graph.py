"""Microsoft Graph v1.0 front door: bearer tokens, injected faults, the route table and ``$batch``.

Everything under ``/v1.0`` arrives at :func:`handle_http`. One request runs under the tenant
lock; if it changed the tenant (a successful POST/PATCH/PUT/DELETE, or a fault whose ``times``
was decremented) the change is saved (one journal line, :mod:`reconciler.simulator.store`) before the
response is sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from reconciler.simulator import graph_calendar as calendar
from reconciler.simulator import graph_places as places
from reconciler.simulator import graph_users as users
from reconciler.simulator.faults import retry_after, take_fault
from reconciler.simulator.graph_common import (
    MUTATING,
    GraphError,
    GraphRequest,
    GraphResult,
    encode,
    error_result,
    result_headers,
)
from reconciler.simulator.store import TenantStore
from reconciler.simulator.tokens import Caller, TokenError, decode_token
from reconciler.simulator.wire import HttpRequest, HttpResponse, SimContext

JsonObject = dict[str, Any]
Handler = Callable[[GraphRequest, dict[str, str]], GraphResult]

PREFIX = "/v1.0"
MAX_BATCH = 20  # https://learn.microsoft.com/en-us/graph/json-batching#batch-size-limitations

_KEY = r"(?P<key>[^/]+)"
_PERMS = rf"^/users/{_KEY}/calendar/calendarPermissions"
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(pattern, re.IGNORECASE), handler)
    for method, pattern, handler in (
        ("POST", r"^/users$", users.create_user),
        ("GET", r"^/users$", users.list_users),
        ("GET", rf"^/users/{_KEY}$", users.get_user),
        ("PATCH", rf"^/users/{_KEY}$", users.update_user),
        ("DELETE", rf"^/users/{_KEY}$", users.delete_user),
        ("POST", rf"^/users/{_KEY}/assignLicense$", users.assign_license),
        ("GET", rf"^/users/{_KEY}/licenseDetails$", users.list_license_details),
        ("GET", r"^/subscribedSkus$", users.list_subscribed_skus),
        ("GET", rf"^/subscribedSkus/{_KEY}$", users.get_subscribed_sku),
        ("GET", rf"^/users/{_KEY}/calendar$", calendar.get_calendar),
        ("GET", rf"{_PERMS}$", calendar.list_permissions),
        ("POST", rf"{_PERMS}$", calendar.create_permission),
        ("GET", rf"{_PERMS}/(?P<perm>[^/]+)$", calendar.get_permission),
        ("PATCH", rf"{_PERMS}/(?P<perm>[^/]+)$", calendar.update_permission),
        ("DELETE", rf"{_PERMS}/(?P<perm>[^/]+)$", calendar.delete_permission),
        ("GET", r"^/places/microsoft\.graph\.roomlist$", places.list_room_lists),
        ("GET", r"^/places/microsoft\.graph\.room$", places.list_rooms),
        ("GET", rf"^/places/{_KEY}/microsoft\.graph\.roomlist/rooms$", places.list_rooms_in_list),
        ("GET", rf"^/places/{_KEY}$", places.get_place),
        ("PATCH", rf"^/places/{_KEY}$", places.update_place),
        ("GET", r"^/organization$", users.list_organization),
        ("GET", rf"^/organization/{_KEY}$", users.get_organization),
        ("GET", r"^/servicePrincipals\(appId=(?P<key>[^)]+)\)$", calendar.get_service_principal_by_app_id),
        ("GET", r"^/servicePrincipals$", calendar.list_service_principals),
        ("GET", rf"^/servicePrincipals/{_KEY}/appRoleAssignments$", calendar.list_app_role_assignments),
        (
            "DELETE",
            rf"^/servicePrincipals/{_KEY}/appRoleAssignments/(?P<assignment>[^/]+)$",
            calendar.delete_app_role_assignment,
        ),
    )
]

# Bodies for injected faults (https://learn.microsoft.com/en-us/graph/errors,
# https://learn.microsoft.com/en-us/graph/throttling).
FAULT_ERRORS: dict[int, tuple[str, str]] = {
    429: ("TooManyRequests", "Too many requests. Retry after the delay given in the Retry-After header."),
    500: ("generalException", "An unspecified error has occurred."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please retry after a delay."),
}


# --- authentication --------------------------------------------------------------------------


def authenticate(store: TenantStore, headers: dict[str, str]) -> Caller:
    """The caller named by ``Authorization: Bearer <token>``, or a 401 Graph error.

    https://learn.microsoft.com/en-us/graph/auth/auth-concepts (Authorization header on every call)
    """
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        return decode_token(token.strip(), str(store.tenant["id"]))
    except TokenError as exc:
        raise GraphError(401, "InvalidAuthenticationToken", f"Access token validation failure ({exc}).") from exc


# --- faults (rules in reconciler.simulator.faults) -----------------------------------------


def fault_error(fault: JsonObject) -> GraphError:
    status = int(fault.get("status", 503))
    code, message = FAULT_ERRORS.get(status, ("generalException", "An unspecified error has occurred."))
    headers = {}
    if status in (429, 503):
        headers["Retry-After"] = retry_after(fault)
    return GraphError(status, str(fault.get("code", code)), str(fault.get("message", message)), headers=headers)


# --- routing ---------------------------------------------------------------------------------


def _method_not_allowed() -> GraphError:
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def _segment_error(path: str) -> GraphError:
    segments = [s for s in path.split("/") if s]
    known = {"users", "subscribedskus", "places", "serviceprincipals", "organization"}
    bad = next((s for s in segments if s.lower() not in known), segments[-1] if segments else "")
    if segments and segments[0].lower() in known and len(segments) > 2:
        bad = segments[2]
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{bad}'.")


def route(req: GraphRequest) -> GraphResult:
    path_matched = False
    for method, pattern, handler in ROUTES:
        match = pattern.match(req.path)
        if not match:
            continue
        path_matched = True
        if method == req.method:
            return handler(req, {k: unquote(v) for k, v in match.groupdict().items()})
    if path_matched:
        raise _method_not_allowed()
    raise _segment_error(req.path)


def execute(req: GraphRequest, *, top_level: bool) -> tuple[GraphResult, bool]:
    """Run one Graph call. Returns the result and whether the tenant changed."""
    fault = take_fault(req.store, req.method, PREFIX + req.path)  # rules match /v1.0/x and /x
    if fault is not None:
        return error_result(fault_error(fault), req.request_id, req.client_request_id), True
    try:
        if req.path.lower() == "/$batch":
            if not top_level:
                raise GraphError(400, "BadRequest", "Nested batch requests are not supported.")
            if req.method != "POST":
                raise _method_not_allowed()
            return run_batch(req)
        result = route(req)
    except GraphError as error:
        return error_result(error, req.request_id, req.client_request_id), False
    return result, req.method in MUTATING and result.status < 400


# --- $batch (https://learn.microsoft.com/en-us/graph/json-batching) --------------------------


def _batch_error(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _parse_batch(req: GraphRequest) -> list[JsonObject]:
    body = req.body
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise _batch_error("Invalid batch payload format: a 'requests' array of objects is required.")
    if len(requests) > MAX_BATCH:
        raise _batch_error(f"Number of requests in the batch ({len(requests)}) exceeds the limit of {MAX_BATCH}.")
    ids = [str(r.get("id", "")).lower() for r in requests]
    if "" in ids or len(set(ids)) != len(ids):
        raise _batch_error("Batch request ids must be present and unique within the batch.")
    seen: set[str] = set()
    for item in requests:
        if not item.get("method") or not item.get("url"):
            raise _batch_error(f"Batch request '{item.get('id')}' needs both 'method' and 'url'.")
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(str(d).lower() not in seen for d in depends):
            raise _batch_error(f"Request '{item['id']}' may only depend on requests listed before it.")
        seen.add(str(item["id"]).lower())
    return requests


def _inner_body(item: JsonObject, headers: dict[str, str]) -> Any:
    body = item.get("body")
    if body is None:
        return None
    if "content-type" not in headers:
        raise GraphError(400, "BadRequest", "A Content-Type header is required when a body is specified.")
    if isinstance(body, str):  # a base64 encoded body
        try:
            return json.loads(base64.b64decode(body))
        except (binascii.Error, ValueError):
            return body
    return body


def _inner_request(outer: GraphRequest, item: JsonObject) -> GraphRequest:
    url = str(item["url"])
    parts = urlsplit(url if url.startswith("/") else "/" + url)
    path = unquote(parts.path)  # relative to the version root: "/users", not "/v1.0/users"
    raw_headers = item.get("headers") or {}
    headers = {str(k).lower(): str(v) for k, v in raw_headers.items()} if isinstance(raw_headers, dict) else {}
    request_id = str(uuid.uuid4())
    return replace(
        outer,
        method=str(item["method"]).upper(),
        path=path,
        query=parse_query(parts.query),
        headers=headers,
        body=_inner_body(item, headers),
        request_id=request_id,
        client_request_id=headers.get("client-request-id", request_id),
    )


def _run_item(outer: GraphRequest, item: JsonObject, statuses: dict[str, int]) -> tuple[GraphResult, bool]:
    request_id = str(uuid.uuid4())
    depends = item.get("dependsOn") or []
    for dep in depends:
        if statuses[str(dep).lower()] >= 400:
            error = GraphError(424, "FailedDependency", f"The request depends on request '{dep}', which failed.")
            return error_result(error, request_id, request_id), False
    try:
        inner = _inner_request(outer, item)
    except GraphError as error:
        return error_result(error, request_id, request_id), False
    return execute(inner, top_level=False)


def _response_item(item_id: str, result: GraphResult) -> JsonObject:
    entry: JsonObject = {"id": item_id, "status": result.status, "headers": result_headers(result)}
    if result.body is not None:
        entry["body"] = result.body
    return entry


def run_batch(req: GraphRequest) -> tuple[GraphResult, bool]:
    """Run every inner request through the same handlers, rules and faults."""
    items = _parse_batch(req)
    statuses: dict[str, int] = {}
    responses: list[JsonObject] = []
    dirty = False
    for item in items:
        result, changed = _run_item(req, item, statuses)
        dirty = dirty or changed
        statuses[str(item["id"]).lower()] = result.status
        responses.append(_response_item(str(item["id"]), result))
    return GraphResult(200, {"responses": responses}), dirty


# --- HTTP entry point ------------------------------------------------------------------------


def parse_query(query: str) -> dict[str, str]:
    """Query parameters (percent-decoded, keys lower-cased; the first value wins)."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key.lower(), value)
    return params


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set "
            "and payload is of valid JSON format.",
        ) from exc


def _to_http(result: GraphResult, request_id: str, client_request_id: str) -> HttpResponse:
    headers = result_headers(result)
    headers.update({"request-id": request_id, "client-request-id": client_request_id})
    body = encode(result.body) if result.body is not None else b""
    return HttpResponse(result.status, headers, body)


def _serve(ctx: SimContext, http: HttpRequest, request_id: str, client_request_id: str) -> tuple[GraphResult, bool]:
    store = ctx.store
    try:
        caller = authenticate(store, http.headers)
        req = GraphRequest(
            method=http.method.upper(),
            path=unquote(http.path[len(PREFIX) :]) or "/",
            query=parse_query(http.query),
            headers=http.headers,
            body=_parse_body(http.body),
            caller=caller,
            store=store,
            base_url=ctx.base_url,
            request_id=request_id,
            client_request_id=client_request_id,
        )
    except GraphError as error:
        return error_result(error, request_id, client_request_id), False
    return execute(req, top_level=True)


def handle_http(ctx: SimContext, http: HttpRequest) -> HttpResponse:
    """Serve one HTTP request whose path starts with ``/v1.0``."""
    request_id = str(uuid.uuid4())
    client_request_id = http.headers.get("client-request-id", request_id)
    with ctx.store.lock:
        try:
            result, dirty = _serve(ctx, http, request_id, client_request_id)
        except GraphError as error:  # batch-level errors raised from run_batch
            result, dirty = error_result(error, request_id, client_request_id), False
        if dirty:
            ctx.store.save()
    return _to_http(result, request_id, client_request_id)
