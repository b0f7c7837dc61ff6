"""The Exchange Online admin API (no SDK exists): CmdletInput over HTTPS, with httpx and azure-identity tokens.

    POST <base>/adminapi/v2.0/<tenant>/<Endpoint>      the documented endpoints (Mailbox, MailboxFolderPermission,
                                                        DistributionGroupMember, OrganizationConfig, AcceptedDomain)
    POST <base>/adminapi/beta/<tenant>/InvokeCommand    every other cmdlet (groups, scopes, role assignments, ...)
    body {"CmdletInput": {"CmdletName": "...", "Parameters": {...}}}
    answer {"value": [...], "@odata.nextLink": "<absolute url, re-POSTed with the same body>"}

https://learn.microsoft.com/en-us/exchange/reference/admin-api-overview (public preview, November 2025)
Errors: `error.details[].message` carries Exchange's reason as `<id>|<Exception.Type>|<text>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from reconciler.clients.tls import tls_context
from reconciler.errors import ClientError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from tenacity import RetryCallState

    from reconciler.clients.recorder import Recorder

# Cmdlet -> documented v2.0 endpoint; anything else goes to InvokeCommand.
ENDPOINTS = {
    "Get-Mailbox": "Mailbox",
    "Get-MailboxFolderPermission": "MailboxFolderPermission",
    "Add-MailboxFolderPermission": "MailboxFolderPermission",
    "Set-MailboxFolderPermission": "MailboxFolderPermission",
    "Remove-MailboxFolderPermission": "MailboxFolderPermission",
    "Get-DistributionGroupMember": "DistributionGroupMember",
    "Get-OrganizationConfig": "OrganizationConfig",
    "Get-AcceptedDomain": "AcceptedDomain",
}
PAGE_SIZE = 1000
TRANSIENT = {429, 500, 502, 503, 504}
RETRY_ATTEMPTS = 6
RETRY_SECONDS = 120.0


class _Transient(Exception):
    """A failure worth retrying: throttled (429), a server-side hiccup (5xx) or a dropped connection."""

    def __init__(self, response: httpx.Response | None, why: str) -> None:
        super().__init__(why)
        self.response = response
        self.why = why

    @property
    def retry_after(self) -> float | None:
        value = self.response.headers.get("Retry-After") if self.response is not None else None
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


def _wait(state: RetryCallState) -> float:
    """Retry-After when the service gives one, else exponential back-off with jitter (0.5 s, 1 s, 2 s ... 30 s)."""
    from tenacity import wait_exponential_jitter

    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, _Transient) and error.retry_after is not None:
        return error.retry_after
    return float(wait_exponential_jitter(multiplier=0.5, max=30)(state))


# CIPP's New-ExoRequest anchors app-only calls on the organization's system mailbox.
ANCHOR = "APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{tenant}"


@dataclass(frozen=True)
class ExchangeErrorDetail:
    exception: str
    text: str


class ExchangeError(ClientError):
    """A cmdlet failed; `exception` is Exchange's exception type (e.g. ManagementObjectNotFoundException)."""

    def __init__(self, summary: str, detail: str, status: int | None, exception: str) -> None:
        super().__init__(summary, detail, status)
        self.exception = exception

    @property
    def not_found(self) -> bool:
        return self.status == 404 or "NotFound" in self.exception or "couldn't be found" in self.detail


