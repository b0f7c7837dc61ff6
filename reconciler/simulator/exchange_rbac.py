"""RBAC and app-access cmdlets: management scopes, role assignments, service principals,
application access policies, organization EWS settings and the Test-* cmdlets.

RBAC for Applications: https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.simulator import exchange_model as xm
from reconciler.simulator.exchange_cmdlets import Ctx, Params, resolve, to_bool
from reconciler.simulator.exchange_errors import (
    RECIPIENT_TASK_TYPE,
    TASK_ARGUMENT_TYPE,
    CmdletError,
    already_exists,
    bad_value,
    missing_parameter,
    not_found,
    unknown_parameter,
)

JsonObject = dict[str, Any]
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
# Roles an assignment may name (a subset of Exchange's built-in roles, plus the application roles).
ADMIN_ROLES = ("Mail Recipients", "Organization Management", "View-Only Recipients", "Role Management")


def _section(ctx: Ctx, key: str) -> list[JsonObject]:
    items: list[JsonObject] = xm.exchange(ctx.data)[key]
    return items


def _find(items: list[JsonObject], identity: str, keys: tuple[str, ...]) -> JsonObject | None:
    lowered = identity.lower()
    return next((i for i in items if any(str(i.get(k, "")).lower() == lowered for k in keys)), None)


# --- management scopes -----------------------------------------------------------------------

SCOPE_VIEW = ("Guid", "Identity", "Name", "RecipientFilter", "ScopeRestrictionType", "Exclusive")


def _scope(ctx: Ctx, identity: str) -> JsonObject:
    scope = xm.find_scope(ctx.data, identity)
    if scope is None:
        raise not_found(identity, ctx.server)
    return scope


def _checked_filter(ctx: Ctx, text: str) -> str:
    try:
        xm.compile_filter(ctx.data, text)
    except xm.FilterError as exc:
        raise bad_value("RecipientRestrictionFilter", str(exc)) from exc
    return xm.normalize_filter(text)


def get_management_scope(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/get-managementscope
    identity = params.text("Identity")
    scopes = [_scope(ctx, identity)] if identity else _section(ctx, "managementScopes")
    return [{k: s.get(k) for k in SCOPE_VIEW} for s in scopes]


def new_management_scope(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-managementscope
    name = params.required("Name")
    if xm.find_scope(ctx.data, name) is not None:
        raise already_exists(f"CN={name},CN=Scopes,CN=RBAC", ctx.server)
    scope = {
        "Guid": xm.new_guid(ctx.data, name),
        "Identity": name,
        "Name": name,
        "RecipientFilter": _checked_filter(ctx, params.required("RecipientRestrictionFilter")),
        "ScopeRestrictionType": "RecipientScope",
        "Exclusive": params.flag("Exclusive"),
    }
    _section(ctx, "managementScopes").append(scope)
    return [{k: scope.get(k) for k in SCOPE_VIEW}]


def set_management_scope(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-managementscope
    scope = _scope(ctx, params.required("Identity"))
    text = params.text("RecipientRestrictionFilter")
    if text:
        scope["RecipientFilter"] = _checked_filter(ctx, text)
    name = params.text("Name")
    if name and name != scope["Name"]:
        _rename_scope(ctx, scope, name)
    return []


def _rename_scope(ctx: Ctx, scope: JsonObject, name: str) -> None:
    for assignment in _section(ctx, "roleAssignments"):
        for key in ("CustomResourceScope", "CustomRecipientWriteScope"):
            if assignment.get(key) == scope["Name"]:
                assignment[key] = name
    scope.update(Name=name, Identity=name)


def remove_management_scope(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/remove-managementscope
    scope = _scope(ctx, params.required("Identity"))
    users = [a["Name"] for a in _section(ctx, "roleAssignments") if scope["Name"] in _scopes_of(a)]
    if users:
        text = f'The management scope "{scope["Name"]}" is used by role assignments ({", ".join(users)}).'
        raise CmdletError(TASK_ARGUMENT_TYPE, text)
    _section(ctx, "managementScopes").remove(scope)
    return []


def _scopes_of(assignment: JsonObject) -> set[str]:
    return {str(assignment.get(k)) for k in ("CustomResourceScope", "CustomRecipientWriteScope") if assignment.get(k)}


# --- role assignments ------------------------------------------------------------------------

ASSIGNMENT_VIEW = (
    "Guid",
    "Identity",
    "Name",
    "Role",
    "RoleAssignee",
    "RoleAssigneeName",
    "RoleAssigneeType",
    "CustomRecipientWriteScope",
    "CustomResourceScope",
    "RecipientWriteScope",
    "Enabled",
)


def _assignment_view(assignment: JsonObject) -> JsonObject:
    return {k: assignment.get(k) for k in ASSIGNMENT_VIEW}


def get_role_assignment(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/get-managementroleassignment
    items = _section(ctx, "roleAssignments")
    identity = params.text("Identity")
    if identity:
        found = _find(items, identity, ("Name", "Identity", "Guid"))
        if found is None:
            raise not_found(identity, ctx.server)
        items = [found]
    role, assignee = params.text("Role"), params.text("RoleAssignee")
    if role:
        items = [a for a in items if str(a["Role"]).lower() == role.lower()]
    if assignee:
        items = [a for a in items if _assignee_is(ctx, a, assignee)]
    return [_assignment_view(a) for a in items]


def _assignee_is(ctx: Ctx, assignment: JsonObject, identity: str) -> bool:
    names = {str(assignment.get(k, "")).lower() for k in ("RoleAssignee", "RoleAssigneeName")}
    if identity.lower() in names:
        return True
    sp = xm.find_service_principal(ctx.data, identity)
    if sp is not None:
        return str(sp["ObjectId"]).lower() in names
    user = xm.find_recipient(ctx.data, identity)
    return user is not None and str(user.get("Identity", "")).lower() in names


def _role_name(ctx: Ctx, role: str) -> str:
    """The canonical role name; unknown roles (and ApplicationImpersonation online) are not found."""
    known = [*ADMIN_ROLES, xm.IMPERSONATION_ROLE] if not ctx.online else [*ADMIN_ROLES, *xm.APP_ROLE_PERMISSIONS]
    match = next((k for k in known if k.lower() == role.lower()), None)
    if match is None:
        # Exchange Online removed ApplicationImpersonation in February 2025: the role object no longer exists.
        raise not_found(role, ctx.server)
    return match


def new_role_assignment(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-managementroleassignment
    role = _role_name(ctx, params.required("Role"))
    if params.has("App"):
        assignment = _app_assignment(ctx, params, role)
    elif params.has("User"):
        assignment = _user_assignment(ctx, params, role)
    else:
        raise missing_parameter(params.cmdlet, "User")
    name = params.text("Name") or f"{role}-{assignment['RoleAssigneeName']}"[:64]
    if _find(_section(ctx, "roleAssignments"), name, ("Name",)) is not None:
        raise already_exists(f"CN={name},CN=Role Assignments,CN=RBAC", ctx.server)
    assignment.update(Guid=xm.new_guid(ctx.data, name), Identity=name, Name=name, Role=role, Enabled=True)
    _section(ctx, "roleAssignments").append(assignment)
    return [_assignment_view(assignment)]


def _scope_name(ctx: Ctx, params: Params, parameter: str) -> str | None:
    value = params.text(parameter)
    return str(_scope(ctx, value)["Name"]) if value else None


def _app_assignment(ctx: Ctx, params: Params, role: str) -> JsonObject:
    if not ctx.online:
        raise unknown_parameter("App")
    if role not in xm.APP_ROLE_PERMISSIONS:
        text = f"The role '{role}' can't be assigned to a service principal; use an application role."
        raise CmdletError(TASK_ARGUMENT_TYPE, text)
    identity = params.required("App")
    sp = xm.find_service_principal(ctx.data, identity)
    if sp is None:  # not registered with New-ServicePrincipal
        raise not_found(identity, ctx.server)
    scope = _scope_name(ctx, params, "CustomResourceScope")
    return {
        "RoleAssignee": sp["ObjectId"],
        "RoleAssigneeName": sp["DisplayName"],
        "RoleAssigneeType": "ServicePrincipal",
        "CustomRecipientWriteScope": None,
        "CustomResourceScope": scope,
        "RecipientWriteScope": "CustomRecipientScope" if scope else "Organization",
    }


def _user_assignment(ctx: Ctx, params: Params, role: str) -> JsonObject:
    if role in xm.APP_ROLE_PERMISSIONS:
        text = f"The application role '{role}' can only be assigned to a service principal (-App)."
        raise CmdletError(TASK_ARGUMENT_TYPE, text)
    if params.has("CustomResourceScope"):
        raise CmdletError(TASK_ARGUMENT_TYPE, "CustomResourceScope can only be used with the App parameter.")
    user = resolve(ctx, params.required("User"), xm.MAILBOX_TYPES | frozenset({"User"}))
    scope = _scope_name(ctx, params, "CustomRecipientWriteScope")
    return {
        "RoleAssignee": user["Identity"],
        "RoleAssigneeName": user["Name"],
        "RoleAssigneeType": "User",
        "CustomRecipientWriteScope": scope,
        "CustomResourceScope": None,
        "RecipientWriteScope": "CustomRecipientScope" if scope else "Organization",
    }


def remove_role_assignment(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/remove-managementroleassignment
    identity = params.required("Identity")
    found = _find(_section(ctx, "roleAssignments"), identity, ("Name", "Identity", "Guid"))
    if found is None:
        raise not_found(identity, ctx.server)
    _section(ctx, "roleAssignments").remove(found)
    return []


# --- service principals ----------------------------------------------------------------------

SP_VIEW = ("AppId", "ObjectId", "DisplayName", "Identity")


def _sp(ctx: Ctx, identity: str) -> JsonObject:
    sp = xm.find_service_principal(ctx.data, identity)
    if sp is None:
        raise not_found(identity, ctx.server)
    return sp


def get_service_principal(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/get-serviceprincipal
    identity = params.text("Identity")
    items = [_sp(ctx, identity)] if identity else _section(ctx, "servicePrincipals")
    return [{k: sp.get(k) for k in SP_VIEW} for sp in items]


def _guid(params: Params, name: str) -> str:
    value = params.required(name)
    if not _GUID.match(value):
        raise bad_value(name, f'Cannot convert value "{value}" to type "System.Guid".')
    return value.lower()


def new_service_principal(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-serviceprincipal
    app_id = _guid(params, "AppId")
    object_id = _guid(params, "ObjectId" if params.has("ObjectId") or not params.has("ServiceId") else "ServiceId")
    if xm.find_service_principal(ctx.data, app_id) or xm.find_service_principal(ctx.data, object_id):
        raise already_exists(f"CN={object_id},CN=ServicePrincipals", ctx.server)
    display = params.text("DisplayName") or app_id
    sp = {"AppId": app_id, "ObjectId": object_id, "DisplayName": display, "Identity": object_id}
    _section(ctx, "servicePrincipals").append(sp)
    return [dict(sp)]


def set_service_principal(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-serviceprincipal
    sp = _sp(ctx, params.required("Identity"))
    display = params.text("DisplayName")
    if display:
        sp["DisplayName"] = display
    return []


def remove_service_principal(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/remove-serviceprincipal
    sp = _sp(ctx, params.required("Identity"))
    _section(ctx, "servicePrincipals").remove(sp)
    return []


# --- application access policies -------------------------------------------------------------

POLICY_VIEW = ("Identity", "AppId", "ScopeName", "ScopeIdentity", "AccessRight", "Description")


def _policy(ctx: Ctx, identity: str) -> JsonObject:
    found = _find(_section(ctx, "applicationAccessPolicies"), identity, ("Identity",))
    if found is None:
        raise not_found(identity, ctx.server)
    return found


def get_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/get-applicationaccesspolicy
    identity = params.text("Identity")
    items = [_policy(ctx, identity)] if identity else _section(ctx, "applicationAccessPolicies")
    return [{k: p.get(k) for k in POLICY_VIEW} for p in items]


def new_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/new-applicationaccesspolicy
    right = params.required("AccessRight")
    if right.lower() not in ("restrictaccess", "denyaccess"):
        raise bad_value("AccessRight", f"'{right}' isn't a valid ApplicationAccessPolicyRight value.")
    group = resolve(ctx, params.required("PolicyScopeGroupId"))
    if group.get("RecipientTypeDetails") != "MailUniversalSecurityGroup":
        text = f"The group '{group['Name']}' isn't a mail-enabled security group."
        raise CmdletError(RECIPIENT_TASK_TYPE, text)
    created = []
    for app_id in params.items("AppId") or []:
        policy = {
            "Identity": f"{ctx.data['tenant']['id']}\\{app_id}:{group['Guid']}",
            "AppId": app_id,
            "ScopeName": group["DisplayName"],
            "ScopeIdentity": group["Name"],
            "AccessRight": "RestrictAccess" if right.lower() == "restrictaccess" else "DenyAccess",
            "Description": params.text("Description"),
        }
        _section(ctx, "applicationAccessPolicies").append(policy)
        created.append({k: policy.get(k) for k in POLICY_VIEW})
    if not created:
        raise missing_parameter(params.cmdlet, "AppId")
    return created


def set_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-applicationaccesspolicy
    policy = _policy(ctx, params.required("Identity"))
    policy["Description"] = params.text("Description")
    return []


def remove_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/remove-applicationaccesspolicy
    policy = _policy(ctx, params.required("Identity"))
    _section(ctx, "applicationAccessPolicies").remove(policy)
    return []


def test_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/test-applicationaccesspolicy
    mailbox = resolve(ctx, params.required("Identity"), xm.MAILBOX_TYPES)
    app_id = params.required("AppId")
    granted = xm.policy_allows(ctx.data, app_id, mailbox)
    return [
        {
            "AppId": app_id,
            "Mailbox": mailbox["Name"],
            "MailboxId": mailbox["Guid"],
            "AccessCheckResult": "Granted" if granted else "Denied",
        }
    ]


def test_sp_authorization(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/test-serviceprincipalauthorization
    sp = _sp(ctx, params.required("Identity"))
    resource = params.text("Resource")
    mailbox = resolve(ctx, resource, xm.MAILBOX_TYPES) if resource else None
    rows = []
    for assignment in xm.app_assignments(ctx.data, str(sp["AppId"])):
        scope = assignment.get("CustomResourceScope")
        in_scope = xm.assignment_in_scope(ctx.data, assignment, mailbox) if mailbox is not None else None
        rows.append(
            {
                "RoleName": assignment["Role"],
                "GrantedPermissions": str(assignment["Role"]).removeprefix("Application "),
                "AllowedResourceScope": scope or "Organization",
                "ScopeType": "CustomRecipientScope" if scope else "Organization",
                "InScope": in_scope,
            }
        )
    return rows


# --- organization config ---------------------------------------------------------------------


def get_organization_config(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/get-organizationconfig
    org = xm.exchange(ctx.data)["organization"]
    view = {"Name": org.get("Name"), "Identity": org.get("Name"), "Guid": ctx.data["tenant"]["id"]}
    if params.flag("RetrieveEwsOperationAccessPolicy"):
        view.update(EwsEnabled=org.get("EwsEnabled"), EwsAllowedAppIDs=org.get("EwsAllowedAppIDs"))
    return [view]


def set_organization_config(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/en-us/powershell/module/exchangepowershell/set-organizationconfig
    org = xm.exchange(ctx.data)["organization"]
    if params.has("EwsEnabled"):
        org["EwsEnabled"] = to_bool(params.values["ewsenabled"], "EwsEnabled")
    if params.has("EwsAllowedAppIDs"):
        org["EwsAllowedAppIDs"] = _app_id_list(params.items("EwsAllowedAppIDs"))
    return []


def _app_id_list(ids: list[str] | None) -> str | None:
    cleaned = [i for i in ids or [] if i.lower() not in ("$null", "null")]
    bad = [i for i in cleaned if not _GUID.match(i)]
    if bad:
        raise bad_value("EwsAllowedAppIDs", f"'{bad[0]}' isn't a valid application ID (GUID).")
    return ",".join(i.lower() for i in cleaned) or None
