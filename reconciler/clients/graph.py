"""Microsoft Graph through msgraph-sdk's GraphServiceClient.

One code path for every tenant: only the base URL and the credential differ between a real
tenant and the simulator. The SDK's default middleware (retry with Retry-After, redirects) is
kept. The SDK is async; this adapter owns one event loop and exposes plain methods, so the
engine stays synchronous (async lives only inside clients/).

Failures become ClientError naming the call and carrying Graph's own error code and message.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote as _quote
from urllib.parse import urlparse
from uuid import UUID

from reconciler.clients.tls import tls_context
from reconciler.errors import ClientError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from kiota_abstractions.serialization import Parsable
    from msgraph.graph_service_client import GraphServiceClient

    from reconciler.clients.recorder import Recorder

T = TypeVar("T")
Answered = Callable[[int], None]  # told how many more requests of a $batch run have their answer (progress)
Stopping = Callable[[], bool]  # True once the run was interrupted: no further $batch is sent


def quote(segment: str) -> str:
    """A path segment as Graph expects it (UPNs keep their @)."""
    return _quote(segment, safe="@'=()")


BATCH_SIZE = 20  # Graph's limit per $batch
BATCH_RETRIES = 4
DEFAULT_PARALLELISM = 8  # batches in flight; a batch holds 20 different mailboxes (Outlook: 4 per mailbox)
RETRYABLE = {429, 503, 504}
# A dropped connection or a timeout is retried (tenacity; the SDK's RetryHandler only sees answers) when
# repeating the request cannot do anything twice: reads and idempotent writes, or a request never sent.
IDEMPOTENT = frozenset({"GET", "PUT", "PATCH", "DELETE"})
TRANSPORT_ATTEMPTS = 5
TRANSPORT_SECONDS = 60.0


@dataclass(frozen=True)
class BatchRequest:
    """One inner request of a `$batch`: method, URL relative to the version root, optional JSON body."""

    method: str
    url: str
    body: dict[str, Any] | None = None

    def wire(self, request_id: str) -> dict[str, Any]:
        item: dict[str, Any] = {"id": request_id, "method": self.method, "url": self.url}
        if self.body is not None:
            item["body"] = self.body
            item["headers"] = {"Content-Type": "application/json"}
        return item


@dataclass(frozen=True)
class BatchResult:
    """One inner response of a `$batch`."""

    status: int
    body: dict[str, Any]
    retry_after: float = 0.0

    @classmethod
    def from_wire(cls, response: dict[str, Any]) -> BatchResult:
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        body = response.get("body") if isinstance(response.get("body"), dict) else {}
        try:
            retry = float(headers.get("retry-after", 1))
        except ValueError:
            retry = 1.0
        return cls(int(response.get("status", 500)), body or {}, retry)

    @property
    def sent(self) -> bool:
        """False for a request never sent: the run was interrupted before its `$batch` went out (NOT_SENT)."""
        return self.status != 0

    @property
    def error(self) -> str:
        error = self.body.get("error", {})
        return f"{error.get('code', self.status)}: {error.get('message', '')}"

    def client_error(self, what: str) -> ClientError:
        """This failed answer as a ClientError naming the call (`METHOD /path ...`) and, on 401/403, the
        application permission reconciler's app lacks for it."""
        detail = f"Graph said {self.error}"
        if self.status in (401, 403):
            detail += f"; {missing_permission(what)}"
        return ClientError(f"{what} failed (in $batch)", detail, self.status)


NOT_SENT = BatchResult(0, {})

USER_SELECT = [
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mailNickname",
    "accountEnabled",
    "usageLocation",
    "assignedLicenses",
    "passwordProfile",  # returned only on $select: forceChangePasswordNextSignIn (its password is always null)
]


