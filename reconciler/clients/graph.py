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
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse
from uuid import UUID

from reconciler.errors import ClientError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from msgraph.generated.models.calendar_permission import CalendarPermission
    from msgraph.generated.models.license_details import LicenseDetails
    from msgraph.generated.models.subscribed_sku import SubscribedSku
    from msgraph.generated.models.user import User
    from msgraph.graph_service_client import GraphServiceClient

T = TypeVar("T")
BATCH_SIZE = 20  # Graph's limit per $batch
BATCH_RETRIES = 4
DEFAULT_PARALLELISM = 4  # Outlook's limit is 4 concurrent requests per mailbox; batches span mailboxes
RETRYABLE = {429, 503, 504}


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
    def error(self) -> str:
        error = self.body.get("error", {})
        return f"{error.get('code', self.status)}: {error.get('message', '')}"


USER_SELECT = [
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mailNickname",
    "accountEnabled",
    "usageLocation",
]


class GraphClient:
    """The Graph calls reconciler makes, each a method named for what it does in the directory."""

    def __init__(self, base_url: str, credential: TokenCredential, scope: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._credential = credential
        self._scope = scope
        self._loop = asyncio.new_event_loop()
        self._client: GraphServiceClient | None = None
        self._skus: list[SubscribedSku] | None = None
        self.requests = 0  # $batch round trips (the SDK's own calls are counted by the tenant)

    # -- plumbing -------------------------------------------------------------------------
    @property
    def sdk(self) -> GraphServiceClient:
        if self._client is None:
            self._client = self._build()
        return self._client

    def _build(self) -> GraphServiceClient:
        import httpx
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory
        from msgraph_core.authentication import AzureIdentityAuthenticationProvider

        host = urlparse(self.base_url).hostname or ""
        auth = AzureIdentityAuthenticationProvider(self._credential, scopes=[self._scope], allowed_hosts=[host])
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(base_url=f"{self.base_url}/v1.0", timeout=httpx.Timeout(60.0))
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = f"{self.base_url}/v1.0"
        return GraphServiceClient(request_adapter=adapter)

    def _run(self, what: str, call: Awaitable[T]) -> T:
        try:
            return self._loop.run_until_complete(call)
        except Exception as exc:
            raise _client_error(what, exc) from None

    def close(self) -> None:
        if self._client is not None:
            http = self._client.request_adapter._http_client  # type: ignore[attr-defined]
            self._loop.run_until_complete(http.aclose())
        self._loop.close()

    # -- JSON batching ----------------------------------------------------------------------
    def batch_get(self, paths: list[str], parallelism: int = DEFAULT_PARALLELISM) -> dict[str, BatchResult]:
        """GET many relative paths through `$batch`; the answer for each path."""
        unique = list(dict.fromkeys(paths))
        answers = self.batch([BatchRequest("GET", path) for path in unique], parallelism)
        return dict(zip(unique, answers, strict=True))

    def batch(self, requests: list[BatchRequest], parallelism: int = DEFAULT_PARALLELISM) -> list[BatchResult]:
        """Send many requests through `$batch`, 20 per batch, `parallelism` batches in flight; answers in order.

        Each inner response has its own status: a throttled item (429/503/504) is retried alone after its
        Retry-After; a 404 is an answer (the object is absent); any other error fails only its own item.
        https://learn.microsoft.com/en-us/graph/json-batching
        """
        return self._run("POST /$batch", self._batch_all(requests, parallelism))

    async def _batch_all(self, requests: list[BatchRequest], parallelism: int) -> list[BatchResult]:
        results: dict[int, BatchResult] = {}
        pending = list(range(len(requests)))
        limit = asyncio.Semaphore(max(1, parallelism))
        for attempt in range(BATCH_RETRIES + 1):
            chunks = [pending[i : i + BATCH_SIZE] for i in range(0, len(pending), BATCH_SIZE)]
            answers = await asyncio.gather(*(self._batch_one(requests, chunk, limit) for chunk in chunks))
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
        self, requests: list[BatchRequest], indexes: list[int], limit: asyncio.Semaphore
    ) -> dict[int, BatchResult]:
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        body = {"requests": [requests[i].wire(str(i)) for i in indexes]}
        info = RequestInformation(Method.POST, "{+baseurl}/$batch")
        info.headers.try_add("Accept", "application/json")
        info.set_stream_content(json.dumps(body).encode(), "application/json")
        async with limit:
            self.requests += 1
            raw: bytes | None = await self.sdk.request_adapter.send_primitive_async(  # type: ignore[func-returns-value]
                info, "bytes", {"4XX": ODataError, "5XX": ODataError}
            )
        responses = json.loads(raw or b"{}").get("responses", [])
        return {int(r["id"]): BatchResult.from_wire(r) for r in responses}

    # -- users ----------------------------------------------------------------------------
    def get_user(self, user: str) -> User | None:
        """GET /users/{id | userPrincipalName}; None when the user does not exist (404)."""
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=USER_SELECT)
        try:
            return self._run(
                f"GET /users/{user}",
                self.sdk.users.by_user_id(user).get(RequestConfiguration(query_parameters=query)),
            )
        except ClientError as exc:
            if exc.status == 404:
                return None
            raise

    def create_user(self, properties: dict[str, Any], password: str, force_change: bool) -> User:
        """POST /users."""
        from msgraph.generated.models.password_profile import PasswordProfile
        from msgraph.generated.models.user import User

        body = User(**properties)
        body.password_profile = PasswordProfile(password=password, force_change_password_next_sign_in=force_change)
        created = self._run(f"POST /users ({properties.get('user_principal_name')})", self.sdk.users.post(body))
        if created is None:
            raise ClientError("POST /users returned no user")
        return created

    def update_user(self, user_id: str, properties: dict[str, Any]) -> None:
        """PATCH /users/{id} (Graph answers 204 No Content)."""
        from msgraph.generated.models.user import User

        self._run(f"PATCH /users/{user_id}", self.sdk.users.by_user_id(user_id).patch(User(**properties)))

    def delete_user(self, user_id: str) -> None:
        """DELETE /users/{id} (to the deleted items, restorable for 30 days)."""
        self._run(f"DELETE /users/{user_id}", self.sdk.users.by_user_id(user_id).delete())

    # -- enterprise apps --------------------------------------------------------------------
    def service_principal_object_id(self, app_id: str) -> str | None:
        """GET /servicePrincipals(appId='{appId}'): the enterprise app's object id, None when not consented."""
        try:
            sp = self._run(
                f"GET /servicePrincipals(appId='{app_id}')", self.sdk.service_principals_with_app_id(app_id).get()
            )
        except ClientError as exc:
            if exc.status == 404:
                return None
            raise
        return sp.id if sp else None

    def get_calendar(self, mailbox: str) -> None:
        """GET /users/{id}/calendar: can this app open the mailbox's Calendar folder?"""
        self._run(f"GET /users/{mailbox}/calendar", self.sdk.users.by_user_id(mailbox).calendar.get())

    # -- calendar permissions ---------------------------------------------------------------
    def calendar_permissions(self, mailbox: str) -> list[CalendarPermission] | None:
        """GET /users/{id}/calendar/calendarPermissions; None when the mailbox does not exist."""
        try:
            page = self._run(
                f"GET /users/{mailbox}/calendar/calendarPermissions",
                self.sdk.users.by_user_id(mailbox).calendar.calendar_permissions.get(),
            )
        except ClientError as exc:
            if exc.status == 404:
                return None
            raise
        return list(page.value or []) if page else []

    def add_calendar_permission(self, mailbox: str, grantee: str, role: str) -> CalendarPermission:
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
        created = self._run(
            f"POST /users/{mailbox}/calendar/calendarPermissions ({grantee})",
            self.sdk.users.by_user_id(mailbox).calendar.calendar_permissions.post(body),
        )
        if created is None:
            raise ClientError(f"POST /users/{mailbox}/calendar/calendarPermissions returned nothing")
        return created

    def set_calendar_permission_role(self, mailbox: str, permission_id: str, role: str) -> None:
        """PATCH /users/{id}/calendar/calendarPermissions/{id}: only the role can change, in place."""
        from msgraph.generated.models.calendar_permission import CalendarPermission
        from msgraph.generated.models.calendar_role_type import CalendarRoleType

        builder = self.sdk.users.by_user_id(mailbox).calendar.calendar_permissions.by_calendar_permission_id(
            permission_id
        )
        self._run(
            f"PATCH /users/{mailbox}/calendar/calendarPermissions/{permission_id}",
            builder.patch(CalendarPermission(role=CalendarRoleType(role))),
        )

    def delete_calendar_permission(self, mailbox: str, permission_id: str) -> None:
        """DELETE /users/{id}/calendar/calendarPermissions/{id}."""
        builder = self.sdk.users.by_user_id(mailbox).calendar.calendar_permissions.by_calendar_permission_id(
            permission_id
        )
        self._run(f"DELETE /users/{mailbox}/calendar/calendarPermissions/{permission_id}", builder.delete())

    # -- licenses -------------------------------------------------------------------------
    def subscribed_skus(self) -> list[SubscribedSku]:
        """GET /subscribedSkus, read once per run (skuId <-> skuPartNumber)."""
        if self._skus is None:
            page = self._run("GET /subscribedSkus", self.sdk.subscribed_skus.get())
            self._skus = list(page.value or []) if page else []
        return self._skus

    def license_details(self, user: str) -> list[LicenseDetails] | None:
        """GET /users/{id}/licenseDetails; None when the user does not exist."""
        try:
            page = self._run(f"GET /users/{user}/licenseDetails", self.sdk.users.by_user_id(user).license_details.get())
        except ClientError as exc:
            if exc.status == 404:
                return None
            raise
        return list(page.value or []) if page else []

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
        self._run(f"POST /users/{user}/assignLicense", self.sdk.users.by_user_id(user).assign_license.post(body))


def _client_error(what: str, exc: Exception) -> ClientError:
    """A ClientError naming the call, with Graph's code and message when it sent them."""
    status = getattr(exc, "response_status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    if code or message:
        detail = f"Graph said {code}: {message}"
    elif status:
        detail = f"Graph answered HTTP {status}"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    return ClientError(f"{what} failed", detail, status=status)
