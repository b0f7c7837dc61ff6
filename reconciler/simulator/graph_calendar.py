"""Graph v1.0 calendar, calendarPermission and servicePrincipal handlers (places: :mod:`graph_places`).

calendarPermissions are a view of the same Exchange folder-permission rows the admin API and EWS use
(:mod:`exchange_model`). An app token reaches a mailbox as the RBAC for Applications page's "How does RBAC for
Applications work alongside Application Access Policies?" says: "Application Access Policies constrain ONLY the
permissions assigned in Microsoft Entra ID", RBAC for Applications is "an alternate expression of authorization",
and "Permission consents are additive" (https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac).
So: (Entra ID consent AND the app's access policies) OR an RBAC for Applications assignment in scope.
The Entra ID consent is the enterprise app's appRoleAssignments when the directory records them, else the token's
``roles`` (as Entra issues them).
"""

from __future__ import annotations

import base64
from typing import Any

from reconciler.simulator import exchange_model as xm
from reconciler.simulator import odata
from reconciler.simulator.directory import consented_roles
from reconciler.simulator.graph_common import GraphError, GraphRequest, GraphResult, json_object_body

JsonObject = dict[str, Any]
Params = dict[str, str]

DEFAULT_ID = "RGVmYXVsdA=="  # base64("Default")
MY_ORGANIZATION = "My Organization"
# the "My Organization" entry's allowedRoles, as calendar-list-calendarpermissions and calendarpermission-get show it
DEFAULT_ALLOWED = ["none", "freeBusyRead", "limitedRead", "read", "write"]
USER_ALLOWED = [
    "none",
    "freeBusyRead",
    "limitedRead",
    "read",
    "write",
    "delegateWithoutPrivateEventAccess",
    "delegateWithPrivateEventAccess",
]
CALENDAR_ROLES = ("Calendars.ReadWrite", "Calendars.Read", "Calendars.ReadBasic")
# Microsoft Graph's application permission ids (https://learn.microsoft.com/en-us/graph/permissions-reference)
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_APP_ROLES = {
    "798ee544-9d2d-430c-a058-570e29e34338": "Calendars.Read",
    "ef54d2bf-783f-4e0f-bca1-3210c0444d99": "Calendars.ReadWrite",
}
ACCESS_DENIED = "Access is denied. Check credentials and try again."


