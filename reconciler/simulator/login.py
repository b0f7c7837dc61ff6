"""The Microsoft identity platform's OpenID Connect discovery document, so a tenant named by domain resolves to its id.

GET /{tenant}/v2.0/.well-known/openid-configuration, where {tenant} is the tenant id or one of its domains
(https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
and its sample response). Tokens themselves are not issued here: the simulated tenant takes loopback tokens.
"""

from __future__ import annotations

import json
import re

from reconciler.simulator.wire import HttpRequest, HttpResponse, SimContext

DISCOVERY = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")


def matches(request: HttpRequest) -> bool:
    return request.method == "GET" and DISCOVERY.match(request.path) is not None


def openid_configuration(ctx: SimContext, request: HttpRequest) -> HttpResponse:
    match = DISCOVERY.match(request.path)
    given = match.group(1) if match else ""
    tenant = ctx.store.data["tenant"]
    names = {str(tenant["id"]).lower(), *(str(d).lower() for d in tenant.get("domains", []))}
    if given.lower() not in names:
        # AADSTS90002, as the service answers an unknown tenant
        refused = {
            "error": "invalid_tenant",
            "error_description": f"AADSTS90002: Tenant '{given}' not found. Check to make sure you have the "
            "correct tenant ID and are signing into the correct cloud.",
            "error_codes": [90002],
        }
        return HttpResponse(400, {"Content-Type": "application/json"}, json.dumps(refused).encode())
    base, tid = ctx.base_url, tenant["id"]
    body: dict[str, object] = {
        "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{tid}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "cloud_instance_name", "aud", "exp", "iat", "nonce", "tid", "ver"],
        "kerberos_endpoint": f"{base}/{tid}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    return HttpResponse(200, {"Content-Type": "application/json"}, json.dumps(body).encode())
