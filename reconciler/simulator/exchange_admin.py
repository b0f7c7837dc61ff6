"""Exchange Online Admin API (``/adminapi``) and the in-process cmdlet runner (``run_cmdlet``).

Wire format: https://learn.microsoft.com/en-us/exchange/reference/admin-api-get-started ::

    POST /adminapi/v2.0/<tenantId>/<Endpoint>            (documented endpoints, their own cmdlets only)
    POST /adminapi/beta/<tenantId>/InvokeCommand          (any cmdlet; what ExchangeOnlineManagement v3 uses)
    {"CmdletInput": {"CmdletName": "...", "Parameters": {...}}}        (optional query: $select=A,B)
    -> 200 {"@odata.context": ".../$metadata#Collection(Exchange.GenericHashTable)" (beta) | "...#<Endpoint>",
            "adminapi.warnings@odata.type": "#Collection(String)", "@adminapi.warnings": [<warnings>],
            "value": [...], "@odata.nextLink"?: "<absolute url, re-POST the same body>"}
    -> 4xx {"error": {"code": "BadRequest"|"NotFound", "message": "Invalid Operation"|"Error executing cmdlet",
            "details": [{"code": "Client", "target": "", "message": "<id>|<Exception.Type>|<text>"}],
            "innererror": {"message", "type", "stacktrace", "internalexception": {...}},
            "adminapi.warnings@odata.type", "@adminapi.warnings"}}

The envelope, the error shape and the content type are those of live answers (captures cited in
:mod:`exchange_errors` and :mod:`exchange_views`); each object's collections, Guids and dates carry their type
annotations. Parameters are bound against the cmdlet's documented parameters (:mod:`exchange_params`,
:mod:`exchange_binding`); a documented parameter the simulator doesn't emulate is refused (HTTP 501) naming its page.

Only ``exchange_online`` tenants serve it; an ``exchange_server`` tenant answers 404 (on-premises
Exchange has no admin REST API; its admins use the Exchange Management Shell, :mod:`shell`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from reconciler.simulator import exchange_calendar as xcal
from reconciler.simulator import exchange_cmdlets as xc
from reconciler.simulator import exchange_places as xp
from reconciler.simulator import exchange_rbac as xr
from reconciler.simulator.exchange_binding import bind
from reconciler.simulator.exchange_errors import CmdletError, not_emulated, unknown_cmdlet
from reconciler.simulator.exchange_params import COMMON_PARAMETERS, PAGES, Page
from reconciler.simulator.exchange_views import annotate
from reconciler.simulator.faults import retry_after, take_fault
from reconciler.simulator.tokens import TokenError, decode_token
from reconciler.simulator.wire import HttpRequest, HttpResponse, SimContext

JsonObject = dict[str, Any]
Cmdlet = Callable[[xc.Ctx, xc.Params], list[JsonObject]]

PREFIX = "/adminapi"
DEFAULT_PAGE_SIZE = 1000
_PATH = re.compile(r"^/adminapi/(?P<version>v2\.0|beta)/(?P<tenant>[^/]+)/(?P<endpoint>[^/]+)$", re.IGNORECASE)
# What live answers carry (captures cited in exchange_errors / exchange_views): the generic error messages, the
# warnings annotation, and the content type.
CMDLET_FAILED = "Error executing cmdlet"
INVALID_OPERATION = "Invalid Operation"
WARNINGS_TYPE = "#Collection(String)"
CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
ODATA_EXCEPTION = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
EXECUTION_EXCEPTION = "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException"

# Parameters every emulated cmdlet accepts and needs no code for: PowerShell's common parameters, -Confirm
# (nothing prompts here), -WhatIf (run on a copy: nothing changes), -Force (hides prompts), and the on-premises
# domain-controller choices (one simulated directory).
ACCEPTED = frozenset(
    {
        *COMMON_PARAMETERS,
        "Confirm",
        "WhatIf",
        "Force",
        "DomainController",
        "ReadFromDomainController",
        "IgnoreDefaultScope",
    }
)


def _settings(cmdlet: str) -> str:
    """The stored group settings (exchange_cmdlets.STORED_*) that the cmdlet's page documents."""
    documented = {p.lower() for p in PAGES[cmdlet].parameters}
    return " ".join(p for p in (*xc.STORED_BOOLEANS, *xc.STORED_TEXT, *xc.STORED_LISTS) if p.lower() in documented)


