"""Credentials: azure-identity for real tenants; a loopback token for the simulated tenant.

azure-identity is imported only when a real tenant is used (it is slow to import).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reconciler.errors import SpecError
from reconciler.spec.models import Auth, AuthMethod

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential

# The application id reconciler presents to a simulated tenant when the spec names none.
SIMULATOR_APP_ID = "5d2b5e63-4c52-4f3a-9b5e-3d1f1a7c0a01"


def azure_credential(
    auth: Auth,
    tenant: str,
    login_endpoint: str,
    resolve_env: Callable[[str, str], str],
    custom_login: bool = False,
) -> TokenCredential:
    """The azure-identity credential the spec's `tenant.auth` asks for. Its own log lines are silenced: a failed
    sign-in reaches the user once, as reconciler's error (cli/base.py), not also as a raw library warning."""
    import logging

    from azure import identity

    logging.getLogger("azure.identity").setLevel(logging.CRITICAL)
    logging.getLogger("azure.core.pipeline.policies").setLevel(logging.CRITICAL)

    authority = login_endpoint.removeprefix("https://")
    # A login host the spec names itself (tenant.endpoints.login) is used as it is: MSAL's instance discovery would
    # otherwise ask login.microsoftonline.com about it first (and fail where that host is out of reach).
    extra: dict[str, Any] = {"disable_instance_discovery": True} if custom_login else {}
    if auth.method is AuthMethod.CLIENT_SECRET:
        assert auth.client_id and auth.client_secret
        secret = resolve_env(auth.client_secret, "client_secret")
        return identity.ClientSecretCredential(tenant, auth.client_id, secret, authority=authority, **extra)
    if auth.method is AuthMethod.CERTIFICATE:
        assert auth.client_id and auth.certificate_path
        password = resolve_env(auth.certificate_password, "certificate_password") if auth.certificate_password else None
        return identity.CertificateCredential(
            tenant, auth.client_id, auth.certificate_path, password=password, authority=authority, **extra
        )
    if auth.method is AuthMethod.MANAGED_IDENTITY:
        return identity.ManagedIdentityCredential(client_id=auth.client_id)
    if auth.method is AuthMethod.WORKLOAD_IDENTITY:
        return identity.WorkloadIdentityCredential(
            tenant_id=tenant, client_id=auth.client_id, authority=authority, **extra
        )
    if auth.method is AuthMethod.DEFAULT:
        # The default chain signs in wherever its sources point (e.g. `az login`'s current tenant): every token
        # is asked for in the spec's tenant, so a CLI signed in elsewhere can never read the wrong directory.
        chain = identity.DefaultAzureCredential(authority=authority, additionally_allowed_tenants=[tenant])
        return TenantPinnedCredential(chain, tenant)
    raise SpecError(f"unsupported auth method {auth.method}")


class TenantPinnedCredential:
    """A TokenCredential that asks every token of `inner` in one tenant (azure-identity's `tenant_id`)."""

    def __init__(self, inner: TokenCredential, tenant: str) -> None:
        self._inner = inner
        self.tenant = tenant

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        kwargs["tenant_id"] = self.tenant
        return self._inner.get_token(*scopes, **kwargs)

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()


class LoopbackCredential:
    """A TokenCredential for the simulated tenant: an unsigned token naming tenant and app.

    The simulator, like Entra ID, reads `tid` and `appid` from the token; it cannot sign, so the
    token carries no signature. It is good for nothing but the loopback simulator.
    """

    def __init__(self, tenant_id: str, app_id: str = SIMULATOR_APP_ID, roles: list[str] | None = None) -> None:
        self._claims = {"tid": tenant_id, "appid": app_id, "roles": roles or [], "aud": "loopback"}

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken

        expires = int(time.time()) + 3600
        claims = {**self._claims, "scp": " ".join(scopes), "exp": expires}
        return AccessToken(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.", expires)

    def close(self) -> None:
        return None


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
