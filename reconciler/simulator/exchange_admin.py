"""Exchange Online Admin API (``/adminapi``) and the in-process cmdlet runner (``run_cmdlet``).

Wire format: https://learn.microsoft.com/en-us/exchange/reference/admin-api-get-started ::

    POST /adminapi/v2.0/<tenantId>/<Endpoint>            (documented endpoints, their own cmdlets only)
    POST /adminapi/beta/<tenantId>/InvokeCommand          (any cmdlet; what ExchangeOnlineManagement v3 uses)
    {"CmdletInput": {"CmdletName": "...", "Parameters": {...}}}
    -> 200 {"@odata.context": "...", "value": [...], "@odata.nextLink"?: "<absolute url, re-POST same body>"}
    -> 4xx {"error": {"code", "message": <generic>, "details": [{"message": "<id>|<Exception.Type>|<text>"}]}}

Only ``exchange_online`` tenants serve it; an ``exchange_server`` tenant answers 404 (on-premises
Exchange has no admin REST API; its admins use the Exchange Management Shell, see
:func:`parse_cmdlet_line`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from reconciler.simulator import exchange_cmdlets as xc
from reconciler.simulator import exchange_rbac as xr
from reconciler.simulator.exchange_errors import CmdletError, unknown_cmdlet
from reconciler.simulator.faults import retry_after, take_fault
from reconciler.simulator.tokens import TokenError, decode_token
from reconciler.simulator.wire import HttpRequest, HttpResponse, SimContext

JsonObject = dict[str, Any]
Cmdlet = Callable[[xc.Ctx, xc.Params], list[JsonObject]]

PREFIX = "/adminapi"
DEFAULT_PAGE_SIZE = 1000
GENERIC_MESSAGE = "An error occurred while executing the cmdlet."
_PATH = re.compile(r"^/adminapi/(?P<version>v2\.0|beta)/(?P<tenant>[^/]+)/(?P<endpoint>[^/]+)$", re.IGNORECASE)

_IDENTITY = ("Identity",)
_LIST = ("Identity", "ResultSize", "RecipientTypeDetails", "Filter")
_FOLDER = ("Identity", "User", "AccessRights", "SharingPermissionFlags", "SendNotificationToUser")
_GROUP = ("Name", "Alias", "DisplayName", "PrimarySmtpAddress", "Members", "RoomList", "Type")
_ASSIGN = ("Name", "Role", "User", "App", "CustomRecipientWriteScope", "CustomResourceScope")
_SP = ("AppId", "ObjectId", "ServiceId", "DisplayName")

# name -> (function, parameters, online only, mutating)
CMDLETS: dict[str, tuple[Cmdlet, tuple[str, ...], bool, bool]] = {
    "Get-Mailbox": (xc.get_mailbox, _LIST, False, False),
    "Get-Recipient": (xc.get_recipient, _LIST, False, False),
    "Get-MailboxFolderPermission": (xc.get_folder_permission, ("Identity", "User", "ResultSize"), False, False),
    "Add-MailboxFolderPermission": (xc.add_folder_permission, _FOLDER, False, True),
    "Set-MailboxFolderPermission": (xc.set_folder_permission, _FOLDER, False, True),
    "Remove-MailboxFolderPermission": (xc.remove_folder_permission, ("Identity", "User"), False, True),
    "Get-DistributionGroup": (xc.get_distribution_group, _LIST, False, False),
    "New-DistributionGroup": (xc.new_distribution_group, _GROUP, False, True),
    "Set-DistributionGroup": (xc.set_distribution_group, ("Identity", *_GROUP), False, True),
    "Remove-DistributionGroup": (xc.remove_distribution_group, _IDENTITY, False, True),
    "Get-DistributionGroupMember": (xc.get_group_member, ("Identity", "ResultSize"), False, False),
    "Add-DistributionGroupMember": (xc.add_group_member, ("Identity", "Member"), False, True),
    "Remove-DistributionGroupMember": (xc.remove_group_member, ("Identity", "Member"), False, True),
    "Get-AcceptedDomain": (xc.get_accepted_domain, _IDENTITY, False, False),
    "Get-ManagementScope": (xr.get_management_scope, _IDENTITY, False, False),
    "New-ManagementScope": (xr.new_management_scope, ("Name", "RecipientRestrictionFilter", "Exclusive"), False, True),
    "Set-ManagementScope": (xr.set_management_scope, ("Identity", "Name", "RecipientRestrictionFilter"), False, True),
    "Remove-ManagementScope": (xr.remove_management_scope, _IDENTITY, False, True),
    "Get-ManagementRoleAssignment": (xr.get_role_assignment, ("Identity", "Role", "RoleAssignee"), False, False),
    "New-ManagementRoleAssignment": (xr.new_role_assignment, _ASSIGN, False, True),
    "Remove-ManagementRoleAssignment": (xr.remove_role_assignment, _IDENTITY, False, True),
    "Get-ServicePrincipal": (xr.get_service_principal, _IDENTITY, True, False),
    "New-ServicePrincipal": (xr.new_service_principal, _SP, True, True),
    "Set-ServicePrincipal": (xr.set_service_principal, ("Identity", "DisplayName"), True, True),
    "Remove-ServicePrincipal": (xr.remove_service_principal, _IDENTITY, True, True),
    "Get-ApplicationAccessPolicy": (xr.get_access_policy, _IDENTITY, True, False),
    "New-ApplicationAccessPolicy": (
        xr.new_access_policy,
        ("AppId", "PolicyScopeGroupId", "AccessRight", "Description"),
        True,
        True,
    ),
    "Set-ApplicationAccessPolicy": (xr.set_access_policy, ("Identity", "Description"), True, True),
    "Remove-ApplicationAccessPolicy": (xr.remove_access_policy, _IDENTITY, True, True),
    "Test-ApplicationAccessPolicy": (xr.test_access_policy, ("Identity", "AppId"), True, False),
    "Test-ServicePrincipalAuthorization": (xr.test_sp_authorization, ("Identity", "Resource"), True, False),
    "Get-OrganizationConfig": (
        xr.get_organization_config,
        ("Identity", "RetrieveEwsOperationAccessPolicy"),
        False,
        False,
    ),
    "Set-OrganizationConfig": (xr.set_organization_config, ("EwsEnabled", "EwsAllowedAppIDs"), False, True),
}
_BY_LOWER = {name.lower(): name for name in CMDLETS}

# v2.0 endpoint -> the cmdlets it accepts (https://learn.microsoft.com/en-us/exchange/reference/admin-api-endpoints-reference)
ENDPOINTS: dict[str, frozenset[str]] = {
    "mailbox": frozenset({"Get-Mailbox"}),
    "mailboxfolderpermission": frozenset(
        {
            "Get-MailboxFolderPermission",
            "Add-MailboxFolderPermission",
            "Set-MailboxFolderPermission",
            "Remove-MailboxFolderPermission",
        }
    ),
    "distributiongroupmember": frozenset({"Get-DistributionGroupMember"}),
    "organizationconfig": frozenset({"Get-OrganizationConfig"}),
    "accepteddomain": frozenset({"Get-AcceptedDomain"}),
}


# --- in-process runner -----------------------------------------------------------------------


def canonical_cmdlet(name: str) -> str:
    """The cmdlet's canonical spelling, or CommandNotFoundException."""
    found = _BY_LOWER.get(name.strip().lower())
    if found is None:
        raise unknown_cmdlet(name)
    return found