# name -> (function, the documented parameters it emulates, mutating). The documented parameters themselves
# (with their pages) are exchange_params.PAGES; a documented one not listed here is refused as not emulated.
CMDLETS: dict[str, tuple[Cmdlet, str, bool]] = {
    "Get-Mailbox": (xc.get_mailbox, "Identity ResultSize RecipientTypeDetails Filter Anr SortBy", False),
    "Remove-Mailbox": (xc.remove_mailbox, "Identity Force Permanent", True),
    "Get-Recipient": (
        xc.get_recipient,
        "Identity ResultSize RecipientTypeDetails RecipientType Filter Anr SortBy",
        False,
    ),
    "Get-MailboxFolderPermission": (xc.get_folder_permission, "Identity User ResultSize SkipCount", False),
    "Add-MailboxFolderPermission": (
        xc.add_folder_permission,
        "Identity User AccessRights SharingPermissionFlags SendNotificationToUser",
        True,
    ),
    "Set-MailboxFolderPermission": (
        xc.set_folder_permission,
        "Identity User AccessRights SharingPermissionFlags SendNotificationToUser",
        True,
    ),
    "Remove-MailboxFolderPermission": (xc.remove_folder_permission, "Identity User SendNotificationToUser", True),
    "Get-DistributionGroup": (
        xc.get_distribution_group,
        "Identity ResultSize RecipientTypeDetails Filter Anr SortBy ManagedBy",
        False,
    ),
    "New-DistributionGroup": (
        xc.new_distribution_group,
        "Name Alias DisplayName PrimarySmtpAddress Members RoomList Type ManagedBy CopyOwnerToMember "
        "IgnoreNamingPolicy MemberJoinRestriction MemberDepartRestriction SendModerationNotifications "
        + _settings("New-DistributionGroup"),
        True,
    ),
    "Set-DistributionGroup": (
        xc.set_distribution_group,
        "Identity Name Alias DisplayName PrimarySmtpAddress RoomList ManagedBy IgnoreNamingPolicy "
        "BypassSecurityGroupManagerCheck MemberJoinRestriction MemberDepartRestriction SendModerationNotifications "
        + _settings("Set-DistributionGroup"),
        True,
    ),
    "Remove-DistributionGroup": (xc.remove_distribution_group, "Identity BypassSecurityGroupManagerCheck", True),
    "Get-DistributionGroupMember": (xc.get_group_member, "Identity ResultSize", False),
    "Add-DistributionGroupMember": (xc.add_group_member, "Identity Member BypassSecurityGroupManagerCheck", True),
    "Remove-DistributionGroupMember": (xc.remove_group_member, "Identity Member BypassSecurityGroupManagerCheck", True),
    "Get-AcceptedDomain": (xc.get_accepted_domain, "Identity ResultSize", False),
    "Get-Place": (xp.get_place, "Identity Type ResultSize", False),
    "Set-Place": (xp.set_place, " ".join(xp.EMULATED), True),
    "Get-CalendarProcessing": (xcal.get_calendar_processing, "Identity ResultSize", False),
    "Set-CalendarProcessing": (
        xcal.set_calendar_processing,
        "Identity AutomateProcessing BookingType AdditionalResponse "
        + " ".join((*xcal.BOOLEANS, *xcal.ONLINE_BOOLEANS, *xcal.INTEGERS, *xcal.ONLINE_INTEGERS)),
        True,
    ),
    "Get-ManagementScope": (xr.get_management_scope, "Identity Exclusive Orphan", False),
    "New-ManagementScope": (xr.new_management_scope, "Name RecipientRestrictionFilter Exclusive", True),
    "Set-ManagementScope": (xr.set_management_scope, "Identity Name RecipientRestrictionFilter", True),
    "Remove-ManagementScope": (xr.remove_management_scope, "Identity", True),
    "Get-ManagementRoleAssignment": (
        xr.get_role_assignment,
        "Identity Role RoleAssignee AssignmentMethod Enabled Exclusive Delegating RecipientWriteScope "
        "CustomRecipientWriteScope ExclusiveRecipientWriteScope RoleAssigneeType GetEffectiveUsers ConfigWriteScope "
        "CustomConfigWriteScope ExclusiveConfigWriteScope RecipientGroupScope WritableRecipient",
        False,
    ),
    "New-ManagementRoleAssignment": (
        xr.new_role_assignment,
        "Name Role User App SecurityGroup CustomRecipientWriteScope ExclusiveRecipientWriteScope CustomResourceScope "
        "RecipientRelativeWriteScope",
        True,
    ),
    "Set-ManagementRoleAssignment": (
        xr.set_role_assignment,
        "Identity Enabled CustomRecipientWriteScope ExclusiveRecipientWriteScope CustomResourceScope "
        "RecipientRelativeWriteScope",
        True,
    ),
    "Remove-ManagementRoleAssignment": (xr.remove_role_assignment, "Identity", True),
    "New-RoleGroup": (
        xr.new_role_group,
        "Name Roles Members ManagedBy Description DisplayName CustomRecipientWriteScope",
        True,
    ),
    "Get-ServicePrincipal": (xr.get_service_principal, "Identity", False),
    "New-ServicePrincipal": (xr.new_service_principal, "AppId ObjectId ServiceId DisplayName", True),
    "Set-ServicePrincipal": (xr.set_service_principal, "Identity DisplayName", True),
    "Remove-ServicePrincipal": (xr.remove_service_principal, "Identity", True),
    "Get-ApplicationAccessPolicy": (xr.get_access_policy, "Identity", False),
    "New-ApplicationAccessPolicy": (xr.new_access_policy, "AppId PolicyScopeGroupId AccessRight Description", True),
    "Set-ApplicationAccessPolicy": (xr.set_access_policy, "Identity Description", True),
    "Remove-ApplicationAccessPolicy": (xr.remove_access_policy, "Identity", True),
    "Test-ApplicationAccessPolicy": (xr.test_access_policy, "Identity AppId", False),
    "Test-ServicePrincipalAuthorization": (xr.test_sp_authorization, "Identity Resource", False),
    "Get-OrganizationConfig": (xr.get_organization_config, "RetrieveEwsOperationAccessPolicy", False),
    "Set-OrganizationConfig": (xr.set_organization_config, "EwsEnabled EwsAllowedAppIDs", True),
    "Set-CASMailbox": (xr.set_cas_mailbox, "Identity EwsEnabled", True),
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


@dataclass
class Result:
    """A cmdlet's pipeline output and the warnings it wrote."""

    rows: list[JsonObject]
    warnings: list[str] = field(default_factory=list)
    changed: bool = False  # the tenant may have changed (a mutating cmdlet ran, not under -WhatIf)


def canonical_cmdlet(name: str) -> str:
    """The cmdlet's canonical spelling, or CommandNotFoundException."""
    found = _BY_LOWER.get(name.strip().lower())
    if found is None:
        raise unknown_cmdlet(name)
    return found


def page(name: str) -> Page:
    """The documented parameters of an emulated cmdlet (exchange_params)."""
    return PAGES[canonical_cmdlet(name)]


def is_mutating(name: str) -> bool:
    return CMDLETS[canonical_cmdlet(name)][2]


def available(name: str, online: bool) -> bool:
    """Whether the cmdlet exists in Exchange Online (``online``) or Exchange Server, as its page's "applicable" says."""
    return ("O" if online else "S") in PAGES[canonical_cmdlet(name)].where


def emulated(name: str) -> frozenset[str]:
    return frozenset(CMDLETS[canonical_cmdlet(name)][1].split()) | ACCEPTED


def prepare(
    name: str, parameters: Mapping[str, Any], positional: Sequence[Any] = (), *, online: bool, shell: bool = False
) -> xc.Params:
    """Bind a cmdlet's parameters as Exchange Online (``online``) or Exchange Server would, and refuse the documented
    ones the simulator doesn't emulate; the parameters its function receives. Raises CmdletError."""
    canonical = canonical_cmdlet(name)
    if not available(canonical, online):
        raise unknown_cmdlet(canonical)  # e.g. a cloud-only cmdlet in the Exchange Management Shell
    documented = PAGES[canonical]
    bound = bind(documented, parameters, positional, online=online, shell=shell)
    allowed = emulated(canonical)
    for parameter in bound.values:
        if parameter not in allowed:
            raise not_emulated(canonical, parameter, documented.url)
    return xc.Params(canonical, bound.values, bound.parameter_set)


def invoke(
    data: JsonObject,
    name: str,
    parameters: Mapping[str, Any],
    positional: Sequence[Any] = (),
    *,
    shell: bool = False,
) -> Result:
    """Bind and run one cmdlet against the tenant dict (mutates it; the caller saves). Raises CmdletError.

    ``shell``: the Exchange Management Shell's rules (aliases, prefixes and positional values, PowerShell's
    binding errors); otherwise the admin API's (whole names, its own unknown-parameter error)."""
    ctx = xc.Ctx(data)
    params = prepare(name, parameters, positional, online=ctx.online, shell=shell)
    function, _, mutating = CMDLETS[params.cmdlet]
    if mutating and params.flag("WhatIf"):  # "shows what the command does without making any changes"
        function(xc.Ctx(copy.deepcopy(data)), params)
        return Result([], ctx.warnings)
    return Result(function(ctx, params), ctx.warnings, changed=mutating)


def run_cmdlet(
    data: JsonObject, name: str, parameters: Mapping[str, Any], positional: Sequence[Any] = (), *, shell: bool = False
) -> list[JsonObject]:
    """:func:`invoke`, the output rows only."""
    return invoke(data, name, parameters, positional, shell=shell).rows


# --- HTTP ------------------------------------------------------------------------------------


def _json(status: int, body: JsonObject, content_type: str = "application/json; charset=utf-8") -> HttpResponse:
    return HttpResponse(status, {"Content-Type": content_type}, json.dumps(body).encode())


def _error(status: int, code: str, message: str) -> HttpResponse:
    """A failure before any cmdlet ran (auth, routing, faults)."""
    return _json(status, {"error": {"code": code, "message": message}})


def _cmdlet_error(exc: CmdletError, warnings: list[str]) -> HttpResponse:
    """A cmdlet refused, in the shape live tenants answer (see exchange_errors): a generic ``message``, Exchange's
    reason in ``details[0].message`` as ``<id>|<Exception.Type>|<text>``, the exception in ``innererror``."""
    if exc.binding:  # refused before running: the binding exception itself is the inner exception
        message, inner = INVALID_OPERATION, {"message": exc.text, "type": exc.exc_type, "stacktrace": ""}
    else:
        text = f"Exception of type '{EXECUTION_EXCEPTION}' was thrown."
        message, inner = CMDLET_FAILED, {"message": text, "type": EXECUTION_EXCEPTION, "stacktrace": ""}
    codes = {404: "NotFound", 501: "NotImplemented"}
    error: JsonObject = {
        "code": codes.get(exc.status, "BadRequest"),
        "message": message,
        "details": [{"code": "Client", "target": "", "message": exc.detail}],
        "innererror": {"message": message, "type": ODATA_EXCEPTION, "stacktrace": "", "internalexception": inner},
        "adminapi.warnings@odata.type": WARNINGS_TYPE,
        "@adminapi.warnings": warnings,
    }
    return _json(exc.status, {"error": error})


def _fault_response(fault: JsonObject) -> HttpResponse:
    status = int(fault.get("status", 503))
    codes = {429: "TooManyRequests", 403: "Forbidden", 500: "InternalServerError"}
    response = _error(status, codes.get(status, "ServiceUnavailable"), CMDLET_FAILED)
    if status in (429, 503):
        response.headers["Retry-After"] = retry_after(fault)
    return response


def _authorized(ctx: SimContext, http: HttpRequest, tenant: str) -> HttpResponse | None:
    scheme, _, token = http.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "Unauthorized", "The request is missing a bearer token.")
    try:
        decode_token(token.strip(), str(ctx.store.tenant["id"]))
    except TokenError as exc:
        return _error(401, "Unauthorized", f"The access token is invalid ({exc}).")
    if tenant.lower() != str(ctx.store.tenant["id"]).lower():
        return _error(401, "Unauthorized", "The tenant in the URL doesn't match the access token.")
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