def _bad(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


# --- mailbox resolution and app scoping ------------------------------------------------------


def _mailbox(req: GraphRequest, key: str) -> JsonObject:
    recipient = xm.find_recipient(req.store.data, key)
    if recipient is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
    if not xm.is_mailbox(recipient):
        message = "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
        raise GraphError(404, "MailboxNotEnabledForRESTAPI", message)
    return recipient


def _allowed(req: GraphRequest, mailbox: JsonObject, permission: str) -> bool:
    data, caller = req.store.data, req.caller
    consent = entra_consent(data, caller.app_id)
    if consent is None:
        if not xm.app_is_scoped(data, caller.app_id) and not any(role in CALENDAR_ROLES for role in caller.roles):
            return True  # the reconciler's own admin token (directory roles): not a calendar app
        consent = frozenset(caller.roles)
    entra = "Calendars.ReadWrite" in consent or permission in consent
    if entra and xm.policy_allows(data, caller.app_id, mailbox):
        return True
    return xm.rbac_allows(data, caller.app_id, mailbox, permission)


def entra_consent(data: JsonObject, app_id: str) -> frozenset[str] | None:
    """The Microsoft Graph application permissions an admin consented for the app, or None when the directory records
    none for it (the token's roles then stand)."""
    return consented_roles(data, app_id, GRAPH_APP_ROLES)


def _authorized_mailbox(req: GraphRequest, key: str, *, write: bool) -> JsonObject:
    mailbox = _mailbox(req, key)
    if not _allowed(req, mailbox, "Calendars.ReadWrite" if write else "Calendars.Read"):
        raise GraphError(403, "ErrorAccessDenied", ACCESS_DENIED)
    return mailbox


# --- calendar --------------------------------------------------------------------------------


def _calendar_id(mailbox: JsonObject) -> str:
    return base64.urlsafe_b64encode(f"Calendar.{mailbox['Guid']}".encode()).decode()


# https://learn.microsoft.com/en-us/graph/api/resources/calendar (v1.0 CSDL: every property of calendar)
CALENDAR_PROPERTIES = (
    "id",
    "name",
    "color",
    "hexColor",
    "isDefaultCalendar",
    "changeKey",
    "canShare",
    "canViewPrivateItems",
    "canEdit",
    "allowedOnlineMeetingProviders",
    "defaultOnlineMeetingProvider",
    "isTallyingResponses",
    "isRemovable",
    "owner",
)


def _calendar_view(mailbox: JsonObject) -> JsonObject:
    """The mailbox's default calendar as calendar-get's example shows one (changeKey: not tracked, null)."""
    return {
        "id": _calendar_id(mailbox),
        "name": "Calendar",
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": True,
        "changeKey": None,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": {"name": mailbox.get("DisplayName"), "address": mailbox.get("PrimarySmtpAddress")},
    }


def get_calendar(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/calendar-get?view=graph-rest-1.0"""
    odata.check_options(req, frozenset({"$select"}))
    mailbox = _authorized_mailbox(req, params["key"], write=False)
    selected = odata.parse_select(req, CALENDAR_PROPERTIES, "calendar")
    if selected is not None and "id" not in selected:
        selected = ["id", *selected]  # Outlook entities always carry their id
    view = _calendar_view(mailbox)
    fragment = f"users('{odata.key_segment(params['key'])}')/calendar"
    if req.query.get("$select") is not None:
        fragment += f"({req.query['$select']})"
    body: JsonObject = {"@odata.context": req.context(f"{fragment}/$entity")}
    body.update(view if selected is None else {name: view[name] for name in selected})
    return GraphResult(200, body)


# --- calendarPermissions ---------------------------------------------------------------------


def _permission_id(grantee: JsonObject) -> str:
    return base64.b64encode(f"ExchangePublishedUser.{grantee['PrimarySmtpAddress']}".encode()).decode()


def _permission_view(req: GraphRequest, row: JsonObject) -> JsonObject | None:
    role = xm.role_for(row.get("AccessRights") or [], row.get("SharingPermissionFlags"))
    if row["User"] == xm.DEFAULT_USER:
        return {
            "id": DEFAULT_ID,
            "isRemovable": False,
            "isInsideOrganization": True,
            "role": role,
            "allowedRoles": DEFAULT_ALLOWED,
            "emailAddress": {"name": MY_ORGANIZATION},
        }
    grantee = xm.grantee(req.store.data, str(row["User"]))
    if row["User"] == xm.ANONYMOUS_USER or grantee is None:
        return None
    return {
        "id": _permission_id(grantee),
        "isRemovable": True,
        "isInsideOrganization": True,
        "role": role,
        "allowedRoles": USER_ALLOWED,
        "emailAddress": {"name": grantee.get("DisplayName"), "address": grantee.get("PrimarySmtpAddress")},
    }


def _views(req: GraphRequest, mailbox: JsonObject) -> list[tuple[JsonObject, JsonObject]]:
    rows = xm.calendar_permissions(req.store.data, str(mailbox["Guid"]))
    pairs = [(row, _permission_view(req, row)) for row in rows]
    return [(row, view) for row, view in pairs if view is not None]


def _find_permission(req: GraphRequest, mailbox: JsonObject, perm_id: str) -> tuple[JsonObject, JsonObject]:
    for row, view in _views(req, mailbox):
        if view["id"] == perm_id:
            return row, view
    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _entity(req: GraphRequest, key: str, view: JsonObject) -> JsonObject:
    context = req.context(f"users('{odata.key_segment(key)}')/calendar/calendarPermissions/$entity")
    return {"@odata.context": context, **view}


def list_permissions(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/calendar-list-calendarpermissions?view=graph-rest-1.0"""
    mailbox = _authorized_mailbox(req, params["key"], write=False)
    values = [view for _, view in _views(req, mailbox)]
    context = req.context(f"users('{odata.key_segment(params['key'])}')/calendar/calendarPermissions")
    return GraphResult(200, {"@odata.context": context, "value": values})


def get_permission(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/calendarpermission-get?view=graph-rest-1.0"""
    mailbox = _authorized_mailbox(req, params["key"], write=False)
    _, view = _find_permission(req, mailbox, params["perm"])
    return GraphResult(200, _entity(req, params["key"], view))


def _role(body: JsonObject, allowed: list[str]) -> str:
    role = body.get("role")
    if not isinstance(role, str) or role not in allowed:
        raise _bad(f"The role '{role}' isn't valid for this calendar permission.")
    return role


def create_permission(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/calendar-post-calendarpermissions?view=graph-rest-1.0"""
    mailbox = _authorized_mailbox(req, params["key"], write=True)
    body = json_object_body(req)
    address = (body.get("emailAddress") or {}).get("address") if isinstance(body.get("emailAddress"), dict) else None
    if not isinstance(address, str) or not address:
        raise _bad("The emailAddress.address property is required.")
    grantee = xm.find_recipient(req.store.data, address)
    if grantee is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{address}' is invalid.")
    if not xm.mail_enabled(req.store.data, grantee):  # Exchange's folder-permission rule (see xm.mail_enabled)
        raise GraphError(400, "ErrorInvalidUser", f"The requested user '{address}' is invalid.")
    rights, flags = xm.rights_for(_role(body, USER_ALLOWED))
    rows = xm.calendar_permissions(req.store.data, str(mailbox["Guid"]))
    if xm.permission_row(rows, str(grantee["Guid"])) is not None:
        raise _bad(f"A permission entry already exists for '{address}'.")
    row = {"User": grantee["Guid"], "AccessRights": rights, "SharingPermissionFlags": flags}
    rows.append(row)
    view = _permission_view(req, row)
    return GraphResult(200, _entity(req, params["key"], view or {}))


def update_permission(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/calendarpermission-update?view=graph-rest-1.0"""
    mailbox = _authorized_mailbox(req, params["key"], write=True)
    row, view = _find_permission(req, mailbox, params["perm"])
    body = json_object_body(req)
    extra = [k for k in body if k != "role" and not k.startswith("@odata.")]
    if extra:
        raise _bad(f"Only the role property can be updated; '{extra[0]}' is read-only.")
    rights, flags = xm.rights_for(_role(body, list(view["allowedRoles"])))
    row.update(AccessRights=rights, SharingPermissionFlags=flags)
    return GraphResult(200, _entity(req, params["key"], _permission_view(req, row) or {}))


def delete_permission(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/calendarpermission-delete?view=graph-rest-1.0"""
    mailbox = _authorized_mailbox(req, params["key"], write=True)
    row, view = _find_permission(req, mailbox, params["perm"])
    if not view["isRemovable"]:
        raise _bad("The 'My Organization' calendar permission can't be removed.")
    xm.calendar_permissions(req.store.data, str(mailbox["Guid"])).remove(row)
    return GraphResult(204)


# --- service principals ----------------------------------------------------------------------

# https://learn.microsoft.com/en-us/graph/api/resources/serviceprincipal: every property of the v1.0
# servicePrincipal (and directoryObject) type. Stored service principals keep what is known (id, appId,
# displayName); the rest reads as Graph shows it unset: [] for collections, false for appRoleAssignmentRequired
# (documented default, not nullable), null otherwise. customSecurityAttributes is returned only on $select.
SP_PROPERTIES = (
    "id",
    "deletedDateTime",
    "accountEnabled",
    "addIns",
    "alternativeNames",
    "appDescription",
    "appDisplayName",
    "appId",
    "applicationTemplateId",
    "appOwnerOrganizationId",
    "appRoleAssignmentRequired",
    "appRoles",
    "createdByAppId",
    "customSecurityAttributes",
    "description",
    "disabledByMicrosoftStatus",
    "displayName",
    "homepage",
    "info",
    "isDisabled",
    "keyCredentials",
    "loginUrl",
    "logoutUrl",
    "notes",
    "notificationEmailAddresses",
    "oauth2PermissionScopes",
    "passwordCredentials",
    "preferredSingleSignOnMode",
    "preferredTokenSigningKeyThumbprint",
    "replyUrls",
    "resourceSpecificApplicationPermissions",
    "samlSingleSignOnSettings",
    "servicePrincipalNames",
    "servicePrincipalType",
    "signInAudience",
    "tags",
    "tokenEncryptionKeyId",
    "verifiedPublisher",
)
SP_COLLECTIONS = frozenset(
    {
        "addIns",
        "alternativeNames",
        "appRoles",
        "keyCredentials",
        "notificationEmailAddresses",
        "oauth2PermissionScopes",
        "passwordCredentials",
        "replyUrls",
        "resourceSpecificApplicationPermissions",
        "servicePrincipalNames",
        "tags",
    }
)
SP_SELECT_ONLY = frozenset({"customSecurityAttributes"})
SP_DEFAULTS: JsonObject = {"accountEnabled": True, "appRoleAssignmentRequired": False}
SP_FILTER_PROPERTIES = ("appId", "displayName", "id")


def _service_principals(req: GraphRequest) -> list[JsonObject]:
    items: list[JsonObject] = req.store.data.get("servicePrincipals") or []
    return items


def _sp_view(sp: JsonObject, selected: list[str] | None) -> JsonObject:
    names = selected if selected is not None else [n for n in SP_PROPERTIES if n not in SP_SELECT_ONLY]
    return {n: sp[n] if n in sp else ([] if n in SP_COLLECTIONS else SP_DEFAULTS.get(n)) for n in names}


def get_service_principal_by_app_id(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/serviceprincipal-get?view=graph-rest-1.0 (appId key)"""
    odata.check_options(req, frozenset({"$select"}))
    app_id = params["key"].strip("'\"").lower()
    found = next((sp for sp in _service_principals(req) if str(sp.get("appId", "")).lower() == app_id), None)
    if found is None:
        message = (
            f"Resource '{app_id}' does not exist or one of its queried reference-property objects are not present."
        )
        raise GraphError(404, "Request_ResourceNotFound", message)
    selected = odata.parse_select(req, SP_PROPERTIES, "servicePrincipal")
    context = req.context(odata.select_context("servicePrincipals", selected, entity=True))
    return GraphResult(200, {"@odata.context": context, **_sp_view(found, selected)})


def list_service_principals(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list?view=graph-rest-1.0"""
    odata.check_options(req, frozenset({"$filter", "$top", "$skiptoken", "$select"}))
    selected = odata.parse_select(req, SP_PROPERTIES, "servicePrincipal")
    keep = odata.parse_filter(req, SP_FILTER_PROPERTIES, "servicePrincipal")
    page, next_link = odata.paginate(req, [sp for sp in _service_principals(req) if keep(sp)], "/servicePrincipals")
    body: JsonObject = {
        "@odata.context": req.context(odata.select_context("servicePrincipals", selected, entity=False))
    }
    if next_link:
        body["@odata.nextLink"] = next_link
    body["value"] = [_sp_view(sp, selected) for sp in page]
    return GraphResult(200, body)


# https://learn.microsoft.com/en-us/graph/api/resources/approleassignment: every property of appRoleAssignment
APP_ROLE_ASSIGNMENT_PROPERTIES = (
    "id",
    "deletedDateTime",
    "appRoleId",
    "createdDateTime",
    "principalDisplayName",
    "principalId",
    "principalType",
    "resourceDisplayName",
    "resourceId",
)


def _sp_by_id(req: GraphRequest, key: str) -> JsonObject:
    found = next((sp for sp in _service_principals(req) if str(sp.get("id", "")).lower() == key.lower()), None)
    if found is None:
        message = f"Resource '{key}' does not exist or one of its queried reference-property objects are not present."
        raise GraphError(404, "Request_ResourceNotFound", message)
    return found


def list_app_role_assignments(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments?view=graph-rest-1.0:
    the app roles granted to the service principal (its application permissions)."""
    odata.check_options(req, frozenset({"$select", "$top"}))
    sp = _sp_by_id(req, params["key"])
    selected = odata.parse_select(req, APP_ROLE_ASSIGNMENT_PROPERTIES, "appRoleAssignment")
    names = selected if selected is not None else list(APP_ROLE_ASSIGNMENT_PROPERTIES)
    rows = [{n: a.get(n) for n in names} for a in sp.get("appRoleAssignments") or []]
    context = req.context(f"servicePrincipals('{sp['id']}')/appRoleAssignments")
    return GraphResult(200, {"@odata.context": context, "value": rows})


def delete_app_role_assignment(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/serviceprincipal-delete-approleassignments?view=graph-rest-1.0:
    204 No Content (an admin revoking a consented application permission)."""
    sp = _sp_by_id(req, params["key"])
    assignments: list[JsonObject] = sp.get("appRoleAssignments") or []
    found = next((a for a in assignments if str(a.get("id")) == params["assignment"]), None)
    if found is None:
        missing = params["assignment"]
        message = (
            f"Resource '{missing}' does not exist or one of its queried reference-property objects are not present."
        )
        raise GraphError(404, "Request_ResourceNotFound", message)
    assignments.remove(found)
    return GraphResult(204, None)
