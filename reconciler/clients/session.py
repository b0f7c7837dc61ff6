"""Clients: the adapters one run uses, built from the spec's tenant section and target.

Exchange Online: Graph (msgraph-sdk) and the Exchange admin API (httpx), both with azure-identity tokens.
Exchange Server: EWS (exchangelib) only, as a real on-premises server offers.
The same adapters serve a real and the simulated tenant: only the base URLs and the credential differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.clients.credentials import SIMULATOR_APP_ID, LoopbackCredential, azure_credential
from reconciler.clients.endpoints import endpoints_for
from reconciler.clients.ews import EwsClient
from reconciler.clients.exchange_admin import ExchangeAdminClient
from reconciler.clients.graph import GraphClient
from reconciler.clients.tls import tls_context
from reconciler.errors import ClientError, SpecError
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Target

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from reconciler.clients.recorder import Recorder


@dataclass
class Clients:
    graph_client: GraphClient | None = None
    exchange_client: ExchangeAdminClient | None = None
    ews_client: EwsClient | None = None
    simulated: bool = False
    base_urls: dict[str, str] = field(default_factory=dict)
    tenant_id: str = ""  # the tenant's GUID (looked up from its domain when the spec names only that)
    recorder: Recorder | None = None  # sees every answer (`sim snapshot`, `sim compare`)

    @property
    def graph(self) -> GraphClient:
        if self.graph_client is None:
            raise ClientError("this target has no Microsoft Graph (Exchange Server is reached through EWS only)")
        return self.graph_client

    @property
    def exchange(self) -> ExchangeAdminClient:
        if self.exchange_client is None:
            raise ClientError("this target has no Exchange admin API (Exchange Server is reached through EWS only)")
        return self.exchange_client

    @property
    def ews(self) -> EwsClient:
        if self.ews_client is None:
            raise ClientError("EWS is not configured for this target: set exchange_server.ews_url")
        return self.ews_client

    def close(self) -> None:
        for client in (self.graph_client, self.exchange_client, self.ews_client):
            if client is not None:
                client.close()


def tenant_id_of(login: str, domain: str) -> str:
    """A tenant's id from one of its domains: the issuer of its OpenID Connect discovery document
    (https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc), `{login}/{id}/v2.0`."""
    import re

    import httpx

    url = f"{login.rstrip('/')}/{domain}/v2.0/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=30.0, verify=tls_context())
    except httpx.HTTPError as exc:
        raise ClientError(
            f"cannot look up tenant {domain}'s id at {url}: {type(exc).__name__}: {exc}",
            "check that the login host is reachable from here (or give tenant.id in the spec)",
        ) from None
    found = re.search(r"/([0-9a-fA-F-]{36})/", str(response.json().get("issuer", ""))) if response.is_success else None
    if found is None:
        raise ClientError(
            f"tenant {domain} was not found at {login} (HTTP {response.status_code})",
            "check tenant.domain (a verified domain of the tenant) and tenant.cloud, or give tenant.id",
        )
    return found.group(1).lower()


def connect(loaded: LoadedSpec, simulator_url: str | None = None, recorder: Recorder | None = None) -> Clients:
    """Clients for the spec's tenant; for the simulated tenant at `simulator_url` when given. A `recorder` sees
    every answer the clients receive (`sim snapshot`, `sim compare`)."""
    spec = loaded.spec
    tenant = spec.tenant
    if spec.target is Target.EXCHANGE_SERVER:
        ews = _ews(loaded, simulator_url, recorder)
        return Clients(ews_client=ews, simulated=simulator_url is not None, recorder=recorder)
    endpoints = endpoints_for(tenant.cloud, tenant.endpoints)
    tenant_id = tenant.id or tenant_id_of(simulator_url or endpoints.login, tenant.name)
    credential: TokenCredential
    if simulator_url is not None:
        credential = LoopbackCredential(tenant_id, tenant.auth.client_id or SIMULATOR_APP_ID)
        graph_url = exchange_url = simulator_url
        graph_scope = exchange_scope = f"{simulator_url}/.default"
    else:
        credential = azure_credential(
            tenant.auth,
            tenant_id,
            endpoints.login,
            lambda ref, f: loaded.resolve_env(ref, "tenant", "auth", f),
            custom_login=bool(tenant.endpoints and tenant.endpoints.login),
        )
        graph_url, exchange_url = endpoints.graph, endpoints.exchange
        graph_scope, exchange_scope = endpoints.graph_scope, endpoints.exchange_scope
    return Clients(
        graph_client=GraphClient(graph_url, credential, graph_scope, recorder),
        exchange_client=ExchangeAdminClient(exchange_url, tenant_id, credential, exchange_scope, recorder),
        simulated=simulator_url is not None,
        base_urls={"graph": graph_url, "exchange": exchange_url},
        tenant_id=tenant_id,
        recorder=recorder,
    )


def integration_graph(loaded: LoadedSpec, clients: Clients) -> GraphClient:
    """A Graph client signed in as the integration's own app (for `verify`); the caller closes it."""
    spec = loaded.spec
    integration, tenant = spec.integration, spec.tenant
    if integration is None or integration.client_secret is None:
        raise ClientError("the spec gives no integration.client_secret: reconciler cannot sign in as the integration")
    secret = loaded.resolve_env(integration.client_secret, "integration", "client_secret")
    base = clients.base_urls["graph"]
    credential: TokenCredential
    if clients.simulated:
        credential = LoopbackCredential(clients.tenant_id or tenant.name, integration.app_id, ["Calendars.ReadWrite"])
    else:
        from azure.identity import ClientSecretCredential

        login = endpoints_for(tenant.cloud, tenant.endpoints).login.removeprefix("https://")
        credential = ClientSecretCredential(
            clients.tenant_id or tenant.name, integration.app_id, secret, authority=login
        )
    return GraphClient(base, credential, f"{base}/.default")