def _select(rows: list[JsonObject], query: dict[str, str]) -> list[JsonObject]:
    """``$select=A,B``: only those properties of each object (the admin API's property selection)."""
    wanted = {p.strip().lower() for p in query.get("$select", "").split(",") if p.strip()}
    if not wanted:
        return rows
    return [{k: v for k, v in row.items() if k.lower() in wanted} for row in rows]


def _skiptoken(http: HttpRequest) -> tuple[str | None, int]:
    """A nextLink's ``$skiptoken``: ``<cursor>.<skip>`` (a listing kept from its first page), or a bare count."""
    token = str(dict(parse_qsl(http.query)).get("$skiptoken", "0"))
    cursor, _, skip = token.rpartition(".")
    return (cursor or None), (int(skip) if skip.isdigit() else 0)


def _page(
    ctx: SimContext, http: HttpRequest, result: Result, context: str, skip: int, cursor: str | None = None
) -> HttpResponse:
    """One page of a listing. A listing longer than a page is kept under a cursor named in the nextLink's
    ``$skiptoken``, so the next pages are slices of it (the cmdlet runs once per listing, not once per page: a
    listing of n rows in pages of p costs O(n), not O(n**2 / p)); the next page of a cursor no longer kept runs
    the cmdlet again and skips as many rows."""
    query = dict(parse_qsl(http.query))
    size = _page_size(http)
    rows = _select(result.rows[skip : skip + size], query)
    body: JsonObject = {
        "@odata.context": context,
        "adminapi.warnings@odata.type": WARNINGS_TYPE,
        "@adminapi.warnings": result.warnings,
        "value": [annotate(row) for row in rows],
    }
    if skip + size < len(result.rows):
        if cursor is None and not result.changed:
            cursor = ctx.store.keep_listing(result)
        token = f"{cursor}.{skip + size}" if cursor else str(skip + size)
        following = {k: v for k, v in query.items() if k != "$skiptoken"} | {"$skiptoken": token}
        body["@odata.nextLink"] = f"{ctx.base_url}{http.path}?{urlencode(following, safe='$,')}"
    elif cursor is not None:
        ctx.store.drop_listing(cursor)  # the last page: nobody follows this cursor further
    headers = {"Content-Type": CONTENT_TYPE, "OData-Version": "4.0"}
    if "odata.maxpagesize" in http.headers.get("prefer", "").lower():
        headers["Preference-Applied"] = f"odata.maxpagesize={size}"
    return HttpResponse(200, headers, json.dumps(body).encode())


