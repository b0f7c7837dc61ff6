"""How reconciler signs in to a real tenant (no network: the credential chain is a stand-in)."""

from __future__ import annotations


def test_the_default_credential_chain_is_pinned_to_the_specs_tenant() -> None:
    """`auth.method: default` (e.g. `az login` in CI) asks every token in the spec's tenant, never the CLI's."""
    from typing import Any

    from azure.core.credentials import AccessToken

    from reconciler.clients.credentials import TenantPinnedCredential, azure_credential
    from reconciler.spec.models import Auth

    asked: list[dict[str, Any]] = []

    class Chain:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            asked.append({"scopes": scopes, **kwargs})
            return AccessToken("token", 0)

    pinned = TenantPinnedCredential(Chain(), "contoso.onmicrosoft.com")
    pinned.get_token("https://graph.microsoft.com/.default", tenant_id="elsewhere.onmicrosoft.com")
    assert asked == [{"scopes": ("https://graph.microsoft.com/.default",), "tenant_id": "contoso.onmicrosoft.com"}]
    real = azure_credential(Auth(), "contoso.onmicrosoft.com", "https://login.microsoftonline.com", lambda r, f: "")
    assert isinstance(real, TenantPinnedCredential) and real.tenant == "contoso.onmicrosoft.com"