class GraphClient:
    """The Graph calls reconciler makes, each a method named for what it does in the directory.

    Every request goes through msgraph-sdk's request adapter (azure-identity auth, retry with
    Retry-After, redirects); request bodies are the SDK's models. Responses are read as JSON rather
    than SDK models: the SDK's Entity deserializer imports every one of its ~1,500 model modules on
    first use (about 2.5 s), which a drift check on a schedule should not pay.
    """

    def __init__(
        self, base_url: str, credential: TokenCredential, scope: str, recorder: Recorder | None = None
    ) -> None:
        # Import the SDK (about 0.3 s of CPU) while the run waits on its first network round trips.
        threading.Thread(target=_import_sdk, name="graph-sdk-import", daemon=True).start()
        self.base_url = base_url.rstrip("/")
        self._credential = credential
        self._scope = scope
        self._recorder = recorder  # sees every answer (`sim snapshot`, `sim compare`)
        self._loop = asyncio.new_event_loop()
        self._lock = threading.RLock()  # one call at a time on the loop (resolve's look-ups run in threads)
        self._client: GraphServiceClient | None = None
        self._skus: list[dict[str, Any]] | None = None
        self._users: dict[str, dict[str, Any] | None] = {}

    # -- plumbing -------------------------------------------------------------------------
    @property
    def sdk(self) -> GraphServiceClient:
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    def _build(self) -> GraphServiceClient:
        import httpx

        _absent_sniffio_known()
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory
        from msgraph_core.authentication import AzureIdentityAuthenticationProvider

        host = urlparse(self.base_url).hostname or ""
        auth = AzureIdentityAuthenticationProvider(self._credential, scopes=[self._scope], allowed_hosts=[host])
        # no pool cap of its own: `--parallelism` (the batches in flight) is the bound, and --parallelism 40 must get 40
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(
                base_url=f"{self.base_url}/v1.0", timeout=httpx.Timeout(60.0), limits=limits, verify=tls_context()
            )
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = f"{self.base_url}/v1.0"
        if self._recorder is not None:  # sees every answer, after the SDK's retries (`sim snapshot`, `sim compare`)
            http.event_hooks["response"].append(self._recorder.graph_response)
        return GraphServiceClient(request_adapter=adapter)

    def _run(self, what: str, call: Awaitable[T]) -> T:
        try:
            with self._lock:
                return self._loop.run_until_complete(call)
        except Exception as exc:
            raise _client_error(what, exc) from None

    def close(self) -> None:
        if not self._lock.acquire(blocking=False):  # a resolve thread is mid-call (an interrupt ends the run): leave it
            return
        try:
            if self._client is not None:
                http = self._client.request_adapter._http_client  # type: ignore[attr-defined]
                self._loop.run_until_complete(http.aclose())
            self._loop.close()
        finally:
            self._lock.release()

    async def _send(
        self,
        method: str,
        path: str,
        body: Parsable | dict[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """One request; a dropped connection or timeout is retried with jittered back-off when that is safe."""
        from tenacity import (
            AsyncRetrying,
            retry_if_exception,
            stop_after_attempt,
            stop_after_delay,
            wait_exponential_jitter,
        )

        safe = method in IDEMPOTENT if idempotent is None else idempotent
        retrying = AsyncRetrying(
            stop=stop_after_attempt(TRANSPORT_ATTEMPTS) | stop_after_delay(TRANSPORT_SECONDS),
            wait=wait_exponential_jitter(multiplier=0.2, max=5),
            retry=retry_if_exception(lambda exc: _may_resend(exc, safe)),
            reraise=True,
        )
        answer: dict[str, Any] = {}
        async for attempt in retrying:
            with attempt:
                answer = await self._send_once(method, path, body)
        return answer

    async def _send_once(self, method: str, path: str, body: Parsable | dict[str, Any] | None = None) -> dict[str, Any]:
        """One request through the SDK's pipeline; the JSON answer ({} for 204 No Content)."""
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        info = RequestInformation(Method[method])
        info.url = f"{self.base_url}/v1.0{path}"
        info.headers.try_add("Accept", "application/json")
        if isinstance(body, dict):
            info.set_stream_content(json.dumps(body).encode(), "application/json")
        elif body is not None:
            info.set_content_from_parsable(self.sdk.request_adapter, "application/json", body)
        raw: bytes | None = await self.sdk.request_adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})
        return json.loads(raw) if raw else {}

    def _call(
        self, method: str, path: str, body: Parsable | dict[str, Any] | None = None, what: str = ""
    ) -> dict[str, Any]:
        return self._run(what or f"{method} {path}", self._send(method, path, body))

    def _get_or_none(self, path: str) -> dict[str, Any] | None:
        """GET, or None when Graph answers 404 (the object does not exist)."""
        try:
            return self._call("GET", path)
        except ClientError as exc:
            if exc.status == 404:
                return None
            raise

    def _get_all(self, path: str) -> list[dict[str, Any]] | None:
        """Every page of a collection (following @odata.nextLink); None when its parent does not exist."""
        page = self._get_or_none(path)
        if page is None:
            return None
        items = list(page.get("value", []))
        while page.get("@odata.nextLink"):
            next_path = str(page["@odata.nextLink"]).split("/v1.0", 1)[1]
            page = self._call("GET", next_path)
            items += page.get("value", [])
        return items

    # -- JSON batching ----------------------------------------------------------------------
    def batch_get(
        self, paths: list[str], parallelism: int = DEFAULT_PARALLELISM, answered: Answered | None = None
    ) -> dict[str, BatchResult]:
        """GET many relative paths through `$batch`; the answer for each path."""
        unique = list(dict.fromkeys(paths))
        answers = self.batch([BatchRequest("GET", path) for path in unique], parallelism, answered)
        return dict(zip(unique, answers, strict=True))

    def batch(
        self,
        requests: list[BatchRequest],
        parallelism: int = DEFAULT_PARALLELISM,
        answered: Answered | None = None,
        stopping: Stopping | None = None,
    ) -> list[BatchResult]:
        """Send many requests through `$batch`, 20 per batch, `parallelism` batches in flight; answers in order.

        Each inner response has its own status: a throttled item (429/503/504) is retried alone after its
        Retry-After; a 404 is an answer (the object is absent); any other error fails only its own item.
        Once `stopping()`, batches not sent yet are not sent: their requests are answered NOT_SENT.
        https://learn.microsoft.com/en-us/graph/json-batching
        """
        return self._run("POST /$batch", self._batch_all(requests, parallelism, answered, stopping))

    async def _batch_all(
        self,
        requests: list[BatchRequest],
        parallelism: int,
        answered: Answered | None = None,
        stopping: Stopping | None = None,
    ) -> list[BatchResult]:
        results: dict[int, BatchResult] = {}
        pending = list(range(len(requests)))
        limit = asyncio.Semaphore(max(1, parallelism))
        for attempt in range(BATCH_RETRIES + 1):
            chunks = [pending[i : i + BATCH_SIZE] for i in range(0, len(pending), BATCH_SIZE)]
            report = answered if attempt == 0 else None  # each request is counted once, when first answered
            answers = await asyncio.gather(
                *(self._batch_one(requests, chunk, limit, report, stopping) for chunk in chunks)
            )
            pending, wait = [], 0.0
            for answer in answers:
                for index, result in answer.items():
                    if result.status in RETRYABLE and attempt < BATCH_RETRIES:
                        pending.append(index)
                        wait = max(wait, result.retry_after)
                    else:
                        results[index] = result
            if not pending:
                break
            await asyncio.sleep(wait)
        return [results[i] for i in range(len(requests))]

    async def _batch_one(
        self,
        requests: list[BatchRequest],
        indexes: list[int],
        limit: asyncio.Semaphore,
        answered: Answered | None = None,
        stopping: Stopping | None = None,
    ) -> dict[int, BatchResult]:
        body = {"requests": [requests[i].wire(str(i)) for i in indexes]}
        idempotent = all(requests[i].method in IDEMPOTENT for i in indexes)
        async with limit:
            if stopping is not None and stopping():
                return dict.fromkeys(indexes, NOT_SENT)
            answer = await self._send("POST", "/$batch", body, idempotent)
        if answered is not None:
            answered(len(indexes))
        return {int(r["id"]): BatchResult.from_wire(r) for r in answer.get("responses", [])}

    # -- users ----------------------------------------------------------------------------
    def get_user(self, user: str) -> dict[str, Any] | None:
        """GET /users/{id | userPrincipalName}?$select=...; None when the user does not exist (404).

        Read once per run (the user and its license kinds both need it); any write forgets it.
        """
        key = user.lower()
        with self._lock:  # kinds read side by side: the second asker waits for the first answer, not a second GET
            if key not in self._users:
                self._users[key] = self._get_or_none(f"/users/{quote(user)}?$select={','.join(USER_SELECT)}")
            return self._users[key]

    def create_user(self, properties: dict[str, Any], password: str, force_change: bool) -> dict[str, Any]:
        """POST /users."""
        from msgraph.generated.models.password_profile import PasswordProfile
        from msgraph.generated.models.user import User

        body = User(**properties)
        body.password_profile = PasswordProfile(password=password, force_change_password_next_sign_in=force_change)
        self._users.clear()
        return self._call("POST", "/users", body, what=f"POST /users ({properties.get('user_principal_name')})")

    def update_user(
        self, user_id: str, properties: dict[str, Any], password: str | None = None, force_change: bool | None = None
    ) -> None:
        """PATCH /users/{id} (Graph answers 204 No Content); with `password`, its passwordProfile too (Microsoft's
        example updates passwordProfile with the password and forceChangePasswordNextSignIn together).
        https://learn.microsoft.com/en-us/graph/api/user-update"""
        from msgraph.generated.models.password_profile import PasswordProfile
        from msgraph.generated.models.user import User

        body = User(**properties)
        if password is not None:
            body.password_profile = PasswordProfile(password=password, force_change_password_next_sign_in=force_change)
        self._users.clear()
        self._call("PATCH", f"/users/{quote(user_id)}", body)

    def delete_user(self, user_id: str) -> None:
        """DELETE /users/{id} (to the deleted items, restorable for 30 days)."""
        self._users.clear()
        self._call("DELETE", f"/users/{quote(user_id)}")

    # -- enterprise apps --------------------------------------------------------------------
    def service_principal_object_id(self, app_id: str) -> str | None:
        """GET /servicePrincipals(appId='{appId}'): the enterprise app's object id, None when not consented."""
        found = self._get_or_none(f"/servicePrincipals(appId='{quote(app_id)}')?$select=id,appId")
        return str(found["id"]) if found else None

    def app_permissions(self, app_id: str) -> list[str] | None:
        """The Microsoft Graph calendar application permissions an admin consented for the app (Entra ID), by name;
        None when the app has no enterprise application in the tenant.

        GET /servicePrincipals/{id}/appRoleAssignments (serviceprincipal-list-approleassignments: the app roles granted
        to the service principal); the ids are Microsoft Graph's (permissions-reference)."""
        found = self.mailbox_consents(app_id)
        return None if found is None else sorted({MAILBOX_APP_ROLES[str(r["appRoleId"])] for r in found})

    def mailbox_consents(self, app_id: str) -> list[dict[str, Any]] | None:
        """The app's app role assignments (Entra ID admin consent) for a permission that opens calendars (Microsoft
        Graph's Calendars.*, Exchange's EWS full_access_as_app), whole; None when the app has no enterprise
        application in the tenant.

        GET /servicePrincipals(appId='{appId}'), then GET /servicePrincipals/{id}/appRoleAssignments
        (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments)."""
        object_id = self.service_principal_object_id(app_id)
        if object_id is None:
            return None
        rows = self._get_all(f"/servicePrincipals/{quote(object_id)}/appRoleAssignments") or []
        return [r for r in rows if str(r.get("appRoleId")) in MAILBOX_APP_ROLES]

    # -- calendars --------------------------------------------------------------------------
    def get_calendar(self, mailbox: str) -> None:
        """GET /users/{id}/calendar: can this app open the mailbox's Calendar folder?"""
        self._call("GET", f"/users/{quote(mailbox)}/calendar?$select=id")

    def calendar_permissions(self, mailbox: str) -> list[dict[str, Any]] | None:
        """GET /users/{id}/calendar/calendarPermissions; None when the mailbox does not exist."""
        return self._get_all(f"/users/{quote(mailbox)}/calendar/calendarPermissions")

    def add_calendar_permission(self, mailbox: str, grantee: str, role: str) -> dict[str, Any]:
        """POST /users/{id}/calendar/calendarPermissions."""
        from msgraph.generated.models.calendar_permission import CalendarPermission
        from msgraph.generated.models.calendar_role_type import CalendarRoleType
        from msgraph.generated.models.email_address import EmailAddress

        body = CalendarPermission(
            email_address=EmailAddress(address=grantee),
            role=CalendarRoleType(role),
            is_inside_organization=True,
            is_removable=True,
        )
        path = f"/users/{quote(mailbox)}/calendar/calendarPermissions"
        return self._call("POST", path, body, what=f"POST {path} ({grantee})")

    def set_calendar_permission_role(self, mailbox: str, permission_id: str, role: str) -> None:
        """PATCH /users/{id}/calendar/calendarPermissions/{id}: only the role can change, in place."""
        from msgraph.generated.models.calendar_permission import CalendarPermission
        from msgraph.generated.models.calendar_role_type import CalendarRoleType

        path = f"/users/{quote(mailbox)}/calendar/calendarPermissions/{quote(permission_id)}"
        self._call("PATCH", path, CalendarPermission(role=CalendarRoleType(role)))

    def delete_calendar_permission(self, mailbox: str, permission_id: str) -> None:
        """DELETE /users/{id}/calendar/calendarPermissions/{id}."""
        self._call("DELETE", f"/users/{quote(mailbox)}/calendar/calendarPermissions/{quote(permission_id)}")

    # -- licenses -------------------------------------------------------------------------
    def subscribed_skus(self) -> list[dict[str, Any]]:
        """GET /subscribedSkus, read once per run (skuId <-> skuPartNumber)."""
        if self._skus is None:
            self._skus = self._get_all("/subscribedSkus?$select=skuId,skuPartNumber") or []
        return self._skus

    def assign_license(self, user: str, add: list[UUID], remove: list[UUID]) -> None:
        """POST /users/{id}/assignLicense."""
        from msgraph.generated.models.assigned_license import AssignedLicense
        from msgraph.generated.users.item.assign_license.assign_license_post_request_body import (
            AssignLicensePostRequestBody,
        )

        body = AssignLicensePostRequestBody(
            add_licenses=[AssignedLicense(sku_id=sku, disabled_plans=[]) for sku in add],
            remove_licenses=list(remove),
        )
        self._users.clear()
        self._call("POST", f"/users/{quote(user)}/assignLicense", body)