class ExchangeAdminClient:
    def __init__(
        self, base_url: str, tenant: str, credential: TokenCredential, scope: str, recorder: Recorder | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant = tenant
        self._credential = credential
        self._scope = scope
        self._http = httpx.Client(timeout=httpx.Timeout(60.0), verify=tls_context())
        self.requests = 0
        if recorder is not None:  # sees every answer (`sim snapshot`, `sim compare`)
            self._http.event_hooks["response"].append(recorder.exchange_response)

    def close(self) -> None:
        self._http.close()

    def run(
        self,
        cmdlet: str,
        parameters: dict[str, Any] | None = None,
        *,
        what: str = "",
        select: tuple[str, ...] = (),
    ) -> list[dict[str, Any]]:
        """Run one cmdlet; every page of its output. `what` names the object for error messages; `select` asks
        for only those properties (OData $select, as the admin API's endpoints take it)."""
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters or {}}}
        url: str | None = self._url(cmdlet) + (f"?$select={','.join(select)}" if select else "")
        rows: list[dict[str, Any]] = []
        while url:
            page = self._post(url, body, cmdlet, what)
            rows += page.get("value", [])
            url = page.get("@odata.nextLink")
        return rows

    def get(self, cmdlet: str, parameters: dict[str, Any], *, what: str = "") -> dict[str, Any] | None:
        """The one object a Get- cmdlet returns for -Identity, or None when Exchange says it does not exist."""
        try:
            rows = self.run(cmdlet, parameters, what=what)
        except ExchangeError as exc:
            if exc.not_found:
                return None
            raise
        return rows[0] if rows else None

    def _url(self, cmdlet: str) -> str:
        endpoint = ENDPOINTS.get(cmdlet)
        if endpoint:
            return f"{self.base_url}/adminapi/v2.0/{self.tenant}/{endpoint}"
        return f"{self.base_url}/adminapi/beta/{self.tenant}/InvokeCommand"

    def _post(self, url: str, body: dict[str, Any], cmdlet: str, what: str) -> dict[str, Any]:
        """POST with retries (tenacity): throttling and transient failures wait for Retry-After, or back off
        exponentially with jitter, for at most RETRY_ATTEMPTS tries and RETRY_SECONDS in all."""
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay

        retrying = Retrying(
            stop=stop_after_attempt(RETRY_ATTEMPTS) | stop_after_delay(RETRY_SECONDS),
            wait=_wait,
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            response = retrying(self._post_once, url, body)
        except _Transient as exc:
            if exc.response is None:
                raise ClientError(
                    f"{cmdlet} {what} failed: the Exchange admin API could not be reached", exc.why
                ) from None
            error = _error(cmdlet, what, exc.response)
            error.detail += f" (HTTP {exc.response.status_code}, still failing after {RETRY_ATTEMPTS} tries)"
            raise error from None
        if response.status_code >= 400:
            raise _error(cmdlet, what, response)
        data: dict[str, Any] = response.json() if response.content else {}
        return data

    def _post_once(self, url: str, body: dict[str, Any]) -> httpx.Response:
        token = self._credential.get_token(self._scope).token
        headers = {
            "Authorization": f"Bearer {token}",
            "Prefer": f"odata.maxpagesize={PAGE_SIZE}",
            "X-AnchorMailbox": ANCHOR.format(tenant=self.tenant),
        }
        self.requests += 1
        try:
            response = self._http.post(url, json=body, headers=headers)
        except httpx.TransportError as exc:
            raise _Transient(None, f"{type(exc).__name__}: {exc}") from None
        if response.status_code in TRANSIENT:
            raise _Transient(response, f"HTTP {response.status_code}")
        return response


def _error(cmdlet: str, what: str, response: httpx.Response) -> ExchangeError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    details = [d.get("message", "") for d in error.get("details", []) if isinstance(d, dict)]
    exception, text = "", error.get("message") or f"HTTP {response.status_code}"
    for detail in details:
        parts = detail.split("|", 2)
        if len(parts) == 3:
            exception, text = parts[1], parts[2]
            break
    short = exception.rsplit(".", 1)[-1]
    target = f" {what}" if what else ""
    if response.status_code in (401, 403):
        text += (
            "; reconciler's app needs the Office 365 Exchange Online application permission Exchange.ManageAsAppV2 "
            "and an Exchange role that may run this cmdlet (e.g. Organization Management)"
        )
    return ExchangeError(
        f"{cmdlet}{target} failed",
        f"Exchange said: {text}" + (f" ({short})" if short else ""),
        response.status_code,
        short,
    )