def is_mutating(name: str) -> bool:
    return CMDLETS[canonical_cmdlet(name)][3]


def run_cmdlet(data: JsonObject, name: str, parameters: Mapping[str, Any]) -> list[JsonObject]:
    """Run one cmdlet against the tenant dict (mutates it; the caller saves). Raises CmdletError."""
    canonical = canonical_cmdlet(name)
    function, allowed, online_only, _ = CMDLETS[canonical]
    ctx = xc.Ctx(data)
    if online_only and not ctx.online:
        raise unknown_cmdlet(canonical)  # cloud-only cmdlet: not present in the Exchange Management Shell
    return function(ctx, xc.Params(canonical, parameters, allowed))


# --- Exchange Management Shell lines ---------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:'((?:[^']|'')*)'|"((?:[^"`]|`.)*)"|([^\s,]+)|(,))""")


def _lex(text: str) -> list[tuple[str, bool]]:
    """(token, quoted) pairs; a bare ``,`` is its own token."""
    tokens: list[tuple[str, bool]] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"Can't parse the command line near: {text[position:]!r}")
        single, double, bare, comma = match.groups()
        if comma:
            tokens.append((",", False))
        elif bare is not None:
            tokens.append((bare, False))
        else:
            value = single.replace("''", "'") if single is not None else re.sub(r"`(.)", r"\1", double or "")
            tokens.append((value, True))
        position = match.end()
    return tokens