def integration_ews_token(loaded: LoadedSpec, clients: Clients) -> tuple[str, str]:
    """The EWS URL of Exchange Online and a bearer token of the integration's own app (for `verify`'s EWS check)."""
    spec = loaded.spec
    integration, tenant = spec.integration, spec.tenant
    if integration is None or integration.client_secret is None:
        raise ClientError("the spec gives no integration.client_secret: reconciler cannot sign in as the integration")
    secret = loaded.resolve_env(integration.client_secret, "integration", "client_secret")
    base = clients.base_urls["exchange"]
    credential: TokenCredential
    if clients.simulated:
        credential = LoopbackCredential(clients.tenant_id or tenant.name, integration.app_id, ["full_access_as_app"])
    else:
        from azure.identity import ClientSecretCredential

        login = endpoints_for(tenant.cloud, tenant.endpoints).login.removeprefix("https://")
        credential = ClientSecretCredential(
            clients.tenant_id or tenant.name, integration.app_id, secret, authority=login
        )
    token = credential.get_token(f"{base}/.default").token
    return f"{base}/EWS/Exchange.asmx", token


def service_account_ews(loaded: LoadedSpec, clients: Clients) -> EwsClient:
    """An EWS client signed in as the service account (Exchange Server impersonation checks); the caller closes it.
    Its password comes from the spec's environment reference; the simulated server speaks Basic only."""
    spec = loaded.spec
    account, server = spec.service_account, spec.exchange_server
    if account is None or account.password is None or server is None:
        raise SpecError(
            "checking impersonation on Exchange Server needs the service account's password",
            "set service_account.password: ${env:CRONOFY_SVC_PASSWORD}",
            loaded.locate("service_account"),
        )
    password = loaded.resolve_env(account.password, "service_account", "password")
    auth = "basic" if clients.simulated else server.auth
    return EwsClient(clients.ews.url, account.user_principal_name, password, auth, clients.simulated, clients.recorder)


def _ews(loaded: LoadedSpec, simulator_url: str | None, recorder: Recorder | None = None) -> EwsClient | None:
    server = loaded.spec.exchange_server
    if server is None:
        return None
    password = loaded.resolve_env(server.password, "exchange_server", "password")
    url = server.ews_url
    if simulator_url is not None:
        url = simulator_url + "/EWS/Exchange.asmx"  # the simulated server answers on loopback
    auth = "basic" if simulator_url is not None else server.auth  # the simulated server speaks Basic only
    return EwsClient(url, server.username, password, auth, fixed_version=simulator_url is not None, recorder=recorder)