def _absent_sniffio_known() -> None:
    """httpcore runs `import sniffio` each time it makes an async lock, several times per request; sniffio is not
    installed (anyio 4 does without it), so each of those searched sys.path again: 15,000 failed imports, some
    0.3 s of CPU, at 10,000 mailboxes. Python's own negative import cache (None in sys.modules) answers them at
    once; an installed sniffio is left alone."""
    import importlib.util
    import sys

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]  # `import sniffio` raises ImportError at once


def _import_sdk() -> None:
    import msgraph.generated.models.o_data_errors.o_data_error  # noqa: F401
    import msgraph.graph_request_adapter  # noqa: F401
    import msgraph.graph_service_client  # noqa: F401
    import msgraph_core  # noqa: F401


def _may_resend(exc: BaseException, idempotent: bool) -> bool:
    """Whether a failed send may be repeated: never sent (connect errors), or safe to repeat."""
    import httpx

    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    return idempotent and isinstance(exc, httpx.TransportError)


def _client_error(what: str, exc: Exception) -> ClientError:
    """A ClientError naming the call, with Graph's code and message when it sent them."""
    status = getattr(exc, "response_status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if type(exc).__name__ in ("ClientAuthenticationError", "CredentialUnavailableError"):
        return ClientError(
            f"{what} failed: reconciler could not sign in",
            f"{type(exc).__name__}: {exc}; check tenant.auth, tenant.id or domain, tenant.cloud or "
            "tenant.endpoints.login, and that the login host is reachable from here",
        )
    if code or message:
        detail = f"Graph said {code}: {message}"
    elif status:
        detail = f"Graph answered HTTP {status}"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    if status in (401, 403):
        detail += f"; {missing_permission(what)}"
    return ClientError(f"{what} failed", detail, status=status)


# (path fragment, permission to read, permission to write): the least-privileged Graph application permission.
# From each call's "Permissions" section on learn.microsoft.com/graph/api/...: user-get (User.Read.All),
# user-post-users / user-update / user-delete (User.ReadWrite.All), subscribedsku-list (LicenseAssignment.Read.All;
# Organization.Read.All is a higher one), user-assignlicense (LicenseAssignment.ReadWrite.All), serviceprincipal-get
# (Application.Read.All), calendar-list-calendarpermissions (Calendars.ReadBasic; its application app role is
# Calendars.ReadBasic.All) and, to write calendarPermissions, Calendars.ReadWrite
# (https://learn.microsoft.com/en-us/exchange/sharing/manage-calendar-delegate-access). `reconciler permissions`
# names its Graph permissions from this table too.
PERMISSIONS = (
    ("/assignLicense", "LicenseAssignment.ReadWrite.All", "LicenseAssignment.ReadWrite.All"),
    ("/calendar", "Calendars.ReadBasic.All", "Calendars.ReadWrite"),
    ("/servicePrincipals", "Application.Read.All", "Application.Read.All"),
    ("/subscribedSkus", "LicenseAssignment.Read.All", "LicenseAssignment.Read.All"),
    ("/users", "User.Read.All", "User.ReadWrite.All"),
)


# Microsoft Graph's calendar application permissions by app role id
# (https://learn.microsoft.com/en-us/graph/permissions-reference)
GRAPH_CALENDAR_APP_ROLES = {
    "798ee544-9d2d-430c-a058-570e29e34338": "Calendars.Read",
    "ef54d2bf-783f-4e0f-bca1-3210c0444d99": "Calendars.ReadWrite",
}
# Office 365 Exchange Online's (00000002-0000-0ff1-ce00-000000000000) application permission for EWS, as the manifest
# of "Authenticate an EWS application by using OAuth" names it
# (https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/how-to-authenticate-an-ews-application-by-using-oauth)
EXCHANGE_EWS_APP_ROLES = {"dc890d15-9560-4a4c-9b7f-a736ec74ec40": "full_access_as_app"}
# The application permissions that open mailboxes' calendars, which an access policy restricts and RBAC for
# Applications does not ("Permission consents are additive")
MAILBOX_APP_ROLES = GRAPH_CALENDAR_APP_ROLES | EXCHANGE_EWS_APP_ROLES


def required_permission(what: str) -> str | None:
    """The least-privileged application permission for a call, e.g. "GET /users/x" -> User.Read.All; None if unknown."""
    method = what.split(" ", 1)[0]
    for fragment, read, write in PERMISSIONS:
        if fragment in what:
            return read if method == "GET" else write
    return None


def missing_permission(what: str) -> str:
    """Which application permission reconciler's app lacks for a call, e.g. "GET /users/x" -> User.Read.All."""
    needed = required_permission(what)
    if needed is not None:
        return f"reconciler's app needs the Microsoft Graph application permission {needed} (admin consent)"
    return "reconciler's app lacks a Microsoft Graph application permission for this call (see README: Real tenants)"