def _scalar(token: str, quoted: bool) -> Any:
    if quoted:
        return token
    lowered = token.lower()
    return {"$true": True, "$false": False, "$null": None}.get(lowered, token)


def _is_parameter(token: str, quoted: bool) -> bool:
    return not quoted and token.startswith("-") and len(token) > 1 and not token[1].isdigit()


def _value(tokens: list[tuple[str, bool]], index: int) -> tuple[Any, int]:
    """A value (possibly a comma list) starting at ``index``; returns it and the next index."""
    items: list[Any] = []
    while index < len(tokens):
        token, quoted = tokens[index]
        items.append(_scalar(token, quoted))
        index += 1
        if index < len(tokens) and tokens[index] == (",", False):
            index += 1
            continue
        break
    return (items[0] if len(items) == 1 else items), index


def parse_cmdlet_line(text: str) -> tuple[str, dict[str, Any]]:
    """``New-X -Name "A b" -Members a,b -RoomList -Confirm:$false`` -> ("New-X", {...}).

    Bare comma lists become arrays; a parameter with no value is a switch (True); ``-P:value`` is bound inline.
    """
    tokens = _lex(text)
    if not tokens or tokens[0][1]:
        raise ValueError("The command line must start with a cmdlet name.")
    name, params, index = tokens[0][0], {}, 1
    while index < len(tokens):
        token, quoted = tokens[index]
        if not _is_parameter(token, quoted):
            raise ValueError(f"Positional arguments are not supported: {token!r}")
        key, colon, inline = token[1:].partition(":")
        index += 1
        if colon:
            params[key] = _scalar(inline, False) if inline else None
            if not inline and index < len(tokens):
                params[key], index = _value(tokens, index)
        elif index < len(tokens) and not _is_parameter(*tokens[index]):
            params[key], index = _value(tokens, index)
        else:
            params[key] = True
    return name, params


# --- HTTP ------------------------------------------------------------------------------------


def _json(status: int, body: JsonObject) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode())


def _error(status: int, code: str, detail: str | None = None, message: str = GENERIC_MESSAGE) -> HttpResponse:
    error: JsonObject = {"code": code, "message": message}
    if detail is not None:
        error["details"] = [{"message": detail}]
    return _json(status, {"error": error})


def _fault_response(fault: JsonObject) -> HttpResponse:
    status = int(fault.get("status", 503))
    codes = {429: "TooManyRequests", 403: "Forbidden", 500: "InternalServerError"}
    response = _error(status, codes.get(status, "ServiceUnavailable"))
    if status in (429, 503):
        response.headers["Retry-After"] = retry_after(fault)
    return response


def _cmdlet_error(exc: CmdletError) -> HttpResponse:
    code = "NotFound" if exc.status == 404 else "BadRequest"
    return _error(exc.status, code, exc.detail)


def _authorized(ctx: SimContext, http: HttpRequest, tenant: str) -> HttpResponse | None:
    scheme, _, token = http.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "Unauthorized", message="The request is missing a bearer token.")
    try:
        decode_token(token.strip(), str(ctx.store.tenant["id"]))
    except TokenError as exc:
        return _error(401, "Unauthorized", message=f"The access token is invalid ({exc}).")
    if tenant.lower() != str(ctx.store.tenant["id"]).lower():
        return _error(401, "Unauthorized", message="The tenant in the URL doesn't match the access token.")
    return None