def _run(ctx: SimContext, http: HttpRequest, version: str, tenant: str, endpoint: str) -> HttpResponse:
    name, params = _cmdlet_input(http)
    _check_endpoint(version, endpoint, name)
    fragment = "Collection(Exchange.GenericHashTable)" if version.lower() == "beta" else endpoint
    context = f"{ctx.base_url}/adminapi/{version}/{tenant}/$metadata#{fragment}"
    cursor, skip = _skiptoken(http)
    kept = ctx.store.listing(cursor) if cursor else None
    if isinstance(kept, Result):
        return _page(ctx, http, kept, context, skip, cursor)
    result = invoke(ctx.store.data, name, params)
    if result.changed:
        ctx.store.save()
    return _page(ctx, http, result, context, skip)


def handle_http(ctx: SimContext, http: HttpRequest) -> HttpResponse:
    """Serve one request under ``/adminapi`` (POST only)."""
    if str(ctx.store.tenant.get("flavor", "exchange_online")) != "exchange_online":
        return _error(404, "NotFound", f"No simulated service at '{http.path}'.")
    match = _PATH.match(http.path)
    if match is None:
        return _error(404, "NotFound", f"No simulated service at '{http.path}'.")
    if http.method != "POST":
        return _error(405, "MethodNotAllowed", "The Exchange Online Admin API accepts only POST.")
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
            return _cmdlet_error(exc, [])
