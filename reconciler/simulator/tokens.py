"""Unsigned bearer tokens for the simulated tenant.

A token is a JWT with ``alg: none`` and an empty signature::

    base64url({"alg":"none","typ":"JWT"}) + "." + base64url(payload) + "."

The payload carries the claims the simulator looks at: ``tid`` (must equal the tenant id),
``appid`` (the calling application, kept on the request for later per-app scoping),
``roles`` (application permissions), ``scp`` (delegated permissions, space-separated: present only in a
token for a signed-in user, https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference)
and ``aud``; ``exp`` is honoured when present.
Nothing is signed or verified cryptographically: this is a loopback test double.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any

GRAPH_AUDIENCE = "https://graph.microsoft.com"
_HEADER = {"alg": "none", "typ": "JWT"}


@dataclass(frozen=True)
class Caller:
    """The decoded identity behind a request."""

    tenant_id: str
    app_id: str
    roles: tuple[str, ...] = field(default_factory=tuple)
    scopes: tuple[str, ...] = field(default_factory=tuple)  # delegated permissions (the scp claim)

    @property
    def delegated(self) -> bool:
        """A token for a signed-in user (it has an ``scp`` claim), not an app-only token."""
        return bool(self.scopes)


class TokenError(Exception):
    """The bearer token is missing, malformed, expired or for another tenant."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(tenant_id: str, app_id: str, roles: list[str] | None = None, *, scopes: list[str] | None = None) -> str:
    """Build an unsigned JWT the simulator accepts for ``tenant_id``, valid for one hour.

    ``roles``: application permissions (an app-only token); ``scopes``: delegated permissions (``scp``).
    """
    now = int(time.time())
    payload = {
        "aud": GRAPH_AUDIENCE,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": tenant_id,
        "appid": app_id,
        "roles": list(roles or []),
    }
    if scopes:
        payload["scp"] = " ".join(scopes)
    header = _b64url(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    return f"{header}.{body}."


def _payload(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed")
    try:
        payload = json.loads(_unb64url(parts[1]))
    except (ValueError, binascii.Error) as exc:
        raise TokenError("malformed") from exc
    if not isinstance(payload, dict):
        raise TokenError("malformed")
    return payload


def decode_token(token: str, tenant_id: str) -> Caller:
    """Return the caller of ``token`` or raise :class:`TokenError`."""
    payload = _payload(token)
    if payload.get("tid") != tenant_id:
        raise TokenError("wrong tenant")
    exp = payload.get("exp")
    if isinstance(exp, int | float) and exp < time.time():
        raise TokenError("expired")
    roles = payload.get("roles") or []
    scopes = str(payload.get("scp") or "").split()
    return Caller(
        tenant_id=tenant_id, app_id=str(payload.get("appid", "")), roles=tuple(map(str, roles)), scopes=tuple(scopes)
    )


def token_tenant(authorization: str) -> str | None:
    """The ``tid`` claim of an ``Authorization: Bearer <token>`` header (None without one): which tenant a request
    is for, as Microsoft's shared endpoints tell tenants apart (a serving process that hosts several tenants routes
    on it; the tenant's own handlers still validate the token)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        tid = _payload(token.strip()).get("tid")
    except TokenError:
        return None
    return tid if isinstance(tid, str) else None