def _cmdlet_input(http: HttpRequest) -> tuple[str, JsonObject]:
    try:
        body = json.loads(http.body or b"null")
        cmdlet_input = body["CmdletInput"]
        name = str(cmdlet_input["CmdletName"])
        params = cmdlet_input.get("Parameters") or {}
    except (ValueError, KeyError, TypeError) as exc:
        raise CmdletError("System.ArgumentException", "The request body must contain CmdletInput.CmdletName.") from exc
    if not isinstance(params, dict):
        raise CmdletError("System.ArgumentException", "CmdletInput.Parameters must be a JSON object.")
    return name, params


def _check_endpoint(version: str, endpoint: str, name: str) -> None:
    if version.lower() == "beta":
        if endpoint.lower() != "invokecommand":
            raise CmdletError("System.ArgumentException", f"Unknown endpoint '{endpoint}'.", status=404)
        return
    allowed = ENDPOINTS.get(endpoint.lower())
    if allowed is None:
        raise CmdletError("System.ArgumentException", f"Unknown endpoint '{endpoint}'.", status=404)
    canonical = canonical_cmdlet(name)
    if canonical not in allowed:
        text = f"The cmdlet '{canonical}' isn't supported by the '{endpoint}' endpoint."
        raise CmdletError("System.ArgumentException", text)


def _page_size(http: HttpRequest) -> int:
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", http.headers.get("prefer", ""), re.IGNORECASE)
    return max(1, int(match.group(1))) if match else DEFAULT_PAGE_SIZE


def _page(ctx: SimContext, http: HttpRequest, rows: list[JsonObject], context: str) -> HttpResponse:
    query = dict(parse_qsl(http.query))
    skip = int(query.get("$skiptoken", "0") or 0) if str(query.get("$skiptoken", "0")).isdigit() else 0
    size = _page_size(http)
    body: JsonObject = {"@odata.context": context, "value": rows[skip : skip + size]}
    if skip + size < len(rows):
        body["@odata.nextLink"] = f"{ctx.base_url}{http.path}?$skiptoken={skip + size}"
    headers = {"Content-Type": "application/json; odata.metadata=minimal; charset=utf-8"}
    if "odata.maxpagesize" in http.headers.get("prefer", "").lower():
        headers["Preference-Applied"] = f"odata.maxpagesize={size}"
    return HttpResponse(200, headers, json.dumps(body).encode())


def _run(ctx: SimContext, http: HttpRequest, version: str, tenant: str, endpoint: str) -> HttpResponse:
    name, params = _cmdlet_input(http)
    _check_endpoint(version, endpoint, name)
    rows = run_cmdlet(ctx.store.data, name, params)
    if is_mutating(name):
        ctx.store.save()
    fragment = "Collection(Exchange.GenericHashTable)" if version.lower() == "beta" else endpoint
    context = f"{ctx.base_url}/adminapi/{version}/{tenant}/$metadata#{fragment}"
    return _page(ctx, http, rows, context)


def handle_http(ctx: SimContext, http: HttpRequest) -> HttpResponse:
    """Serve one request under ``/adminapi`` (POST only)."""
    if str(ctx.store.tenant.get("flavor", "exchange_online")) != "exchange_online":
        return _error(404, "NotFound", message=f"No simulated service at '{http.path}'.")
    match = _PATH.match(http.path)
    if match is None:
        return _error(404, "NotFound", message=f"No simulated service at '{http.path}'.")
    if http.method != "POST":
        return _error(405, "MethodNotAllowed", message="The Exchange Online Admin API accepts only POST.")
    version, tenant, endpoint = match.group("version"), match.group("tenant"), match.group("endpoint")
    denied = _authorized(ctx, http, tenant)
    if denied is not None:
        return denied
    with ctx.store.lock:
        fault = take_fault(ctx.store, http.method, http.path)
        if fault is not None:  # injected (reconciler.simulator.faults)
            ctx.store.save()  # the rule's counters
            return _fault_response(fault)
        try:
            return _run(ctx, http, version, tenant, endpoint)
        except CmdletError as exc:
            return _cmdlet_error(exc)
